"""Differential tests: thriftgen.runtime vs Apache Thrift and thriftpy2.

For random values (hypothesis) of classes mirroring ``rt_models.IDL``:

* our bytes == Apache-generated class written by the pure-Python protocol
  == the same written by the C accelerated protocol (``fastbinary``);
* our bytes == Apache's generic spec-driven ``writeStruct`` (TBase class built
  from our ``thrift_spec``; covers ``uuid`` and negative field ids, which the
  0.17 compiler cannot generate);
* our decoder, Apache (pure and C) and thriftpy2 all decode our bytes to the
  original value; our decoder reads thriftpy2's bytes back.
"""

import math
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rt_models as M
import rt_peers as P
from rt_strategies import struct_strategy
from thriftgen.runtime import deserialize, serialize

PROTOCOLS = ("binary", "compact")

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def apache():
    mod = P.apache()
    if mod is None:
        pytest.skip("Apache thrift compiler or python package not available")
    return mod


@pytest.fixture(scope="module")
def tpy2():
    mod = P.tpy2()
    if mod is None:
        pytest.skip("thriftpy2 not available")
    return mod


def check_against_peers(cls, obj, protocol, tpy2_too=True):
    ours = serialize(obj, protocol)
    assert ours == P.apache_encode(obj, protocol), "differs from Apache pure-Python"
    assert ours == P.apache_encode(obj, protocol, accelerated=True), "differs from Apache C"
    assert ours == P.spec_peer_encode(obj, protocol), "differs from Apache writeStruct"
    expected = P.decoded_form(obj)
    back = deserialize(cls, ours, protocol)
    assert P.same_value(back, expected)
    assert P.same_value(P.apache_decode(cls, ours, protocol), expected)
    assert P.same_value(P.apache_decode(cls, ours, protocol, accelerated=True), expected)
    if tpy2_too:
        assert P.same_value(P.tpy2_decode(cls, ours, protocol), expected)
        assert P.same_value(deserialize(cls, P.tpy2_encode(obj, protocol), protocol), expected)
    return ours


CLASSES = [M.All, M.Medium, M.Inner, M.U, M.Node, M.Tree, M.Oops]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_random_values_match_all_peers(apache, tpy2, cls, protocol):
    @SETTINGS
    @given(obj=struct_strategy(cls, depth=3))
    def run(obj):
        check_against_peers(cls, obj, protocol)

    run()


def extreme_all():
    return M.All(
        b=False,
        by=-128,
        s=32767,
        i=-(2**31),
        l=2**63 - 1,
        d=-0.0,
        str="ünïcødé \U0001f600 \x00",
        bin=bytes(range(256)),
        color=M.Color.BLUE,
        li=[-(2**31), 2**31 - 1, 0],
        ss={"", "a", "日本"},
        m={"": -(2**63), "k": 2**63 - 1},
        nested=[[], [1], [2, 3, 4] * 10],
        inner=M.Inner(name="", n=0, blob=b""),
        inners=[M.Inner(), M.Inner(name="x")],
        mi={-1: M.Inner(n=-1), 2**31 - 1: M.Inner()},
        u=M.U(c=M.Inner(name="in union")),
        colors=[M.Color.RED, 99, -5, M.Color.GREEN],
        bools=[True, False] * 20,
        ds=[float("nan"), float("inf"), float("-inf"), -0.0, 5e-324],
        mcl={M.Color.RED: ["a", "b"], 12345: []},
        sl={-(2**63), 2**63 - 1},
        bys=[-128, 127, 0],
        shs=[-32768, 32767],
        bins=[b"", b"\xff" * 300],
        mb={1: True, -2: False},
        lm=[{}, {"a": 1}],
        lset=[set(), {1, 2, 3}],
        opt=None,
    )


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_extreme_values_match_peers(apache, tpy2, protocol):
    obj = extreme_all()
    data = check_against_peers(M.All, obj, protocol)
    back = deserialize(M.All, data, protocol)
    assert math.isnan(back.ds[0]) and math.copysign(1, back.ds[3]) == -1
    assert math.copysign(1, back.d) == -1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_large_containers_use_long_headers(apache, tpy2, protocol):
    obj = M.All(
        li=list(range(-500, 500)),
        ss={"s%d" % i for i in range(40)},
        m={"k%d" % i: i * 1000003 for i in range(200)},
        bools=[i % 3 == 0 for i in range(100)],
        bys=[i % 256 - 128 for i in range(300)],
        str="x" * 70000,
        inners=[M.Inner(name="n%d" % i) for i in range(20)],
    )
    check_against_peers(M.All, obj, protocol)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_recursive_structs(apache, tpy2, protocol):
    node = None
    for i in range(40):
        node = M.Node(v=i, nxt=node)
    check_against_peers(M.Node, node, protocol)
    tree = M.Tree(v=0, kids=[M.Tree(v=1, kids=[M.Tree(v=3, kids=[])]), M.Tree(v=2)])
    check_against_peers(M.Tree, tree, protocol)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_enum_decoding(protocol):
    data = serialize(M.All(color=M.Color.BLUE, colors=[2, 99], mcl={7: ["x"], 50: []}), protocol)
    back = deserialize(M.All, data, protocol)
    assert back.color is M.Color.BLUE
    assert back.colors[0] is M.Color.GREEN
    assert back.colors[1] == 99 and type(back.colors[1]) is int
    keys = sorted(back.mcl, key=int)
    assert keys[0] is M.Color.BLUE and type(keys[1]) is int
    unknown = deserialize(M.All, serialize(M.All(color=1234), protocol), protocol)
    assert unknown.color == 1234 and type(unknown.color) is int


