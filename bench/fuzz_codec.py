"""Fuzz the thriftgen.runtime codecs with random and mutated inputs.

    python bench/fuzz_codec.py [N] [--seed S] [--apache-every K]

Runs N cases (default 100000).  Each case decodes random/mutated bytes as one
of the test model classes (binary and compact) and checks that only
``ProtocolError`` is ever raised, that ``skip`` agrees with the decoder, that
decoded values re-encode and decode to the same value, and (every K-th case,
when Apache Thrift is installed) that Apache's pure-Python decoder, when it
accepts the input too, produces the same value.  Exits non-zero on the first
violation, printing a reproducer.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "runtime"))

import rt_fuzz  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=100000, help="number of cases")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--apache-every", type=int, default=10, help="0 disables the Apache cross-check")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()

    def progress(done, outcomes):
        rate = done / (time.perf_counter() - t0)
        print("%8d cases  %7.0f/s  %s" % (done, rate, dict(sorted(outcomes.items()))), flush=True)

    try:
        outcomes = rt_fuzz.run(args.n, seed=args.seed, apache_every=args.apache_every, progress=progress)
    except rt_fuzz.FuzzFailure as ex:
        print("FAILURE: %s" % ex, file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - t0
    print("ok: %d cases in %.1f s (%s)" % (sum(outcomes.values()), elapsed, dict(sorted(outcomes.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
