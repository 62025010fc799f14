#!/usr/bin/env python3
"""Code generation benchmark: ``thriftgen`` (full and ``-thrift trim_idl``, with and
without ``no_fmt``, cold and warm parse cache) vs Apache ``thrift -r --gen py``.

    python bench/codegen.py [--sizes 1000,10000,60000] [--repeat 1] [--skip trim-warm,...]

Every contender runs in a fresh process on the same generated IDL and writes into
its own empty output directory, round-robin within each repeat. Prints wall time,
peak RSS and output size (files / bytes / lines) tables, then PASS/FAIL per goal;
the exit code is 0 whatever the verdicts (benchmarks inform, they do not gate).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _harness as h  # noqa: E402

# Goals (issue 4), judged at GOAL_SIZE (or the largest size run).
GOAL_SIZE = 60_000
GOAL_TRIM_VS_APACHE = 0.5  # trim_idl wall <= 0.5x Apache's full generation
GOAL_FULL_VS_APACHE = 1.5  # full generation wall <= 1.5x Apache's
GOAL_BYTES_VS_APACHE = 0.5  # full output bytes <= 0.5x Apache's
GOAL_PEAK_MB = 1024  # peak RSS of every thriftgen run <= 1 GB

APACHE = "apache"
FULL = "full"
FULL_NOFMT = "full no_fmt"
FULL_WARM = "full warm"
TRIM = "trim_idl"
TRIM_NOFMT = "trim_idl no_fmt"
TRIM_WARM = "trim_idl warm"

#: --skip key -> contender; the order is the column order.
CONTENDERS = {"apache": APACHE, "full": FULL, "full-nofmt": FULL_NOFMT, "full-warm": FULL_WARM,
              "trim": TRIM, "trim-nofmt": TRIM_NOFMT, "trim-warm": TRIM_WARM}
#: thriftgen's ``-thrift`` options and whether the run reads a filled cache.
FLAGS = {FULL: ([], False), FULL_NOFMT: (["no_fmt"], False), FULL_WARM: ([], True),
         TRIM: (["trim_idl"], False), TRIM_NOFMT: (["trim_idl", "no_fmt"], False),
         TRIM_WARM: (["trim_idl"], True)}
OURS = [c for c in CONTENDERS.values() if c != APACHE]

#: ``--via api``: the same job through the library in one fresh process (what the
#: CLI does minus its incremental-generation bookkeeping): ``load_checked_program``
#: (``load_trimmed_program`` with trim_idl), ``codegen.generate(jobs=0)``,
#: ``write_output``; the parse cache as the CLI flags say.
API_DRIVER = """
import sys
from thriftgen.codegen import generate
from thriftgen.codegen.options import parse_thrift_options
from thriftgen.codegen.writer import write_output
from thriftgen.diagnostics import DiagnosticSink
from thriftgen.idl.frontend import load_checked_program
from thriftgen.trim.frontend import load_trimmed_program
from thriftgen.idl.loader import gc_paused

root, out, cache_dir, opts = sys.argv[1:5]
sink = DiagnosticSink()
options = parse_thrift_options([opts] if opts else [])
cache = None
if cache_dir != "-":
    from thriftgen.idl.cache import ParseCache
    cache = ParseCache(cache_dir)
with gc_paused():
    if options.trim_idl:
        from thriftgen.trim import resolve_options
        trim, _ = resolve_options([root], trim_all=True if options.trim_all else None)
        program = load_trimmed_program([root], [], trim, sink, cache).program
    else:
        program = load_checked_program([root], [], sink, cache)
    files = generate(program, options, sink, recursive=True, jobs=0)
    write_output(files, out)
