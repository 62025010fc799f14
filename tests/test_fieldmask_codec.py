"""Encoding and decoding with a FieldMask, against an independent oracle and the peers.

Oracle (see ``test_fieldmask_util.oracle_prune``): encoding with a mask must give
the bytes of encoding a copy from which the masked-out parts were removed; decoding
with a mask must give a full decode with those parts removed.  Masked bytes must
decode with Apache's generated code and with thriftpy2.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from test_codegen_util import APACHE
from test_fieldmask_util import (generated, oracle_prune, parse_path, plain, tree_paths,
                                 tree_strategy)
from thriftgen.runtime import ProtocolError, decode_struct, deserialize, serialize
from thriftgen.runtime.fieldmask import FieldMask, FieldMaskError

PROTOCOLS = ["binary", "compact"]
VARIANTS = ["fmd", "fms", "fmp"]
FAST = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    with generated(tmp_path_factory.mktemp("fieldmask_codec"), apache=True) as imp:
        yield imp


def models(gen):
    return {v: gen(f"{v}.fmt.model.ttypes") for v in VARIANTS}


def make_mask(cls, paths, black):
    try:
        return FieldMask(cls, *paths, black=black)
    except FieldMaskError as ex:
        assume("conflicts" not in ex.reason and "cannot be mixed" not in ex.reason)
        raise


def check_oracle(m, value, paths, black):
    mask = make_mask(m.Tree, paths, black)
    expected = oracle_prune(value, [parse_path(p) for p in paths], black)
    for proto in PROTOCOLS:
        data = serialize(value, proto, mask=mask)
        assert data == serialize(expected, proto), (paths, black, proto)
        full = serialize(value, proto)
        got = deserialize(m.Tree, full, proto, mask=mask)
        assert got == oracle_prune(deserialize(m.Tree, full, proto),
                                   [parse_path(p) for p in paths], black), (paths, black)
        # decoding what was written with the same mask: the same oracle
        assert deserialize(m.Tree, data, proto, mask=mask) == oracle_prune(
            deserialize(m.Tree, data, proto), [parse_path(p) for p in paths], black)


@st.composite
def case(draw, m):
    return (draw(tree_strategy(m)), draw(st.lists(tree_paths(), min_size=1, max_size=4)),
            draw(st.booleans()))


def _oracle_test(gen, data, variant):
    m = models(gen)[variant]
    value, paths, black = data.draw(case(m))
    check_oracle(m, value, paths, black)


@pytest.mark.parametrize("variant", VARIANTS)
@FAST
@given(data=st.data())
def test_oracle(gen, variant, data):
    _oracle_test(gen, data, variant)


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
@SLOW
@given(data=st.data())
def test_oracle_long(gen, variant, data):
    _oracle_test(gen, data, variant)


def tree(m):
    leaf = m.Leaf
    return m.Tree(id=1, name="n", leaves=[leaf(name=str(i), code=i) for i in range(4)],
                  tags={"a"}, by_name={"a": leaf(code=1), "b": leaf(code=2), "c": leaf(code=3)},
                  by_num={0: [leaf(code=0)] * 3}, grid=[[1, 2, 3]] * 4,
                  kinds={m.Kind.A: "x", m.Kind.B: "y"}, nums=list(range(20)),
                  must=leaf(name="m", n=5, code=7))


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_examples_against_the_oracle(gen, proto):
    for variant, m in models(gen).items():
        t = tree(m)
        for paths in (["$.leaves[0].name", "$.leaves[3]"], ["$.by_name{\"b\",\"z\"}.name"],
                      ["$.grid[1,9][0,2]"], ["$.by_num{0}[1]"], ["$.nums[0,19,20]"],
                      ["$.kinds{2}"], ["$.tags[*]"], ["$.must.name"], ["$.main.name"]):
            for black in (False, True):
                check_oracle(m, t, paths, black)


def _list_header(data, proto, offset):
    """Element count of the list whose header starts at ``offset``."""
    if proto == "binary":
        return struct.unpack_from(">i", data, offset + 1)[0]
    b = data[offset]
    return b >> 4


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_header_counts_are_exact(gen, proto):
    m = models(gen)["fmd"]
    leaf = m.Leaf
    t = m.Tree(id=1, leaves=[leaf(code=i) for i in range(4)], must=leaf(code=0))
    data = serialize(t, proto, mask=FieldMask(m.Tree, "$.leaves[0]"))
    # id, then the leaves field: a list of 4 with [0] says 1 element (thriftgo says 2)
    hdr = 3 if proto == "binary" else 1
    start = len(serialize(m.Tree(id=1, rank=None, extra=None), proto)) - 1 + hdr
    assert _list_header(data, proto, start) == 1
    assert deserialize(m.Tree, data, proto).leaves == [leaf(code=0)]
    for paths, black, count in ((["$.leaves[1,3]"], False, 2), (["$.leaves[9]"], False, 0),
                                (["$.leaves[0,2]"], True, 2), (["$.leaves[*]"], True, 0),
                                (["$.leaves[5]"], True, 4)):
        data = serialize(t, proto, mask=FieldMask(m.Tree, *paths, black=black))
        assert _list_header(data, proto, start) == count
        assert len(deserialize(m.Tree, data, proto).leaves) == count
    # maps: the count in the header is the number of entries written
    t = m.Tree(id=1, by_name={k: leaf(code=1) for k in "abcd"}, must=leaf(code=0))
    for paths, black, keys in ((['$.by_name{"a","c","x"}'], False, "ac"),
                               (['$.by_name{"a"}'], True, "bcd")):
        out = deserialize(m.Tree, serialize(t, proto, mask=FieldMask(m.Tree, *paths,
                                                                    black=black)), proto)
        assert "".join(out.by_name) == keys


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_required_fields(gen, proto):
    m = models(gen)["fmd"]
    t = m.Tree(id=5, name="n", must=m.Leaf(name="m", n=2, code=3), main=m.Leaf(name="x", code=4))
    only_name = FieldMask(m.Tree, "$.name", "$.main.name")
    out = deserialize(m.Tree, serialize(t, proto, mask=only_name), proto)
    assert (out.id, out.must, out.main) == (5, t.must, m.Leaf(name="x", code=4))
    zero = FieldMask(m.Tree, "$.name", "$.main.name", zero_required=True)
    out = deserialize(m.Tree, serialize(t, proto, mask=zero), proto)
    assert (out.id, out.must, out.main) == (0, m.Leaf(code=0), m.Leaf(name="x", code=0))
    # unset required fields get a zero value too
    out = deserialize(m.Tree, serialize(m.Tree(name="n"), proto, mask=zero), proto)
    assert (out.id, out.must) == (0, m.Leaf(code=0))
    # decode keeps required fields that the mask drops
    full = serialize(t, proto)
    out = deserialize(m.Tree, full, proto, mask=only_name)
    assert (out.id, out.must, out.main, out.leaves) == (5, t.must, m.Leaf(name="x", code=4), None)


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_decode_skips_dropped_parts(gen, proto):
    m = models(gen)["fmd"]
    t = tree(m)
    full = serialize(t, proto)
    mask = FieldMask(m.Tree, "$.leaves[2].name", "$.rank")
    out, end = decode_struct(m.Tree, full + b"tail", 0, proto, mask=mask)
    assert end == len(full)
    assert out.leaves == [m.Leaf(name="2", code=2)] and out.rank == 5  # default kept
    assert out.by_name is None and out.grid is None and out.nums is None
    # a kept field with a fresh (mutable) default gets it when absent
    out = deserialize(m.Tree, serialize(m.Tree(id=1, must=m.Leaf(code=1), extra=None), proto),
                      proto, mask=FieldMask(m.Tree, "$.extra"))
    assert out.extra == [1] and out.rank is None
    # lax UTF-8 and the depth limit work under a mask too
    bad = serialize(m.Tree(id=1, name="\udcff", must=m.Leaf(code=1)), proto, strict_utf8=False)
    with pytest.raises(ProtocolError, match="invalid UTF-8"):
        deserialize(m.Tree, bad, proto, mask=FieldMask(m.Tree, "$.name"))
    lax = deserialize(m.Tree, bad, proto, mask=FieldMask(m.Tree, "$.name"), strict_utf8=False)
    assert lax.name == "\udcff"
    with pytest.raises(ProtocolError) as info:
        deserialize(m.Tree, full, proto, mask=mask, max_depth=1)
    assert info.value.kind == "depth_limit"


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_errors_under_a_mask(gen, proto):
    m = models(gen)["fmd"]
    t = tree(m)
    full = serialize(t, proto)
    mask = FieldMask(m.Tree, "$.leaves[0]", "$.must.code")
    for cut in range(0, len(full) - 1, 7):
        with pytest.raises(ProtocolError):
            deserialize(m.Tree, full[:cut], proto, mask=mask)
    t.leaves[0].n = "not an int"
    with pytest.raises(ProtocolError) as info:
        serialize(t, proto, mask=mask)
    assert info.value.path.startswith("Tree") and "n" in info.value.path
    with pytest.raises(ValueError, match="unknown protocol"):
        serialize(tree(m), "xml", mask=mask)
    with pytest.raises(ValueError, match="not json"):
        serialize(tree(m), "json", mask=mask)


# --------------------------------------------------------------------------- peers


def _apache_decode(cls, data, proto):
    from thrift.protocol import TBinaryProtocol, TCompactProtocol
    from thrift.transport import TTransport

    factory = TBinaryProtocol.TBinaryProtocol if proto == "binary" else \
        TCompactProtocol.TCompactProtocol
    obj = cls()
    obj.read(factory(TTransport.TMemoryBuffer(data)))
    return obj


def _peer_check(gen, tp, value, paths, black):
    m = models(gen)["fmd"]
    mask = make_mask(m.Tree, paths, black)
    expected = plain(deserialize(m.Tree, serialize(mask.apply(value))))
    for proto in PROTOCOLS:
        data = serialize(value, proto, mask=mask)
        if APACHE is not None:
            apache = gen("fmt.model.ttypes")
            got = plain(_apache_decode(apache.Tree, data, proto))
            if got["kinds"]:  # Apache 0.17's py:enum reads enum map keys as their names
                got["kinds"] = {int(apache.Kind[k]): v for k, v in got["kinds"].items()}
            assert got == expected
        if tp is not None:
            from thriftpy2.protocol import TBinaryProtocolFactory, TCompactProtocolFactory
            from thriftpy2.utils import deserialize as tp_deserialize

            factory = TBinaryProtocolFactory() if proto == "binary" else TCompactProtocolFactory()
            got = plain(tp_deserialize(tp.Tree(), data, factory))
            if got["tags"] is not None:  # thriftpy2 hands sets back as lists
                got["tags"] = sorted(got["tags"])
            assert got == expected


@pytest.fixture(scope="module")
def tp(tmp_path_factory):
    thriftpy2 = pytest.importorskip("thriftpy2")
    from test_fieldmask_util import FM_IDL

    path = tmp_path_factory.mktemp("tp") / "fm.thrift"
    path.write_text(FM_IDL)
    return thriftpy2.load(str(path), module_name="fm_mask_thrift")


@FAST
@given(data=st.data())
def test_masked_bytes_decode_with_apache_and_thriftpy2(gen, tp, data):
    m = models(gen)["fmd"]
    value = data.draw(tree_strategy(m))
    paths = data.draw(st.lists(tree_paths(), min_size=1, max_size=3))
    _peer_check(gen, tp, value, paths, data.draw(st.booleans()))


@pytest.mark.skipif(APACHE is None, reason="Apache's compiler is not installed")
@pytest.mark.parametrize("proto", PROTOCOLS)
def test_masks_on_apache_generated_classes(gen, proto, monkeypatch):
    # Apache's classes carry no required-field table: like ours without theirs
    apache, ours = gen("fmt.model.ttypes"), models(gen)["fmp"]
    from thriftgen.runtime import _fieldmask_tree

    for cls in vars(ours).values():
        if isinstance(cls, type) and "_tg_required" in cls.__dict__:
            monkeypatch.delattr(cls, "_tg_required")
    monkeypatch.setattr(_fieldmask_tree, "_metas", {})  # metadata read before is cached
    paths = ["$.leaves[1].name", "$.kinds{2}", "$.by_name{*}.code", "$.nums[0]"]

    def build(mod):
        leaf = mod.Leaf
        return mod.Tree(id=1, name="n", leaves=[leaf(name="x", code=1), leaf(name="y", code=2)],
                        kinds={mod.Kind.A: "a", mod.Kind.B: "b"}, by_name={"k": leaf(code=4)},
                        nums=[5, 6], must=leaf(code=3))

    a_mask, o_mask = FieldMask(apache.Tree, *paths), FieldMask(ours.Tree, *paths)
    data = serialize(build(apache), proto, mask=a_mask)
    assert data == serialize(build(ours), proto, mask=o_mask)
    back = deserialize(apache.Tree, serialize(build(apache), proto), proto, mask=a_mask)
    assert plain(back) == plain(deserialize(ours.Tree, serialize(build(ours), proto), proto,
                                            mask=o_mask))


def _fuzz(gen, data):
    m = models(gen)["fmd"]
    value = data.draw(tree_strategy(m))
    paths = data.draw(st.lists(tree_paths(), min_size=1, max_size=3))
    mask = make_mask(m.Tree, paths, data.draw(st.booleans()))
    proto = data.draw(st.sampled_from(PROTOCOLS))
    buf = bytearray(serialize(value, proto))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    buf = bytes(buf[:data.draw(st.integers(0, len(buf)))])
    try:
        deserialize(m.Tree, buf, proto, mask=mask)
    except ProtocolError:
        pass


@FAST
@given(data=st.data())
def test_corrupt_input_under_a_mask_is_a_protocol_error(gen, data):
    _fuzz(gen, data)


@pytest.mark.slow
@SLOW
@given(data=st.data())
def test_corrupt_input_under_a_mask_long(gen, data):
    _fuzz(gen, data)
