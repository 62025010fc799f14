#!/usr/bin/env python3
"""Codec speed on a family of realistic payloads (issue 16, part 2).

    python bench/codec_family.py [--quick] [--rounds N] [--only member,...]

Members, chosen for what real services send rather than for what a codec likes:

* ``sparse0`` / ``sparse50`` / ``sparse90``: a 22-field struct (2 required, 20
  optional of mixed types) with 0%, 50% and 90% of its optional fields absent
  (seeded choice: absent fields are scattered, not a suffix);
* ``unions``: a list of unions, each member kind in turn;
* ``sets``: ``set<string>`` and ``set<i64>``;
* ``map_structs``: ``map<string, Tag>`` and ``map<i64, Sparse>`` (sparse values);
* ``binary``: a large blob, a list of chunks, an optional blob;
* ``small_structs``: a list of 60 small structs that each set their key and one
  of four optional values (the tracing "tag" shape);
* ``nested4``: four levels of lists and maps of structs;
* ``span``: a tracing span (15 fields: ids, tags, logs of tags, a map, a set,
  binary, optional strings).

Contenders on the same values, checked to write identical bytes first: ``jit``
(default generated code; the runtime compiles its codec on first use), ``aot``
(``-thrift fast_codec=aot``), Apache ``thrift`` C-accelerated and pure-Python
protocols, thriftpy2 ``cybin`` (binary). Each cell is the median of interleaved
rounds. Goals (the JIT, every member): binary >= 0.5x Apache C and >= 5x Apache
pure, encode and decode; compact >= 3x Apache pure. The table ends with the
minimum over the family, which is what the goals judge.
"""

from __future__ import annotations

import argparse
import importlib
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import Goal, Table, print_goals, scratch_dir  # noqa: E402
from bench.codec import apache_decode, apache_encode, apache_ttypes, convert, fmt_us  # noqa: E402

OPTIONAL_FIELDS = [  # (id, type, name) of Sparse's optional fields
    (3, "i32", "count"), (4, "i64", "created_ms"), (5, "string", "title"),
    (6, "double", "score"), (7, "bool", "active"), (8, "binary", "digest"),
    (9, "list<i32>", "history"), (10, "Tag", "label"), (11, "Level", "level"),
    (12, "i16", "version"), (13, "string", "owner"), (14, "i64", "updated_ms"),
    (15, "list<string>", "aliases"), (16, "i32", "region"), (17, "double", "ratio"),
    (18, "string", "comment"), (19, "i64", "parent_id"), (20, "bool", "deleted"),
    (21, "map<string,string>", "attrs"), (22, "Tag", "source"),
]

IDL = """
namespace py tgfam

enum Level { LOW = 1, MID = 2, HIGH = 3 }

struct Tag {
  1: required string key,
  2: optional string s,
  3: optional i64 i,
  4: optional double d,
  5: optional bool b,
}

struct Sparse {
  1: required i64 id,
  2: required string name,
%s
}

union Value {
  1: i64 i,
  2: string s,
  3: double d,
  4: binary b,
  5: list<string> l,
  6: Tag t,
}

struct Unions { 1: list<Value> values }
struct Sets { 1: set<string> names, 2: set<i64> ids }
struct MapStructs { 1: map<string, Tag> tags, 2: map<i64, Sparse> rows }
struct Blobs { 1: binary big, 2: list<binary> chunks, 3: optional binary extra }
struct SmallStructs { 1: list<Tag> tags }

struct N4 { 1: i32 v, 2: optional string s }
struct N3 { 1: list<N4> xs, 2: optional N4 one }
struct N2 { 1: list<N3> xs, 2: map<string, N3> by_name }
struct N1 { 1: list<N2> xs, 2: optional i64 id }

struct Log { 1: i64 ts, 2: list<Tag> fields }

struct Span {
  1: required i64 trace_id,
  2: required i64 span_id,
  3: optional i64 parent_id,
  4: string operation,
  5: i64 start_us,
  6: i64 duration_us,
  7: list<Tag> tags,
  8: list<Log> logs,
  9: map<string, i64> baggage,
  10: set<string> flags,
  11: binary context,
  12: optional string error,
  13: i16 kind,
  14: optional string peer,
  15: optional Level level,
}
""" % "\n".join(f"  {i}: optional {t} {n}," for i, t, n in OPTIONAL_FIELDS)

