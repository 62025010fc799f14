#!/usr/bin/env python3
"""Parse + check benchmark: thriftgen (cold, cold writing its cache, warm) vs
thriftpy2 vs Apache's compiler, on generated IDLs of several sizes.

    python bench/parse.py [--sizes 1000,10000,60000] [--repeat 3]

Every contender runs in a fresh process on the same files, round-robin within
each repeat. Prints wall time and peak RSS tables plus PASS/FAIL per goal; the
exit code is 0 whatever the verdicts (benchmarks inform, they do not gate).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _harness as h  # noqa: E402

GOAL_COLD_VS_THRIFTPY2 = 0.5  # thriftgen cold <= 0.5x thriftpy2 at 10k structs
GOAL_SIZE = 10_000
GOAL_LINEAR_SLACK = 1.3  # net time per 1k structs may grow at most this much up to the largest size
GOAL_WARM_VS_COLD = 0.1  # warm <= 0.1x cold

COLD = "thriftgen cold"
COLD_WRITE = "thriftgen cold+write"
WARM = "thriftgen warm"
WARM_PARSE = "thriftgen warm parse cache"
THRIFTPY2 = "thriftpy2"
APACHE = "apache (parse+gen py)"

THRIFTPY2_LOAD = "import sys, thriftpy2\nthriftpy2.load(sys.argv[1], include_dirs=[sys.argv[2]])\n"
SKIP_KEYS = {"cold": COLD, "write": COLD_WRITE, "warm": WARM, "warm-parse": WARM_PARSE,
             "thriftpy2": THRIFTPY2, "apache": APACHE}
TINY_IDL = "struct Tiny {\n  1: i32 id,\n}\n"


def thriftgen_check(root: Path, timeout: float, *flags) -> h.Run:
    return h.run_module("thriftgen", ["check", "-q", *flags, root], timeout=timeout)


class CacheDirs:
    """A fresh cache dir for every cold+write run; warm runs reuse the latest one
    (filling one, unmeasured, when cold+write is skipped or failed)."""

    def __init__(self):
        self.filled_dir = None  # the last cache dir a run completed into
        self.made: list = []

    def fresh(self) -> Path:
        d = h.scratch_dir("parse-cache")
        self.made.append(d)
        return d

    def write(self, root: Path, timeout: float) -> h.Run:
        d = self.fresh()
        run = thriftgen_check(root, timeout, "--cache-dir", d)
        self.filled_dir = d  # only after success: a half-written cache is not "warm"
        return run

    def filled(self, root: Path, timeout: float) -> Path:
        if self.filled_dir is None:
            self.write(root, timeout)
        return self.filled_dir

    def cleanup(self) -> None:
        for d in self.made:
            shutil.rmtree(d, ignore_errors=True)


def apache_gen(root: Path, timeout: float) -> h.Run:
    out = h.scratch_dir("apache-gen-py")
    try:
        return h.run_command(["thrift", "-r", "--gen", "py", "-out", out, root], timeout=timeout)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def contenders(root: Path, caches: CacheDirs, names: list, timeout: float) -> dict:
    include_dir = root.parent
    caches.filled_dir = None  # never warm from another size's cache
    every = {
        COLD: lambda: thriftgen_check(root, timeout, "--no-cache"),
        COLD_WRITE: lambda: caches.write(root, timeout),
        # Runs right after COLD_WRITE in the same round: its cache is full.
        WARM: lambda: thriftgen_check(root, timeout, "--cache-dir", caches.filled(root, timeout)),
        # A command line never seen before (an extra empty -I dir) misses the recorded
        # check verdict: this is a run that loads every AST from the parse cache.
        WARM_PARSE: lambda: thriftgen_check(root, timeout, "-I", caches.fresh(), "--cache-dir",
                                            caches.filled(root, timeout)),
        THRIFTPY2: lambda: h.run_python(THRIFTPY2_LOAD, [root, include_dir], timeout=timeout),
        APACHE: lambda: apache_gen(root, timeout),
    }
    return {name: every[name] for name in names}


def startup_floor(repeat: int) -> h.Stats:
    """thriftgen's fixed cost (interpreter, imports) on a one-struct IDL."""
    d = h.scratch_dir("parse-tiny")
    try:
        (d / "tiny.thrift").write_text(TINY_IDL)
        return h.measure(lambda: thriftgen_check(d / "tiny.thrift", 600, "--no-cache"), repeat)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def failure_note(stats: h.Stats) -> str:
    first = stats.error.splitlines()[0] if stats.error else "failed"
    return first if len(first) < 160 else first[:157] + "..."


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    h.add_common_args(ap, default_sizes="1000,10000,60000", default_repeat=3)
    ap.add_argument("--timeout", type=float, default=1800,
                    help="seconds before one run is abandoned (its cell then reads '-'; default 1800)")
    ap.add_argument("--skip", default="", help="comma-separated contenders to leave out: "
                    + ", ".join(SKIP_KEYS))
    ap.add_argument("--generator", choices=("own", "shared"), default="own",
                    help="own: bench/synth_idl.py (default); shared: ../shared/bench/gen_big_idl.py")
    args = ap.parse_args(argv)
    skipped = {SKIP_KEYS[k.strip()] for k in args.skip.split(",") if k.strip() in SKIP_KEYS}
    unknown = [k for k in args.skip.split(",") if k.strip() and k.strip() not in SKIP_KEYS]
    if unknown:
        ap.error(f"--skip: unknown contender(s) {', '.join(unknown)}; choose from {', '.join(SKIP_KEYS)}")

    with_apache = shutil.which("thrift") is not None
    names = [n for n in (COLD, COLD_WRITE, WARM, WARM_PARSE, THRIFTPY2) + ((APACHE,) if with_apache else ())
             if n not in skipped]
    h.warm_imports(["thriftgen.cli", "thriftgen.idl.frontend", "thriftgen.idl.cache", "thriftpy2"])
    print(f"# parse + check benchmark ({h.describe_machine()}; median of {args.repeat})\n", flush=True)

    floor = startup_floor(args.repeat)
    results, structs = run_sizes(args.sizes, names, args)
    print_report(args.sizes, names, results, structs, floor, with_apache)
    return 0


