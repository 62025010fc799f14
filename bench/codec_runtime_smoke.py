"""Encode/decode timing of thriftgen.runtime vs Apache Thrift (pure Python and C).

    python bench/codec_runtime_smoke.py [--number N]

Uses the ``Medium`` struct of tests/runtime/models.py (15 fields, lists, a map,
a nested list, ~1.7 KB in the binary protocol).  Apache classes are generated
from the same IDL with /usr/bin/thrift; the Apache columns are skipped when the
compiler or the ``thrift`` package is missing.
"""

import argparse
import os
import sys
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "runtime"))

import rt_models as models  # noqa: E402
import rt_peers as peers  # noqa: E402
from thriftgen.runtime import deserialize, serialize  # noqa: E402


def medium():
    M, I = models.Medium, models.Inner
    return M(
        id=1234567890123,
        name="medium struct for benchmarking",
        description="a description with some non-ascii text: héllo wörld ✓ " * 3,
        quantity=42,
        price=19.99,
        active=True,
        tags=["tag-%d" % i for i in range(12)],
        history=[i * 1000003 for i in range(20)],
        attrs={"key-%d" % i: "value-%d" % i for i in range(10)},
        items=[I(name="item-%d" % i, n=i * 7, blob=bytes(range(i, i + 16))) for i in range(12)],
        color=models.Color.GREEN,
        version=3,
        payload=bytes(range(256)) * 1,
        grid=[[r * 10 + c for c in range(6)] for r in range(6)],
        owner=I(name="owner", n=99, blob=b"\x00\x01"),
    )


def bench(label, fn, number):
    best = min(timeit.repeat(fn, number=number, repeat=5)) / number
    print("  %-34s %9.2f us" % (label, best * 1e6))
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--number", type=int, default=2000)
    args = ap.parse_args()
    n = args.number
    obj = medium()
    mod = peers.apache()
    if mod is not None:
        from thrift.protocol import TBinaryProtocol, TCompactProtocol
        from thrift.transport import TTransport

        aobj = peers.to_peer(obj, mod)
        AM = mod.Medium
    for proto in ("binary", "compact"):
        data = serialize(obj, proto)
        assert deserialize(models.Medium, data, proto) == obj
        print("%s: %d bytes" % (proto, len(data)))
        results = {}
        results["ours enc"] = bench("thriftgen.runtime serialize", lambda: serialize(obj, proto), n)
        results["ours dec"] = bench(
            "thriftgen.runtime deserialize", lambda: deserialize(models.Medium, data, proto), n
        )
        if mod is None:
            continue
        if proto == "binary":
            pure_cls, fast_cls = TBinaryProtocol.TBinaryProtocol, TBinaryProtocol.TBinaryProtocolAccelerated
        else:
            pure_cls, fast_cls = TCompactProtocol.TCompactProtocol, TCompactProtocol.TCompactProtocolAccelerated

        def enc(pcls):
            t = TTransport.TMemoryBuffer()
            aobj.write(pcls(t))
            return t.getvalue()

        def dec(pcls):
            o = AM()
            o.read(pcls(TTransport.TMemoryBuffer(data)))
            return o

        assert enc(pure_cls) == data and enc(fast_cls) == data
        results["pure enc"] = bench("Apache pure-Python encode", lambda: enc(pure_cls), max(n // 10, 10))
        results["pure dec"] = bench("Apache pure-Python decode", lambda: dec(pure_cls), max(n // 10, 10))
        results["c enc"] = bench("Apache C fastbinary encode", lambda: enc(fast_cls), n)
        results["c dec"] = bench("Apache C fastbinary decode", lambda: dec(fast_cls), n)
        print(
            "  ours vs pure: encode %.1fx faster, decode %.1fx faster; vs C: encode %.1fx, decode %.1fx slower"
            % (
                results["pure enc"] / results["ours enc"],
                results["pure dec"] / results["ours dec"],
                results["ours enc"] / results["c enc"],
                results["ours dec"] / results["c dec"],
            )
        )


if __name__ == "__main__":
    main()
