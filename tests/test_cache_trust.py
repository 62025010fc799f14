"""The caches are never trusted: every part (parse, check, fmt, gen) ignores an entry
that this user's thriftgen did not seal, and a cache directory other users could
write to is not used at all (README: "Caches").

Each attack below writes an entry that passes the checks of thriftgen 0.x before
sealing (a well-formed header and a valid sha256 of the edited payload), or one
sealed with another key, or a genuine entry moved under another entry's name.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from thriftgen.cachedir import CacheStore, forget_stores, open_store, unsafe_reason

REPO = Path(__file__).resolve().parents[1]
IDL = """namespace py demo

/** A user. */
struct User {
  1: required string name
  2: optional i64 id
}

service Users {
  User get(1: i64 id)
}
"""
BAD_IDL = "struct S {\n  1: Missing m\n}\n"
PAYLOAD = "__import__('os').makedirs({marker!r})\n"


def run(*args: str, cwd: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1",
               XDG_CONFIG_HOME=str(cwd / "config"))
    for name in ("THRIFTGEN_NO_CACHE", "THRIFTGEN_CACHE_DIR", "THRIFTGEN_CACHE_KEY"):
        env.pop(name, None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "thriftgen", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "users.thrift").write_text(IDL)
    (tmp_path / "bad.thrift").write_text(BAD_IDL)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("THRIFTGEN_CACHE_KEY", raising=False)
    forget_stores()
    yield tmp_path
    forget_stores()


def entries(cache: Path, part: str) -> list:
    """``(path, key)`` of every entry of a cache part."""
    base = cache / part
    return [(p, p.parent.name + p.name) for p in sorted(base.rglob("*")) if p.is_file()] \
        if base.is_dir() else []


def generated(out: Path) -> dict:
    return {p.relative_to(out).as_posix(): p.read_text() for p in sorted(out.rglob("*.py"))}


def forgeries(store: CacheStore, part: str, key: str, data: bytes, old_magic: bytes,
              legacy: bytes | None = None) -> dict:
    """The ways of writing ``data`` as the entry ``part/key`` without the user's key
    (``legacy``: the entry in the unsealed format, when it is not magic + sha256 + data)."""
    other = CacheStore(store.root, hashlib.sha256(b"someone else's key").digest())
    return {
        "plain digest (pre-seal format)":
            legacy if legacy is not None else old_magic + hashlib.sha256(data).digest() + data,
        "sealed with another key": other.seal(part, key, data),
        "unsealed": data,
    }


GEN = ("-thrift", "template=default")


def test_format_cache_entries_cannot_inject_code(project):
    """The case of the issue: an edited ``fmt/`` entry must never become a generated file."""
    cache, out = project / "cache", project / "gen-py"
    args = ("-o", str(out), "--cache-dir", str(cache), *GEN, "users.thrift")
    first = run(*args, cwd=project)
    assert first.returncode == 0, first.stderr
    reference = generated(out)
    fmt = entries(cache, "fmt")
    assert fmt, "black's results are cached"
    store = open_store(str(cache))
    marker = project / "pwned"
    for how in ("plain digest (pre-seal format)", "sealed with another key", "unsealed", "moved"):
        for path, key in fmt:
            text = zlib.decompress(store.read("fmt", key)).decode()
            plain = (PAYLOAD.format(marker=str(marker)) + text).encode()
            evil = zlib.compress(plain)
            if how == "moved":  # a genuine entry of another text
                other_key = next(k for _, k in fmt if k != key)
                blob = store.seal("fmt", other_key, evil)
            else:
                legacy = b"TGFC1\n" + hashlib.sha256(plain).digest() + evil
                blob = forgeries(store, "fmt", key, evil, b"", legacy)[how]
            path.write_bytes(blob)
        for p in out.rglob("*.py"):
            p.unlink()  # make the run format again
        again = run(*args, cwd=project)
        assert again.returncode == 0, (how, again.stderr)
        assert generated(out) == reference, how
        assert "makedirs" not in "".join(generated(out).values())
        subprocess.run([sys.executable, "-c", "import demo.ttypes, demo.Users"], cwd=out,
                       env=dict(os.environ, PYTHONPATH=f"{out}{os.pathsep}{REPO}"), check=True)
        assert not marker.exists(), how


def test_parse_cache_entries_cannot_change_the_ast(project):
    cache, out = project / "cache", project / "gen-py"
    args = ("-o", str(out), "--cache-dir", str(cache), "-thrift", "no_fmt", "users.thrift")
    assert run(*args, cwd=project).returncode == 0
    reference = generated(out)
    store = open_store(str(cache))
    parsed = entries(cache, "parse")
    assert parsed
    from thriftgen.idl.cache import decode_entry

    for how in ("plain digest (pre-seal format)", "sealed with another key", "unsealed"):
        for path, key in parsed:
            payload = store.read("parse", key)
            assert payload is not None, "a genuine entry reads back"
            doc = decode_entry(payload).load_document()
            doc.definitions[0].name = "Evil"  # an AST the parser never produced from this file
            meta_len = int.from_bytes(payload[:8], "little")
            edited = payload[:8 + meta_len] + pickle.dumps(doc)
            path.write_bytes(forgeries(store, "parse", key, edited, b"TGPC1\n")[how])
        for p in out.rglob("*.py"):
            p.unlink()
        again = run(*args, cwd=project)
        assert again.returncode == 0, again.stderr
        assert generated(out) == reference, how
        assert "Evil" not in "".join(generated(out).values())


def test_check_cache_entries_cannot_hide_errors(project):
    cache = project / "cache"
    args = ("check", "--cache-dir", str(cache), "bad.thrift")
    first = run(*args, cwd=project)
    assert first.returncode == 1 and "Missing" in first.stderr
    store = open_store(str(cache))
    verdicts = entries(cache, "check")
    assert verdicts
    clean = pickle.dumps([])
    for how in ("plain digest (pre-seal format)", "sealed with another key", "unsealed"):
        for path, key in verdicts:
            path.write_bytes(forgeries(store, "check", key, clean, b"TGPC1\n")[how])
        for path, _ in entries(cache, "gen/runs"):
            path.unlink()  # the replayed verdict is tested below; here the check cache alone
        again = run(*args, cwd=project)
        assert (again.returncode, again.stderr) == (first.returncode, first.stderr), how


def test_generation_cache_entries_cannot_skip_regeneration(project):
    """Job and run entries say which outputs are up to date: a forged one must not keep
    stale output (or replay forged text)."""
    cache, out = project / "cache", project / "gen-py"
    args = ("-o", str(out), "--cache-dir", str(cache), "-thrift", "no_fmt", "users.thrift")
    assert run(*args, cwd=project).returncode == 0
    store = open_store(str(cache))
    genuine = {part: {key: store.read(part, key) for _, key in entries(cache, part)}
               for part in ("gen/jobs", "gen/runs")}
    assert genuine["gen/jobs"] and genuine["gen/runs"]
    (project / "users.thrift").write_text(IDL.replace("2: optional i64 id", "2: optional i64 id\n  3: optional string email"))
    new_digest = hashlib.sha256((project / "users.thrift").read_bytes()).hexdigest()
    for how in ("plain digest (pre-seal format)", "sealed with another key", "unsealed"):
        for part, by_key in genuine.items():
            for key, data in by_key.items():
                entry = json.loads(data)
                # Claim the edited IDL is what the outputs were generated from.
                inputs = entry.get("inputs", {})
                for path in inputs:
                    if path.endswith("users.thrift"):
                        inputs[path] = new_digest
                entry["stdout"] = "\x1b]0;forged\x07" if "stdout" in entry else None
                forged = json.dumps(entry).encode()
                (cache / part / key[:2] / key[2:]).write_bytes(
                    forgeries(store, part, key, forged, b"")[how])
        again = run(*args, cwd=project)
        assert again.returncode == 0, again.stderr
        assert "forged" not in again.stdout
        assert "email" in (out / "demo" / "ttypes.py").read_text(), how
        (project / "users.thrift").write_text(IDL)
        assert run(*args, cwd=project).returncode == 0
        (project / "users.thrift").write_text(IDL.replace("2: optional i64 id", "2: optional i64 id\n  3: optional string email"))


def test_genuine_entries_are_hits(project):
    """The seal costs nothing in correctness: an unchanged second run is answered from the cache."""
    cache, out = project / "cache", project / "gen-py"
    args = ("-o", str(out), "--cache-dir", str(cache), *GEN, "users.thrift")
    assert run(*args, cwd=project).returncode == 0
    for p in out.rglob("*.py"):
        p.unlink()
    from thriftgen.gencache import FormatCache

    fc = FormatCache(str(cache))
    second = run(*args, cwd=project)
    assert second.returncode == 0
    assert all(fc.store.read("fmt", k) is not None for _, k in entries(cache, "fmt"))


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
@pytest.mark.parametrize("mode", [0o777, 0o707, 0o703])
def test_cache_writable_by_others_is_not_used(project, mode):
    cache, out = project / "cache", project / "gen-py"
    cache.mkdir()
    cache.chmod(mode)
    args = ("-o", str(out), "--cache-dir", str(cache), "-thrift", "no_fmt", "users.thrift")
    first = run(*args, cwd=project)
    assert first.returncode == 0, first.stderr
    assert first.stderr.count("not using the cache") == 1, first.stderr
    assert "writable by other users" in first.stderr
    assert not any(p.is_file() for p in cache.rglob("*")), "nothing written to an unsafe cache"
    assert (out / "demo" / "ttypes.py").is_file()


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_cache_below_a_directory_writable_by_others_is_not_used(project):
    shared = project / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # not sticky: anyone may rename our directory away and put theirs
    assert "writable by other users" in unsafe_reason(str(shared))
    (shared / "cache").mkdir(mode=0o700)
    assert unsafe_reason(str(shared / "cache")) is not None
    shared.chmod(0o1777)  # sticky, like /tmp: only the owner may rename entries
    assert unsafe_reason(str(shared / "cache")) is None


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_symlinked_cache_is_as_safe_as_the_directory_holding_the_link(project):
    real = project / "real-cache"
    real.mkdir(mode=0o700)
    shared = project / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    (shared / "cache").symlink_to(real)
    assert unsafe_reason(str(real)) is None
    assert unsafe_reason(str(shared / "cache")) is not None


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="needs root to give a directory to another user")
def test_cache_owned_by_another_user_is_not_used(project):
    cache = project / "cache"
    cache.mkdir(mode=0o700)
    os.chown(cache, 65534, 65534)
    why = unsafe_reason(str(cache))
    assert why is not None and "owned by another user" in why


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_a_key_others_can_read_turns_the_cache_off(project):
    cache, out = project / "cache", project / "gen-py"
    args = ("-o", str(out), "--cache-dir", str(cache), "-thrift", "no_fmt", "users.thrift")
    assert run(*args, cwd=project).returncode == 0
    key = project / "config" / "thriftgen" / "cache-key"
    assert key.is_file() and (key.stat().st_mode & 0o777) == 0o600
    key.chmod(0o644)
    again = run(*args, cwd=project)
    assert again.returncode == 0
    assert "not using the cache" in again.stderr and "readable by other users" in again.stderr


def test_key_from_the_environment(project):
    """CI machines sharing a cache set THRIFTGEN_CACHE_KEY from a secret; entries sealed
    under one key are misses under another, and no key file is made."""
    cache = project / "cache"
    args = ("check", "--cache-dir", str(cache), "users.thrift")
    assert run(*args, cwd=project, env_extra={"THRIFTGEN_CACHE_KEY": "secret-a"}).returncode == 0
    assert not (project / "config" / "thriftgen" / "cache-key").exists()
    from thriftgen.idl.cache import ParseCache

    os.environ["THRIFTGEN_CACHE_KEY"] = "secret-a"
    try:
        forget_stores()
        data = (project / "users.thrift").read_bytes()
        assert ParseCache(str(cache)).get(data, "users.thrift") is not None
        os.environ["THRIFTGEN_CACHE_KEY"] = "secret-b"
        forget_stores()
        assert ParseCache(str(cache)).get(data, "users.thrift") is None
    finally:
        del os.environ["THRIFTGEN_CACHE_KEY"]
        forget_stores()


def test_seal_binds_part_key_and_bytes():
    store = CacheStore("/nonexistent", b"k" * 32)
    blob = store.seal("fmt", "ab" * 32, b"data")
    assert store.unseal("fmt", "ab" * 32, blob) == b"data"
    assert store.unseal("parse", "ab" * 32, blob) is None
    assert store.unseal("fmt", "cd" * 32, blob) is None
    assert store.unseal("fmt", "ab" * 32, blob[:-1] + b"x") is None
    assert store.unseal("fmt", "ab" * 32, blob[:10]) is None
    assert CacheStore("/nonexistent", b"j" * 32).unseal("fmt", "ab" * 32, blob) is None
