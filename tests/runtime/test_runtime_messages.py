"""Message envelopes and ApplicationError vs Apache's TApplicationException."""

import pickle

import pytest

import rt_models as M
import rt_peers as P
from thriftgen.runtime import (
    ApplicationError,
    Message,
    MessageType,
    ProtocolError,
    TApplicationException,
    ThriftgenError,
    decode_message,
    decode_message_header,
    deserialize,
    encode_message,
    serialize,
)

PROTOCOLS = ("binary", "compact")


@pytest.fixture(scope="module")
def apache():
    if P.apache() is None:
        pytest.skip("Apache thrift not available")
    return P.apache()


def apache_message(protocol, name, mtype, seqid, write_body, strict=True):
    from thrift.protocol import TBinaryProtocol
    from thrift.transport import TTransport

    trans = TTransport.TMemoryBuffer()
    if protocol == "binary" and not strict:
        prot = TBinaryProtocol.TBinaryProtocol(trans, strictWrite=False)
    else:
        prot = P._protocol_class(protocol, False)(trans)
    prot.writeMessageBegin(name, mtype, seqid)
    write_body(prot)
    prot.writeMessageEnd()
    return trans.getvalue()


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("seqid", [0, 1, -1, 2**31 - 1, -(2**31), 123456])
@pytest.mark.parametrize("mtype", [MessageType.CALL, MessageType.REPLY, MessageType.ONEWAY])
def test_messages_match_apache(apache, protocol, seqid, mtype):
    args = M.All(str="arg", li=[seqid & 0xFFFF])
    name = "méthod_name"
    ours = encode_message(name, mtype, seqid, args, protocol)
    theirs = apache_message(protocol, name, mtype, seqid, P.to_peer(args, apache).write)
    assert ours == theirs
    assert decode_message_header(ours, protocol) == (name, mtype, seqid, len(ours) - len(serialize(args, protocol)))
    msg = decode_message(theirs, M.All, protocol)
    assert isinstance(msg, Message)
    assert msg == (name, mtype, seqid, P.decoded_form(args))

    # Apache reads ours
    from thrift.transport import TTransport

    prot = P._protocol_class(protocol, False)(TTransport.TMemoryBuffer(ours))
    assert prot.readMessageBegin() == (name, mtype, seqid)


def test_old_unversioned_binary_header(apache):
    data = apache_message("binary", "ping", MessageType.CALL, 9, P.to_peer(M.Ping_args(x=3), P.spec_peer_class).write, strict=False)
    assert not data[0] & 0x80
    assert decode_message(data, M.Ping_args) == ("ping", MessageType.CALL, 9, M.Ping_args(x=3))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_application_error_matches_tapplicationexception(apache, protocol):
    from thrift.Thrift import TApplicationException as ATAE

    for code in range(11):
        for message in (None, "", "wrong method ✗"):
            ours = ApplicationError(code, message)
            data = serialize(ours, protocol)
            theirs = apache_message(protocol, "m", MessageType.EXCEPTION, 1, ATAE(code, message).write)
            assert theirs.endswith(data)
            assert encode_message("m", MessageType.EXCEPTION, 1, ours, protocol) == theirs
            msg = decode_message(theirs, M.Ping_result, protocol)
            assert msg.type == MessageType.EXCEPTION
            assert isinstance(msg.body, ApplicationError)
            assert (msg.body.type, msg.body.message) == (code, message)
            assert str(msg.body) == str(ATAE(code, message))


def test_application_error_api():
    from thrift.Thrift import TApplicationException as ATAE

    assert TApplicationException is ApplicationError
    assert issubclass(ApplicationError, ThriftgenError)
    for name in (
        "UNKNOWN UNKNOWN_METHOD INVALID_MESSAGE_TYPE WRONG_METHOD_NAME BAD_SEQUENCE_ID MISSING_RESULT "
        "INTERNAL_ERROR PROTOCOL_ERROR INVALID_TRANSFORM INVALID_PROTOCOL UNSUPPORTED_CLIENT_TYPE"
    ).split():
        assert getattr(ApplicationError, name) == getattr(ATAE, name)
    err = ApplicationError(ApplicationError.MISSING_RESULT)
    assert str(err) == "Missing result"
    assert ApplicationError().type == ApplicationError.UNKNOWN
    assert pickle.loads(pickle.dumps(err)) == err
    assert deserialize(ApplicationError, serialize(err)) == err
    with pytest.raises(ApplicationError):
        raise err


def test_encode_message_without_body_and_bad_type():
    data = encode_message("x", MessageType.ONEWAY, 0, None)
    assert decode_message(data, M.Ping_args) == ("x", MessageType.ONEWAY, 0, M.Ping_args())
    with pytest.raises(ProtocolError):
        encode_message("x", 9, 0, None, "compact")
    with pytest.raises(ProtocolError):
        encode_message("x", MessageType.CALL, 2**31, None)


def test_message_trailing_bytes_and_offsets():
    data = encode_message("a", MessageType.CALL, 1, M.Ping_args(x=1))
    with pytest.raises(ProtocolError) as info:
        decode_message(data + b"\x00", M.Ping_args)
    assert info.value.kind == "invalid_data"
    assert decode_message(data + b"\x00", M.Ping_args, allow_trailing=True).body == M.Ping_args(x=1)
    assert decode_message(b"xx" + data, M.Ping_args, offset=2).name == "a"
