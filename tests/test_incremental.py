"""Incremental regeneration: the generation cache (thriftgen.gencache) and the job runner
(thriftgen.codegen.incremental)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from thriftgen.codegen.incremental import run_job
from thriftgen.config import Job
from thriftgen.diagnostics import IDLError
from thriftgen.gencache import FormatCache, GenCache, outputs_match
from thriftgen.idl import loader

REPO_ROOT = Path(__file__).resolve().parents[1]
STORE = REPO_ROOT / "fixtures" / "store"
ALL_STORE = ["store.catalog", "store.common.errors", "store.common.types", "store.orders",
             "store.service", "store.shipping.carriers"]


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("THRIFTGEN_CACHE_DIR", str(d))
    monkeypatch.delenv("THRIFTGEN_NO_CACHE", raising=False)
    return d


@pytest.fixture
def store(tmp_path) -> Path:
    d = tmp_path / "idl"
    shutil.copytree(STORE, d)
    return d


def store_job(store: Path, out: Path, *thrift: str) -> Job:
    return Job("store", [str(store / "service.thrift")], [str(store)], str(out),
               thrift=list(thrift))


def mtimes(out: Path) -> dict:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}


def contents(out: Path) -> dict:
    return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*.py")}


class ParseCounter:
    def __init__(self, monkeypatch):
        self.count = 0
        original = loader.Loader._parse_file

        def counting(this, real, display):
            self.count += 1
            return original(this, real, display)

        monkeypatch.setattr(loader.Loader, "_parse_file", counting)


def test_warm_run_parses_nothing_and_writes_nothing(store, tmp_path, monkeypatch):
    out = tmp_path / "out"
    job = store_job(store, out, "no_fmt")
    first = run_job(job)
    assert not first.cached and len(first.written) == 25 and first.regenerated is None
    before = mtimes(out)
    parses = ParseCounter(monkeypatch)
    second = run_job(job)
    assert second.cached and parses.count == 0
    assert second.files == first.files and second.written == [] and second.unchanged == first.files
    assert mtimes(out) == before


def test_one_changed_include_regenerates_only_its_dependents(store, tmp_path, monkeypatch):
    out = tmp_path / "out"
    job = store_job(store, out, "no_fmt")
    run_job(job)
    before = mtimes(out)
    with open(store / "shipping" / "carriers.thrift", "a") as fh:
        fh.write("\nconst i32 MAX_PARCELS = 12\n")
    parses = ParseCounter(monkeypatch)
    result = run_job(job)
    # carriers is included by orders and by service, nothing else includes those.
    assert result.regenerated == ["store.orders", "store.service", "store.shipping.carriers"]
    assert parses.count == len(ALL_STORE)  # every file is loaded, the unchanged ones from cache
    touched = {rel for rel, m in mtimes(out).items() if before.get(rel) != m}
    assert touched == {"store/shipping/carriers/constants.py"}
    assert "MAX_PARCELS: int = 12" in (out / "store/shipping/carriers/constants.py").read_text() \
        or "MAX_PARCELS = 12" in (out / "store/shipping/carriers/constants.py").read_text()
    # Byte for byte what a from-scratch run generates.
    fresh = tmp_path / "fresh"
    run_job(store_job(store, fresh, "no_fmt"), no_cache=True)
    assert contents(out) == contents(fresh)


def test_changing_a_leaf_used_everywhere_regenerates_everything_it_reaches(store, tmp_path):
    out = tmp_path / "out"
    job = store_job(store, out, "no_fmt")
    run_job(job)
    text = (store / "common" / "types.thrift").read_text()
    (store / "common" / "types.thrift").write_text(text + "\nconst string BUILD_TAG = \"x\"\n")
    result = run_job(job)
    assert result.regenerated == ALL_STORE
    assert result.written == ["store/common/types/constants.py"]
    fresh = tmp_path / "fresh"
    run_job(store_job(store, fresh, "no_fmt"), no_cache=True)
    assert contents(out) == contents(fresh)


def test_edited_or_deleted_output_is_restored(store, tmp_path):
    out = tmp_path / "out"
    job = store_job(store, out, "no_fmt")
    run_job(job)
    original = (out / "store/catalog/ttypes.py").read_bytes()
    (out / "store/catalog/ttypes.py").write_text("# edited by hand\n")
    (out / "store/orders/constants.py").unlink()
    result = run_job(job)
    assert not result.cached
    assert result.regenerated == ["store.catalog", "store.orders"]
    assert result.written == ["store/catalog/ttypes.py", "store/orders/constants.py"]
    assert (out / "store/catalog/ttypes.py").read_bytes() == original
    assert run_job(job).cached


def test_outputs_are_compared_by_content_inside_the_racy_window(tmp_path):
    target = tmp_path / "m.py"
    target.write_bytes(b"x = 1\n")
    st = target.stat()
    digest = hashlib.sha256(b"x = 1\n").hexdigest()
    recorded = {"m.py": [digest, st.st_size, st.st_mtime_ns]}
    target.write_bytes(b"x = 2\n")  # same size ...
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # ... and the same mtime
    # Recorded long after the write: size and mtime are trusted (the edit goes unseen,
    # as with make or git; only an edit in the same clock tick could look like this).
    assert outputs_match(str(tmp_path), recorded, st.st_mtime_ns + 10 ** 9) == (True, None)
    # Recorded within a tick of the write: compared by content, the edit is seen.
    assert outputs_match(str(tmp_path), recorded, st.st_mtime_ns + 1000) == (False, None)
    target.write_bytes(b"x = 1\n")
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    ok, refreshed = outputs_match(str(tmp_path), recorded, st.st_mtime_ns + 1000)
    assert ok and refreshed == recorded


def test_new_file_that_would_shadow_an_include_is_noticed(store, tmp_path):
    out = tmp_path / "out"
    job = store_job(store, out, "no_fmt")
    run_job(job)
    assert run_job(job).cached
    # shipping/carriers.thrift includes "common/types.thrift": first looked up beside it.
    shadow = store / "shipping" / "common" / "types.thrift"
    shadow.parent.mkdir()
    shutil.copy(store / "common" / "types.thrift", shadow)
    with pytest.raises(IDLError):  # two files now define store.common.types
        run_job(job)


def test_options_and_outdir_are_part_of_the_key(store, tmp_path):
    out = tmp_path / "out"
    run_job(store_job(store, out, "no_fmt"))
    other = run_job(store_job(store, out, "no_fmt", "package_prefix=pfx"))
    assert not other.cached and other.files[0].startswith("pfx/")
    assert other.removed and not (out / "store").exists()
    again = run_job(store_job(store, out, "no_fmt"))
    assert not again.cached  # the outputs it recorded were replaced meanwhile


def test_trim_job_is_cached_and_watches_its_settings(store, tmp_path):
    out = tmp_path / "out"
    (tmp_path / "pyproject.toml").write_text("[tool.thriftgen.trim]\nall = false\n")
    job = Job("t", [str(store / "service.thrift")], [str(store)], str(out),
              thrift=["no_fmt"], methods=["StoreFront\\.getCart"])
    job.source = str(tmp_path / "pyproject.toml")  # trim settings are searched from here
    first = run_job(job)
    assert "trim: removed" in first.trim["table"] and "trim: kept" in first.trim["summary"]
    second = run_job(job)
    assert second.cached and second.trim == first.trim
    (tmp_path / "pyproject.toml").write_text("[tool.thriftgen.trim]\nall = true\n")
    third = run_job(job)
    assert not third.cached and third.trim != first.trim


def test_check_mode_writes_nothing(store, tmp_path):
    out = tmp_path / "out"
    job = store_job(store, out, "no_fmt")
    result = run_job(job, check=True)
    assert len(result.written) == 25 and not out.exists()
    run_job(job)
    assert run_job(job, check=True).cached


def test_corrupt_entries_are_misses(store, tmp_path, cache_dir):
    out = tmp_path / "out"
    job = store_job(store, out, "no_fmt")
    run_job(job)
    for entry in (p for p in (cache_dir / "gen").rglob("*") if p.is_file()):
        entry.write_text("{not json")
    assert not run_job(job).cached
    run_job(job)
    from thriftgen.cachedir import open_store

    sealed = open_store(str(cache_dir))
    for part in ("gen/jobs", "gen/runs"):
        for entry in (p for p in (cache_dir / part).rglob("*") if p.is_file()):
            # A genuine seal around an entry that names another key: still a miss.
            key = entry.parent.name + entry.name
            data = json.loads(sealed.unseal(part, key, entry.read_bytes()))
            data["key"] = "0" * 64
            entry.write_bytes(sealed.seal(part, key, json.dumps(data).encode()))
    assert not run_job(job).cached


def test_no_cache_writes_no_entries(store, tmp_path, cache_dir, monkeypatch):
    monkeypatch.setenv("THRIFTGEN_NO_CACHE", "1")
    run_job(store_job(store, tmp_path / "out", "no_fmt"))
    assert not (cache_dir / "gen").exists()


def test_black_runs_once_per_distinct_file(store, tmp_path, monkeypatch, cache_dir):
    black = pytest.importorskip("black")
    calls = []
    real = black.format_str

    def counting(text, **kwargs):
        calls.append(text)
        return real(text, **kwargs)

    monkeypatch.setattr(black, "format_str", counting)
    echo = REPO_ROOT / "fixtures" / "echo" / "echo.thrift"
    run_job(Job("a", [str(echo)], [], str(tmp_path / "a")))
    assert len(calls) >= 4  # every file (small output is checked whole)
    # Another job (another key: no generation-cache hit) over the same IDL: all formatted before.
    calls.clear()
    result = run_job(Job("b", [str(echo)], [], str(tmp_path / "b")))
    assert not result.cached and calls == []
    assert contents(tmp_path / "a") == contents(tmp_path / "b")
    assert FormatCache(str(cache_dir)).get("x = 1\n") is None


def _run_console(args, cwd, cache_dir) -> tuple:
    """The console script (thriftgen.entry:main) in a fresh interpreter; returns
    (exit code, stderr, thriftgen/typer modules imported)."""
    code = ("import sys, json\n"
            "from thriftgen.entry import main\n"
            "try:\n"
            "    main(sys.argv[1:])\n"
            "finally:\n"
            "    mods = sorted(m for m in sys.modules if m.startswith(('thriftgen', 'typer')))\n"
            "    print(json.dumps(mods))\n")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "THRIFTGEN_CACHE_DIR": str(cache_dir)}
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stderr, json.loads(proc.stdout.strip().splitlines()[-1])


def test_console_warm_run_imports_neither_parser_nor_cli(tmp_path, cache_dir):
    root = tmp_path / "proj"
    shutil.copytree(REPO_ROOT / "fixtures" / "echo", root / "idl")
    (root / ".git").mkdir()
    (root / "pyproject.toml").write_text('[tool.thriftgen]\nidl = ["idl/*.thrift"]\n'
                                         'out = "gen"\nthrift = ["no_fmt"]\n')
    code, err, mods = _run_console([], root, cache_dir)
    assert code == 0 and "4 written" in err and "thriftgen.idl.grammar" in mods
    before = mtimes(root / "gen")
    code, err, mods = _run_console([], root, cache_dir)
    assert code == 0 and err.startswith("thriftgen: gen is up to date (4 files, ")
    assert err.endswith("; cached: no input changed since the last run)\n") and err.count("\n") == 1
    assert [m for m in mods if m.startswith(("thriftgen.idl", "thriftgen.cli", "typer"))] == []
    assert mtimes(root / "gen") == before
    # A new file matching the configured glob: the cached answer no longer holds.
    (root / "idl" / "more.thrift").write_text("namespace py more\nstruct More { 1: i32 x }\n")
    code, err, mods = _run_console([], root, cache_dir)
    assert code == 0 and (root / "gen" / "more" / "ttypes.py").is_file()
    assert "thriftgen.cli" in mods
    # Editing the configuration is noticed too.
    (root / "pyproject.toml").write_text('[tool.thriftgen]\nidl = ["idl/*.thrift"]\n'
                                         'out = "gen-new"\nthrift = ["no_fmt"]\n')
    code, err, mods = _run_console(["-q"], root, cache_dir)
    assert code == 0 and (root / "gen-new" / "more" / "ttypes.py").is_file()


def test_gencache_entries_survive_a_read_only_cache(store, tmp_path, monkeypatch):
    # The cache must never fail a run: an unwritable cache directory is simply not used.
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    monkeypatch.setenv("THRIFTGEN_CACHE_DIR", str(blocker / "cache"))
    out = tmp_path / "out"
    assert len(run_job(store_job(store, out, "no_fmt")).written) == 25
    assert not run_job(store_job(store, out, "no_fmt")).cached
    assert GenCache(str(blocker / "cache")).load_job("0" * 64) is None
