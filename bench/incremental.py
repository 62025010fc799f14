#!/usr/bin/env python3
"""Incremental regeneration benchmark: thriftgen cold / warm / one file changed, beside
Apache's ``thrift -r --gen py`` (which regenerates everything every time).

    python bench/incremental.py [--sizes 10k,60k] [--repeat 3] [--no-fmt] [--timeout SEC]

Per size N, on a private copy of the synthetic IDL (``bench/synth_idl.py``):

* **cold**: empty cache directory, empty output directory (parse, check, generate,
  format, write everything). Once per size: it is the expensive one.
* **warm**: the same command again, nothing changed: answered from the generation
  cache (no parsing, no writing). ``--repeat`` times.
* **one file changed**: a struct appended to one domain file (alternately added and
  removed, so every sample is a real change): only the packages that depend on
  it are rebuilt. ``--repeat`` times.
* **apache**: ``thrift -r --gen py -out TMP root``, fresh output directory.

thriftgen runs as its console script does (``thriftgen.entry:main``) in a fresh
process with ``-I DIR -o OUT --cache-dir CACHE``, from a snapshot of the checkout
taken at the start (the cache is keyed by the generator's sources: edits made
while the benchmark runs must not turn its warm runs cold). Prints wall time and peak RSS
tables and the goal (warm <= 0.05x apache); exit code 0 whatever the verdicts.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _harness as h  # noqa: E402

GOAL_WARM_VS_APACHE = 0.05
COLD, WARM, CHANGED, APACHE = "thriftgen cold", "thriftgen warm", "one file changed", "apache"
#: The console script, as pip writes it (``from thriftgen.entry import main``).
CONSOLE = "import sys\nfrom thriftgen.entry import main\nsys.argv[0] = 'thriftgen'\nmain()\n"
EDIT = "\nstruct BenchIncrementalEdit {\n  1: i32 id\n  2: optional string note\n}\n"
_SUMMARY = re.compile(r"(\d+) written, (\d+) unchanged, (\d+) removed")


def snapshot_sources(dest: Path) -> dict:
    """Copy thriftgen's sources (package and templates) to ``dest``; the environment
    that runs them. The generation cache is keyed by a hash of the generator's
    sources, so a checkout edited while the benchmark runs would turn warm runs
    cold; the snapshot keeps the code under test fixed."""
    for name in ("thriftgen", "templates"):
        shutil.copytree(h.REPO_ROOT / name, dest / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return h.bench_env({"PYTHONPATH": str(dest)})


class Workspace:
    """A private copy of one size's IDL, its output and cache directories."""

    env: dict = None  # set once per benchmark run, see snapshot_sources

    def __init__(self, n: int, seed, no_fmt: bool, timeout: float):
        self.idl = h.synth_idl(n, seed=seed)
        self.n_structs = self.idl.n_structs
        self.dir = h.scratch_dir(f"incremental-{n}")
        self.src = self.dir / "idl"
        shutil.copytree(self.idl.root.parent, self.src)
        self.root = self.src / self.idl.root.name
        domains = sorted(self.src.glob("domain_*.thrift"))
        self.edited = domains[len(domains) // 2]
        self.original = self.edited.read_text()
        self.out = self.dir / "out"
        self.cache = self.dir / "cache"
        self.flags = ["-thrift", "no_fmt"] if no_fmt else []
        self.timeout = timeout
        self.edits = 0
        self.written: list = []  # files written by each "changed" sample

    def thriftgen(self) -> h.Run:
        return h.run_python(CONSOLE, ["--cache-dir", self.cache, *self.flags, "-I", self.src,
                                      "-o", self.out, self.root], timeout=self.timeout,
                            env=self.env, cwd=self.dir)  # not the checkout: '' leads sys.path

    def cold(self) -> h.Run:
        shutil.rmtree(self.out, ignore_errors=True)
        shutil.rmtree(self.cache, ignore_errors=True)
        return self.thriftgen()

    def changed(self) -> h.Run:
        self.edits += 1
        self.edited.write_text(self.original + (EDIT if self.edits % 2 else ""))
        run = self.thriftgen()
        m = _SUMMARY.search(run.stderr)
        self.written.append(int(m.group(1)) if m else None)
        return run

    def apache(self) -> h.Run:
        out = self.dir / "apache-out"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        return h.run_command(["thrift", "-r", "--gen", "py", "-out", out, self.root],
                             timeout=self.timeout)

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def measure_size(n: int, args, with_apache: bool) -> tuple:
    ws = Workspace(n, args.seed, args.no_fmt, args.timeout)
    try:
        print(f"N={h.fmt_count(n)}: {len(ws.idl.files)} files; editing {ws.edited.name}",
              file=sys.stderr, flush=True)
        stats = {COLD: h.measure(ws.cold, 1)}
        if stats[COLD].ok:
            stats[WARM] = h.measure(ws.thriftgen, args.repeat)
            stats[CHANGED] = h.measure(ws.changed, args.repeat)
            # The last sample may have left the edit in: restore, so warm means unchanged.
            ws.edited.write_text(ws.original)
        if with_apache:
            stats[APACHE] = h.measure(ws.apache, args.repeat)
        for name, st in stats.items():
            if st.error:
                print(f"  {name} FAILED: {st.error}", file=sys.stderr, flush=True)
        outputs = sum(1 for p in ws.out.rglob("*.py")) if ws.out.is_dir() else 0
        return stats, outputs, ws.written, ws.n_structs
    finally:
        ws.cleanup()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    h.add_common_args(ap, default_sizes="10000,60000", default_repeat=3)
    ap.add_argument("--no-fmt", action="store_true",
                    help="pass -thrift no_fmt (skip black's verification pass)")
    ap.add_argument("--timeout", type=float, default=3600,
                    help="seconds before one run is abandoned (default 3600)")
    args = ap.parse_args(argv)
    with_apache = shutil.which("thrift") is not None
    snapshot = h.scratch_dir("incremental-src")
    try:
        Workspace.env = snapshot_sources(snapshot)
        return run(args, with_apache)
    finally:
        shutil.rmtree(snapshot, ignore_errors=True)


def run(args, with_apache: bool) -> int:
    modules = ["thriftgen.cli", "thriftgen.gencache", "thriftgen.codegen.incremental",
               "thriftgen.codegen.render", "black"]
    h.run_python("import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n",
                 modules, check=False, env=Workspace.env,
                 cwd=Workspace.env["PYTHONPATH"])  # byte-compile the snapshot
    print(f"# incremental regeneration benchmark ({h.describe_machine()}; median of "
          f"{args.repeat}, cold once{'; -thrift no_fmt' if args.no_fmt else ''})\n", flush=True)
    columns = [COLD, WARM, CHANGED] + ([APACHE] if with_apache else [])
    rows, rss_rows, goals, notes = [], [], [], []
    for n in args.sizes:
        stats, outputs, written, n_structs = measure_size(n, args, with_apache)
        label = h.fmt_count(n_structs)
        rows.append((label, {c: stats[c].median for c in columns if c in stats}))
        rss_rows.append((label, {c: stats[c].peak_rss_mb for c in columns if c in stats}))
        notes.append(f"N={label}: {outputs} generated files; one-file change wrote "
                     f"{', '.join(str(w) for w in written)} file(s) per sample")
        warm = stats.get(WARM)
        apache = stats.get(APACHE)
        if warm is not None and warm.ok and apache is not None and apache.ok:
            ratio = warm.median / apache.median
            goals.append(h.Goal(f"warm <= {GOAL_WARM_VS_APACHE}x apache at {label} structs",
                                ratio <= GOAL_WARM_VS_APACHE,
                                f"{h.fmt_seconds(warm.median)} vs {h.fmt_seconds(apache.median)} "
                                f"({h.fmt_ratio(ratio)})"))
        else:
            goals.append(h.Goal(f"warm <= {GOAL_WARM_VS_APACHE}x apache at {label} structs", None,
                                "apache not installed or a run failed"))
    table = h.Table.comparison("N structs", columns, rows,
                               baseline=APACHE if with_apache else None,
                               title="Wall time (fresh process per run)")
    for note in notes:
        table.add_note(note)
    table.print()
    h.Table.comparison("N structs", columns, rss_rows, fmt=h.fmt_mb, title="Peak RSS").print()
    h.print_goals(goals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
