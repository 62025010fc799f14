"""``python -m thriftgen check``: exit codes, diagnostics on stderr, flags, the parse cache."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from thriftgen import __version__
from thriftgen.diagnostics import DiagnosticSink
from thriftgen.idl.cache import ParseCache
from thriftgen.idl.loader import load_program

REPO = Path(__file__).resolve().parents[1]

GOOD = """namespace py demo
include "common/types.thrift"

struct User {
  1: required string name
  2: types.Id id
}

service Users {
  User get(1: types.Id id)
}
"""
TYPES = "typedef i64 Id\nenum Level { LOW = 1, ALSO_LOW = 1 }\n"  # one warning: duplicate value
BAD = """struct User {
  1: string name
  2: Strin email
}
"""


def thriftgen(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1")
    env.pop("THRIFTGEN_NO_CACHE", None)
    env.pop("THRIFTGEN_CACHE_DIR", None)
    return subprocess.run([sys.executable, "-m", "thriftgen", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """main.thrift includes common/types.thrift, found only through ``-I inc``."""
    (tmp_path / "inc" / "common").mkdir(parents=True)
    (tmp_path / "inc" / "common" / "types.thrift").write_text(TYPES)
    (tmp_path / "main.thrift").write_text(GOOD)
    (tmp_path / "bad.thrift").write_text(BAD)
    return tmp_path


def assert_no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout


def test_ok_exit_code_and_summary(project):
    proc = thriftgen("check", "--no-cache", "-I", "inc", "main.thrift", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert lines[0] == "inc/common/types.thrift:2:23: warning: 'Level.ALSO_LOW' has the same value (1) as 'Level.LOW'"
    assert lines[-1] == "ok: 2 file(s), 1 warning(s)"


def test_error_exit_code_and_caret_format(project):
    proc = thriftgen("check", "--no-cache", "bad.thrift", cwd=project)
    assert proc.returncode == 1
    assert_no_traceback(proc)
    assert proc.stderr.splitlines() == [
        "bad.thrift:3:6: error: undefined type 'Strin'; did you mean 'string'?",
        "      2: Strin email",
        "         ^~~~~",
        "thriftgen: 1 error(s)",
    ]


def test_all_errors_of_all_roots_are_reported(project):
    (project / "bad2.thrift").write_text("struct A { 1: i8 x = 300 }\nstruct A {}\n")
    proc = thriftgen("check", "--no-cache", "bad.thrift", "bad2.thrift", cwd=project)
    assert proc.returncode == 1
    heads = [line for line in proc.stderr.splitlines() if ": error: " in line]
    assert heads == [
        "bad.thrift:3:6: error: undefined type 'Strin'; did you mean 'string'?",
        "bad2.thrift:1:22: error: value 300 is out of range for i8 (-128..127)",
        "bad2.thrift:2:8: error: 'A' is already defined in this file (as a struct)",
    ]
    assert "bad2.thrift:1:8: note: first definition of 'A'" in proc.stderr
    assert proc.stderr.splitlines()[-1] == "thriftgen: 3 error(s)"


def test_werror_turns_warnings_into_failure(project):
    proc = thriftgen("check", "--no-cache", "--werror", "-I", "inc", "main.thrift", cwd=project)
    assert proc.returncode == 1
    assert ": warning: " in proc.stderr
    assert proc.stderr.splitlines()[-1] == "thriftgen: 1 warning(s) treated as errors"
    (project / "clean.thrift").write_text("struct A { 1: i32 x }\n")
    assert thriftgen("check", "--no-cache", "--werror", "clean.thrift", cwd=project).returncode == 0


def test_quiet_prints_only_errors(project):
    proc = thriftgen("check", "--no-cache", "-q", "-I", "inc", "main.thrift", cwd=project)
    assert proc.returncode == 0
    assert proc.stderr == ""
    proc = thriftgen("check", "--no-cache", "-q", "bad.thrift", cwd=project)
    assert proc.returncode == 1
    assert proc.stderr.startswith("bad.thrift:3:6: error: ")


def test_version(project):
    proc = thriftgen("--version", cwd=project)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"thriftgen {__version__}"


def test_include_dirs(project):
    proc = thriftgen("check", "--no-cache", "main.thrift", cwd=project)
    assert proc.returncode == 1
    assert_no_traceback(proc)
    assert proc.stderr.splitlines()[0] == (
        "main.thrift:2:9: error: cannot find included file 'common/types.thrift' (searched: .)")
    proc = thriftgen("check", "--no-cache", "--include", "inc", "main.thrift", cwd=project)
    assert proc.returncode == 0


def test_missing_root_file_and_usage_errors(project):
    proc = thriftgen("check", "--no-cache", "nope.thrift", cwd=project)
    assert proc.returncode == 1
    assert "no such IDL file: nope.thrift" in proc.stderr
    assert_no_traceback(proc)
    proc = thriftgen("check", cwd=project)
    assert proc.returncode == 2  # usage error: no IDL given
    assert_no_traceback(proc)


def _cache_files(cache: Path) -> list:
    return sorted(p for p in cache.rglob("*") if p.is_file()) if cache.exists() else []


def test_cache_dir_is_written_then_hit(project):
    cache = project / "cache"
    first = thriftgen("check", "--cache-dir", str(cache), "-I", "inc", "main.thrift", cwd=project)
    assert first.returncode == 0, first.stderr
    assert len(_cache_files(cache)) >= 2  # at least one entry per parsed file
    second = thriftgen("check", "--cache-dir", str(cache), "-I", "inc", "main.thrift", cwd=project)
    assert (second.returncode, second.stderr) == (first.returncode, first.stderr)

    # Same run in-process: a fresh ParseCache on the same directory serves both files.
    os.chdir(project)
    try:
        pc = ParseCache(str(cache))
        load_program(["main.thrift"], ["inc"], DiagnosticSink(), pc)
    finally:
        os.chdir(REPO)
    assert (pc.hits, pc.misses) == (2, 0)


def test_no_cache_writes_nothing(project):
    cache = project / "cache"
    proc = thriftgen("check", "--no-cache", "--cache-dir", str(cache), "-I", "inc", "main.thrift", cwd=project)
    assert proc.returncode == 0
    assert _cache_files(cache) == []


def test_cache_sees_edits(project):
    cache = project / "cache"
    assert thriftgen("check", "--cache-dir", str(cache), "-I", "inc", "main.thrift", cwd=project).returncode == 0
    (project / "main.thrift").write_text(GOOD.replace("types.Id id)", "types.Idd id)"))
    proc = thriftgen("check", "--cache-dir", str(cache), "-I", "inc", "main.thrift", cwd=project)
    assert proc.returncode == 1
    assert "undefined type 'types.Idd'" in proc.stderr


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped"])
def test_corrupt_cache_entries_are_ignored(project, damage):
    cache = project / "cache"
    args = ("check", "--cache-dir", str(cache), "-I", "inc", "main.thrift")
    reference = thriftgen(*args, cwd=project)
    assert reference.returncode == 0
    files = _cache_files(cache)
    assert files
    for f in files:
        data = f.read_bytes()
        if damage == "garbage":
            f.write_bytes(os.urandom(len(data)))
        elif damage == "truncated":
            f.write_bytes(data[: len(data) // 2])
        else:  # one flipped bit near the end: the digest must catch it
            f.write_bytes(data[:-5] + bytes([data[-5] ^ 0x01]) + data[-4:])
    again = thriftgen(*args, cwd=project)
    assert_no_traceback(again)
    assert (again.returncode, again.stderr) == (reference.returncode, reference.stderr)


class _Exploit:
    """Unpickling this would create a directory: the cache must never run it."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_cache_never_unpickles_foreign_classes(project):
    from thriftgen.cachedir import forget_stores, open_store

    cache = project / "cache"
    args = ("check", "--cache-dir", str(cache), "-I", "inc", "main.thrift")
    reference = thriftgen(*args, cwd=project)
    marker = project / "pwned"
    evil = pickle.dumps(_Exploit(str(marker)))
    forget_stores()
    store = open_store(str(cache))
    for f in _cache_files(cache):
        # Sealed with the user's own key (as if the key had leaked): only the unpickler
        # stands in the way.
        part = f.parent.parent.relative_to(cache).as_posix()
        f.write_bytes(store.seal(part, f.parent.name + f.name, evil))
    again = thriftgen(*args, cwd=project)
    assert not marker.exists()
    assert (again.returncode, again.stderr) == (reference.returncode, reference.stderr)


