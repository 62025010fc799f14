"""Encode / decode speed: thriftgen's generated fast codec against the peers.

    python bench/codec.py [--quick] [--rounds N]

One process, one table. Contenders (all on the same values, checked to write
identical bytes before timing):

* ``fast``: thriftgen-generated classes with the generated fast codec
  (``-thrift fast_codec=aot``; binary; compact is JIT-compiled by design, see
  codegen/fastcodec.py);
* ``jit``: the same IDL generated with the default options: the runtime
  compiles the same codec on first use (thriftgen's "runtime codec");
* Apache Thrift 0.17-generated classes (``thrift --gen py``) through
  ``thrift`` pure-Python protocols and the C-accelerated ones;
* thriftpy2 (pure-Python protocol and ``cybin``), loading the same IDL.

Payloads: ``small`` (5 scalar fields), ``medium`` (15 fields: strings, lists,
a map, nested structs, a nested list; ~1.8 KB binary) and ``large``
(10k-element containers). Times are the best per-operation time over
interleaved rounds (machine noise hits every contender alike). Also measured:
``skip`` / ``message_end`` (SkipDecode) and, in fresh processes, the first
call after import (AOT code vs JIT compile).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import subprocess
import sys
import timeit
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import Goal, Table, print_goals, scratch_dir  # noqa: E402

try:  # the peer; timed helpers below must not import per call
    from thrift.transport import TTransport
except ImportError:  # pragma: no cover - main() reports the missing peer
    TTransport = None

IDL = """
namespace py tgbench

enum Color { RED = 1, GREEN = 2, BLUE = 7 }

struct Small {
  1: i64 id,
  2: string name,
  3: i32 count,
  4: double score,
  5: bool active,
}

struct Inner {
  1: string name,
  2: optional i64 n,
  3: binary blob,
}

struct Medium {
  1: i64 id,
  2: string name,
  3: string description,
  4: i32 quantity,
  5: double price,
  6: bool active,
  7: list<string> tags,
  8: list<i64> history,
  9: map<string, string> attrs,
  10: list<Inner> items,
  11: Color color,
  12: i16 version,
  13: binary payload,
  14: list<list<i32>> grid,
  15: optional Inner owner,
}

struct Large {
  1: list<i64> ints,
  2: list<string> names,
  3: map<i32, double> weights,
  4: list<Small> rows,
}

service Bench {
  Medium echo(1: Medium m),
}
"""

BIN, CMP, JSON = "binary", "compact", "json"


def make_values(mod):
    """The three payloads as instances of ``mod``'s classes (thriftgen-generated)."""
    small = mod.Small(id=1234567890123, name="small struct", count=42, score=0.5, active=True)
    inner = mod.Inner
    medium = mod.Medium(
        id=1234567890123,
        name="medium struct for benchmarking",
        description="a description with some non-ascii text: héllo wörld ✓ " * 3,
        quantity=42,
        price=19.99,
        active=True,
        tags=["tag-%d" % i for i in range(12)],
        history=[i * 1000003 for i in range(20)],
        attrs={"key-%d" % i: "value-%d" % i for i in range(10)},
        items=[inner(name="item-%d" % i, n=i * 7, blob=bytes(range(i, i + 16))) for i in range(12)],
        color=mod.Color.GREEN,
        version=3,
        payload=bytes(range(256)),
        grid=[[r * 10 + c for c in range(6)] for r in range(6)],
        owner=inner(name="owner", n=99, blob=b"\x00\x01"),
    )
    n = 10000
    large = mod.Large(
        ints=[i * 7919 for i in range(n)],
        names=["name-%d" % i for i in range(n)],
        weights={i: i / 3 for i in range(n)},
        rows=[mod.Small(id=i, name="r%d" % i, count=i, score=i * 0.25, active=i % 2 == 0)
              for i in range(n)],
    )
    return {"small": small, "medium": medium, "large": large}


