"""Smoke test of ``bench/rpc.py`` (slow: it starts four server processes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_rpc_benchmark_runs(tmp_path):
    pytest.importorskip("thrift")
    env = {"BENCH_WORK_DIR": str(tmp_path), "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "rpc.py"), "--calls", "200",
                           "--repeat", "1", "--concurrency", "2"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for title in ("Sequential, our blocking client", "Concurrent, our asyncio client",
                  "Server work per call", "### Goals"):
        assert title in out
    for server in ("thriftgen ThreadedServer", "thriftgen AsyncServer",
                   "Apache TThreadedServer (pure)", "Apache TThreadedServer (accel)"):
        assert out.count(server) >= 2