def test_cached_errors_are_reported_identically(project):
    cache = project / "cache"
    args = ("check", "--cache-dir", str(cache), "bad.thrift")
    first = thriftgen(*args, cwd=project)
    second = thriftgen(*args, cwd=project)
    assert first.returncode == second.returncode == 1
    assert first.stderr == second.stderr


def _imports_of(args: list, cwd: Path) -> tuple:
    """Run ``thriftgen ARGS`` in-process-like (fresh interpreter) and list what it imported."""
    code = ("import sys\n"
            "from thriftgen.entry import main\n"
            "try:\n"
            f"    main({args!r})\n"
            "except SystemExit as e:\n"
            "    code = e.code\n"
            "mods = sorted(m for m in sys.modules if m.startswith(('thriftgen', 'typer', 'ply')))\n"
            "print(code, *mods, file=sys.stdout)\n")
    env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1")
    env.pop("THRIFTGEN_NO_CACHE", None)
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    code, *mods = proc.stdout.split()
    return int(code or 0), set(mods), proc.stderr


def test_warm_check_is_answered_without_the_parser(project):
    args = ["check", "-I", "inc", "--cache-dir", str(project / "cache"), "main.thrift"]
    code, mods, cold = _imports_of(args, project)
    assert code == 0 and "thriftgen.idl.grammar" in mods and "warning" in cold
    code, mods, warm = _imports_of(args, project)
    assert code == 0 and warm == cold  # same diagnostics, same verdict line
    assert not {"thriftgen.cli", "thriftgen.idl.grammar", "typer", "ply"} & mods, sorted(mods)
    # --werror turns the same recorded warning into exit 1, also when replayed.
    werror = args[:1] + ["--werror"] + args[1:]
    assert _imports_of(werror, project)[0] == 1
    code, mods, text = _imports_of(werror, project)
    assert code == 1 and "treated as errors" in text and "thriftgen.cli" not in mods


