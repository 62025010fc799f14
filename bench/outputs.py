#!/usr/bin/env python3
"""Output variants compared: size, generation time, import time, codec speed.

    python bench/outputs.py [--sizes 1000,10000] [--repeat 3] [--skip-codec]

For each synthetic IDL size (``bench/synth_idl.py``), on the full program and
with ``trim_idl``, and for each variant - ``default`` (no generated codec: the
runtime compiles it on first use), ``fast_codec=aot`` (the generated fast codec,
the default when the goals were set), ``no_fast_codec``, ``no_default_serdes``,
``slim`` - plus Apache 0.17's ``thrift -r --gen py`` (on the IDL that
``thriftgen trim`` writes, for the trimmed rows):

* files, bytes and lines of the generated ``.py`` files;
* generation time: ``python -m thriftgen gen -thrift no_fmt,... --no-cache``
  in a fresh process (``no_fmt``: the output is byte-identical to black's, and
  black over the default variant's fast-codec text would dominate; Apache
  formats nothing either);
* import time of the whole generated package in a fresh process: every module
  imported, timed inside the process (interpreter start excluded), with the
  byte code already compiled (one untimed run first writes ``__pycache__``, as
  an installed package has it); median of ``--repeat``. The runtime each
  imports (``thriftgen.runtime.*`` / Apache's ``thrift``) is included;
* "import + use all": the same run, then every name of every module's
  ``__all__`` fetched - what a slim module defers to first access (its
  classes are built then), for the other variants a few lookups.

Then the runtime codec on ``bench/codec.py``'s ``medium`` payload (binary
protocol, best of interleaved rounds): ``serialize`` / ``deserialize`` ops/s
per variant, against Apache's generated class through the pure-Python
``TBinaryProtocol`` and the C-accelerated one.

Goals: slim bytes <= 10% of the fast-codec output's (``fast_codec=aot``; the
table also shows the ratio to today's default); slim import time <= 0.25x
Apache's; slim codec >= 3x Apache pure Python (encode and decode).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import timeit
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _harness as h  # noqa: E402

#: variant -> -thrift options (no_fmt is added for every run)
VARIANTS = {
    "default": "",
    "fast_codec=aot": "fast_codec=aot",
    "no_fast_codec": "no_fast_codec",
    "no_default_serdes": "no_default_serdes",
    "slim": "template=slim",
}
APACHE = "apache"
CONTENDERS = list(VARIANTS) + [APACHE]

# Imports every module under argv[1] (sorted, packages first) and prints the
# seconds it took, then the seconds fetching every name of every __all__ took;
# the interpreter start is not in the numbers.
_IMPORT_ALL = r"""
import importlib, os, sys, time
root = sys.argv[1]
mods = []
for d, _, files in os.walk(root):
    for f in files:
        if f.endswith(".py"):
            rel = os.path.relpath(os.path.join(d, f), root)[:-3].split(os.sep)
            if rel[-1] == "__init__":
                rel.pop()
            if rel and all(p.isidentifier() for p in rel):
                mods.append(".".join(rel))
sys.path.insert(0, root)
start = time.perf_counter()
loaded = [importlib.import_module(m) for m in sorted(mods, key=lambda m: (m.count("."), m))]
imported = time.perf_counter()
for mod in loaded:
    for name in getattr(mod, "__all__", ()):
        getattr(mod, name, None)  # a package's __all__ also names unimported submodules
