"""Field masks on the wire: compact bytes and JSON, hostile input, and the
request/response helper over a loopback RPC server."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from test_fieldmask_util import generated, tree_paths
from thriftgen.runtime import serialize
from thriftgen.runtime._fieldmask_wire import FieldMaskData, MaskNode
from thriftgen.runtime.fieldmask import (FieldMask, FieldMaskError, apply_mask, mask_from_bytes,
                                         mask_from_json, mask_to_bytes, mask_to_json)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

#: The schema documented in thriftgen/runtime/_fieldmask_wire.py, for the peers.
WIRE_IDL = """
struct MaskNode {
  1: optional i8 leaf
  2: optional map<i64, MaskNode> ids
  3: optional map<string, MaskNode> keys
  4: optional MaskNode rest
}
struct FieldMaskData {
  1: i8 version = 1
  2: MaskNode root
  3: bool zero_required
}
"""


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    with generated(tmp_path_factory.mktemp("fieldmask_wire")) as imp:
        yield imp


@pytest.fixture(scope="module")
def m(gen):
    return gen("fmd.fmt.model.ttypes")


def masks(m):
    return [
        FieldMask(m.Tree),
        FieldMask(m.Tree, "$"),
        FieldMask(m.Tree, "$", black=True),
        FieldMask(m.Tree, "$.name", "$.leaves[1,3].blob", '$.by_name{"a","*"}.code'),
        FieldMask(m.Tree, "$.by_num{-1,3}[*].name", "$.kinds{7}", "$.tags[*]", black=True),
        FieldMask(m.Tree, "$.grid[0][1,2]", "$.main.*", "$.weights{*}", zero_required=True),
    ]


def test_round_trips(m):
    for mask in masks(m):
        data = mask_to_bytes(mask)
        assert mask_from_bytes(m.Tree, data) == mask
        assert mask_from_json(m.Tree, mask_to_json(mask)) == mask
        assert mask.to_bytes() == data and mask.to_json() == mask_to_json(mask)
    # the documented JSON shape
    doc = json.loads(mask_to_json(masks(m)[3]))
    assert doc == {"version": 1, "root": {
        "2": True, "3": {"1": {"3": True}, "3": {"3": True}},
        "5": {'"a"': {"4": True}, '"*"': {"4": True}}}}
    assert json.loads(mask_to_json(masks(m)[2])) == {"version": 1, "root": {}}
    assert json.loads(mask_to_json(masks(m)[0])) == {"version": 1, "root": True}


@FAST
@given(paths=st.lists(tree_paths(), min_size=1, max_size=4), black=st.booleans())
def test_round_trips_random(m, paths, black):
    try:
        mask = FieldMask(m.Tree, *paths, black=black)
    except FieldMaskError:
        assume(False)
    assert mask_from_bytes(m.Tree, mask_to_bytes(mask)) == mask
    assert mask_from_json(m.Tree, mask_to_json(mask)) == mask


def test_wire_form_is_the_documented_schema(m, tmp_path):
    thriftpy2 = pytest.importorskip("thriftpy2")
    from thriftpy2.protocol import TCompactProtocolFactory
    from thriftpy2.utils import deserialize as tp_deserialize

    (tmp_path / "mask.thrift").write_text(WIRE_IDL)
    tp = thriftpy2.load(str(tmp_path / "mask.thrift"), module_name="mask_wire_thrift")
    mask = FieldMask(m.Tree, "$.name", '$.by_name{"a"}.code', "$.leaves[*]", black=True)
    got = tp_deserialize(tp.FieldMaskData(), mask_to_bytes(mask), TCompactProtocolFactory())
    root = got.root
    assert got.version == 1 and root.leaf is None and root.rest.leaf == 1
    assert root.ids[2].leaf == 2  # name: dropped
    assert root.ids[5].keys["a"].ids[4].leaf == 2 and root.ids[5].rest.leaf == 1
    leaves = root.ids[3]  # every element dropped: an inner node with nothing (rest absent)
    assert (leaves.leaf, leaves.ids, leaves.keys, leaves.rest) == (None, None, None, None)


def test_masks_from_bytes_are_cached(m):
    data = mask_to_bytes(FieldMask(m.Tree, "$.name"))
    assert mask_from_bytes(m.Tree, data) is mask_from_bytes(m.Tree, bytearray(data))
    assert mask_from_bytes(m.Leaf, mask_to_bytes(FieldMask(m.Leaf, "$.name"))).cls is m.Leaf


# --------------------------------------------------------------------------- hostile input


def data_bytes(root, version=1):
    return serialize(FieldMaskData(version=version, root=root), "compact")


def leaf(v=1):
    return MaskNode(leaf=v)


BAD = [
    (MaskNode(ids={99: leaf()}), "bad field mask data at $: Tree has no field with id 99"),
    (MaskNode(keys={"a": leaf()}), "bad field mask data at $: string keys on a struct"),
    (MaskNode(leaf=1, rest=leaf()), "bad field mask data at $: a leaf node has children"),
    (MaskNode(leaf=3), "bad field mask data at $: unknown leaf value 3"),
    (MaskNode(rest=MaskNode(ids={1: leaf()})),
     "bad field mask data at $: the rest of a struct can only be ALL or DROP"),
    (MaskNode(ids={2: MaskNode(ids={1: leaf()})}),
     "bad field mask data at $.name: $.name is a string: only ALL or DROP fit"),
    (MaskNode(ids={4: MaskNode(ids={0: leaf()})}),
     "bad field mask data at $.tags: a set takes no element indexes, only '*'"),
    (MaskNode(ids={3: MaskNode(ids={-1: leaf()})}),
     "bad field mask data at $.leaves: list index -1 out of range"),
    (MaskNode(ids={5: MaskNode(ids={1: leaf()})}),
     "bad field mask data at $.by_name: integer keys on a map with string keys"),
    (MaskNode(ids={6: MaskNode(keys={"a": leaf()})}),
     "bad field mask data at $.by_num: string keys on a map with i32 keys"),
    (MaskNode(ids={6: MaskNode(ids={1 << 40: leaf()})}),
     "bad field mask data at $.by_num: key 1099511627776 out of range for i32"),
    (MaskNode(ids={12: MaskNode(ids={1: leaf()})}),
     "bad field mask data at $.weights: integer keys on a map with double keys"),
    (MaskNode(ids={3: MaskNode(rest=MaskNode(ids={9: leaf()}))}),
     "bad field mask data at $.leaves[*]: Leaf has no field with id 9"),
]


@pytest.mark.parametrize("root,message", BAD, ids=[b[1].split(": ", 1)[1] for b in BAD])
def test_bad_mask_data(m, root, message):
    with pytest.raises(FieldMaskError) as info:
        mask_from_bytes(m.Tree, data_bytes(root))
    assert str(info.value) == message


def test_bad_envelopes(m):
    with pytest.raises(FieldMaskError, match="unsupported version 2"):
        mask_from_bytes(m.Tree, data_bytes(leaf(), version=2))
    with pytest.raises(FieldMaskError, match="no root node"):
        mask_from_bytes(m.Tree, data_bytes(None))
    with pytest.raises(TypeError, match="must be bytes"):
        mask_from_bytes(m.Tree, "text")
    good = mask_to_bytes(FieldMask(m.Tree, "$.leaves[0].name", '$.by_name{"x"}'))
    for cut in range(len(good)):
        with pytest.raises(FieldMaskError, match="bad field mask data: truncated"):
            mask_from_bytes(m.Tree, good[:cut])
    with pytest.raises(FieldMaskError, match="trailing bytes"):
        mask_from_bytes(m.Tree, good + b"\x00")


def test_deep_and_huge(m):
    node = leaf()
    for _ in range(200):
        node = MaskNode(ids={3: MaskNode(rest=node)})
    with pytest.raises(FieldMaskError, match="depth"):
        mask_from_bytes(m.Tree, data_bytes(node))
    # version, root{ ids: map of 2**31-1 entries (i64 -> struct) } and nothing else
    huge = bytes([0x13, 0x01, 0x1C, 0x2B, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x6C, 0x00])
    with pytest.raises(FieldMaskError, match="truncated"):
        mask_from_bytes(m.Tree, huge)
    # a string key claiming 2 GB
    long_key = bytes([0x13, 0x01, 0x1C, 0x3B, 0x01, 0x8C, 0xFF, 0xFF, 0xFF, 0xFF, 0x07])
    with pytest.raises(FieldMaskError, match="truncated|exceeds"):
        mask_from_bytes(m.Tree, long_key)


@FAST
@given(data=st.binary(max_size=40))
def test_random_bytes_never_crash(m, data):
    try:
        mask = mask_from_bytes(m.Tree, data)
    except FieldMaskError:
        return
    assert mask.cls is m.Tree


def test_bad_json(m):
    for text, message in (
            ("{", "bad field mask JSON: Expecting property name"),
            ("[]", "expected an object with a 'root' member"),
            ('{"version": 3, "root": true}', "unsupported version 3"),
            ('{"root": 1}', "expected true, false or an object, got int"),
            ('{"root": {"x": true}}', "member name 'x' is not an integer"),
            ('{"root": {"99": true}}', "Tree has no field with id 99"),
            ('{"root": {"5": {"1": true}}}', "integer keys on a map with string keys"),
            ("[" * 100000 + "]" * 100000, "nested too deep"),
            ('{"root": ' + '{"3": {"*": ' * 2000 + "true" + "}}" * 2000 + "}",
             "nested too deep")):
        with pytest.raises(FieldMaskError, match=message.replace("(", r"\(")):
            mask_from_json(m.Tree, text)


# --------------------------------------------------------------------------- request helper


def test_apply_mask_helper(m):
    t = m.Tree(id=1, name="n", main=m.Leaf(name="x", code=2), must=m.Leaf(code=3))
    assert apply_mask(t, None) is t and apply_mask(t, b"") is t and apply_mask(None, b"x") is None
    data = mask_to_bytes(FieldMask(m.Tree, "$.main.name"))
    out = apply_mask(t, data)
    assert (out.id, out.name, out.main, out.must) == (1, None, m.Leaf(name="x", code=2), t.must)
    with pytest.raises(FieldMaskError):
        apply_mask(t, b"\x13\x01")


@pytest.mark.parametrize("protocol", ["binary", "compact"])
def test_client_asks_for_fields_over_rpc(gen, protocol):
    from thriftgen.runtime import rpc

    model = gen("fmd.fmt.model.ttypes")
    svc = gen("fmd.fmt.model.Svc")
    full = model.Tree(id=9, name="full", leaves=[model.Leaf(name=str(i), n=i, code=i)
                                                 for i in range(5)],
                      by_name={"a": model.Leaf(code=1)}, must=model.Leaf(name="m", code=7))
    seen = []

    class Handler:
        def get(self, req):
            seen.append(req.field_mask)
            return apply_mask(full, req.field_mask)

    wanted = model.Tree.field_mask("$.name", "$.leaves[1,3].name")
    with rpc.ThreadedServer(svc.Processor(Handler()), protocol=protocol) as server:
        channel = rpc.connect("127.0.0.1", server.port, protocol=protocol, timeout=5)
        try:
            client = svc.Client(channel)
            got = client.get(model.Req(q="x", field_mask=wanted.to_bytes()))
            everything = client.get(model.Req(q="x"))
        finally:
            channel.close()
    assert seen == [wanted.to_bytes(), None]
    assert everything == full
    assert got.name == "full" and got.by_name is None
    assert [(x.name, x.n, x.code) for x in got.leaves] == [("1", None, 1), ("3", None, 3)]
    assert (got.id, got.must) == (9, full.must)  # required fields travel anyway
