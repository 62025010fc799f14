"""Apache's and Kitex's command-line spellings: each is understood (does what it does
there) or refused by name; no single-dash word turns into a cluster of short options,
and mistypes get a "did you mean"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT

ECHO = REPO_ROOT / "fixtures" / "echo" / "echo.thrift"


def thriftgen(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), THRIFTGEN_NO_CACHE="1", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "thriftgen", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def files(root: Path) -> set:
    return {p.relative_to(root).as_posix() for p in root.rglob("*.py")} if root.exists() else set()


# (argv, where the package lands) -- understood
UNDERSTOOD = [
    (["-out", "outdir", ECHO], "outdir/echo/ttypes.py"),  # Apache: -out is the root itself
    (["-o", "outdir", ECHO], "outdir/echo/ttypes.py"),  # thriftgo/Kitex: -o is the root
    (["-gen", "py", "-o", "outdir", ECHO], "outdir/gen-py/echo/ttypes.py"),  # Apache's -o + -gen
    (["-gen", "py:slots,enum,type_hints", "-out", "outdir", ECHO], "outdir/echo/ttypes.py"),
    (["-gen", "py:package_prefix=acme.", "-out", "outdir", ECHO], "outdir/acme/echo/ttypes.py"),
    (["-recurse", "-out", "outdir", ECHO], "outdir/echo/ttypes.py"),
    (["-rq", "-o", "outdir", ECHO], "outdir/echo/ttypes.py"),  # a cluster of flags
    (["-thrift", "package_prefix=kit", "-o", "outdir", ECHO], "outdir/kit/echo/ttypes.py"),
    (["-I", "fixtures", "-o", "outdir", ECHO], "outdir/echo/ttypes.py"),
    (["-Ifixtures", "-o", "outdir", ECHO], "outdir/echo/ttypes.py"),  # attached include dir
]


@pytest.mark.parametrize("argv,expect", UNDERSTOOD, ids=[" ".join(map(str, a[:-1])) for a, _ in UNDERSTOOD])
def test_understood(tmp_path, argv, expect):
    (tmp_path / "fixtures").mkdir()
    proc = thriftgen(*argv, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / expect).is_file(), sorted(files(tmp_path))
    assert not (tmp_path / "ut").exists() and not (tmp_path / "gen-py").exists()


# (argv, exit code, the one line on stderr that says why) -- refused by name
REFUSED = [
    (["-module", "x.y", ECHO], "error: -module is Kitex's Go module path; Python packages are "
                               "placed with -thrift package_prefix=PKG"),
    (["-gen", "java", ECHO], "error: thriftgen generates Python only (-gen java)"),
    (["-gen", "py:twisted", ECHO], "error: Apache's -gen py:twisted has no thriftgen equivalent"),
    (["-gen", "py:slotz", ECHO], "error: unknown -gen py option 'slotz' (did you mean 'slots'?)"),
    (["-thirft", "no_fmt", ECHO], "error: unknown option '-thirft' (did you mean '-thrift'?)"),
    (["-outt", "x", ECHO], "error: unknown option '-outt' (did you mean '-out'?)"),
    (["--verbos", ECHO], "error: unknown option '--verbos' (did you mean '--verbose'?)"),
    (["-strict", ECHO], "error: -strict is Apache's strict parsing"),
    (["chek", "f.thrift"], "error: unknown command 'chek' (did you mean 'check'?)"),
    (["tirm", ECHO], "error: unknown command 'tirm' (did you mean 'trim'?)"),
    (["check", "-out", "x", ECHO], "error: unknown option '-out'"),
    (["check", "-x", ECHO], "error: unknown option '-x'"),
    (["-thrift", "no_fmtt", ECHO], "error: unknown -thrift option 'no_fmtt' (did you mean 'no_fmt'?)"),
    (["-thrift", "template=slm", ECHO], "not 'slm' (did you mean 'slim'?)"),
]


@pytest.mark.parametrize("argv,why", REFUSED, ids=[" ".join(map(str, a[:2])) for a, _ in REFUSED])
def test_refused_by_name(tmp_path, argv, why):
    proc = thriftgen(*argv, cwd=tmp_path)
    assert proc.returncode in (1, 2), proc.stderr
    assert why in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "No such option" not in proc.stderr
    assert not files(tmp_path), "nothing is generated"


@pytest.mark.parametrize("spelling", ["--version", "-version"])
def test_version(tmp_path, spelling):
    proc = thriftgen(spelling, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("thriftgen "), proc.stderr


def test_a_method_typo_gets_a_suggestion(tmp_path):
    proc = thriftgen("-o", "out", "-m", "ech", ECHO, cwd=tmp_path)
    assert "method pattern 'ech' matches nothing" in proc.stderr
    assert "(did you mean 'echo'?)" in proc.stderr
    proc = thriftgen("-o", "out", "-m", "Echo.eco", ECHO, cwd=tmp_path)
    assert "(did you mean 'Echo.echo'?)" in proc.stderr


def test_a_file_named_like_a_command_is_still_a_file(tmp_path):
    (tmp_path / "chek").write_text("namespace py chek\nstruct A { 1: i32 x }\n")
    proc = thriftgen("-o", "out", "chek", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "chek" / "ttypes.py").is_file()