def test_warm_check_notices_changed_and_shadowing_files(project):
    args = ["check", "-I", "inc", "--cache-dir", str(project / "cache"), "main.thrift"]
    assert _imports_of(args, project)[0] == 0
    # An edit to an included file: checked again, and the new error is reported.
    types = project / "inc" / "common" / "types.thrift"
    types.write_text(TYPES + "struct Broken { 1: Nope x }\n")
    code, mods, text = _imports_of(args, project)
    assert code == 1 and "Nope" in text and "thriftgen.idl.grammar" in mods
    types.write_text(TYPES)
    assert _imports_of(args, project)[0] == 0
    # A file that would now be found first (beside main.thrift) is a change too.
    (project / "common").mkdir()
    (project / "common" / "types.thrift").write_text("typedef string Id\n")
    code, mods, text = _imports_of(args, project)
    assert "thriftgen.idl.grammar" in mods and "0 warning(s)" in text  # the shadowing file wins


def test_failed_and_uncached_checks_are_not_replayed(project):
    cache = str(project / "cache")
    args = ["check", "--cache-dir", cache, "bad.thrift"]
    assert _imports_of(args, project)[0] == 1
    code, mods, text = _imports_of(args, project)
    assert code == 1 and "thriftgen.cli" in mods and "Strin" in text
    args = ["check", "-I", "inc", "--no-cache", "main.thrift"]
    _imports_of(args, project)
    assert "thriftgen.cli" in _imports_of(args, project)[1]