print(imported - start, time.perf_counter() - imported, len(mods))
"""


def tree_stats(root: Path) -> tuple:
    files = [p for p in root.rglob("*.py") if "__pycache__" not in p.parts]
    data = [p.read_bytes() for p in files]
    return len(files), sum(map(len, data)), sum(d.count(b"\n") for d in data)


def import_env() -> dict:
    # Byte code must be written (the first run) and read (the timed runs).
    env = h.bench_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def import_time(root: Path, repeat: int) -> tuple:
    """(import seconds, import + use-all seconds), medians."""
    env = import_env()
    h.run_python(_IMPORT_ALL, [root], env=env)  # compiles __pycache__
    imports, totals = [], []
    for _ in range(max(1, repeat)):
        words = h.run_python(_IMPORT_ALL, [root], env=env).stdout.split()
        imports.append(float(words[0]))
        totals.append(float(words[0]) + float(words[1]))
    return tuple(sorted(xs)[len(xs) // 2] for xs in (imports, totals))


def generate(variant: str, idl_root: Path, out: Path, trim: bool) -> float:
    if variant == APACHE:
        out.mkdir(parents=True)
        run = h.run_command(["thrift", "-r", "--gen", "py", "-out", out, idl_root])
        return run.wall
    opts = ",".join(o for o in ("no_fmt", VARIANTS[variant], "trim_idl" if trim else "") if o)
    run = h.run_module("thriftgen", ["gen", "-q", "--no-cache", "-thrift", opts, "-o", out,
                                     idl_root])
    return run.wall


def trimmed_idl(idl_root: Path, work: Path) -> Path:
    """The IDL tree ``thriftgen trim`` writes (what Apache compiles for trimmed rows)."""
    out = work / "trimmed-idl"
    h.run_module("thriftgen", ["trim", "-q", "--no-cache", "-o", out, idl_root])
    return out / idl_root.name


def size_rows(sizes: list, repeat: int) -> list:
    rows = []
    for n in sizes:
        idl = h.synth_idl(n)
        for trim in (False, True):
            work = h.scratch_dir(f"outputs-{n}-{'trim' if trim else 'full'}")
            try:
                apache_root = trimmed_idl(idl.root, work) if trim else idl.root
                for variant in CONTENDERS:
                    out = work / variant
                    gen_s = generate(variant, apache_root if variant == APACHE else idl.root,
                                     out, trim)
                    files, size, lines = tree_stats(out)
                    imported, used = import_time(out, repeat)
                    rows.append({"n": n, "trim": trim, "variant": variant, "files": files,
                                 "bytes": size, "lines": lines, "gen": gen_s,
                                 "import": imported, "use": used})
                    print(f"  {n} {'trim' if trim else 'full'} {variant}: {size:,} bytes, "
                          f"gen {gen_s:.2f} s, import {rows[-1]['import'] * 1000:.0f} ms",
                          file=sys.stderr, flush=True)
                    shutil.rmtree(out, ignore_errors=True)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    return rows


# --------------------------------------------------------------------------- codec


def _prefix(variant: str) -> str:
    return "v_" + variant.replace("=", "_")


def codec_rates(rounds: int) -> dict:
    """variant -> (encode ops/s, decode ops/s) on the medium payload, binary."""
    import importlib

    from bench.codec import IDL, convert, make_values
    from thrift.protocol import TBinaryProtocol
    from thrift.transport import TTransport

    import thriftgen.runtime as rt

    work = h.scratch_dir("outputs-codec")
    try:
        idl = work / "tgbench.thrift"
        idl.write_text(IDL)
        for variant, opts in VARIANTS.items():
            extra = ",".join(o for o in ("no_fmt", opts, f"package_prefix={_prefix(variant)}")
                             if o)
            h.run_module("thriftgen", ["gen", "-q", "--no-cache", "-thrift", extra,
                                       "-o", work / variant, idl])
            sys.path.insert(0, str(work / variant))
        (work / "apache").mkdir()
        subprocess.run(["thrift", "--gen", "py", "-out", str(work / "apache"), str(idl)],
                       check=True, capture_output=True)
        sys.path.insert(0, str(work / "apache"))
        apache = importlib.import_module("tgbench.ttypes")
        cases = {}
        data = None
        for variant in VARIANTS:
            mod = importlib.import_module(f"{_prefix(variant)}.tgbench.ttypes")
            value = make_values(mod)["medium"]
            encoded = rt.serialize(value)
            assert data is None or encoded == data, f"{variant} writes other bytes"
            data = encoded
            assert rt.deserialize(mod.Medium, data) == value
            cases[variant] = (lambda v=value: rt.serialize(v),
                              lambda c=mod.Medium: rt.deserialize(c, data))
        twin = convert(make_values(importlib.import_module("v_default.tgbench.ttypes"))["medium"],
                       lambda name, fields: getattr(apache, name)(**fields))

        def apache_ops(proto):
            def enc():
                buf = TTransport.TMemoryBuffer()
                twin.write(proto(buf))
                return buf.getvalue()

            def dec():
                obj = apache.Medium()
                obj.read(proto(TTransport.TMemoryBuffer(data)))
                return obj

            assert enc() == data, "Apache writes other bytes"
            return enc, dec

        cases["apache pure"] = apache_ops(TBinaryProtocol.TBinaryProtocol)
        cases["apache C"] = apache_ops(TBinaryProtocol.TBinaryProtocolAccelerated)
        best = {(k, i): float("inf") for k in cases for i in (0, 1)}
        for _ in range(rounds):
            for name, fns in cases.items():
                for i, fn in enumerate(fns):
                    best[name, i] = min(best[name, i], timeit.timeit(fn, number=300) / 300)
        return {name: (1 / best[name, 0], 1 / best[name, 1]) for name in cases}
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------- output


def fmt_bytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 1e6 else f"{n / 1e3:,.0f} kB"


def print_sizes(rows: list) -> list:
    goals = []
    table = h.Table(["IDL", "variant", "files", "bytes", "lines", "bytes / default",
                     "bytes / aot", "generate", "import", "import / Apache",
                     "import + use all"],
                    title="Generated output per variant (no_fmt)")
    for row in rows:
        same = [r for r in rows if r["n"] == row["n"] and r["trim"] == row["trim"]]
        default = next(r for r in same if r["variant"] == "default")
        aot = next(r for r in same if r["variant"] == "fast_codec=aot")
        apache = next(r for r in same if r["variant"] == APACHE)
        label = f"{row['n'] // 1000}k {'trim_idl' if row['trim'] else 'full'}"
        table.add_row([label, row["variant"], h.fmt_count(row["files"]), fmt_bytes(row["bytes"]),
                       h.fmt_count(row["lines"]), h.fmt_ratio(row["bytes"] / default["bytes"]),
                       h.fmt_ratio(row["bytes"] / aot["bytes"]),
                       h.fmt_seconds(row["gen"]), h.fmt_seconds(row["import"]),
                       h.fmt_ratio(h.ratio(row["import"], apache["import"])),
                       h.fmt_seconds(row["use"])])
        if row["variant"] == "slim":
            goals.append(h.Goal(f"{label}: slim bytes <= 10% of fast_codec=aot",
                                row["bytes"] <= 0.10 * aot["bytes"],
                                f"{row['bytes'] / aot['bytes']:.1%} of fast_codec=aot; "
                                f"{row['bytes'] / default['bytes']:.1%} of today's default "
                                f"(no generated codec)"))
            goals.append(h.Goal(f"{label}: slim import <= 0.25x Apache",
                                row["import"] <= 0.25 * apache["import"],
                                f"{h.fmt_seconds(row['import'])} vs "
                                f"{h.fmt_seconds(apache['import'])} "
                                f"({row['import'] / apache['import']:.2f}x)"))
    table.add_note("generate: fresh process, wall time; import: every module of the output "
                   "in a fresh process, byte code compiled, median; import + use all: then "
                   "every name of every __all__ fetched (slim builds its classes on first "
                   "access); apache: `thrift -r --gen py` (on the `thriftgen trim` output "
                   "for trim_idl rows).")
    table.print()
    return goals


def print_codec(rates: dict) -> list:
    pure = rates["apache pure"]
    table = h.Table(["contender", "encode ops/s", "decode ops/s", "encode / Apache pure",
                     "decode / Apache pure"], title="Codec, medium payload, binary")
    for name, (enc, dec) in rates.items():
        table.add_row([name, f"{enc:,.0f}", f"{dec:,.0f}", h.fmt_ratio(enc / pure[0]),
                       h.fmt_ratio(dec / pure[1])])
    table.add_note("thriftgen variants: thriftgen.runtime.serialize / deserialize; Apache: "
                   "its generated class through TBinaryProtocol(+Accelerated) on TMemoryBuffer.")
    table.print()
    enc, dec = rates["slim"]
    return [h.Goal("slim codec >= 3x Apache pure Python (encode, decode)",
                   enc >= 3 * pure[0] and dec >= 3 * pure[1],
                   f"encode {enc / pure[0]:.1f}x, decode {dec / pure[1]:.1f}x")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    h.add_common_args(ap, "1000,10000", default_repeat=3)
    ap.add_argument("--skip-codec", action="store_true", help="no codec table")
    ap.add_argument("--skip-sizes", action="store_true", help="no size/import table")
    ap.add_argument("--rounds", type=int, default=7, help="codec rounds (best of)")
    args = ap.parse_args(argv)
    print(h.describe_machine() + "\n", flush=True)
    goals = []
    if not args.skip_sizes:
        if shutil.which("thrift") is None:
            sys.exit("Apache's thrift compiler is needed for the comparison")
        goals += print_sizes(size_rows(args.sizes, args.repeat))
    if not args.skip_codec:
        goals += print_codec(codec_rates(args.rounds))
    h.print_goals(goals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
