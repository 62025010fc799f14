"""The progress line: on a terminal, after the delay, what the run is doing; never
on a pipe, with -q, or in a run quicker than the delay."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

MONO = REPO_ROOT / "fixtures" / "monorepo" / "service.thrift"


def on_terminal(args, cwd, env) -> str:
    """Run ``thriftgen args`` with stdout/stderr on a pseudo-terminal; all it printed."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "thriftgen", *args], cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait(60)
    os.close(master)
    return out.decode("utf-8", "replace")


@pytest.fixture
def env(tmp_path):
    return dict(os.environ, PYTHONPATH=str(REPO_ROOT), THRIFTGEN_NO_CACHE="1",
                TERM="xterm", THRIFTGEN_PROGRESS_DELAY="0")


def test_a_terminal_sees_the_stages(tmp_path, env):
    out = on_terminal(["-o", "out", str(MONO)], tmp_path, env)
    # Which stages the line catches depends on the machine's speed; each is one of the run's.
    stages = ("reading service.thrift and what it includes", "generating code for 7 IDL files",
              "checking the layout of 22 files with black", "writing 22 files")
    assert any(f"thriftgen: {stage} (" in out for stage in stages), out
    assert "22 written" in out


def test_quiet_and_pipes_see_nothing_but_the_outcome(tmp_path, env):
    out = on_terminal(["-q", "-o", "out", str(MONO)], tmp_path, env)
    assert "thriftgen:" not in out, out
    piped = subprocess.run([sys.executable, "-m", "thriftgen", "-o", "out2", str(MONO)],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert piped.returncode == 0
    assert piped.stderr.startswith("thriftgen: 22 written") and piped.stderr.count("\n") == 1


def test_a_quick_run_shows_no_line(tmp_path, env):
    env = dict(env, THRIFTGEN_PROGRESS_DELAY="30")
    out = on_terminal(["-o", "out", str(MONO)], tmp_path, env)
    assert "reading" not in out and "generating code" not in out and "22 written" in out