# ---------------------------------------------------------------------------
# uuid (thrift 0.25 pure-Python writeUuid/readUuid, and fastbinary)

UUIDS = st.uuids() | st.sampled_from([uuid.UUID(int=0), uuid.UUID(int=(1 << 128) - 1)])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_uuid_matches_apache_025(apache, protocol):
    @SETTINGS
    @given(
        obj=st.builds(
            M.WithUuid,
            id=st.none() | UUIDS,
            ids=st.none() | st.lists(UUIDS, max_size=20),
            m=st.none() | st.dictionaries(UUIDS, st.integers(-(2**31), 2**31 - 1), max_size=4),
        )
    )
    def run(obj):
        ours = serialize(obj, protocol)
        assert ours == P.spec_peer_encode(obj, protocol)
        assert ours == P.spec_peer_encode(obj, protocol, accelerated=True)
        assert deserialize(M.WithUuid, ours, protocol) == obj
        assert P.spec_peer_decode(M.WithUuid, ours, protocol) == obj
        assert P.spec_peer_decode(M.WithUuid, ours, protocol, accelerated=True) == obj
        assert deserialize(M.WithUuid, P.spec_peer_encode(obj, protocol), protocol) == obj

    run()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_uuid_direct_write_read(apache, protocol):
    """Field-by-field with the protocol's own writeUuid / readUuid."""
    from thrift.Thrift import TType as AT
    from thrift.transport import TTransport

    u1, u2 = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff"), uuid.uuid4()
    trans = TTransport.TMemoryBuffer()
    prot = P._protocol_class(protocol, False)(trans)
    prot.writeStructBegin("WithUuid")
    prot.writeFieldBegin("id", AT.UUID, 1)
    prot.writeUuid(u1)
    prot.writeFieldEnd()
    prot.writeFieldBegin("ids", AT.LIST, 2)
    prot.writeListBegin(AT.UUID, 1)
    prot.writeUuid(u2)
    prot.writeListEnd()
    prot.writeFieldEnd()
    prot.writeFieldStop()
    prot.writeStructEnd()
    expected = trans.getvalue()
    obj = M.WithUuid(id=u1, ids=[u2])
    assert serialize(obj, protocol) == expected
    assert u1.bytes in expected  # big-endian uuid.bytes in both protocols
    back = deserialize(M.WithUuid, expected, protocol)
    assert back == obj and isinstance(back.id, uuid.UUID)

    rprot = P._protocol_class(protocol, False)(TTransport.TMemoryBuffer(expected))
    rprot.readStructBegin()
    _, ftype, fid = rprot.readFieldBegin()
    assert (ftype, fid) == (AT.UUID, 1)
    assert rprot.readUuid() == u1


def test_compact_uuid_type_id():
    data = serialize(M.WithUuid(id=uuid.UUID(int=1)), "compact")
    assert data[0] == 0x1D  # delta 1, compact type 0x0D
    assert len(data) == 1 + 16 + 1