def run_sizes(sizes: list, names: list, args) -> tuple:
    """Measure every contender at every size: ({n: {name: Stats}}, {n: struct count})."""
    results: dict = {}
    structs: dict = {}
    caches = CacheDirs()
    try:
        for n in sizes:
            idl = (h.shared_idl(n, seed=args.seed) if args.generator == "shared"
                   else h.synth_idl(n, seed=args.seed))
            structs[n] = idl.n_structs
            size_mb = sum(p.stat().st_size for p in idl.files) / 1e6
            print(f"N={h.fmt_count(n)}: {len(idl.files)} files, {size_mb:.1f} MB, "
                  f"{len(idl.reachable)} structs reachable ({idl.root.parent})", file=sys.stderr, flush=True)
            results[n] = h.round_robin(contenders(idl.root, caches, names, args.timeout), args.repeat)
            for name, st in results[n].items():
                if st.error:
                    print(f"  {name} FAILED: {st.error}", file=sys.stderr, flush=True)
    finally:
        caches.cleanup()
    for n in sizes:  # skipped contenders read '-'
        for name in SKIP_KEYS.values():
            results[n].setdefault(name, h.Stats(error="skipped"))
    return results, structs


def print_report(sizes: list, names: list, results: dict, structs: dict, floor: h.Stats,
                 with_apache: bool) -> None:
    label = h.fmt_count
    times = h.Table.comparison("N structs", names, [
        (label(n), {k: st.median for k, st in results[n].items()}) for n in sizes],
        baseline=THRIFTPY2, title="Wall time, parse + check (fresh process each)")
    times.add_note("cold = `thriftgen check --no-cache`; cold+write = same with an empty `--cache-dir` "
                   "(fills it); warm = the same command again (answered from the recorded verdict: every input "
                   "file hashed, nothing parsed); warm parse cache = a new command line on the filled cache "
                   "(every AST unpickled, the program check cached); "
                   "thriftpy2 = `thriftpy2.load(root, include_dirs)`.")
    if APACHE in names:
        times.add_note("apache = `thrift -r --gen py`: it also generates Python code, and re-parses "
                       "a file once per include path (see bench/README.md).")
    elif not with_apache:
        times.add_note("apache: `thrift` not installed, column omitted.")
    times.add_note(f"thriftgen startup floor (one-struct IDL, --no-cache): {h.fmt_seconds(floor.median)}.")
    for n in sizes:
        for name in names:
            if results[n][name].error:
                times.add_note(f"{name} at N={label(n)}: {failure_note(results[n][name])}")
    times.print()

    h.Table.comparison("N structs", names, [
        (label(n), {k: st.peak_rss_mb for k, st in results[n].items()}) for n in sizes],
        baseline=THRIFTPY2, fmt=h.fmt_mb, title="Peak RSS").print()

    scaling = h.Table(["N structs", "cold / 1k structs", "cold net / 1k structs", "warm / 1k structs",
                       "warm/cold", "cold+write/cold", "cold/thriftpy2"],
                      title="thriftgen scaling and cache")
    net_per_k = {}
    for n in sizes:
        r = results[n]
        cold, warm = r[COLD].median, r[WARM].median
        per_k = lambda t: None if t is None else t / structs[n] * 1000  # noqa: E731
        net = None if cold is None or floor.median is None else max(cold - floor.median, 0.0)
        net_per_k[n] = per_k(net)
        scaling.add_row([label(n), h.fmt_seconds(per_k(cold)), h.fmt_seconds(net_per_k[n]),
                         h.fmt_seconds(per_k(warm)), h.fmt_ratio(h.ratio(warm, cold)),
                         h.fmt_ratio(h.ratio(r[COLD_WRITE].median, cold)),
                         h.fmt_ratio(h.ratio(cold, r[THRIFTPY2].median))])
    scaling.add_note("net = cold minus the startup floor, so per-1k figures compare across sizes.")
    scaling.print()

    h.print_goals(goals(sizes, results, net_per_k))


