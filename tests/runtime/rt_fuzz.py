"""Random / mutated input fuzzing of the runtime codecs.

Shared by the test-suite (a small sample in the default run, >=100k cases
with ``-m slow``) and ``bench/fuzz_codec.py``.

Every case decodes some bytes as one of the ``rt_models`` classes and checks:

* decoding raises nothing but ``ProtocolError`` (with a known ``kind``);
* ``skip`` / ``message_end`` raise nothing but ``ProtocolError``, and when
  the decode succeeds, ``skip`` ends exactly where the decode ended;
* a successful decode re-encodes, and decoding that gives the same value;
* the lenient (surrogateescape) decoder also raises only ``ProtocolError``;
* optionally, when Apache's pure-Python decoder also accepts the bytes, it
  produces the same value.
"""

import random
import uuid

import rt_models as M
from thriftgen.runtime import (
    ProtocolError,
    TType,
    decode_message,
    decode_struct,
    encode_message,
    message_end,
    serialize,
    skip,
)

TARGETS = [M.All, M.Medium, M.Node, M.Tree, M.U, M.WithUuid, M.Negative, M.Inner, M.Oops]
APACHE_TARGETS = {M.All, M.Medium, M.Node, M.Tree, M.U, M.Inner, M.Oops}
PROTOCOLS = ("binary", "compact")

_INTERESTING_BYTES = (0x00, 0x01, 0x02, 0x0F, 0x10, 0x7F, 0x80, 0x81, 0xF0, 0xFE, 0xFF)
_HUGE = (
    b"\x7f\xff\xff\xff",
    b"\x80\x00\x00\x00",
    b"\xff\xff\xff\xff",
    b"\x00\x01\x00\x00",
    b"\xff\xff\xff\xff\x07",
    b"\xff\xff\xff\xff\x0f",
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
    b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
)


class FuzzFailure(AssertionError):
    pass


# ---------------------------------------------------------------------------
# random values


def _rand_int(rng, bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    r = rng.random()
    if r < 0.3:
        return rng.choice((lo, hi, 0, -1, 1, 127, -128))
    if r < 0.6:
        return rng.randint(max(lo, -300), min(hi, 300))
    return rng.randint(lo, hi)


def random_value(rng, ttype, targs, depth):
    if ttype == TType.BOOL:
        return rng.random() < 0.5
    if ttype == TType.BYTE:
        return _rand_int(rng, 8)
    if ttype == TType.I16:
        return _rand_int(rng, 16)
    if ttype == TType.I32:
        if isinstance(targs, type) and rng.random() < 0.7:
            return rng.choice(list(targs))
        return _rand_int(rng, 32)
    if ttype == TType.I64:
        return _rand_int(rng, 64)
    if ttype == TType.DOUBLE:
        return rng.choice((0.0, -0.0, float("nan"), float("inf"), 1.5, -2.25e300, rng.random()))
    if ttype == TType.STRING:
        n = rng.choice((0, 1, 3, 8, 20))
        if targs == "BINARY":
            return bytes(rng.getrandbits(8) for _ in range(n))
        return "".join(rng.choice("abcxyzé日\U0001f600 ") for _ in range(n))
    if ttype == TType.UUID:
        return uuid.UUID(int=rng.getrandbits(128))
    if ttype == TType.STRUCT:
        return random_struct(rng, targs[0], depth - 1) if depth > 0 else None
    if ttype in (TType.LIST, TType.SET):
        n = rng.choice((0, 1, 2, 3, 5, 16))
        items = [random_value(rng, targs[0], targs[1], depth) for _ in range(n)]
        items = [x for x in items if x is not None]
        return set(items) if ttype == TType.SET else items
    if ttype == TType.MAP:
        n = rng.choice((0, 1, 2, 4))
        out = {}
        for _ in range(n):
            k = random_value(rng, targs[0], targs[1], depth)
            v = random_value(rng, targs[2], targs[3], depth)
            if k is not None and v is not None:
                out[k] = v
        return out
    raise AssertionError(ttype)


def random_struct(rng, cls, depth=3):
    entries = [e for e in cls.thrift_spec if e is not None]
    obj = cls()
    if getattr(cls, "_tg_is_union", False):
        e = rng.choice(entries)
        setattr(obj, e[2], random_value(rng, e[1], e[3], depth))
        return obj
    for fid, ttype, attr, targs, default in entries:
        if rng.random() < 0.7:
            setattr(obj, attr, random_value(rng, ttype, targs, depth))
        elif rng.random() < 0.5:
            setattr(obj, attr, None)
    return obj


# ---------------------------------------------------------------------------
# mutations


def mutate(rng, data, other):
    """Return a mutated copy of ``data`` (``other`` is another encoding)."""
    buf = bytearray(data)
    op = rng.randrange(10)
    if not buf:
        op = 7
    if op == 0:  # truncate
        return bytes(buf[: rng.randrange(len(buf))])
    if op == 1:  # flip bits
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
    elif op == 2:  # interesting bytes
        for _ in range(rng.randint(1, 3)):
            buf[rng.randrange(len(buf))] = rng.choice(_INTERESTING_BYTES)
    elif op == 3:  # huge / negative length or varint
        i = rng.randrange(len(buf))
        h = rng.choice(_HUGE)
        buf[i : i + len(h)] = h
    elif op == 4:  # delete a slice
        i = rng.randrange(len(buf))
        del buf[i : i + rng.randint(1, 8)]
    elif op == 5:  # insert random bytes
        i = rng.randrange(len(buf) + 1)
        buf[i:i] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 6)))
    elif op == 6:  # splice with another encoding
        i = rng.randrange(len(buf) + 1)
        j = rng.randrange(len(other) + 1) if other else 0
        buf = buf[:i] + bytearray(other[j:])
    elif op == 7:  # random bytes
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))
    elif op == 8:  # duplicate a chunk
        i = rng.randrange(len(buf))
        chunk = buf[i : i + rng.randint(1, 16)]
        j = rng.randrange(len(buf) + 1)
        buf[j:j] = chunk
    else:  # several mutations
        out = bytes(buf)
        for _ in range(rng.randint(2, 4)):
            out = mutate(rng, out, other)
        return out
    return bytes(buf)


