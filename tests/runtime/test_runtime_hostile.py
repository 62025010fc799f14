"""Hostile input: the decoders raise ProtocolError (with a path), nothing else."""

import struct
import time
import tracemalloc

import pytest

import rt_fuzz
import rt_models as M
import rt_peers as P
from thriftgen.runtime import (
    ProtocolError,
    TType,
    decode_message,
    decode_message_header,
    decode_struct,
    deserialize,
    encode_message,
    serialize,
    skip,
)

PROTOCOLS = ("binary", "compact")


def bhdr(ttype, fid):
    return struct.pack(">Bh", ttype, fid)


def bstr(raw):
    return struct.pack(">i", len(raw)) + raw


def raises(cls, data, protocol="binary", **kw):
    with pytest.raises(ProtocolError) as info:
        deserialize(cls, data, protocol, **kw)
    return info.value


def sample_all():
    return M.All(
        b=True,
        by=-3,
        s=-300,
        i=123456,
        l=-(2**40),
        d=3.25,
        str="héllo",
        bin=b"\x00\x01",
        color=M.Color.GREEN,
        li=[1, -1, 300],
        ss={"x"},
        m={"k": 5},
        nested=[[1, 2], []],
        inner=M.Inner(name="in", n=4, blob=b"b"),
        inners=[M.Inner(name="a"), M.Inner(name="b", n=2)],
        mi={7: M.Inner(name="seven")},
        u=M.U(a=9),
        colors=[M.Color.RED, 42],
        bools=[True, False, True],
        ds=[1.0, -0.0],
        mcl={M.Color.BLUE: ["z"]},
        sl={5},
        bys=[1, -1],
        shs=[-2, 2],
        bins=[b"\xff"],
        mb={3: False},
        lm=[{"q": 1}],
        lset=[{4}],
    )


# ---------------------------------------------------------------------------
# truncation / bit flips


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("obj", [sample_all(), rt_fuzz.random_struct(__import__("random").Random(3), M.Medium)],
                         ids=["All", "Medium"])
def test_every_truncation_is_a_truncated_error(obj, protocol):
    data = serialize(obj, protocol)
    cls = type(obj)
    for cut in range(len(data)):
        prefix = data[:cut]
        with pytest.raises(ProtocolError) as info:
            deserialize(cls, prefix, protocol)
        assert info.value.kind == "truncated", (cut, info.value)
        assert info.value.path.startswith(cls.__name__)
        with pytest.raises(ProtocolError) as info:
            skip(prefix, 0, TType.STRUCT, protocol)
        assert info.value.kind == "truncated", (cut, info.value)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_single_bit_flip(protocol):
    data = serialize(sample_all(), protocol)
    for i in range(len(data)):
        for bit in range(8):
            case = bytearray(data)
            case[i] ^= 1 << bit
            rt_fuzz.check_case(M.All, bytes(case), protocol)


def test_truncation_error_names_the_field():
    data = serialize(M.All(inners=[M.Inner(name="a"), M.Inner(name="bbbbbbbb")], opt=None))
    err = raises(M.All, data[:-6])
    assert err.kind == "truncated"
    assert err.path == "All.inners[1].name"
    assert "All.inners[1].name" in str(err)


# ---------------------------------------------------------------------------
# sizes


