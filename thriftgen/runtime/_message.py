"""RPC message envelope (header) encoding and decoding."""

from ._wire import S_I, S_UI, err_length, err_truncated, read_varint, rsize, wvar
from .errors import ProtocolError

_BINARY_VERSION_1 = 0x80010000
_VERSION_MASK = 0xFFFF0000
_COMPACT_PROTOCOL_ID = 0x82
_COMPACT_VERSION = 1


def _check_i32(value, what):
    if not -0x80000000 <= value <= 0x7FFFFFFF:
        raise ProtocolError("invalid_data", "%s %r is out of the i32 range" % (what, value))


def write_header(protocol, name, msg_type, seqid):
    """Return the encoded message header."""
    if isinstance(name, str):
        name_b = name.encode("utf-8")
    else:
        name_b = bytes(name)
    _check_i32(seqid, "seqid")
    if protocol == "binary":
        if not 0 <= msg_type <= 0xFF:
            raise ProtocolError("invalid_data", "message type %r out of range" % (msg_type,))
        return (
            S_UI.pack(_BINARY_VERSION_1 | msg_type)
            + S_I.pack(len(name_b))
            + name_b
            + S_I.pack(seqid)
        )
    if protocol == "compact":
        if not 0 <= msg_type <= 7:
            raise ProtocolError("invalid_data", "message type %r out of range" % (msg_type,))
        out = bytearray((_COMPACT_PROTOCOL_ID, _COMPACT_VERSION | (msg_type << 5)))
        wvar(out, seqid & 0xFFFFFFFF)
        wvar(out, len(name_b))
        out += name_b
        return bytes(out)
    raise ValueError("unknown protocol %r" % (protocol,))


def _decode_name(raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as ex:
        raise ProtocolError("invalid_data", "message name is not valid UTF-8: %s" % ex.reason)


def read_header(buf, pos, protocol):
    """Decode a message header at ``pos``: ``(name, type, seqid, end)``.

    The binary protocol accepts the strict versioned header and, like Apache's
    default ``TBinaryProtocol(strictRead=False)``, the old unversioned one.
    """
    n = len(buf)
    if protocol == "binary":
        if pos + 4 > n:
            err_truncated(4, n - pos, "message header")
        word = S_UI.unpack_from(buf, pos)[0]
        pos += 4
        if word & 0x80000000:
            if word & _VERSION_MASK != _BINARY_VERSION_1:
                raise ProtocolError(
                    "bad_version", "bad binary protocol version word 0x%08x" % word, offset=pos - 4
                )
            msg_type = word & 0xFF
            if pos + 4 > n:
                err_truncated(4, n - pos, "message name length")
            ln = S_I.unpack_from(buf, pos)[0]
            pos += 4
            end = pos + ln
            if ln < 0 or end > n:
                err_length(ln, n - pos)
            name = _decode_name(buf[pos:end])
            pos = end
            if pos + 4 > n:
                err_truncated(4, n - pos, "seqid")
            seqid = S_I.unpack_from(buf, pos)[0]
            return name, msg_type, seqid, pos + 4
        # old (unversioned) format: name length, name, type byte, seqid
        ln = word
        end = pos + ln
        if end > n:
            err_length(ln, n - pos)
        name = _decode_name(buf[pos:end])
        pos = end
        if pos + 5 > n:
            err_truncated(5, n - pos, "message type and seqid")
        msg_type = buf[pos]
        seqid = S_I.unpack_from(buf, pos + 1)[0]
        return name, msg_type, seqid, pos + 5
    if protocol == "compact":
        if pos + 2 > n:
            err_truncated(2, n - pos, "message header")
        if buf[pos] != _COMPACT_PROTOCOL_ID:
            raise ProtocolError(
                "bad_version", "bad compact protocol id 0x%02x" % buf[pos], offset=pos
            )
        vt = buf[pos + 1]
        if vt & 0x1F != _COMPACT_VERSION:
            raise ProtocolError(
                "bad_version", "bad compact protocol version %d" % (vt & 0x1F), offset=pos + 1
            )
        msg_type = (vt >> 5) & 0x07
        seqid, pos = read_varint(buf, pos + 2, 5, 1 << 32)
        if seqid > 0x7FFFFFFF:
            seqid -= 1 << 32
        if pos >= n:
            err_truncated(1, 0, "message name length")
        ln, pos = rsize(buf, pos)
        end = pos + ln
        if end > n:
            err_length(ln, n - pos)
        name = _decode_name(buf[pos:end])
        return name, msg_type, seqid, end
    raise ValueError("unknown protocol %r" % (protocol,))
