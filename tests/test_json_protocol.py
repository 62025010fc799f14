"""The runtime's TJSONProtocol (``protocol="json"``): what the byte-for-byte tests
against Apache (tests/test_wire_apache.py, tests/test_rpc_apache.py) do not reach:
non-finite doubles, map keys, unknown and mistyped fields, hostile input,
message boundaries in a stream."""

from __future__ import annotations

import math

import pytest

from thriftgen.call.dynamic import DynamicTypes
from thriftgen.diagnostics import DiagnosticSink
from thriftgen.idl.loader import Program
from thriftgen.runtime import (ProtocolError, decode_message, decode_message_header, deserialize,
                               encode_message, message_end, serialize)

IDL = """
enum Color { RED = 1, BLUE = 2 }
struct Inner { 1: i32 x }
struct All {
  1: bool flag
  2: byte b
  3: i16 small
  4: i32 n
  5: i64 big
  6: double d
  7: string s
  8: binary raw
  9: Color color
  10: list<Inner> items
  11: set<string> tags
  12: map<i32, string> by_id
  13: map<bool, double> flags
  14: map<double, i64> by_double
  15: map<binary, Color> by_bytes
  16: uuid id
  17: list<list<i32>> nested
}
struct Keyed { 1: map<Inner, i32> weird }
struct Tree { 1: list<Tree> kids }
"""


@pytest.fixture(scope="module")
def types(tmp_path_factory):
    from thriftgen.idl.frontend import load_checked_program

    path = tmp_path_factory.mktemp("json") / "all.thrift"
    path.write_text(IDL)
    program: Program = load_checked_program([str(path)], sink=DiagnosticSink())
    t = DynamicTypes(program)
    root = program.roots[0]
    return {name: t.struct_class(root, name) for name in ("All", "Inner", "Keyed", "Tree")}


def apache_write(obj):
    tj = pytest.importorskip("thrift.protocol.TJSONProtocol")
    from thrift.transport.TTransport import TMemoryBuffer

    buf = TMemoryBuffer()
    obj.write(tj.TJSONProtocol(buf))  # our class, Apache's protocol object
    return buf.getvalue()


def apache_read(cls, data):
    tj = pytest.importorskip("thrift.protocol.TJSONProtocol")
    from thrift.transport.TTransport import TMemoryBuffer

    obj = cls()
    obj.read(tj.TJSONProtocol(TMemoryBuffer(data)))
    return obj


def test_every_type_matches_apache_both_ways(types):
    import uuid

    All, Inner = types["All"], types["Inner"]
    obj = All(flag=True, b=-128, small=32767, n=-1, big=-(2 ** 63), d=0.1, s='q"\\\n\t\x01é',
              raw=b"\x00\xff", color=2, items=[Inner(x=1)], tags={"only"},
              by_id={7: "seven"}, flags={True: 1.5}, by_double={2.5: 3}, by_bytes={b"k": 1},
              id=uuid.UUID(int=5), nested=[[1, 2], []])
    data = serialize(obj, "json")
    assert data == apache_write(obj)
    assert deserialize(All, data, "json") == apache_read(All, data) == obj
    assert b'"12":{"map":["i32","str",1,{"7":"seven"}]}' in data  # numeric keys quoted
    assert b'"13":{"map":["tf","dbl",1,{"1":1.5}]}' in data


def test_non_finite_doubles_are_written_as_apache_readers_read_them(types):
    All = types["All"]
    for value, text in ((math.inf, b'"Infinity"'), (-math.inf, b'"-Infinity"'),
                        (math.nan, b'"NaN"')):
        data = serialize(All(d=value), "json")
        assert data == b'{"6":{"dbl":' + text + b"}}"
        for back in (deserialize(All, data, "json").d, apache_read(All, data).d):
            assert (math.isnan(back) and math.isnan(value)) or back == value
    # Apache's Python writer emits bare inf, which no JSON reader (its own included) reads.
    assert apache_write(All(d=math.inf)) == b'{"6":{"dbl":inf}}'


def test_unknown_and_mistyped_fields_are_skipped(types):
    Inner = types["Inner"]
    data = b'{"9":{"str":"new field"},"1":{"i64":5},"2":{"lst":["i32",1,1]}}'
    assert deserialize(Inner, data, "json") == Inner()
    assert deserialize(Inner, b'{"1":{"i32":5},"3":{"rec":{"1":{"i32":2}}}}', "json") == \
        Inner(x=5)


