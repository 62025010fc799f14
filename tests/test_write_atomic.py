"""Output is written all or nothing (README: "Writing"): a failure at any step leaves
the previous output byte for byte, with no temporary file left; what a killed run
leaves is cleaned by the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from test_codegen_util import FIXTURES, REPO
from thriftgen import fileio
from thriftgen.codegen.writer import WriteError, write_output

STORE = FIXTURES / "store"
GEN_ARGS = ["-r", "-I", str(STORE), str(STORE / "service.thrift")]


def cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), THRIFTGEN_NO_CACHE="1", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "thriftgen", *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


def snapshot(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def leftovers(root: Path) -> list:
    return sorted(p.name for p in root.rglob("*") if p.name.endswith((".tg-tmp", ".tg-old")))


def old_and_new(n: int = 9) -> tuple:
    """A previous output and a new one that changes some files, adds some (in new
    directories too) and keeps some."""
    old = {f"p/m{i}.py": f"old {i}\n" for i in range(n)}
    old["p/__init__.py"] = "keep\n"
    new = {f"p/m{i}.py": f"new {i}\n" for i in range(n)}
    new["p/__init__.py"] = "keep\n"
    new.update({"q/__init__.py": "added\n", "q/r/deep.py": "added\n"})
    return old, new


def test_a_failed_rename_at_every_position_rolls_back(tmp_path, monkeypatch):
    out = tmp_path / "out"
    old, new = old_and_new()
    write_output(old, str(out))
    before = snapshot(out)
    real_replace = os.replace
    total = (len(new) - 1) + 1  # 11 changed or added files (one unchanged) + the manifest
    positions = 0
    for fail_at in range(total):
        calls = []

        def flaky(src, dst, *a, **kw):
            calls.append(dst)
            if len(calls) == fail_at + 1:
                raise OSError(13, "Permission denied", str(dst))
            return real_replace(src, dst, *a, **kw)

        monkeypatch.setattr(os, "replace", flaky)
        with pytest.raises(WriteError, match="Permission denied.*previous files are left"):
            write_output(new, str(out))
        monkeypatch.setattr(os, "replace", real_replace)
        assert snapshot(out) == before, f"rename {fail_at} not rolled back"
        assert leftovers(out) == [], fail_at
        assert not (out / "q").exists(), "directories this run made are removed"
        positions += 1
    assert positions == total == 12
    write_output(new, str(out))  # and the next run succeeds
    assert {k: v.decode() for k, v in snapshot(out).items() if k.endswith(".py")} == new


def _fail_call(n: int, real, err: OSError):
    """``real``, except that its ``n``-th call (from 1) raises ``err``."""
    calls = []

    def flaky(*a, **kw):
        calls.append(a)
        if len(calls) == n:
            raise err
        return real(*a, **kw)

    return flaky


@pytest.mark.parametrize("step", ["temp file", "backup link", "backup copy"])
def test_a_failed_temp_or_backup_at_every_position_rolls_back(tmp_path, monkeypatch, step):
    out = tmp_path / "out"
    old, new = old_and_new(5)
    write_output(old, str(out))
    before = snapshot(out)
    full = OSError(28, "No space left on device")
    for fail_at in range(1, 8):
        if step == "temp file":
            monkeypatch.setattr(fileio, "write_temp", _fail_call(fail_at, fileio.write_temp, full))
        elif step == "backup link":  # a failed link falls back to a copy; both fail here
            monkeypatch.setattr(os, "link", _fail_call(fail_at, os.link, full))
            monkeypatch.setattr(fileio.shutil, "copy2", _fail_call(1, fileio.shutil.copy2, full))
        else:  # no hard links on this file system: copies, one of which fails
            monkeypatch.setattr(os, "link", _fail_call(1, os.link, OSError(1, "Operation not permitted")))
            monkeypatch.setattr(fileio.shutil, "copy2", _fail_call(fail_at, fileio.shutil.copy2, full))
        try:
            write_output(new, str(out))
            done = True
        except WriteError as e:
            assert "No space left" in str(e)
            done = False
        monkeypatch.undo()
        if done:  # fewer calls than fail_at: the run succeeded, restore the old output
            assert snapshot(out) != before
            write_output(old, str(out))
        else:
            assert snapshot(out) == before, (step, fail_at)
        assert leftovers(out) == [], (step, fail_at)


def test_backups_are_copies_where_hard_links_fail(tmp_path, monkeypatch):
    out = tmp_path / "out"
    old, new = old_and_new(3)
    write_output(old, str(out))
    before = snapshot(out)
    monkeypatch.setattr(os, "link", lambda *a: (_ for _ in ()).throw(OSError(1, "Operation not permitted")))
    real_replace = os.replace
    calls = []

    def fail_third(src, dst, *a):
        calls.append(dst)
        if len(calls) == 3:
            raise OSError(5, "Input/output error")
        return real_replace(src, dst, *a)

    monkeypatch.setattr(os, "replace", fail_third)
    with pytest.raises(WriteError):
        write_output(new, str(out))
    monkeypatch.undo()
    assert snapshot(out) == before and leftovers(out) == []


def test_a_directory_in_place_of_a_module_fails_before_anything_changes(tmp_path):
    """The issue's case: one target ``ttypes.py`` replaced by a directory, then a run
    that would change every file."""
    first = cli("-o", "gen", "-thrift", "no_fmt", *GEN_ARGS, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    gen = tmp_path / "gen"
    victim = sorted(gen.rglob("ttypes.py"))[len(list(gen.rglob("ttypes.py"))) // 2]
    victim.unlink()
    victim.mkdir()
    before = snapshot(gen)
    again = cli("-o", "gen", "-thrift", "no_fmt,template=slim", *GEN_ARGS, cwd=tmp_path)
    assert again.returncode == 1
    assert "is a directory; refusing to replace it" in again.stderr, again.stderr
    assert "Traceback" not in again.stderr
    assert snapshot(gen) == before
    assert leftovers(gen) == []


def test_a_run_killed_while_renaming_is_cleaned_up_by_the_next(tmp_path):
    """SIGKILL in the middle of the rename phase: the next run removes the
    temporary files and backups and writes the whole output."""
    first = cli("-o", "gen", "-thrift", "no_fmt", *GEN_ARGS, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    script = textwrap.dedent(f"""
        import os, signal, sys
        calls = []
        real = os.replace
        def killing(src, dst, *a):
            calls.append(dst)
            if len(calls) == 7:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(src, dst, *a)
        os.replace = killing
        from thriftgen.cli import main
        main(["-o", "gen", "-thrift", "no_fmt,template=slim", *{GEN_ARGS!r}])
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO), THRIFTGEN_NO_CACHE="1")
    killed = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL
    gen = tmp_path / "gen"
    assert leftovers(gen), "the killed run left temporary files (the case to clean)"
    again = cli("-o", "gen", "-thrift", "no_fmt,template=slim", *GEN_ARGS, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert leftovers(gen) == []
    reference = tmp_path / "ref"
    assert cli("-o", "ref", "-thrift", "no_fmt,template=slim", *GEN_ARGS,
               cwd=tmp_path).returncode == 0
    assert snapshot(gen) == snapshot(reference)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_keeps_the_files_of_a_live_run(tmp_path):
    d = tmp_path
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {
            f".ttypes.py.{_dead_pid()}.abcd1234.tg-tmp": True,  # killed run: removed
            f".ttypes.py.{_dead_pid()}.0f0f0f0f.tg-old": True,
            ".ttypes.py.k2j3h4g5.tg-tmp": True,  # thriftgen before pids were in the name
            f".ttypes.py.{live.pid}.abcd1234.tg-tmp": False,  # a run in progress: kept
            "ttypes.py": False,
            ".hidden.tg-tmp.txt": False,
        }
        for name in names:
            (d / name).write_text("x")
        old = d / f".old.py.{live.pid}.ffff0000.tg-tmp"
        old.write_text("x")
        os.utime(old, (1, 1))  # a day old: removed though the pid is taken again
        removed = {Path(p).name for p in fileio.sweep_stale([str(d)])}
        assert removed == {n for n, gone in names.items() if gone} | {old.name}
    finally:
        live.kill()
        live.wait()


def test_dangling_symlink_in_the_output_is_refused_by_name(tmp_path):
    gen = tmp_path / "gen"
    gen.mkdir()
    (gen / "store").symlink_to(tmp_path / "nowhere")
    proc = cli("-o", "gen", "-thrift", "no_fmt", *GEN_ARGS, cwd=tmp_path)
    assert proc.returncode == 1
    assert "refusing to write into" in proc.stderr and "symbolic link" in proc.stderr, proc.stderr
    assert "Errno" not in proc.stderr
    assert not (tmp_path / "nowhere").exists()
    # the output directory itself as a dangling link
    (tmp_path / "gen2").symlink_to(tmp_path / "nowhere2")
    proc = cli("-o", "gen2", "-thrift", "no_fmt", *GEN_ARGS, cwd=tmp_path)
    assert proc.returncode == 1 and "refusing to write into" in proc.stderr, proc.stderr
    assert not (tmp_path / "nowhere2").exists()


def test_trimmed_idl_is_written_all_or_nothing(tmp_path, monkeypatch):
    from thriftgen.diagnostics import DiagnosticSink
    from thriftgen.trim.frontend import load_trimmed_program
    from thriftgen.trim import TrimOptions
    from thriftgen.trim.writer import TrimWriteError, write_trimmed

    result = load_trimmed_program([str(STORE / "service.thrift")], [str(STORE)],
                                  TrimOptions(), DiagnosticSink(), None)
    out = tmp_path / "trimmed"
    write_trimmed(result, str(out))
    for p in out.rglob("*.thrift"):
        p.write_text("// previous\n")
    before = snapshot(out)
    real_replace = os.replace
    n = len(before)
    for fail_at in range(n):
        calls = []

        def flaky(src, dst, *a):
            calls.append(dst)
            if len(calls) == fail_at + 1:
                raise OSError(30, "Read-only file system", str(dst))
            return real_replace(src, dst, *a)

        monkeypatch.setattr(os, "replace", flaky)
        with pytest.raises(TrimWriteError, match="Read-only file system"):
            write_trimmed(result, str(out))
        monkeypatch.setattr(os, "replace", real_replace)
        assert snapshot(out) == before and leftovers(out) == []