BIN, CMP = "binary", "compact"


def tag(m, rng: random.Random, k: int):
    """A tag that sets its key and one of its four optional values."""
    which = k % 4
    kw = ({"s": f"value-{k}"}, {"i": k * 7919}, {"d": k / 7}, {"b": k % 2 == 0})[which]
    return m.Tag(key=f"tag.key.{k}", **kw)


def sparse(m, rng: random.Random, absent: float, i: int = 0):
    values = {
        "count": 42 + i, "created_ms": 1_700_000_000_000 + i, "title": f"title {i}",
        "score": 0.25 + i, "active": True, "digest": bytes(range(32)),
        "history": list(range(10)), "label": tag(m, rng, i), "level": m.Level.MID,
        "version": 3, "owner": "owner@example.com", "updated_ms": 1_700_000_000_500 + i,
        "aliases": ["a", "bb", "ccc"], "region": 7, "ratio": 0.5, "comment": "é ✓ " * 4,
        "parent_id": 99 + i, "deleted": False, "attrs": {"k1": "v1", "k2": "v2"},
        "source": tag(m, rng, i + 1),
    }
    names = [n for _, _, n in OPTIONAL_FIELDS]
    drop = set(rng.sample(names, round(len(names) * absent)))
    return m.Sparse(id=i + 1, name=f"sparse-{i}", **{k: v for k, v in values.items() if k not in drop})


def make_family(m) -> dict:
    """Each member's value, built with ``m``'s classes (thriftgen-generated)."""
    rng = random.Random(16)
    kinds = [lambda k: m.Value(i=k), lambda k: m.Value(s=f"s{k}"), lambda k: m.Value(d=k / 3),
             lambda k: m.Value(b=bytes([k % 256]) * 8), lambda k: m.Value(l=["x", f"y{k}"]),
             lambda k: m.Value(t=tag(m, rng, k))]
    n4 = lambda k: m.N4(v=k, s=None if k % 2 else f"n{k}")  # noqa: E731
    n3 = lambda k: m.N3(xs=[n4(k + j) for j in range(3)], one=n4(k) if k % 2 else None)  # noqa: E731
    n2 = lambda k: m.N2(xs=[n3(k + j) for j in range(3)], by_name={f"k{j}": n3(j) for j in range(2)})  # noqa: E731
    return {
        "sparse0": sparse(m, random.Random(1), 0.0),
        "sparse50": sparse(m, random.Random(2), 0.5),
        "sparse90": sparse(m, random.Random(3), 0.9),
        "unions": m.Unions(values=[kinds[k % 6](k) for k in range(36)]),
        "sets": m.Sets(names={f"name-{k}" for k in range(40)}, ids={k * 104729 for k in range(40)}),
        "map_structs": m.MapStructs(
            tags={f"t{k}": tag(m, rng, k) for k in range(12)},
            rows={k: sparse(m, random.Random(100 + k), 0.7, k) for k in range(8)}),
        "binary": m.Blobs(big=bytes(range(256)) * 64, chunks=[bytes([k]) * 512 for k in range(8)]),
        "small_structs": m.SmallStructs(tags=[tag(m, rng, k) for k in range(60)]),
        "nested4": m.N1(xs=[n2(k) for k in range(3)], id=7),
        "span": m.Span(
            trace_id=0x1234567890ABCDEF, span_id=0x0FEDCBA987654321, parent_id=77,
            operation="GET /api/v1/orders/{id}", start_us=1_700_000_000_000_000, duration_us=1234,
            tags=[tag(m, rng, k) for k in range(12)],
            logs=[m.Log(ts=1_700_000_000_000_000 + k, fields=[tag(m, rng, 4 * k + j) for j in range(4)])
                  for k in range(6)],
            baggage={f"bag-{k}": k for k in range(5)}, flags={"sampled", "debug", "firehose"},
            context=bytes(range(24)), error=None, kind=2, peer="10.0.0.7:9090"),
    }


