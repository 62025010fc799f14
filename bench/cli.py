#!/usr/bin/env python3
"""Command-line start-up: how long ``thriftgen --version`` and ``--help`` take, and a
warm ``thriftgen check`` and generation answered from the cache, beside Apache's
``thrift -version``, in one run.

    python bench/cli.py [--repeat 15]

Each command runs as a fresh process through the installed console script next to
this interpreter (not a pyenv shim, whose bash wrapper alone costs ~50 ms); the
number is the median of ``--repeat`` runs. Goal (issue 19): ``--version`` and
``--help`` within 0.1 s. Informs; never gates.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _harness as h  # noqa: E402

GOAL_SECONDS = 0.1


def timed(cmd: list, cwd: str, env: dict, repeat: int) -> float:
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=True, timeout=120)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args(argv)
    script = Path(sys.executable).parent / "thriftgen"
    if not script.exists():
        print(f"no console script at {script}: pip install -e packaging/runtime -e .")
        return 0
    env = h.bench_env()
    work = tempfile.mkdtemp(prefix="bench-cli-")
    try:
        echo = str(h.REPO_ROOT / "fixtures" / "echo" / "echo.thrift")
        env["THRIFTGEN_CACHE_DIR"] = os.path.join(work, "cache")
        rows = [
            ("python -c pass (the floor)", [sys.executable, "-c", "pass"]),
            ("thriftgen --version", [str(script), "--version"]),
            ("thriftgen --help", [str(script), "--help"]),
            ("thriftgen check echo.thrift (warm)", [str(script), "check", echo]),
            ("thriftgen echo.thrift (up to date)", [str(script), "-o", "out", echo]),
        ]
        apache = shutil.which("thrift")
        if apache:
            rows.append(("thrift -version (Apache, C++)", [apache, "-version"]))
        for _, cmd in rows[3:5]:  # warm the caches
            subprocess.run(cmd, cwd=work, env=env, capture_output=True, timeout=300)
        table = h.Table(["command", "median wall"], title=f"Start-up, median of {args.repeat}")
        results = {}
        for name, cmd in rows:
            results[name] = timed(cmd, work, env, args.repeat)
            table.add_row([name, f"{results[name] * 1000:.0f} ms"])
        table.print()
        print()
        h.print_goals([h.Goal(f"{name} <= {GOAL_SECONDS} s", results[name] <= GOAL_SECONDS,
                              f"{results[name] * 1000:.0f} ms")
                       for name in ("thriftgen --version", "thriftgen --help")])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
