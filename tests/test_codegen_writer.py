"""Writing output (atomic, manifest, stale files, --check) and the Kitex-style CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_codegen_util import FIXTURES, REPO
from thriftgen import fileio
from thriftgen.codegen.writer import MANIFEST, WriteError, check_relpath, write_output

ECHO = FIXTURES / "echo" / "echo.thrift"
STORE = FIXTURES / "store" / "service.thrift"


def cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), THRIFTGEN_NO_CACHE="1")
    return subprocess.run([sys.executable, "-m", "thriftgen", *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120)


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_write_is_incremental_and_removes_only_manifest_files(tmp_path):
    out = tmp_path / "out"
    first = {"a/__init__.py": "x = 1\n", "a/ttypes.py": "y = 2\n", "a/old.py": "z = 3\n"}
    result = write_output(first, str(out))
    assert sorted(result.written) == sorted(first)
    assert json.loads((out / MANIFEST).read_text())["files"] == sorted(first)
    (out / "a" / "mine.py").write_text("user file\n")
    stamp = (out / "a/__init__.py").stat().st_mtime_ns
    os.utime(out / "a/__init__.py", ns=(stamp - 10**9, stamp - 10**9))
    second = {"a/__init__.py": "x = 1\n", "a/ttypes.py": "y = 3\n"}
    result = write_output(second, str(out))
    assert result.unchanged == ["a/__init__.py"] and result.written == ["a/ttypes.py"]
    assert result.removed == ["a/old.py"]
    assert (out / "a/__init__.py").stat().st_mtime_ns == stamp - 10**9  # not rewritten
    assert not (out / "a/old.py").exists() and (out / "a/mine.py").exists()
    assert not list(out.rglob("*.tg-tmp"))


def test_failed_write_leaves_previous_output(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_output({"p/__init__.py": "old\n", "p/ttypes.py": "old\n"}, str(out))
    before = snapshot(out)
    real = fileio.write_temp
    calls = []

    def flaky(directory, data, name):
        calls.append(name)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(directory, data, name)

    monkeypatch.setattr(fileio, "write_temp", flaky)
    with pytest.raises(WriteError, match="No space left on device; the previous files are left"):
        write_output({"p/__init__.py": "new\n", "p/ttypes.py": "new\n",
                      "q/deep/__init__.py": "new\n"}, str(out))
    assert snapshot(out) == before
    assert not (out / "q").exists()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tg-tmp")]


@pytest.mark.parametrize("bad", ["../x.py", "/etc/passwd", "a/../../x.py", "a\\b.py", "a//b.py",
                                 "", "a/b.py/c.py", "a/.hidden.py", "a/b-c.py"])
def test_unsafe_paths_are_refused(tmp_path, bad):
    with pytest.raises(WriteError):
        check_relpath(bad)
    with pytest.raises(WriteError):
        write_output({bad: "x"}, str(tmp_path / "out"))


def test_hostile_manifest_and_symlinks_cannot_reach_outside(tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.py"
    victim.write_text("keep me\n")
    out.mkdir()
    (out / MANIFEST).write_text(json.dumps({"files": ["../outside/victim.py", str(victim), 7]}))
    write_output({"ok/__init__.py": ""}, str(out))
    assert victim.read_text() == "keep me\n"
    os.symlink(outside, out / "link")
    with pytest.raises(WriteError):
        write_output({"link/__init__.py": "x"}, str(out))
    assert victim.read_text() == "keep me\n" and not (outside / "__init__.py").exists()


def test_cli_kitex_style_and_check(tmp_path):
    # first argument is an option: still the generator
    proc = cli("-o", "gen", "-thrift", "no_fmt", "-thrift", "package_prefix=kit", ECHO,
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "gen/kit/echo/Echo.py").is_file()
    assert "5 written" in proc.stderr  # 4 modules + the kit/__init__.py parent
    before = snapshot(tmp_path / "gen")
    proc = cli("--check", "-o", "gen", "-thrift", "package_prefix=kit", ECHO, cwd=tmp_path)
    assert proc.returncode == 0 and "up to date" in proc.stderr
    (tmp_path / "gen/kit/echo/ttypes.py").write_text("# edited\n")
    (tmp_path / "gen/kit/echo/constants.py").unlink()
    proc = cli("--check", "-o", "gen", "-thrift", "package_prefix=kit", ECHO, cwd=tmp_path)
    assert proc.returncode == 1
    assert "ttypes.py (changed)" in proc.stdout and "constants.py (new)" in proc.stdout
    proc = cli("--check", "-o", "gen", "-thrift", "package_prefix=other", ECHO, cwd=tmp_path)
    assert proc.returncode == 1 and "kit/echo/Echo.py (stale)" in proc.stdout
    after = dict(before, **{"kit/echo/ttypes.py": b"# edited\n"})
    del after["kit/echo/constants.py"]
    assert snapshot(tmp_path / "gen") == after  # --check wrote nothing
    # default output dir is Apache's gen-py
    assert cli("-q", ECHO, cwd=tmp_path).returncode == 0
    assert (tmp_path / "gen-py/echo/ttypes.py").is_file()


def test_cli_errors(tmp_path):
    proc = cli("-thrift", "trim_idl,bogus", ECHO, cwd=tmp_path)
    assert proc.returncode == 1
    assert "unknown -thrift option 'bogus'" in proc.stderr and "no_fmt" in proc.stderr
    bad = tmp_path / "bad.thrift"
    bad.write_text("struct S { 1: Missing m }\n")
    proc = cli(bad, cwd=tmp_path)
    assert proc.returncode == 1 and "Missing" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "gen-py").exists()


def test_cli_recursive_and_trim(tmp_path):
    lib = tmp_path / "lib.thrift"
    lib.write_text("namespace py lib\nstruct Used { 1: i32 x }\nstruct Unused { 1: i32 y }\n")
    extra = tmp_path / "extra.thrift"
    extra.write_text("namespace py extra\nconst i32 ONLY_CONST = 1\n")
    root = tmp_path / "root.thrift"
    root.write_text('include "lib.thrift"\ninclude "extra.thrift"\nnamespace py root\n'
                    "service S { lib.Used get() }\n")
    assert cli("-o", "plain", root, cwd=tmp_path).returncode == 0
    assert (tmp_path / "plain/lib/ttypes.py").is_file()  # imported by root: always generated
    assert not (tmp_path / "plain/extra").exists()  # included but never imported
    assert cli("-o", "rec", "-r", root, cwd=tmp_path).returncode == 0
    assert (tmp_path / "rec/extra/constants.py").is_file()
    proc = cli("-o", "trim", "-thrift", "trim_idl", root, cwd=tmp_path)
    assert proc.returncode == 0 and "trim:" in proc.stderr
    ttypes = (tmp_path / "trim/lib/ttypes.py").read_text()
    assert "class Used" in ttypes and "class Unused" not in ttypes


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX file modes")
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_written_files_get_the_umask_mode_not_mkstemps_0600(tmp_path, monkeypatch, umask):
    from thriftgen import fileio

    monkeypatch.setattr(fileio, "_mode", None)
    old = os.umask(umask)
    try:
        write_output({"a/ttypes.py": "y = 2\n"}, str(tmp_path / "out"))
        (tmp_path / "trimmed").mkdir()
        fileio.replace_all([(str(tmp_path / "trimmed" / "x.thrift"), b"struct A {}\n")])
    finally:
        os.umask(old)
        monkeypatch.setattr(fileio, "_mode", None)
    want = 0o666 & ~umask
    assert (tmp_path / "out" / "a" / "ttypes.py").stat().st_mode & 0o777 == want
    assert (tmp_path / "trimmed" / "x.thrift").stat().st_mode & 0o777 == want