def _fast_and_small(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(ProtocolError) as info:
            fn()
    finally:
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < 0.5, elapsed
    assert peak < 1 << 20, peak
    return info.value


@pytest.mark.parametrize(
    "field,payload",
    [
        ("li", bhdr(TType.LIST, 10) + b"\x08\x7f\xff\xff\xff"),
        ("ss", bhdr(TType.SET, 11) + b"\x0b\x7f\xff\xff\xff"),
        ("m", bhdr(TType.MAP, 12) + b"\x0b\x0a\x7f\xff\xff\xff"),
        ("nested", bhdr(TType.LIST, 13) + b"\x0f\x7f\xff\xff\xff"),
        ("inners", bhdr(TType.LIST, 15) + b"\x0c\x7f\xff\xff\xff"),
        ("bools", bhdr(TType.LIST, 19) + b"\x02\x7f\xff\xff\xff"),
        ("str", bhdr(TType.STRING, 7) + b"\x7f\xff\xff\xff"),
        ("bin", bhdr(TType.STRING, 8) + b"\x7f\xff\xff\xff"),
    ],
)
def test_huge_binary_lengths_fail_fast_without_allocating(field, payload):
    data = payload + b"\x00" * 64
    err = _fast_and_small(lambda: deserialize(M.All, data))
    assert err.kind == "truncated"
    assert err.path == "All." + field
    err = _fast_and_small(lambda: skip(data, 0, TType.STRUCT))
    assert err.kind == "truncated"


@pytest.mark.parametrize(
    "field,payload",
    [
        ("li", b"\xa9\xf5\xff\xff\xff\xff\x07"),  # fid 10: list of 2**31-1 i32
        ("str", b"\x78\xff\xff\xff\xff\x07"),  # fid 7 string of 2**31-1 bytes
        ("m", b"\xcb\xff\xff\xff\xff\x07\x86"),  # fid 12 map of 2**31-1 entries
        ("bools", b"\x09\x26\xf1\xff\xff\xff\xff\x07"),  # fid 19 (long form id) list<bool>
    ],
)
def test_huge_compact_lengths_fail_fast(field, payload):
    data = payload + b"\x00" * 64
    err = _fast_and_small(lambda: deserialize(M.All, data, "compact"))
    assert err.kind == "truncated"
    assert err.path == "All." + field
    err = _fast_and_small(lambda: skip(data, 0, TType.STRUCT, "compact"))
    assert err.kind == "truncated"


def test_compact_size_beyond_i32_and_overlong_varints():
    err = raises(M.All, b"\x78\xff\xff\xff\xff\x0f" + b"\x00" * 8, "compact")
    assert err.kind == "size_limit" and err.path == "All.str"
    err = raises(M.All, b"\x45" + b"\xff" * 11 + b"\x01\x00", "compact")  # i32 varint too long
    assert err.kind == "invalid_data" and err.path == "All.i"
    err = raises(M.All, b"\x45\xff\xff\xff\xff\x1f\x00", "compact")  # i32 value > 32 bits
    assert err.kind == "invalid_data"


@pytest.mark.parametrize(
    "payload,path",
    [
        (bhdr(TType.STRING, 7) + b"\xff\xff\xff\xff", "All.str"),
        (bhdr(TType.LIST, 10) + b"\x08\xff\xff\xff\xfb", "All.li"),
        (bhdr(TType.MAP, 12) + b"\x0b\x0a\x80\x00\x00\x00", "All.m"),
        (bhdr(TType.LIST, 15) + b"\x0c\x00\x00\x00\x01" + bhdr(TType.STRING, 1) + b"\xff\xff\xff\xfe", "All.inners[0].name"),
    ],
)
def test_negative_sizes(payload, path):
    err = raises(M.All, payload + b"\x00")
    assert err.kind == "negative_size"
    assert err.path == path
    with pytest.raises(ProtocolError) as info:
        skip(payload + b"\x00", 0, TType.STRUCT)
    assert info.value.kind == "negative_size"


# ---------------------------------------------------------------------------
# depth


def chain(depth):
    node = None
    for i in range(depth):
        node = M.Node(v=i, nxt=node)
    return node


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_depth_limit(protocol):
    ok = serialize(chain(64), protocol)
    assert deserialize(M.Node, ok, protocol) == chain(64)
    assert skip(ok, 0, TType.STRUCT, protocol) == len(ok)
    deep = serialize(chain(65), protocol)
    err = raises(M.Node, deep, protocol)
    assert err.kind == "depth_limit"
    assert err.path == "Node" + ".nxt" * 64
    with pytest.raises(ProtocolError) as info:
        skip(deep, 0, TType.STRUCT, protocol)
    assert info.value.kind == "depth_limit"
    # custom limits
    assert deserialize(M.Node, serialize(chain(10), protocol), protocol, max_depth=10) == chain(10)
    assert raises(M.Node, serialize(chain(11), protocol), protocol, max_depth=10).kind == "depth_limit"
    assert skip(deep, 0, TType.STRUCT, protocol, max_depth=65) == len(deep)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_depth_limit_through_lists(protocol):
    tree = M.Tree(v=0, kids=[])
    for i in range(70):
        tree = M.Tree(v=i, kids=[M.Tree(v=-1), tree])
    err = raises(M.Tree, serialize(tree, protocol), protocol)
    assert err.kind == "depth_limit"
    assert err.path.startswith("Tree.kids[1].kids[1]")


def test_very_deep_input_is_not_a_recursion_error():
    depth = 20000
    data = (bhdr(TType.STRUCT, 2) * depth) + b"\x00" * (depth + 1)
    err = raises(M.Node, data)
    assert err.kind == "depth_limit"
    assert raises(M.Node, data, max_depth=10**6).kind == "depth_limit"
    for protocol, unit in (("binary", bhdr(TType.STRUCT, 1)), ("compact", b"\x1c")):
        blob = unit * depth + b"\x00" * (depth + 1)
        with pytest.raises(ProtocolError) as info:
            skip(blob, 0, TType.STRUCT, protocol, max_depth=10**6)
        assert info.value.kind == "depth_limit"
    # deeply nested lists in an unknown field
    data = bhdr(TType.LIST, 99) + b"\x0f\x00\x00\x00\x01" * 5000 + b"\x08\x00\x00\x00\x00" + b"\x00"
    assert raises(M.Inner, data).kind == "depth_limit"


def test_unknown_field_skip_uses_the_remaining_depth_budget():
    # Node at depth 63 carries an unknown struct field nesting two more levels
    inner = bhdr(TType.STRUCT, 9) + bhdr(TType.STRUCT, 1) + b"\x00\x00"
    data = bhdr(TType.STRUCT, 2) * 62 + inner + b"\x00" * 63
    assert raises(M.Node, data).kind == "depth_limit"
    ok = bhdr(TType.STRUCT, 2) * 61 + inner + b"\x00" * 62
    assert deserialize(M.Node, ok) is not None


# ---------------------------------------------------------------------------
# UTF-8


def test_invalid_utf8_strict_and_lax():
    raw = b"ok\xff\xfebad\xc3"
    data = bhdr(TType.STRING, 7) + bstr(raw) + b"\x00"
    err = raises(M.All, data)
    assert err.kind == "invalid_data" and err.path == "All.str"
    obj = deserialize(M.All, data, strict_utf8=False)
    assert obj.str == raw.decode("utf-8", "surrogateescape")
    obj.opt = None
    assert serialize(obj, strict_utf8=False) == data
    with pytest.raises(ProtocolError) as info:
        serialize(obj)
    assert info.value.kind == "invalid_data" and info.value.path == "All.str"
    # binary fields never decode
    assert deserialize(M.All, bhdr(TType.STRING, 8) + bstr(raw) + b"\x00").bin == raw


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_invalid_utf8_paths(protocol):
    def encoded(obj):
        data = serialize(obj, protocol)
        return data.replace(b"MARK", b"\xed\xa0\x80!")  # a UTF-8 encoded surrogate: invalid

    err = raises(M.All, encoded(M.All(inners=[M.Inner(name="a"), M.Inner(name="b"), M.Inner(name="MARK")])), protocol)
    assert err.path == "All.inners[2].name" and err.kind == "invalid_data"
    err = raises(M.All, encoded(M.All(m={"ok": 1, "MARK": 2})), protocol)
    assert err.path == "All.m[<key #1>]"
    err = raises(M.All, encoded(M.All(mi={5: M.Inner(name="MARK")})), protocol)
    assert err.path == "All.mi[5].name"
    err = raises(M.All, encoded(M.All(mcl={M.Color.RED: ["x", "MARK"]})), protocol)
    assert err.path.startswith("All.mcl[") and err.path.endswith("][1]")
    err = raises(M.All, encoded(M.All(u=M.U(b="MARK"))), protocol)
    assert err.path == "All.u.b"
    err = raises(M.All, encoded(M.All(ss={"MARK"})), protocol)
    assert err.path == "All.ss[0]"


# ---------------------------------------------------------------------------
# types on the wire


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_wrong_wire_type_for_known_field_is_skipped_like_apache(protocol):
    # encode with a class whose field ids match Inner's but whose types differ
    class Wrong(M._Base):
        __slots__ = ("name", "n", "blob")

        def __init__(self, *, name=None, n=None, blob=None):
            self.name, self.n, self.blob = name, n, blob

    Wrong.thrift_spec = (
        None,
        (1, TType.I32, "name", None, None),
        (2, TType.LIST, "n", (TType.STRING, "UTF8", False), None),
        (3, TType.STRING, "blob", "BINARY", None),
    )
    data = serialize(Wrong(name=5, n=["a", "b"], blob=b"kept"), protocol)
    ours = deserialize(M.Inner, data, protocol)
    assert ours == M.Inner(blob=b"kept")
    if P.apache() is not None:
        assert P.apache_decode(M.Inner, data, protocol) == ours
        assert P.apache_decode(M.Inner, data, protocol, accelerated=True) == ours


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unknown_fields_are_skipped(protocol):
    full = serialize(sample_all(), protocol)
    # decode All's encoding as Inner: every field id except 1..3 is unknown,
    # and 1..3 have other types -> all skipped
    assert deserialize(M.Inner, full, protocol) == M.Inner()
    if P.apache() is not None:
        # (Apache's pure-Python skip() decodes skipped strings as UTF-8, so
        # keep the skipped binary fields valid UTF-8 here)
        obj = sample_all()
        obj.bins = [b"ok"]
        full = serialize(obj, protocol)
        for cls in (M.Inner, M.Node, M.Tree, M.U):
            ours = deserialize(cls, full, protocol)
            assert P.same_value(P.apache_decode(cls, full, protocol), ours)
            assert P.same_value(P.apache_decode(cls, full, protocol, accelerated=True), ours)


def test_element_type_mismatch_is_bad_type():
    data = bhdr(TType.LIST, 10) + b"\x0a\x00\x00\x00\x01" + b"\x00" * 8 + b"\x00"
    err = raises(M.All, data)
    assert err.kind == "bad_type" and err.path == "All.li"
    # ... but not when the container is empty (Apache's C codec agrees)
    assert deserialize(M.All, bhdr(TType.LIST, 10) + b"\x0a\x00\x00\x00\x00" + b"\x00").li == []
    err = raises(M.All, bhdr(TType.MAP, 12) + b"\x08\x0a\x00\x00\x00\x01" + b"\x00" * 12 + b"\x00")
    assert err.kind == "bad_type" and err.path == "All.m"
    # compact: empty map has no type byte; bool elements accept both 1 and 2
    assert deserialize(M.All, b"\xcb\x00\x00", "compact").m == {}
    err = raises(M.All, b"\xa9\x16\x02\x00", "compact")  # fid 10 list: 1 x i64
    assert err.kind == "bad_type"


@pytest.mark.parametrize("wire_type", [1, 5, 7, 9, 17, 100, 255])
def test_unknown_binary_wire_types(wire_type):
    data = bhdr(wire_type, 77) + b"\x00" * 32
    err = raises(M.Inner, data)
    assert err.kind == "bad_type"
    assert err.path == "Inner.<field 77>"
    with pytest.raises(ProtocolError) as info:
        skip(data, 0, TType.STRUCT)
    assert info.value.kind == "bad_type"
    with pytest.raises(ProtocolError) as info:
        skip(b"\x00" * 8, 0, wire_type)
    assert info.value.kind == "bad_type"


@pytest.mark.parametrize("ctype", [14, 15])
def test_unknown_compact_wire_types(ctype):
    data = bytes([0x70 | ctype]) + b"\x00" * 32
    err = raises(M.Inner, data, "compact")
    assert err.kind == "bad_type"
    with pytest.raises(ProtocolError) as info:
        skip(data, 0, TType.STRUCT, "compact")
    assert info.value.kind == "bad_type"
    # as list element type
    err = raises(M.Inner, b"\x79\x1e" + b"\x00" * 8, "compact")
    assert err.kind == "bad_type"


def test_bool_bytes_match_apache():
    # binary: any nonzero byte is True (field and container), like Apache's
    # pure-Python TBinaryProtocol.readBool (its C fastbinary only takes 1 as
    # True -- the two Apache implementations disagree; we follow the former)
    data = bhdr(TType.BOOL, 1) + b"\x02" + bhdr(TType.LIST, 19) + b"\x02\x00\x00\x00\x03\x00\x05\xff" + b"\x00"
    obj = deserialize(M.All, data)
    assert obj.b is True and obj.bools == [False, True, True]
    # compact containers: only 1 is True (Apache writes 1/2)
    cdata = b"\x11" + b"\x09\x26\x42\x01\x02\x00\x05" + b"\x00"
    cobj = deserialize(M.All, cdata, "compact")
    assert cobj.b is True and cobj.bools == [True, False, False, False]
    if P.apache() is not None:
        assert P.apache_decode(M.All, data, "binary") == obj
        assert P.apache_decode(M.All, cdata, "compact") == cobj
        assert P.apache_decode(M.All, cdata, "compact", accelerated=True) == cobj
        # 0/1 bytes: all three agree
        plain = bhdr(TType.BOOL, 1) + b"\x01" + bhdr(TType.LIST, 19) + b"\x02\x00\x00\x00\x02\x00\x01" + b"\x00"
        want = deserialize(M.All, plain)
        assert want.b is True and want.bools == [False, True]
        assert P.apache_decode(M.All, plain, "binary", accelerated=True) == want


def test_union_with_two_fields_on_the_wire():
    data = bhdr(TType.I32, 1) + b"\x00\x00\x00\x01" + bhdr(TType.STRING, 2) + bstr(b"x") + b"\x00"
    err = raises(M.U, data)
    assert err.kind == "invalid_data"
    # the same field twice is fine (last wins, like Apache)
    twice = bhdr(TType.I32, 1) + b"\x00\x00\x00\x01" + bhdr(TType.I32, 1) + b"\x00\x00\x00\x02" + b"\x00"
    assert deserialize(M.U, twice) == M.U(a=2)


def test_trailing_bytes():
    data = serialize(M.Inner(name="x"))
    err = raises(M.Inner, data + b"\x00")
    assert err.kind == "invalid_data" and err.offset == len(data)
    assert deserialize(M.Inner, data + b"junk", allow_trailing=True) == M.Inner(name="x")
    assert decode_struct(M.Inner, data + b"junk") == (M.Inner(name="x"), len(data))


def test_bytes_like_inputs():
    data = serialize(sample_all())
    for variant in (bytearray(data), memoryview(data)):
        obj = deserialize(M.All, variant)
        assert obj == sample_all()
        assert type(obj.bin) is bytes


# ---------------------------------------------------------------------------
# messages


@pytest.mark.parametrize(
    "data,protocol",
    [
        (b"\x80\x02\x00\x01" + bstr(b"ping") + b"\x00\x00\x00\x01\x00", "binary"),
        (b"\x81\x01\x00\x01" + bstr(b"ping") + b"\x00\x00\x00\x01\x00", "binary"),
        (b"\x83\x21\x01\x04ping\x00", "compact"),
        (b"\x82\x22\x01\x04ping\x00", "compact"),
    ],
)
def test_bad_message_versions(data, protocol):
    with pytest.raises(ProtocolError) as info:
        decode_message_header(data, protocol)
    assert info.value.kind == "bad_version"
    with pytest.raises(ProtocolError) as info:
        decode_message(data, M.Ping_args, protocol)
    assert info.value.kind == "bad_version"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_truncated_messages(protocol):
    data = encode_message("ping", 1, -5, M.Ping_args(x=1), protocol)
    for cut in range(len(data)):
        with pytest.raises(ProtocolError) as info:
            decode_message(data[:cut], M.Ping_args, protocol)
        assert info.value.kind == "truncated"


# ---------------------------------------------------------------------------
# encoding invalid values


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    "obj,path",
    [
        (M.All(by=128), "All.by"),
        (M.All(s=-32769), "All.s"),
        (M.All(i=2**31), "All.i"),
        (M.All(l=-(2**63) - 1), "All.l"),
        (M.All(i="1"), "All.i"),
        (M.All(d="x"), "All.d"),
        (M.All(str=b"bytes"), "All.str"),
        (M.All(bin="text"), "All.bin"),
        (M.All(li=[1, 2, 2**40]), "All.li[2]"),
        (M.All(inners=[M.Inner(), M.Inner(n=2**64)]), "All.inners[1].n"),
        (M.All(mi={1: M.Inner(), 2: M.Inner(name=5)}), "All.mi[2].name"),
        (M.All(m={"a": 1, 2: 3}), "All.m[<key 2>]"),
        (M.All(nested=[[1], [2, None]]), "All.nested[1][1]"),
        (M.All(inner=5), "All.inner.name"),
        (M.All(colors=[M.Color.RED, 2**33]), "All.colors[1]"),
    ],
)
def test_encoding_invalid_values(obj, path, protocol):
    with pytest.raises(ProtocolError) as info:
        serialize(obj, protocol)
    assert info.value.kind == "invalid_data", info.value
    assert info.value.path == path, str(info.value)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_encoding_union_with_two_fields(protocol):
    with pytest.raises(ProtocolError) as info:
        serialize(M.U(a=1, b="x"), protocol)
    assert info.value.kind == "invalid_data"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_encoding_a_cycle(protocol):
    node = M.Node(v=1)
    node.nxt = node
    with pytest.raises(ProtocolError) as info:
        serialize(node, protocol)
    assert info.value.kind == "depth_limit"
    assert info.value.path.startswith("Node.nxt.nxt")


# ---------------------------------------------------------------------------
# random / mutated inputs


def test_fuzz_sample():
    """~2k random/mutated cases (plus an Apache pure-Python cross-check)."""
    outcomes = rt_fuzz.run(2000, seed=12345, apache_every=4)
    assert outcomes.get("ok", 0) > 100
    assert sum(v for k, v in outcomes.items() if k.startswith("err:")) > 500


@pytest.mark.slow
def test_fuzz_100k():
    total = 0
    for seed in range(4):
        outcomes = rt_fuzz.run(25000, seed=1000 + seed, apache_every=10)
        total += sum(outcomes.values())
    assert total >= 100000