def convert(value, make):
    """``value`` (thriftgen instance) rebuilt with ``make(type_name, **fields)``."""
    import enum

    if isinstance(value, list):
        return [convert(v, make) for v in value]
    if isinstance(value, dict):
        return {convert(k, make): convert(v, make) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return int(value)
    spec = getattr(type(value), "thrift_spec", None)
    if spec is None:
        return value
    fields = {e[2]: convert(getattr(value, e[2]), make) for e in spec if e is not None}
    return make(type(value).__name__, fields)


def generate(work: Path):
    idl = work / "tgbench.thrift"
    idl.write_text(IDL)
    root = Path(__file__).resolve().parents[1]
    for outdir, extra in (("fast", ["-thrift", "fast_codec=aot"]),
                          ("jit", ["-thrift", "package_prefix=jit"])):
        subprocess.run([sys.executable, "-m", "thriftgen", *extra, "-o", str(work / outdir), str(idl)],
                       cwd=root, check=True, capture_output=True)
    (work / "apache").mkdir()
    subprocess.run(["thrift", "--gen", "py", "-o", str(work / "apache"), str(idl)],
                   check=True, capture_output=True)
    return idl


class Contenders:
    """Encode/decode callables per contender, for one protocol."""

    def __init__(self, work: Path, idl: Path):
        sys.path[:0] = [str(work / "fast"), str(work / "jit")]
        self.fast = importlib.import_module("tgbench.ttypes")
        self.jit = importlib.import_module("jit.tgbench.ttypes")
        self.apache = self._apache_module(work)
        try:
            import thriftpy2

            self.tp = thriftpy2.load(str(idl), module_name="tgbench_thrift")
        except ImportError:
            self.tp = None

    @staticmethod
    def _apache_module(work: Path):
        return apache_ttypes(work / "apache" / "gen-py", "tgbench")


def apache_ttypes(gen_py: Path, package: str):
    """Apache's ``<package>/ttypes.py`` under ``gen_py``, loaded as
    ``apache_<package>.ttypes`` (ours is importable as ``<package>`` too)."""
    spec = importlib.util.spec_from_file_location(
        f"apache_{package}.ttypes", gen_py / package / "ttypes.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def apache_encode(obj, protocol_cls) -> bytes:
    """``obj`` (Apache-generated) written through ``protocol_cls`` into memory."""
    t = TTransport.TMemoryBuffer()
    obj.write(protocol_cls(t))
    return t.getvalue()


def apache_decode(cls, data: bytes, protocol_cls):
    """A ``cls`` (Apache-generated) read from ``data`` through ``protocol_cls``."""
    o = cls()
    o.read(protocol_cls(TTransport.TMemoryBuffer(data)))
    return o


def best_time(fn, number, rounds):
    return min(timeit.repeat(fn, number=number, repeat=rounds)) / number


def measure(cases: dict, number: int, rounds: int) -> dict:
    """``{name: fn}`` -> ``{name: best seconds per call}``, interleaving the
    contenders round by round."""
    best = {k: float("inf") for k in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            t = timeit.timeit(fn, number=number) / number
            best[name] = min(best[name], t)
    return best


def first_call(work: Path, variant: str) -> float:
    """Seconds for import + first encode/decode of Medium in a fresh process,
    minus the import alone (best of 5)."""
    mod = "tgbench.ttypes" if variant == "fast" else "jit.tgbench.ttypes"
    code = f"""
import sys, time
sys.path[:0] = {[str(work / "fast"), str(work / "jit")]!r}
import {mod} as m
from thriftgen.runtime import serialize, deserialize
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from bench.codec import make_values
v = make_values(m)["medium"]
t = time.perf_counter()
data = serialize(v)
deserialize(m.Medium, data)
print(time.perf_counter() - t)
"""
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    # byte code compiled as an installed package has it (the first run writes it;
    # the best of 5 is kept): without it, compiling the JIT module's source would
    # be timed as well
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = []
    for _ in range(5):
        proc = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, check=True,
                              capture_output=True, text=True)
        out.append(float(proc.stdout))
    return min(out)


def fmt_us(s):
    if s is None:
        return "-"
    if s >= 1e-2:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.1f} µs"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds, no large payload for pure Python peers")
    ap.add_argument("--rounds", type=int, default=None)
    args = ap.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 7)

    from thrift.protocol import TBinaryProtocol, TCompactProtocol, TJSONProtocol
    from thrift.protocol.TProtocol import TType as ATType

    from thriftgen.runtime import TType, deserialize, message_end, serialize, skip
    from thriftgen.runtime import encode_message

    work = scratch_dir("codec")
    idl = generate(work)
    c = Contenders(work, idl)
    ours = make_values(c.fast)
    jit_vals = {k: convert(v, lambda n, f: getattr(c.jit, n)(**f)) for k, v in ours.items()}
    ap_vals = {k: convert(v, lambda n, f: getattr(c.apache, n)(**f)) for k, v in ours.items()}
    tp_vals = ({k: convert(v, lambda n, f: getattr(c.tp, n)(**f)) for k, v in ours.items()}
               if c.tp is not None else {})
    if c.tp is not None:
        from thriftpy2.protocol.binary import TBinaryProtocolFactory  # the pure-Python one
        from thriftpy2.protocol.cybin import TCyBinaryProtocolFactory
        from thriftpy2.utils import deserialize as tp_dec, serialize as tp_enc
        tp_pure, tp_cy = TBinaryProtocolFactory(), TCyBinaryProtocolFactory()

    apache_proto = {
        (BIN, False): TBinaryProtocol.TBinaryProtocol,
        (BIN, True): TBinaryProtocol.TBinaryProtocolAccelerated,
        (CMP, False): TCompactProtocol.TCompactProtocol,
        (CMP, True): TCompactProtocol.TCompactProtocolAccelerated,
        (JSON, False): TJSONProtocol.TJSONProtocol,  # Apache has no C TJSONProtocol
    }

    columns = ["fast", "jit", "Apache pure", "Apache C", "thriftpy2 pure", "thriftpy2 cybin"]
    rows = []
    skip_rows = []
    results = {}
    for payload in ("small", "medium", "large"):
        obj, jobj, aobj = ours[payload], jit_vals[payload], ap_vals[payload]
        cls, jcls, acls = type(obj), type(jobj), type(aobj)
        number = {"small": 2000, "medium": 300, "large": 1}[payload]
        slow_number = max(number // 10, 1)
        for proto in (BIN, CMP, JSON):
            if proto == JSON and payload == "large" and args.quick:
                continue  # Apache's TJSONProtocol reads a byte at a time: minutes
            data = serialize(obj, proto)
            assert serialize(jobj, proto) == data
            assert apache_encode(aobj, apache_proto[proto, False]) == data
            if proto != JSON:
                assert apache_encode(aobj, apache_proto[proto, True]) == data
            assert deserialize(cls, data, proto) == obj
            enc = {
                "fast": lambda: serialize(obj, proto),
                "jit": lambda: serialize(jobj, proto),
            }
            dec = {
                "fast": lambda: deserialize(cls, data, proto),
                "jit": lambda: deserialize(jcls, data, proto),
            }
            if proto != JSON:
                enc["Apache C"] = lambda: apache_encode(aobj, apache_proto[proto, True])
                dec["Apache C"] = lambda: apache_decode(acls, data, apache_proto[proto, True])
            slow_enc = {"Apache pure": lambda: apache_encode(aobj, apache_proto[proto, False])}
            slow_dec = {"Apache pure": lambda: apache_decode(acls, data, apache_proto[proto, False])}
            if tp_vals and proto == BIN:
                tobj = tp_vals[payload]
                tcls = type(tobj)
                assert tp_enc(tobj, tp_cy) == data
                enc["thriftpy2 cybin"] = lambda: tp_enc(tobj, tp_cy)
                dec["thriftpy2 cybin"] = lambda: tp_dec(tcls(), data, tp_cy)
                slow_enc["thriftpy2 pure"] = lambda: tp_enc(tobj, tp_pure)
                slow_dec["thriftpy2 pure"] = lambda: tp_dec(tcls(), data, tp_pure)
            r = max(2, rounds // 2) if payload == "large" else rounds
            for op, fast_cases, slow_cases in (("encode", enc, slow_enc), ("decode", dec, slow_dec)):
                values = measure(fast_cases, number, r)
                values.update(measure(slow_cases, slow_number, max(2, r // 2)))
                results[payload, proto, op] = values
                rows.append((f"{payload} {proto} {op} ({len(data):,} B)", values))
            if proto == JSON:
                continue  # SkipDecode is binary and compact only
            # SkipDecode: skip one struct / find a message's end, vs decoding it
            msg = encode_message("echo", 2, 1, obj, proto)

            def apache_skip():
                p = apache_proto[proto, False](TTransport.TMemoryBuffer(data))
                p.skip(ATType.STRUCT)

            skips = measure({
                "decode": dec["fast"],
                "skip": lambda: skip(data, 0, TType.STRUCT, proto),
                "message_end": lambda: message_end(msg, 0, proto),
            }, number, r)
            try:
                apache_skip()
            except UnicodeDecodeError:
                pass  # Apache's skip decodes binary fields as UTF-8: it fails on Medium
            else:
                skips.update(measure({"Apache pure skip": apache_skip}, slow_number, max(2, r // 2)))
            skip_rows.append((f"{payload} {proto}", skips))

    table = Table.comparison("payload / operation", columns, rows, baseline="fast", fmt=fmt_us,
                             title="thriftgen codec vs peers (time per operation)")
    table.add_note("fast: generated code (binary) — compact rows run the JIT for both 'fast' and "
                   "'jit' (compact is not generated); json rows: the runtime's TJSONProtocol "
                   "for both, against Apache's pure-Python TJSONProtocol.")
    table.print()
    Table.comparison("payload", ["decode", "skip", "message_end", "Apache pure skip"], skip_rows,
                     baseline="decode", fmt=fmt_us,
                     title="SkipDecode: skip(struct) / message_end(message) vs a full decode "
                           "(thriftgen fast codec)").print()

    # The pure-Python floor: a hand-written decoder of exactly this payload, with no
    # checks at all (unsafe on hostile bytes), against the generated one and Apache C.
    from bench._floors import medium_decoder

    floor_dec = medium_decoder(c.fast)
    data = serialize(ours["medium"])
    assert floor_dec(data) == (ours["medium"], len(data))
    dec_fast = c.fast.Medium._tg_decode_binary
    medium = results["medium", BIN, "decode"]
    floor_t = measure({"fast": lambda: dec_fast(data, 0), "floor": lambda: floor_dec(data)},
                      200 if args.quick else 2000, rounds)
    floor = Table(["medium binary decode", "time", "ratio to Apache C"],
                  title="pure-Python floor of a decode (hand-written, no checks)")
    floor.add_row(["Apache C (accelerated)", fmt_us(medium["Apache C"]), "1.00x"])
    for label, key in (("generated fast codec", "fast"),
                       ("hand-written for this payload, no checks (floor)", "floor")):
        floor.add_row([label, fmt_us(floor_t[key]),
                       f"{medium['Apache C'] / floor_t[key]:.2f}x speed"])
    floor.add_note("the floor skips every header, type, count and bounds check a decoder of "
                   "hostile input must make, and knows the layout in advance (bench/_floors.py).")
    floor.print()

    fc_fast, fc_jit = first_call(work, "fast"), first_call(work, "jit")
    first = Table(["first encode+decode of Medium after import", "time"],
                  title="first-call latency (fresh process, best of 5)")
    first.add_row(["generated fast codec", fmt_us(fc_fast)])
    first.add_row(["runtime JIT (the default)", fmt_us(fc_jit)])
    first.print()

    goals = []
    for op in ("encode", "decode"):
        v = results["medium", BIN, op]
        pure, cc, fast, jit = v["Apache pure"], v["Apache C"], v["fast"], v["jit"]
        goals.append(Goal(f"medium binary {op}: fast >= 5x Apache pure", pure / fast >= 5,
                          f"{pure / fast:.1f}x"))
        goals.append(Goal(f"medium binary {op}: fast >= 0.5x Apache C", cc / fast >= 0.5,
                          f"{cc / fast:.2f}x"))
        goals.append(Goal(f"medium binary {op}: AOT vs JIT steady state", None,
                          f"jit/fast = {jit / fast:.2f}"))
    print_goals(goals)
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
