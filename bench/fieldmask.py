"""Field masks: encode and decode of the medium payload with masks of 1, 5 and all fields.

    python bench/fieldmask.py [--rounds N] [--quick]

Uses ``bench/codec.py``'s IDL and medium payload (15 fields: strings, lists, a
map, a list of 12 structs, a nested list; ~1.8 KB binary), generated with
``-thrift with_field_mask``. Columns: no mask (the class's fast codec, the
baseline), then masks selecting 1 field (``$.name``), 5 fields (``$.id``,
``$.name``, ``$.quantity``, ``$.price``, ``$.owner``), 5 fields written as a
nested mask (``$.items[*].name`` and four scalars: the list is walked), all 15
fields (which normalises to "no mask"). Ratios are to the unmasked column:
below 1 is faster. Also measured: the cost of ``mask=None`` on the unmasked
path (small payload), and the first use of a new mask (compiling its code).
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import time
import timeit
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import Goal, Table, print_goals, scratch_dir  # noqa: E402
from bench._floors import skip_medium  # noqa: E402
from bench.codec import IDL, make_values  # noqa: E402

MASKS = {
    "1 field": ["$.name"],
    "5 fields": ["$.id", "$.name", "$.quantity", "$.price", "$.owner"],
    "5, nested": ["$.id", "$.name", "$.quantity", "$.price", "$.items[*].name"],
    "all 15": ["$.%d" % i for i in range(1, 16)],
}


def best(fn, number, rounds):
    return min(timeit.repeat(fn, number=number, repeat=rounds)) / number


def fmt_us(s):
    return "-" if s is None else f"{s * 1e6:.2f} µs"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="one short round (a smoke run)")
    args = ap.parse_args(argv)
    rounds = 1 if args.quick else args.rounds

    from thriftgen.runtime import deserialize, serialize
    from thriftgen.runtime.fieldmask import FieldMask

    work = scratch_dir("fieldmask")
    (work / "tgbench.thrift").write_text(IDL)
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "thriftgen", "-thrift", "with_field_mask", "-o",
                    str(work / "out"), str(work / "tgbench.thrift")],
                   cwd=root, check=True, capture_output=True)
    sys.path.insert(0, str(work / "out"))
    mod = importlib.import_module("tgbench.ttypes")
    values = make_values(mod)
    medium, small = values["medium"], values["small"]
    cls = type(medium)
    masks = {name: FieldMask(cls, *paths) for name, paths in MASKS.items()}

    rows, results = [], {}
    number = 20 if args.quick else 500
    for proto in ("binary", "compact"):
        data = serialize(medium, proto)
        for name, mask in masks.items():  # warm up (compiles) and check against the oracle
            assert serialize(medium, proto, mask=mask) == serialize(mask.apply(medium), proto)
            assert deserialize(cls, data, proto, mask=mask) == mask.apply(
                deserialize(cls, data, proto))
        for op in ("encode", "decode"):
            cases = {"no mask": (lambda: serialize(medium, proto)) if op == "encode"
                     else (lambda: deserialize(cls, data, proto))}
            for name, mask in masks.items():
                if op == "encode":
                    cases[name] = lambda mask=mask: serialize(medium, proto, mask=mask)
                else:
                    cases[name] = lambda mask=mask: deserialize(cls, data, proto, mask=mask)
            timings = {k: float("inf") for k in cases}
            for _ in range(rounds):  # interleaved: machine noise hits every column alike
                for k, fn in cases.items():
                    timings[k] = min(timings[k], best(fn, number, 1))
            results[proto, op] = timings
            rows.append((f"medium {proto} {op} ({len(data):,} B)", timings))
    table = Table.comparison("payload / operation", ["no mask", *MASKS], rows,
                             baseline="no mask", fmt=fmt_us,
                             title="FieldMask: time per operation, ratio to no mask")
    table.add_note("'all 15' normalises to 'no mask' (same code path). Decode with a mask skips "
                   "the dropped fields on the wire (typed SkipDecode) without building them.")
    table.print()

    # the unmasked path: what mask=None costs
    calls = 200 if args.quick else 20000
    check = best(lambda: None is not None, calls * 10, rounds)
    plain = best(lambda: serialize(small), calls, rounds)
    keyword = best(lambda: serialize(small, mask=None), calls, rounds)
    extra = Table(["unmasked path (small payload, binary)", "time"],
                  title="no mask overhead")
    extra.add_row(["serialize(small)", fmt_us(plain)])
    extra.add_row(["serialize(small, mask=None)", fmt_us(keyword)])
    extra.add_row(["the added `mask is not None` test alone", f"{check * 1e9:.0f} ns"])
    t0 = time.perf_counter()
    fresh = FieldMask(cls, "$.name", "$.items[0,1].blob", '$.attrs{"key-1"}')
    serialize(medium, "binary", mask=fresh)
    deserialize(cls, serialize(medium), "binary", mask=fresh)
    extra.add_row(["first use of a new 3-path mask (compile enc + dec)",
                   fmt_us(time.perf_counter() - t0)])
    extra.print()

    # How fast can any pure-Python masked decode be? A hand-written skipper of
    # exactly this payload's layout (binary, canonical order, no checks at all)
    # reads only what locates the next field: the floor of "walk the dropped bytes".
    data = serialize(medium, "binary")
    assert skip_medium(data) == len(data)
    floor = min(best(lambda: skip_medium(data), number, 1) for _ in range(rounds))
    full = results["binary", "decode"]["no mask"]
    bound = Table(["medium binary decode", "time", "ratio to no mask"],
                  title="pure-Python floor of a masked decode")
    bound.add_row(["no mask (full decode)", fmt_us(full), "1.00x"])
    bound.add_row(["1-field mask", fmt_us(results["binary", "decode"]["1 field"]),
                   f"{results['binary', 'decode']['1 field'] / full:.2f}x"])
    bound.add_row(["hand-written skip of the whole payload, no checks (floor)", fmt_us(floor),
                   f"{floor / full:.2f}x"])
    bound.add_note(f"a masked decode must walk every dropped string, element and struct to "
                   f"find where the next field starts: in pure Python it cannot beat "
                   f"{full / floor:.1f}x on this payload, checks or not.")
    bound.print()

    goals = []
    for proto in ("binary", "compact"):
        for op in ("encode", "decode"):
            t = results[proto, op]
            ratio = t["no mask"] / t["1 field"]
            goals.append(Goal(f"medium {proto} {op}: 1-field mask >= 5x faster than no mask",
                              ratio >= 5, f"{ratio:.1f}x"))
    print_goals(goals)
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