# ---------------------------------------------------------------------------
# checks


def _expect_protocol_error(fn, what):
    try:
        return True, fn()
    except ProtocolError as ex:
        if ex.kind not in ProtocolError.KINDS:
            raise FuzzFailure("%s: unknown kind %r" % (what, ex.kind))
        str(ex)  # rendering must not fail either
        return False, ex
    except Exception as ex:  # noqa: BLE001 - that is the point
        raise FuzzFailure("%s raised %s: %r" % (what, type(ex).__name__, ex)) from ex


def _same(a, b, same_value):
    """``same_value`` looking through structs field by field (generated classes'
    own ``__eq__`` says NaN != NaN)."""
    spec = getattr(type(a), "thrift_spec", None)
    if spec is not None and type(a) is type(b):
        return all(_same(getattr(a, e[2]), getattr(b, e[2]), same_value) for e in spec if e is not None)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y, same_value) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(v, b[k], same_value) for k, v in a.items())
    return same_value(a, b)


def check_case(cls, data, protocol, apache_check=False):
    """Run the invariants on one input; return an outcome label."""
    from rt_peers import apache_decode, same_value

    ok, res = _expect_protocol_error(lambda: decode_struct(cls, data, 0, protocol), "decode")
    sok, send = _expect_protocol_error(lambda: skip(data, 0, TType.STRUCT, protocol), "skip")
    _expect_protocol_error(lambda: decode_struct(cls, data, 0, protocol, strict_utf8=False), "lax decode")
    if not ok:
        return "err:" + res.kind
    obj, end = res
    if not sok:
        raise FuzzFailure("decode succeeded (end %d) but skip failed: %s" % (end, send))
    if send != end:
        raise FuzzFailure("skip ended at %d, decode at %d" % (send, end))
    try:
        again = serialize(obj, protocol)
    except Exception as ex:
        raise FuzzFailure("re-encoding a decoded value failed: %r" % ex) from ex
    back, end2 = decode_struct(cls, again, 0, protocol)
    if end2 != len(again) or not _same(back, obj, same_value):
        raise FuzzFailure("decode(encode(decoded)) differs: %r vs %r" % (back, obj))
    if apache_check and cls in APACHE_TARGETS:
        try:
            theirs = apache_decode(cls, data[:end], protocol)
        except Exception:  # noqa: BLE001 - Apache may reject (or crash on) anything
            theirs = None
        if theirs is not None and not same_value(theirs, obj):
            raise FuzzFailure("Apache decoded %r, we decoded %r" % (theirs, obj))
    return "ok"


def check_message(data, protocol):
    _expect_protocol_error(lambda: message_end(data, 0, protocol), "message_end")
    _expect_protocol_error(lambda: decode_message(data, M.Ping_args, protocol), "decode_message")


def run(n, seed=0, apache_every=0, progress=None, targets=None):
    """Run ``n`` cases; return ``{outcome: count}``.  Raises FuzzFailure.

    ``targets``: classes to decode as (default: the ``rt_models`` classes; the
    fast-codec tests pass thriftgen-generated ones)."""
    from rt_peers import apache

    rng = random.Random(seed)
    if apache_every and apache() is None:
        apache_every = 0
    corpus = []
    for cls in targets or TARGETS:
        for protocol in PROTOCOLS:
            for _ in range(6):
                obj = random_struct(rng, cls, depth=rng.randint(1, 4))
                corpus.append((cls, protocol, serialize(obj, protocol)))
    messages = {
        p: encode_message("ping", 1, 7, M.Ping_args(x=5), p) for p in PROTOCOLS
    }
    outcomes = {}
    for i in range(n):
        cls, protocol, data = rng.choice(corpus)
        if rng.random() < 0.05:
            # fresh value, checked unmutated
            data = serialize(random_struct(rng, cls, depth=rng.randint(1, 4)), protocol)
            case = data
        else:
            other = rng.choice(corpus)[2]
            case = mutate(rng, data, other)
        if rng.random() < 0.05:
            case = mutate(rng, messages[protocol], other=b"")
            check_message(case, protocol)
            outcome = "message"
        else:
            try:
                outcome = check_case(cls, case, protocol, apache_every and i % apache_every == 0)
            except FuzzFailure as ex:
                raise FuzzFailure(
                    "case %d (seed %d): %s.%s %r: %s" % (i, seed, cls.__name__, protocol, case, ex)
                ) from ex
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if progress is not None and (i + 1) % 10000 == 0:
            progress(i + 1, outcomes)
    return outcomes