# ---------------------------------------------------------------------------
# negative field ids (spec ordered by declaration)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_negative_field_ids(apache, protocol):
    @SETTINGS
    @given(obj=struct_strategy(M.Negative))
    def run(obj):
        ours = serialize(obj, protocol)
        assert ours == P.spec_peer_encode(obj, protocol)
        assert deserialize(M.Negative, ours, protocol) == obj

    run()


def test_negative_ids_wire_format():
    obj = M.Negative(a=1, b="z", c=[7])
    assert serialize(obj, "binary") == (
        b"\x08\xff\xff\x00\x00\x00\x01" b"\x0b\x00\x02\x00\x00\x00\x01z" b"\x0f\xff\xfd\x06\x00\x00\x00\x01\x00\x07" b"\x00"
    )
    # compact: -1 and -3 need the long form (type byte + zigzag varint id)
    assert serialize(obj, "compact") == b"\x05\x01\x02" b"\x38\x01z" b"\x09\x05\x14\x0e" b"\x00"


# ---------------------------------------------------------------------------
# wide structs: id gaps (compact long-form headers), >40 fields (runtime
# compact header path), out-of-order fields (the general decode loop)


def _wide_classes(seed, n=70):
    import random

    from thriftgen.runtime import TType

    rng = random.Random(seed)
    kinds = [
        (TType.BOOL, None),
        (TType.I32, None),
        (TType.I64, None),
        (TType.STRING, "UTF8"),
        (TType.LIST, (TType.I32, None, False)),
        (TType.STRUCT, [M.Inner, M.Inner.thrift_spec]),
        (TType.DOUBLE, None),
    ]
    entries = []
    fid = 0
    for k in range(n):
        fid += rng.choice([1, 1, 1, 2, 15, 16, 17, 200])
        ttype, targs = rng.choice(kinds)
        entries.append((fid, ttype, "f%d" % k, targs, None))
    attrs = tuple(e[2] for e in entries)

    def make(name):
        def __init__(self, **kw):
            for a in attrs:
                setattr(self, a, kw.get(a))

        return type(name, (M._Base,), {"__slots__": attrs, "__init__": __init__})

    Wide = make("Wide")
    spec = [None] * (entries[-1][0] + 1)
    for e in entries:
        spec[e[0]] = e
    Wide.thrift_spec = tuple(spec)
    Shuffled = make("Shuffled")
    shuffled = list(entries)
    rng.shuffle(shuffled)
    Shuffled.thrift_spec = tuple(shuffled)
    Shuffled._tg_spec_by_declaration = True

    def value(ttype, targs):
        if ttype == TType.BOOL:
            return rng.random() < 0.5
        if ttype == TType.I32:
            return rng.randint(-(2**31), 2**31 - 1)
        if ttype == TType.I64:
            return rng.randint(-(2**63), 2**63 - 1)
        if ttype == TType.DOUBLE:
            return rng.random()
        if ttype == TType.STRING:
            return "s%d" % rng.randint(0, 99)
        if ttype == TType.LIST:
            return [rng.randint(-5, 5) for _ in range(rng.randint(0, 20))]
        return M.Inner(name="i", n=rng.randint(0, 9))

    values = []
    for _ in range(20):
        kw = {e[2]: value(e[1], e[3]) for e in entries if rng.random() < 0.6}
        values.append(kw)
    return Wide, Shuffled, values


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_wide_structs_and_field_order(apache, protocol, seed):
    Wide, Shuffled, values = _wide_classes(seed)
    for kw in values:
        obj = Wide(**kw)
        data = serialize(obj, protocol)
        assert data == P.spec_peer_encode(obj, protocol)
        assert data == P.spec_peer_encode(obj, protocol, accelerated=True)
        assert deserialize(Wide, data, protocol) == obj
        # same values written in another field order: decoded by the general loop
        other = serialize(Shuffled(**kw), protocol)
        assert sorted(other) == sorted(data) or protocol == "compact"
        assert deserialize(Wide, other, protocol) == obj
        assert P.spec_peer_decode(Wide, other, protocol) == obj
        assert deserialize(Shuffled, data, protocol) == Shuffled(**kw)
