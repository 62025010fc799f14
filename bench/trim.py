#!/usr/bin/env python3
"""Trim benchmark on synthetic IDL: ``python bench/trim.py [--sizes 1000,10000,60000]``.

For each size N, generates an IDL tree with the shared generator
(``../shared/bench/gen_big_idl.py``, 5% of the structs reachable from the
services) in a temporary directory, then times, each the best of ``--repeat``:

* parse: ``load_program`` (no parse cache), the baseline trimming is compared to;
* trim:  ``trim_program`` (reachability + new Program + stats), default options;
* write: cutting the original text by spans and writing the trimmed tree.

and prints one table row per size: files and bytes before -> after, the
structs kept, and trim/parse (which must stay a small fraction and flat
as N grows: the walk is linear in what it reaches plus the number of files).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from thriftgen.diagnostics import DiagnosticSink  # noqa: E402
from thriftgen.idl.loader import load_program  # noqa: E402
from thriftgen.trim import TrimOptions, plan_layout, trim_program, write_trimmed  # noqa: E402

GENERATOR = REPO.parent / "shared" / "bench" / "gen_big_idl.py"


def tree_bytes(directory: str) -> tuple:
    files = [os.path.join(d, f) for d, _, fs in os.walk(directory) for f in fs
             if f.endswith(".thrift")]
    return len(files), sum(os.path.getsize(f) for f in files)


def best_of(repeat: int, fn):
    best, value = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def bench(n: int, seed: int, repeat: int, work: str) -> dict:
    idl_dir = os.path.join(work, f"idl_{n}")
    subprocess.run([sys.executable, str(GENERATOR), str(n), idl_dir, "--seed", str(seed)],
                   check=True, stdout=subprocess.DEVNULL)
    root = os.path.join(idl_dir, "service.thrift")
    parse_s, program = best_of(repeat, lambda: load_program([root], [], DiagnosticSink()))
    for pf in program:  # materialize lazily loaded documents outside the trim timing
        pf.document
    trim_s, result = best_of(repeat, lambda: trim_program(program, TrimOptions()))
    out_dir = os.path.join(work, f"out_{n}")
    write_s, _ = best_of(repeat, lambda: write_trimmed(result, out_dir, plan_layout(result)))
    files_before, bytes_before = tree_bytes(idl_dir)
    files_after, bytes_after = tree_bytes(out_dir)
    return {
        "n": n, "parse": parse_s, "trim": trim_s, "write": write_s,
        "files": (files_before, files_after), "bytes": (bytes_before, bytes_after),
        "structs": (result.stats.total("before")["structs"], result.stats.total("after")["structs"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,60000",
                    help="comma-separated struct counts (default: 1000,10000,60000)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = ap.parse_args()
    if not GENERATOR.is_file():
        sys.exit(f"generator not found: {GENERATOR}")
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    head = (f"{'N':>7} {'parse s':>8} {'trim ms':>8} {'trim/parse':>10} {'us/struct':>9} "
            f"{'write ms':>8} {'files':>8} {'structs':>13} {'bytes before -> after':>26}")
    print(head)
    print("-" * len(head))
    with tempfile.TemporaryDirectory(prefix="thriftgen-trim-bench-") as work:
        for n in sizes:
            r = bench(n, args.seed, args.repeat, work)
            (fb, fa), (bb, ba), (sb, sa) = r["files"], r["bytes"], r["structs"]
            print(f"{n:>7} {r['parse']:>8.2f} {r['trim'] * 1e3:>8.1f} "
                  f"{r['trim'] / r['parse']:>9.1%} {r['trim'] * 1e6 / n:>9.2f} "
                  f"{r['write'] * 1e3:>8.1f} {f'{fb}->{fa}':>8} {f'{sb}->{sa}':>13} "
                  f"{f'{bb:,} -> {ba:,} ({(ba - bb) / bb:+.0%})':>26}", flush=True)


if __name__ == "__main__":
    main()