def generate(work: Path) -> Path:
    idl = work / "tgfam.thrift"
    idl.write_text(IDL)
    root = Path(__file__).resolve().parents[1]
    for outdir, extra in (("jit", []), ("aot", ["-thrift", "fast_codec=aot,package_prefix=aot"])):
        subprocess.run([sys.executable, "-m", "thriftgen", "--no-cache", *extra, "-o",
                        str(work / outdir), str(idl)], cwd=root, check=True, capture_output=True)
    (work / "apache").mkdir()
    subprocess.run(["thrift", "--gen", "py", "-o", str(work / "apache"), str(idl)],
                   check=True, capture_output=True)
    return idl


def load(work: Path, idl: Path) -> dict:
    sys.path[:0] = [str(work / "jit"), str(work / "aot")]
    mods = {"jit": importlib.import_module("tgfam.ttypes"),
            "aot": importlib.import_module("aot.tgfam.ttypes")}
    mods["apache"] = apache_ttypes(work / "apache" / "gen-py", "tgfam")
    try:
        import thriftpy2

        mods["thriftpy2"] = thriftpy2.load(str(idl), module_name="tgfam_thrift")
    except ImportError:
        pass
    return mods


def median_times(cases: dict, rounds: int, budget: float) -> dict:
    """``{name: fn}`` -> ``{name: median seconds per call}``; contenders interleave
    round by round; each round of a contender lasts about ``budget`` seconds."""
    numbers = {}
    for name, fn in cases.items():
        fn()  # warm: JIT compile, caches
        t, n = time.perf_counter(), 0
        while time.perf_counter() - t < budget / 4:
            fn()
            n += 1
        numbers[name] = max(1, n * 4)
    samples: dict = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            n = numbers[name]
            t = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - t) / n)
    return {name: statistics.median(v) for name, v in samples.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer, shorter rounds (CI smoke)")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--only", default="", help="comma-separated members to run")
    args = ap.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 9)
    budget = 0.004 if args.quick else 0.03

    from thrift.protocol import TBinaryProtocol, TCompactProtocol

    from thriftgen.runtime import deserialize, serialize

    work = scratch_dir("codec-family")
    idl = generate(work)
    mods = load(work, idl)
    family = make_family(mods["jit"])
    only = [m for m in args.only.split(",") if m]
    if only:
        family = {k: v for k, v in family.items() if k in only}
    values = {"jit": family,
              "aot": {k: convert(v, lambda n, f: getattr(mods["aot"], n)(**f)) for k, v in family.items()},
              "apache": {k: convert(v, lambda n, f: getattr(mods["apache"], n)(**f))
                         for k, v in family.items()}}
    tp = mods.get("thriftpy2")
    if tp is not None:
        from thriftpy2.protocol.cybin import TCyBinaryProtocolFactory
        from thriftpy2.utils import deserialize as tp_dec, serialize as tp_enc

        values["thriftpy2"] = {k: convert(v, lambda n, f: getattr(tp, n)(**f)) for k, v in family.items()}
        cybin = TCyBinaryProtocolFactory()
    protocols = {(BIN, True): TBinaryProtocol.TBinaryProtocolAccelerated,
                 (BIN, False): TBinaryProtocol.TBinaryProtocol,
                 (CMP, True): TCompactProtocol.TCompactProtocolAccelerated,
                 (CMP, False): TCompactProtocol.TCompactProtocol}

    columns = ["jit", "aot", "Apache C", "Apache pure", "thriftpy2 cybin"]
    rows, ratios = [], {}
    for member, jobj in family.items():
        aot, aobj = values["aot"][member], values["apache"][member]
        for proto in (BIN, CMP):
            data = serialize(jobj, proto)
            # Same bytes from every writer, same value from every reader (sets and
            # maps are written in iteration order, which the conversion keeps).
            assert serialize(aot, proto) == data, member
            assert apache_encode(aobj, protocols[proto, True]) == data, member
            assert apache_encode(aobj, protocols[proto, False]) == data, member
            assert deserialize(type(jobj), data, proto) == jobj, member
            assert apache_decode(type(aobj), data, protocols[proto, True]) == aobj, member
            enc = {"jit": lambda: serialize(jobj, proto), "aot": lambda: serialize(aot, proto),
                   "Apache C": lambda: apache_encode(aobj, protocols[proto, True]),
                   "Apache pure": lambda: apache_encode(aobj, protocols[proto, False])}
            dec = {"jit": lambda: deserialize(type(jobj), data, proto),
                   "aot": lambda: deserialize(type(aot), data, proto),
                   "Apache C": lambda: apache_decode(type(aobj), data, protocols[proto, True]),
                   "Apache pure": lambda: apache_decode(type(aobj), data, protocols[proto, False])}
            if tp is not None and proto == BIN:
                tobj = values["thriftpy2"][member]
                assert tp_enc(tobj, cybin) == data, member
                enc["thriftpy2 cybin"] = lambda: tp_enc(tobj, cybin)
                dec["thriftpy2 cybin"] = lambda: tp_dec(type(tobj)(), data, cybin)
            for op, cases in (("encode", enc), ("decode", dec)):
                t = median_times(cases, rounds, budget)
                rows.append((f"{member} {proto} {op} ({len(data):,} B)", t))
                ratios[member, proto, op] = {
                    "vs C": t["Apache C"] / t["jit"], "vs pure": t["Apache pure"] / t["jit"],
                    "aot vs C": t["Apache C"] / t["aot"]}

    table = Table.comparison("member / operation", columns, rows, baseline="jit", fmt=fmt_us,
                             title="codec family: time per operation (median of interleaved rounds)")
    table.print()

    summary = Table(["protocol / operation", "JIT vs Apache C (min)", "member", "JIT vs Apache pure (min)",
                     "member", "AOT vs Apache C (min)"],
                    title="minimum over the family (speed ratios: above 1 is faster than the peer)")
    goals = []
    for proto in (BIN, CMP):
        for op in ("encode", "decode"):
            cells = {m: r for (m, p, o), r in ratios.items() if p == proto and o == op}
            worst_c = min(cells, key=lambda m: cells[m]["vs C"])
            worst_p = min(cells, key=lambda m: cells[m]["vs pure"])
            aot_c = min(r["aot vs C"] for r in cells.values())
            summary.add_row([f"{proto} {op}", f"{cells[worst_c]['vs C']:.2f}x", worst_c,
                             f"{cells[worst_p]['vs pure']:.1f}x", worst_p, f"{aot_c:.2f}x"])
            if proto == BIN:
                goals.append(Goal(f"binary {op}: JIT >= 0.5x Apache C on every member",
                                  cells[worst_c]["vs C"] >= 0.5,
                                  f"min {cells[worst_c]['vs C']:.2f}x ({worst_c})"))
                goals.append(Goal(f"binary {op}: JIT >= 5x Apache pure on every member",
                                  cells[worst_p]["vs pure"] >= 5,
                                  f"min {cells[worst_p]['vs pure']:.1f}x ({worst_p})"))
            else:
                goals.append(Goal(f"compact {op}: JIT >= 3x Apache pure on every member",
                                  cells[worst_p]["vs pure"] >= 3,
                                  f"min {cells[worst_p]['vs pure']:.1f}x ({worst_p})"))
    summary.print()
    print_goals(goals)
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