import gc
gc.freeze()  # as the CLI does before exiting (commands.gen._spare_final_collection)
"""


# --------------------------------------------------------------------------- output size


@dataclass
class Output:
    """What one run left in its output directory."""

    files: int
    bytes: int
    lines: int
    digest: str  # over every file's relative path and bytes: equal trees, equal digests


def measure_output(outdir: Path, ignore: tuple = (".thriftgen-manifest.json",)) -> Output:
    """Regular files under ``outdir`` (thriftgen's manifest is bookkeeping, not output)."""
    files = n_bytes = lines = 0
    digest = hashlib.sha256()
    for path in sorted(p for p in outdir.rglob("*") if p.is_file() and p.name not in ignore):
        data = path.read_bytes()
        files += 1
        n_bytes += len(data)
        lines += data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
        digest.update(path.relative_to(outdir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(data).digest())
    return Output(files, n_bytes, lines, digest.hexdigest()[:16])


# --------------------------------------------------------------------------- runs


class Runner:
    """Runs one contender on one IDL into a fresh output dir; records the output size
    of the last successful run per contender (sizes do not vary between repeats)."""

    def __init__(self, root: Path, timeout: float, via: str = "cli", extra: tuple = ()):
        self.root = root
        self.timeout = timeout
        self.via = via
        self.extra = list(extra)  # -thrift options added to every thriftgen run
        self.outputs: dict = {}  # contender -> Output
        self.cache_dir: Optional[Path] = None
        self.made: list = []

    def _scratch(self, prefix: str) -> Path:
        d = h.scratch_dir(prefix)
        self.made.append(d)
        return d

    def filled_cache(self) -> Path:
        """A parse cache dir filled by one unmeasured full run (so warm runs hit)."""
        if self.cache_dir is None:
            d = self._scratch("codegen-cache")
            out = self._scratch("codegen-fill")
            self.thriftgen(["no_fmt"], d, out)
            shutil.rmtree(out, ignore_errors=True)
            self.cache_dir = d
        return self.cache_dir

    def thriftgen(self, options: list, cache_dir: Optional[Path], out: Path) -> h.Run:
        opts = ",".join(options + self.extra)
        if self.via == "api":
            return h.run_python(API_DRIVER, [self.root, out, cache_dir or "-", opts],
                                timeout=self.timeout)
        cache = ["--cache-dir", cache_dir] if cache_dir else ["--no-cache"]
        thrift = ["-thrift", opts] if opts else []
        # -r: like Apache's -r, generate every included file.
        return h.run_module("thriftgen", ["-q", "-r", *cache, *thrift, "-o", out, self.root],
                            timeout=self.timeout)

    def run(self, name: str) -> h.Run:
        out = self._scratch("codegen-out")
        try:
            if name == APACHE:
                run = h.run_command(["thrift", "-r", "--gen", "py", "-out", out, self.root],
                                    timeout=self.timeout)
            else:
                options, warm = FLAGS[name]
                run = self.thriftgen(list(options), self.filled_cache() if warm else None, out)
            self.outputs[name] = measure_output(out)
            return run
        finally:
            shutil.rmtree(out, ignore_errors=True)

    def cleanup(self) -> None:
        for d in self.made:
            shutil.rmtree(d, ignore_errors=True)


def run_sizes(sizes: list, names: list, args) -> tuple:
    """({n: {name: Stats}}, {n: {name: Output}}, {n: IDL bytes})."""
    results: dict = {}
    outputs: dict = {}
    idl_bytes: dict = {}
    for n in sizes:
        idl = h.synth_idl(n, seed=args.seed)
        idl_bytes[n] = sum(p.stat().st_size for p in idl.files)
        print(f"N={h.fmt_count(n)}: {len(idl.files)} files, {idl_bytes[n] / 1e6:.1f} MB IDL "
              f"({idl.root.parent})", file=sys.stderr, flush=True)
        runner = Runner(idl.root, args.timeout, args.via, args.thrift_extra)
        try:
            results[n] = h.round_robin({name: (lambda name=name: runner.run(name)) for name in names},
                                       args.repeat)
        finally:
            runner.cleanup()
        outputs[n] = runner.outputs
        for name, st in results[n].items():
            if st.error:
                print(f"  {name} FAILED: {st.error}", file=sys.stderr, flush=True)
            else:
                print(f"  {name}: {h.fmt_seconds(st.median)}, {h.fmt_mb(st.peak_rss_mb)}",
                      file=sys.stderr, flush=True)
        for name in CONTENDERS.values():  # skipped contenders read '-'
            results[n].setdefault(name, h.Stats(error="skipped"))
    return results, outputs, idl_bytes


# --------------------------------------------------------------------------- report


def fmt_bytes(n: Optional[int]) -> str:
    if n is None:
        return "-"
    return f"{n / 1e6:,.1f} MB" if n >= 100_000 else f"{n / 1e3:,.1f} kB"


def failure_note(stats: h.Stats) -> str:
    first = stats.error.splitlines()[0] if stats.error else "failed"
    return first if len(first) < 160 else first[:157] + "..."


def print_report(sizes: list, names: list, results: dict, outputs: dict, idl_bytes: dict,
                 repeat: int, via: str = "cli") -> list:
    label = h.fmt_count
    baseline = APACHE if APACHE in names else None
    times = h.Table.comparison("N structs", names, [
        (label(n), {k: st.median for k, st in results[n].items()}) for n in sizes],
        baseline=baseline, title=f"Wall time, generation (fresh process each; median of {repeat})")
    how = ("`python -m thriftgen -q -r [-thrift OPTS] -o OUT root`" if via == "cli" else
           "the library in one fresh process (bench/codegen.py API_DRIVER: load_checked_program "
           "or load_trimmed_program, generate(jobs=0), write_output)")
    times.add_note(f"thriftgen runs: {how}; cold = no parse cache, warm = a cache dir filled by "
                   "one unmeasured run. Every run writes into a new empty OUT. "
                   "apache = `thrift -r --gen py -out OUT root`.")
    for n in sizes:
        for name in names:
            if results[n][name].error:
                times.add_note(f"{name} at N={label(n)}: {failure_note(results[n][name])}")
    times.print()

    h.Table.comparison("N structs", names, [
        (label(n), {k: st.peak_rss_mb for k, st in results[n].items()}) for n in sizes],
        baseline=baseline, fmt=h.fmt_mb,
        title="Peak RSS (largest single process of the run; workers forked by thriftgen count "
              "separately, sharing the parent's pages)").print()

    produced = [k for k in names if not FLAGS.get(k, (None, True))[1]]  # warm rows: same output
    size = h.Table(["N structs", "IDL", *[f"{k}: files / bytes / lines" for k in produced]],
                   title="Output size")
    for n in sizes:
        cells = [label(n), fmt_bytes(idl_bytes[n])]
        base = outputs[n].get(APACHE)
        for k in produced:
            o = outputs[n].get(k)
            if o is None:
                cells.append("-")
                continue
            cell = f"{o.files} / {fmt_bytes(o.bytes)} / {o.lines:,}"
            if base is not None and k != APACHE and base.bytes:
                cell += f" ({h.fmt_ratio(o.bytes / base.bytes)})"
            cells.append(cell)
        size.add_row(cells)
    size.add_note("(x) = bytes relative to Apache's output. Files exclude thriftgen's "
                  ".thriftgen-manifest.json.")
    for n in sizes:
        for fmt_name, raw_name in ((FULL, FULL_NOFMT), (TRIM, TRIM_NOFMT)):
            a, b = outputs[n].get(fmt_name), outputs[n].get(raw_name)
            if a and b:
                same = "identical" if a.digest == b.digest else "DIFFERENT"
                size.add_note(f"N={label(n)}: {fmt_name} vs {raw_name} output trees are {same}.")
        for cold, warm in ((FULL, FULL_WARM), (TRIM, TRIM_WARM)):
            a, b = outputs[n].get(cold), outputs[n].get(warm)
            if a and b and a.digest != b.digest:
                size.add_note(f"N={label(n)}: {cold} cold and warm outputs DIFFER.")
    size.print()

    goals = judge(sizes, results, outputs)
    h.print_goals(goals)
    return goals


def judge(sizes: list, results: dict, outputs: dict) -> list:
    """Speed goals (issue 19) at every size run: full generation <= 1.5x Apache's
    wall, cold trim_idl <= 0.5x, judged on the ``no_fmt`` runs (Apache formats
    nothing either) and on the black-formatted ones when they ran; output bytes
    and peak RSS at GOAL_SIZE (or the largest size run)."""
    out = []

    def vs_apache(n: int, name: str, limit: float, label: str) -> Optional[h.Goal]:
        r = results[n]
        mine, apache = r[name].median, r[APACHE].median
        if r[name].error == "skipped":
            return None
        ratio = h.ratio(mine, apache)
        detail = (f"{h.fmt_seconds(mine)} vs {h.fmt_seconds(apache)} ({h.fmt_ratio(ratio)})"
                  if ratio is not None else "needs both runs")
        return h.Goal(f"{label} <= {limit}x Apache's wall at {h.fmt_count(n)}",
                      None if ratio is None else ratio <= limit, detail)

    for n in sizes:
        for name, limit, label in ((FULL_NOFMT, GOAL_FULL_VS_APACHE, "full generation, no_fmt"),
                                   (TRIM_NOFMT, GOAL_TRIM_VS_APACHE, "trim_idl, no_fmt (cold)"),
                                   (FULL, GOAL_FULL_VS_APACHE, "full generation, black"),
                                   (TRIM, GOAL_TRIM_VS_APACHE, "trim_idl, black (cold)")):
            goal = vs_apache(n, name, limit, label)
            if goal is not None:
                out.append(goal)
    per_size = len(out)
    n = GOAL_SIZE if GOAL_SIZE in sizes else sizes[-1]
    at = f"at {h.fmt_count(n)}"
    r = results[n]
    ours, theirs = outputs[n].get(FULL) or outputs[n].get(FULL_NOFMT), outputs[n].get(APACHE)
    if ours and theirs and theirs.bytes:
        ratio = ours.bytes / theirs.bytes
        out.append(h.Goal(f"full output bytes <= {GOAL_BYTES_VS_APACHE}x Apache's {at}",
                          ratio <= GOAL_BYTES_VS_APACHE,
                          f"{fmt_bytes(ours.bytes)} vs {fmt_bytes(theirs.bytes)} ({h.fmt_ratio(ratio)})"))
    else:
        out.append(h.Goal(f"full output bytes <= {GOAL_BYTES_VS_APACHE}x Apache's {at}", None,
                          "needs both runs"))
    peaks = {k: r[k].peak_rss_mb for k in OURS if r[k].peak_rss_mb is not None}
    if peaks:
        worst = max(peaks, key=peaks.get)
        out.append(h.Goal(f"peak RSS <= {GOAL_PEAK_MB} MB {at} (every thriftgen run)",
                          peaks[worst] <= GOAL_PEAK_MB,
                          f"largest: {worst} {h.fmt_mb(peaks[worst])}"))
    else:
        out.append(h.Goal(f"peak RSS <= {GOAL_PEAK_MB} MB {at}", None, "no thriftgen run"))
    if n != GOAL_SIZE:
        for g in out[per_size:]:
            g.detail += f" (goal size {h.fmt_count(GOAL_SIZE)} not run)"
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    h.add_common_args(ap, default_sizes="1000,10000,60000", default_repeat=1)
    ap.add_argument("--timeout", type=float, default=1800,
                    help="seconds before one run is abandoned (its cell then reads '-'; default 1800)")
    ap.add_argument("--skip", default="", help="comma-separated contenders to leave out: "
                    + ", ".join(CONTENDERS))
    ap.add_argument("--via", choices=("cli", "api"), default="cli",
                    help="run thriftgen as the command line (default) or through the library "
                         "API in one fresh process (see API_DRIVER)")
    ap.add_argument("--thrift-extra", default="", metavar="OPTS",
                    help="-thrift options added to every thriftgen run (e.g. fast_codec=aot)")
    args = ap.parse_args(argv)
    args.thrift_extra = tuple(o for o in args.thrift_extra.split(",") if o)
    keys = [k.strip() for k in args.skip.split(",") if k.strip()]
    unknown = [k for k in keys if k not in CONTENDERS]
    if unknown:
        ap.error(f"--skip: unknown contender(s) {', '.join(unknown)}; choose from {', '.join(CONTENDERS)}")
    skipped = {CONTENDERS[k] for k in keys}
    if shutil.which("thrift") is None:
        skipped.add(APACHE)
        print("apache: `thrift` not installed, column omitted", file=sys.stderr)
    names = [c for c in CONTENDERS.values() if c not in skipped]

    h.warm_imports(["thriftgen.cli", "thriftgen.commands.gen", "thriftgen.codegen.viewmodel",
                    "thriftgen.codegen.render", "thriftgen.codegen.fmt", "black"])
    how = f"thriftgen via {args.via}" + (f", -thrift +{','.join(args.thrift_extra)}"
                                          if args.thrift_extra else "")
    print(f"# code generation benchmark ({how}; {h.describe_machine()})\n", flush=True)
    results, outputs, idl_bytes = run_sizes(args.sizes, names, args)
    print_report(args.sizes, names, results, outputs, idl_bytes, args.repeat, args.via)
    return 0


if __name__ == "__main__":
    sys.exit(main())