@pytest.mark.parametrize("data,kind,where", [
    (b'{"1":{"i32":5}', "truncated", "Inner"),
    (b'{"1":{"i32":"5"}}', "invalid_data", "Inner.x"),
    (b'{"1":{"i32":2147483648}}', "invalid_data", "Inner.x"),
    (b'{"1":{"zz":1}}', "invalid_data", "Inner"),
    (b'{"x":{"i32":1}}', "invalid_data", "Inner"),
    (b'{"1":{"i32":1,"i64":2}}', "invalid_data", "Inner"),
    (b"[]", "invalid_data", "Inner"),
    (b'\xff{}', "invalid_data", "Inner"),
])
def test_bad_input_is_a_located_protocol_error(types, data, kind, where):
    with pytest.raises(ProtocolError) as info:
        deserialize(types["Inner"], data, "json")
    assert info.value.kind == kind and info.value.path == where


def test_declared_sizes_must_match(types):
    All = types["All"]
    with pytest.raises(ProtocolError, match="declared size 3, 1 elements"):
        deserialize(All, b'{"10":{"lst":["rec",3,{}]}}', "json")
    with pytest.raises(ProtocolError, match="declared size 2, 1 entries"):
        deserialize(All, b'{"12":{"map":["i32","str",2,{"1":"a"}]}}', "json")
    with pytest.raises(ProtocolError, match=r'expected \["rec", size'):
        deserialize(All, b'{"10":{"lst":["i32",0]}}', "json")


def test_depth_is_bounded(types):
    Tree = types["Tree"]
    deep = b'{"1":{"lst":["rec",1,' * 70 + b"{}" + b"]}}" * 70
    with pytest.raises(ProtocolError) as info:
        deserialize(Tree, deep, "json")
    assert info.value.kind == "depth_limit"
    shallow = b'{"1":{"lst":["rec",1,' * 10 + b"{}" + b"]}}" * 10
    assert deserialize(Tree, shallow, "json") is not None
    hostile = b"[" * 100000  # the JSON parser's own recursion: still a ProtocolError
    with pytest.raises(ProtocolError):
        deserialize(Tree, hostile, "json")


def test_struct_map_keys_cannot_be_written(types):
    Keyed = types["Keyed"]
    with pytest.raises(ProtocolError, match="cannot write a struct as a map key"):
        serialize(Keyed(weird={_Key(): 1}), "json")


class _Key:
    """Stands for a hashable struct (generated structs are not hashable yet)."""


def test_messages_and_their_end_in_a_stream(types):
    Inner = types["Inner"]
    msg = encode_message('na"me', 1, 9, Inner(x=3), "json")
    assert msg == b'[1,"na\\"me",1,9,{"1":{"i32":3}}]'
    assert decode_message_header(msg, "json") == ('na"me', 1, 9, msg.index(b"{"))
    assert decode_message(msg, Inner, "json").body == Inner(x=3)
    stream = msg + b'[1,"x",1,1,{"1":{"i32":"}]"}}]'
    assert message_end(stream, 0, "json") == len(msg)  # a ']' inside a string is not the end
    for cut in (1, 5, len(msg) - 1):
        with pytest.raises(ProtocolError) as info:
            message_end(msg[:cut], 0, "json")
        assert info.value.kind == "truncated"
    with pytest.raises(ProtocolError) as info:
        message_end(b"GET / HTTP/1.1\r\n", 0, "json")
    assert info.value.kind == "bad_version"


def test_strict_utf8_off_round_trips_invalid_strings(types):
    Inner = types["All"]
    obj = Inner(s="a\udcff")
    with pytest.raises(ProtocolError):
        serialize(obj, "json")
    data = serialize(obj, "json", strict_utf8=False)
    assert deserialize(Inner, data, "json", strict_utf8=False) == obj


def test_masks_are_refused(types):
    from thriftgen.runtime.fieldmask import FieldMask

    mask = FieldMask(types["All"], "$.flag")
    with pytest.raises(ValueError, match="not json"):
        serialize(types["All"](n=1), "json", mask=mask)


def test_simple_json_is_apache_tsimplejsonprotocol(types):
    import uuid

    tj = pytest.importorskip("thrift.protocol.TJSONProtocol")
    from thrift.transport.TTransport import TMemoryBuffer

    All, Inner = types["All"], types["Inner"]
    obj = All(flag=False, b=3, n=-1, big=2 ** 62, d=0.1, s='q"\n', raw=b"\x01", color=1,
              items=[Inner(x=2)], tags={"t"}, by_id={1: "a"}, flags={False: 2.0},
              id=uuid.UUID(int=1), nested=[[1], []])
    buf = TMemoryBuffer()
    obj.write(tj.TSimpleJSONProtocol(buf))
    assert serialize(obj, "simplejson") == buf.getvalue()
    import json

    assert json.loads(serialize(obj, "simplejson"))["items"] == [{"x": 2}]
    assert serialize(All(d=math.nan), "simplejson") == b'{"d":"NaN"}'
    with pytest.raises(ValueError):
        deserialize(All, b"{}", "simplejson")