def goals(sizes: list, results: dict, net_per_k: dict) -> list:
    out = []
    if GOAL_SIZE in results:
        r = h.ratio(results[GOAL_SIZE][COLD].median, results[GOAL_SIZE][THRIFTPY2].median)
        out.append(h.Goal(f"cold <= {GOAL_COLD_VS_THRIFTPY2}x thriftpy2 at {h.fmt_count(GOAL_SIZE)}",
                          None if r is None else r <= GOAL_COLD_VS_THRIFTPY2, f"{h.fmt_ratio(r)}"))
    else:
        out.append(h.Goal(f"cold <= {GOAL_COLD_VS_THRIFTPY2}x thriftpy2 at {h.fmt_count(GOAL_SIZE)}",
                          None, f"size {GOAL_SIZE} not in --sizes"))

    ref = GOAL_SIZE if GOAL_SIZE in sizes else sizes[0]
    top = sizes[-1]
    name = f"linear growth: net cold time per 1k structs at {h.fmt_count(top)} <= {GOAL_LINEAR_SLACK}x " \
           f"that at {h.fmt_count(ref)}"
    a, b = net_per_k.get(top), net_per_k.get(ref)
    if top == ref or a is None or not b:
        out.append(h.Goal(name, None, "needs two sizes with results"))
    else:
        out.append(h.Goal(name, a / b <= GOAL_LINEAR_SLACK,
                          f"{h.fmt_seconds(a)} vs {h.fmt_seconds(b)} ({h.fmt_ratio(a / b)})"))

    judged = [n for n in sizes if n >= GOAL_SIZE] or sizes[-1:]
    ratios = {n: h.ratio(results[n][WARM].median, results[n][COLD].median) for n in judged}
    known = [v for v in ratios.values() if v is not None]
    detail = ", ".join(f"{h.fmt_ratio(v)} at {h.fmt_count(n)}" for n, v in ratios.items())
    out.append(h.Goal(f"warm <= {GOAL_WARM_VS_COLD}x cold (sizes >= {h.fmt_count(GOAL_SIZE)}, "
                      "or the largest run)",
                      all(v <= GOAL_WARM_VS_COLD for v in known) if len(known) == len(ratios) else None,
                      detail))
    return out


if __name__ == "__main__":
    sys.exit(main())
