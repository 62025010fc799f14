"""SkipDecode: skip() and message_end()."""

import random
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rt_fuzz
import rt_models as M
import rt_peers as P
from rt_strategies import struct_strategy, value_strategy
from thriftgen.runtime import (
    ApplicationError,
    MessageType,
    ProtocolError,
    TType,
    decode_message,
    encode_message,
    message_end,
    serialize,
    skip,
)

PROTOCOLS = ("binary", "compact")
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CLASSES = [M.All, M.Medium, M.Node, M.Tree, M.U, M.WithUuid, M.Negative, M.Oops]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_skip_struct_ends_at_encoding_length(cls, protocol):
    @SETTINGS
    @given(obj=struct_strategy(cls, depth=3), prefix=st.binary(max_size=5), suffix=st.binary(max_size=5))
    def run(obj, prefix, suffix):
        data = serialize(obj, protocol)
        assert skip(data, 0, TType.STRUCT, protocol) == len(data)
        framed = prefix + data + suffix
        assert skip(framed, len(prefix), TType.STRUCT, protocol) == len(prefix) + len(data)

    run()


def _field_value_span(cls, attr, obj, protocol):
    """(encoding, start, end) of the value of field ``attr`` in a one-field struct."""
    data = serialize(obj, protocol)
    fid = next(e[0] for e in cls.thrift_spec if e is not None and e[2] == attr)
    if protocol == "binary":
        start = 3
    else:
        start = 1 if 0 < fid <= 15 else 2
    return data, start, len(data) - 1  # last byte is the STOP


ALL_FIELDS = [e for e in M.All.thrift_spec if e is not None and e[1] != TType.BOOL]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("entry", ALL_FIELDS, ids=lambda e: e[2])
def test_skip_each_value_type(entry, protocol):
    fid, ttype, attr, targs, _ = entry

    @SETTINGS
    @given(value=value_strategy(ttype, targs, depth=2, max_size=20))
    def run(value):
        obj = M.All(opt=None)
        setattr(obj, attr, value)
        data, start, end = _field_value_span(M.All, attr, obj, protocol)
        assert skip(data, start, ttype, protocol) == end

    run()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_skip_uuid_and_bool_values(protocol):
    import uuid

    data, start, end = _field_value_span(M.WithUuid, "ids", M.WithUuid(ids=[uuid.uuid4()] * 3), protocol)
    assert skip(data, start, TType.LIST, protocol) == end
    assert skip(b"\x01", 0, TType.BOOL, protocol) == 1
    assert skip(b"\x00" * 16, 0, TType.UUID, protocol) == 16


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_skip_large_fixed_width_lists_is_arithmetic(protocol):
    obj = M.All(sl=set(range(200000)), ds=[0.5] * 200000, bools=[True] * 200000, opt=None)
    data = serialize(obj, protocol)
    t0 = time.perf_counter()
    for _ in range(10):
        assert skip(data, 0, TType.STRUCT, protocol) == len(data)
    elapsed = (time.perf_counter() - t0) / 10
    # the i64 set is varint-encoded in compact (counted in bulk), fixed in binary
    assert elapsed < (0.005 if protocol == "binary" else 0.05), elapsed


def test_skip_compact_multibyte_varints():
    rng = random.Random(1)
    values = [rng.choice([0, -1, 2**63 - 1, -(2**63), rng.randint(-(2**40), 2**40)]) for _ in range(3000)]
    data, start, end = _field_value_span(M.All, "sl", M.All(sl=set(values), opt=None), "compact")
    assert skip(data, start, TType.SET, "compact") == end
    data = serialize(M.All(m={"k%d" % i: v for i, v in enumerate(values)}, opt=None), "compact")
    assert skip(data, 0, TType.STRUCT, "compact") == len(data)
    for cut in (len(data) - 1, len(data) - 2, len(data) // 2):
        with pytest.raises(ProtocolError) as info:
            skip(data[:cut], 0, TType.STRUCT, "compact")
        assert info.value.kind == "truncated"


def test_skip_argument_errors():
    with pytest.raises(ValueError):
        skip(b"\x00", 0, TType.STRUCT, "json")
    with pytest.raises(ProtocolError) as info:
        skip(b"", 0, TType.I32)
    assert info.value.kind == "truncated"


# ---------------------------------------------------------------------------
# message_end


def _messages(protocol, rng):
    out = []
    for seqid in (0, 1, -1, 2**31 - 1, -(2**31), 77):
        kind = rng.choice(["call", "reply", "exception", "oneway"])
        if kind == "call":
            out.append(encode_message("ping", MessageType.CALL, seqid, M.Ping_args(x=rng.randint(-9, 9)), protocol))
        elif kind == "reply":
            out.append(encode_message("ping", MessageType.REPLY, seqid, M.Ping_result(success=seqid), protocol))
        elif kind == "exception":
            err = ApplicationError(ApplicationError.UNKNOWN_METHOD, "no such method: pïng")
            out.append(encode_message("pïng", MessageType.EXCEPTION, seqid, err, protocol))
        else:
            big = rt_fuzz.random_struct(rng, M.All, depth=3)
            out.append(encode_message("bulk_" * 3, MessageType.ONEWAY, seqid, big, protocol))
    return out


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_message_end_splits_a_stream(protocol):
    rng = random.Random(7)
    msgs = _messages(protocol, rng)
    stream = b"".join(msgs)
    pos = 0
    pieces = []
    while pos < len(stream):
        end = message_end(stream, pos, protocol)
        pieces.append(stream[pos:end])
        pos = end
    assert pieces == msgs
    # a buffered reader: every proper prefix of the last message is incomplete
    last_start = len(stream) - len(msgs[-1])
    for cut in range(last_start, len(stream)):
        with pytest.raises(ProtocolError) as info:
            message_end(stream[:cut], last_start, protocol)
        assert info.value.kind == "truncated"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_message_end_on_apache_messages(protocol):
    if P.apache() is None:
        pytest.skip("Apache thrift not available")
    from thrift.Thrift import TApplicationException, TMessageType
    from thrift.transport import TTransport

    trans = TTransport.TMemoryBuffer()
    prot = P._protocol_class(protocol, False)(trans)
    prot.writeMessageBegin("ping", TMessageType.CALL, 5)
    P.to_peer(M.All(str="x", li=[1, 2]), P.apache()).write(prot)
    prot.writeMessageEnd()
    first = trans.getvalue()
    prot.writeMessageBegin("ping", TMessageType.EXCEPTION, 6)
    TApplicationException(TApplicationException.INTERNAL_ERROR, "boom").write(prot)
    prot.writeMessageEnd()
    stream = trans.getvalue()
    assert message_end(stream, 0, protocol) == len(first)
    assert message_end(stream, len(first), protocol) == len(stream)
    msg = decode_message(stream[len(first):], M.Ping_args, protocol)
    assert msg.type == MessageType.EXCEPTION and msg.seqid == 6
    assert msg.body == ApplicationError(ApplicationError.INTERNAL_ERROR, "boom")
