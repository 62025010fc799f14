"""Header transports' frames: Apache's THeader and Kitex's TTHeader (the codec only).

Both frames share the layout Apache's THeader defined (and Kitex's TTHeader
reference, https://www.cloudwego.io/docs/kitex/reference/transport_protocol_ttheader/,
follows), all big-endian::

    offset  size
    0       4   LENGTH: bytes after this field
    4       2   magic: 0x0FFF THeader, 0x1000 TTHeader
    6       2   FLAGS
    8       4   SEQUENCE NUMBER
    12      2   HEADER SIZE: bytes of the header / 4
    14      ..  header: PROTOCOL ID, NUM TRANSFORMS, TRANSFORM IDs, info blocks,
                zero padding to a multiple of 4
    ..      ..  PAYLOAD: one Thrift message, after the transforms

They differ inside the header. THeader (Apache's ``THeaderTransport``) writes
every number there as a varint and has one info block, ``0x01`` string
key/values (varint count, then varint-length keys and values). TTHeader (Kitex's
``header_codec.go``) writes the protocol id, the transform count and ids and
each info id as one byte, and has three info blocks: ``0x01`` string
key/values and ``0x10`` integer-key values (u16 count; u16-length strings, u16
keys) and ``0x11`` an ACL token (a u16-length string); a ``0x00`` byte is
padding. Payload protocol ids: 0 binary, 2 compact. The one transform either
side uses is zlib (id 1); any other is refused with a clear error.

:func:`encode_frame` / :func:`decode_frame` convert between bytes and a
:class:`HeaderFrame`. Decoding is bounded: a header larger than the frame or
than 64 KiB, an unknown info block (TTHeader), an overlong varint, or a payload
that inflates past ``max_size`` are :class:`~thriftgen.runtime.errors.ProtocolError`;
an incomplete frame is ``truncated`` with ``missing`` bytes, so a stream reader
knows how long to wait.
"""

import struct
import zlib

from ..errors import ProtocolError

__all__ = ["HeaderFrame", "encode_frame", "decode_frame", "decode_frame_body", "reply_frame",
           "frame_kind", "THEADER", "TTHEADER",
           "ZLIB", "MAX_HEADER_SIZE"]

THEADER = "header"
TTHEADER = "ttheader"
_MAGIC = {THEADER: 0x0FFF, TTHEADER: 0x1000}
_KIND = {v: k for k, v in _MAGIC.items()}
_PROTOCOL_IDS = {"binary": 0, "compact": 2}
_PROTOCOLS = {v: k for k, v in _PROTOCOL_IDS.items()}
ZLIB = 1
#: Largest header accepted (Kitex's limit; the field itself allows 4 * 65535).
MAX_HEADER_SIZE = 65536
_INFO_KEY_VALUE = 0x01
_INFO_INT_KEY_VALUE = 0x10
_INFO_ACL_TOKEN = 0x11
_META = struct.Struct("!IHHiH")  # LENGTH, magic, FLAGS, SEQUENCE NUMBER, HEADER SIZE
_LENGTH = struct.Struct("!I")
_BODY_META = struct.Struct("!HHiH")  # the same after LENGTH
_U16 = struct.Struct("!H")


class HeaderFrame:
    """One frame, as plain data. ``headers``: string key/values; ``int_headers`` and
    ``acl_token``: TTHeader only; ``transforms``: ids applied to the payload, in order."""

    __slots__ = ("kind", "seqid", "flags", "protocol", "transforms", "headers", "int_headers",
                 "acl_token", "payload")

    def __init__(self, payload, *, kind=THEADER, seqid=0, flags=0, protocol="binary",
                 transforms=(), headers=None, int_headers=None, acl_token=None):
        self.kind = kind
        self.seqid = seqid
        self.flags = flags
        self.protocol = protocol
        self.transforms = tuple(transforms)
        self.headers = dict(headers or {})
        self.int_headers = dict(int_headers or {})
        self.acl_token = acl_token
        self.payload = payload

    def __eq__(self, other):
        if not isinstance(other, HeaderFrame):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __repr__(self):
        return "HeaderFrame(%s)" % ", ".join("%s=%r" % (n, getattr(self, n)) for n in self.__slots__)


def frame_kind(buf, pos=0):
    """``"header"``, ``"ttheader"`` or None: what the frame at ``pos`` is, from its
    first 6 bytes (None also when fewer are there)."""
    if len(buf) - pos < 6:
        return None
    return _KIND.get(_U16.unpack_from(buf, pos + 4)[0])


# --------------------------------------------------------------------------- writing


def _varint(n, out):
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return


def _text(value):
    return value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)


def encode_frame(frame, max_size=None):
    """The bytes of ``frame`` (LENGTH included)."""
    kind = frame.kind
    if kind not in _MAGIC:
        raise ValueError("frame kind must be 'header' or 'ttheader', not %r" % (kind,))
    protocol_id = _PROTOCOL_IDS.get(frame.protocol)
    if protocol_id is None:
        raise ValueError("payload protocol must be 'binary' or 'compact', not %r"
                         % (frame.protocol,))
    payload = frame.payload
    for tid in frame.transforms:
        if tid != ZLIB:
            raise ValueError("unknown header transform %r (only zlib, id 1, exists)" % (tid,))
        payload = zlib.compress(payload)
    header = bytearray()
    if kind == THEADER:
        if frame.int_headers or frame.acl_token is not None:
            raise ValueError("integer-key headers and ACL tokens are TTHeader's, not THeader's")
        _varint(protocol_id, header)
        _varint(len(frame.transforms), header)
        for tid in frame.transforms:
            _varint(tid, header)
        if frame.headers:
            _varint(_INFO_KEY_VALUE, header)
            _varint(len(frame.headers), header)
            for key, value in frame.headers.items():
                for part in (_text(key), _text(value)):
                    _varint(len(part), header)
                    header += part
    else:
        header.append(protocol_id)
        header.append(len(frame.transforms))
        header.extend(frame.transforms)
        if frame.headers:
            header.append(_INFO_KEY_VALUE)
            header += _U16.pack(_count(len(frame.headers)))
            for key, value in frame.headers.items():
                for part in (_text(key), _text(value)):
                    header += _U16.pack(_count(len(part))) + part
        if frame.int_headers:
            header.append(_INFO_INT_KEY_VALUE)
            header += _U16.pack(_count(len(frame.int_headers)))
            for key, value in frame.int_headers.items():
                part = _text(value)
                header += _U16.pack(key) + _U16.pack(_count(len(part))) + part
        if frame.acl_token is not None:
            token = _text(frame.acl_token)
            header.append(_INFO_ACL_TOKEN)
            header += _U16.pack(_count(len(token))) + token
    header += b"\x00" * (-len(header) % 4)
    if len(header) > MAX_HEADER_SIZE:
        raise ValueError("header of %d bytes is over the %d-byte limit"
                         % (len(header), MAX_HEADER_SIZE))
    length = 10 + len(header) + len(payload)
    if max_size is not None and length > max_size:
        raise ValueError("frame of %d bytes is over max_message_size %d" % (length, max_size))
    return (_META.pack(length, _MAGIC[kind], frame.flags, frame.seqid, len(header) // 4)
            + bytes(header) + payload)


def _count(n):
    if n > 0xFFFF:
        raise ValueError("%d is too large for a TTHeader u16 count or length" % n)
    return n


# --------------------------------------------------------------------------- reading


class _Reader:
    __slots__ = ("buf", "pos", "end")

    def __init__(self, buf, pos, end):
        self.buf, self.pos, self.end = buf, pos, end

    def _need(self, n, what):
        if self.pos + n > self.end:
            raise ProtocolError("invalid_data", "header ends inside %s" % what, offset=self.pos)

    def u8(self, what):
        self._need(1, what)
        self.pos += 1
        return self.buf[self.pos - 1]

    def u16(self, what):
        self._need(2, what)
        self.pos += 2
        return _U16.unpack_from(self.buf, self.pos - 2)[0]

    def varint(self, what):
        n = shift = 0
        for _ in range(5):  # every THeader number fits in 32 bits
            byte = self.u8(what)
            n |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return n
            shift += 7
        raise ProtocolError("invalid_data", "overlong varint in %s" % what, offset=self.pos)

    def take(self, n, what):
        self._need(n, what)
        self.pos += n
        return bytes(self.buf[self.pos - n:self.pos])


def _text_of(raw):
    return raw.decode("utf-8", "surrogateescape")


def decode_frame(buf, pos=0, max_size=16 * 1024 * 1024):
    """``(HeaderFrame, end)`` for the frame at ``pos``. ``max_size`` bounds the frame
    and the payload after its transforms (a zlib bomb is refused, not inflated)."""
    available = len(buf) - pos
    if available < 14:
        raise ProtocolError("truncated", "header frame needs 14 bytes at least",
                            missing=14 - available)
    length = _LENGTH.unpack_from(buf, pos)[0]
    meta = _check_meta(buf, pos + 4, length, max_size)
    end = pos + 4 + length
    if len(buf) < end:
        raise ProtocolError("truncated", "header frame needs more data", missing=end - len(buf))
    return _decode(buf, pos + 4, end, meta, max_size), end


def decode_frame_body(body, max_size=16 * 1024 * 1024):
    """The :class:`HeaderFrame` of a frame whose LENGTH a framed cutter has already
    taken off (``body`` is the rest of it, whole)."""
    if len(body) < 10:
        raise ProtocolError("invalid_data", "a header frame of %d bytes is shorter than its "
                            "header" % len(body))
    meta = _check_meta(body, 0, len(body), max_size)
    return _decode(body, 0, len(body), meta, max_size)


def _check_meta(buf, start, length, max_size):
    """``(kind, flags, seqid, header size)`` of the frame whose magic is at ``start``
    and which is ``length`` bytes long from there (its 10 fixed bytes are at hand)."""
    magic, flags, seqid, words = _BODY_META.unpack_from(buf, start)
    kind = _KIND.get(magic)
    if kind is None:
        raise ProtocolError("bad_version", "not a THeader or TTHeader frame (magic 0x%04x)"
                            % magic, offset=start)
    if length > max_size:
        raise ProtocolError("size_limit", "frame of %d bytes is over max_message_size %d"
                            % (length, max_size), offset=start - 4)
    header_size = words * 4
    if 10 + header_size > length:
        raise ProtocolError("invalid_data", "header size %d is past the frame's end (%d bytes)"
                            % (header_size, length), offset=start + 8)
    if header_size > MAX_HEADER_SIZE:
        raise ProtocolError("size_limit", "header of %d bytes is over the %d-byte limit"
                            % (header_size, MAX_HEADER_SIZE), offset=start + 8)
    return kind, flags, seqid, header_size


def _decode(buf, start, end, meta, max_size):
    """The frame from its magic at ``start`` to ``end`` (checked by :func:`_check_meta`)."""
    kind, flags, seqid, header_size = meta
    header, payload_at = start + 10, start + 10 + header_size
    frame = HeaderFrame(b"", kind=kind, seqid=seqid, flags=flags)
    if (kind == THEADER and buf.__class__ is bytes
            and _theader_fast(buf, header, payload_at, frame)):
        frame.payload = bytes(buf[payload_at:end])
        return frame
    r = _Reader(buf, header, payload_at)
    if kind == THEADER:
        protocol_id = r.varint("the protocol id")
        transforms = [r.varint("a transform id") for _ in range(r.varint("the transform count"))]
    else:
        protocol_id = r.u8("the protocol id")
        transforms = [r.u8("a transform id") for _ in range(r.u8("the transform count"))]
    frame.protocol = _PROTOCOLS.get(protocol_id)
    if frame.protocol is None:
        raise ProtocolError("invalid_data", "unsupported payload protocol id %d" % protocol_id,
                            offset=header)
    for tid in transforms:
        if tid != ZLIB:
            raise ProtocolError("invalid_data", "unknown header transform %d" % tid,
                                offset=header)
    frame.transforms = tuple(transforms)
    if kind == THEADER:
        _read_theader_infos(r, frame)
    else:
        _read_ttheader_infos(r, frame)
    payload = bytes(buf[payload_at:end])
    for _ in reversed(transforms):
        payload = _inflate(payload, max_size)
    frame.payload = payload
    return frame


def reply_frame(request, reply, headers):
    """``reply`` (a message) in a frame like ``request``'s: the same kind, sequence
    number, payload protocol and transforms; ``headers``: the response headers."""
    return encode_frame(HeaderFrame(reply, kind=request.kind, seqid=request.seqid,
                                    protocol=request.protocol, transforms=request.transforms,
                                    headers=headers))


def _theader_fast(buf, p, end, frame):
    """The common THeader header (binary or compact, no transform, string headers whose
    counts and lengths are single-byte varints) parsed inline; False: not that common
    shape, so the general reader decides (and reports what is wrong)."""
    if end - p < 2 or buf[p + 1] != 0:
        return False
    protocol = _PROTOCOLS.get(buf[p])
    if protocol is None:
        return False
    p += 2
    headers = frame.headers
    while p < end:
        info = buf[p]
        if info != _INFO_KEY_VALUE:
            break  # padding (or a block Apache skips too)
        if p + 1 >= end or buf[p + 1] & 0x80:
            return False
        count = buf[p + 1]
        p += 2
        for _ in range(count):
            if p >= end or buf[p] & 0x80:
                return False
            n = buf[p]
            key_end = p + 1 + n
            if key_end >= end or buf[key_end] & 0x80:
                return False
            m = buf[key_end]
            value_end = key_end + 1 + m
            if value_end > end:
                return False
            headers[buf[p + 1:key_end].decode("utf-8", "surrogateescape")] = \
                buf[key_end + 1:value_end].decode("utf-8", "surrogateescape")
            p = value_end
    frame.protocol = protocol
    return True


def _read_theader_infos(r, frame):
    while r.pos < r.end:
        info = r.varint("an info id")
        if info != _INFO_KEY_VALUE:
            return  # padding, or a block Apache's readers skip too
        for _ in range(r.varint("the header count")):
            key = r.take(r.varint("a key length"), "a key")
            value = r.take(r.varint("a value length"), "a value")
            frame.headers[_text_of(key)] = _text_of(value)


def _read_ttheader_infos(r, frame):
    while r.pos < r.end:
        info = r.u8("an info id")
        if info == 0:
            continue  # padding
        if info == _INFO_KEY_VALUE:
            for _ in range(r.u16("the header count")):
                key = r.take(r.u16("a key length"), "a key")
                value = r.take(r.u16("a value length"), "a value")
                frame.headers[_text_of(key)] = _text_of(value)
        elif info == _INFO_INT_KEY_VALUE:
            for _ in range(r.u16("the header count")):
                key = r.u16("an integer key")
                frame.int_headers[key] = _text_of(r.take(r.u16("a value length"), "a value"))
        elif info == _INFO_ACL_TOKEN:
            frame.acl_token = _text_of(r.take(r.u16("the ACL token length"), "the ACL token"))
        else:
            raise ProtocolError("invalid_data", "unknown TTHeader info id 0x%02x" % info,
                                offset=r.pos - 1)


def _inflate(data, limit):
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as ex:
        raise ProtocolError("invalid_data", "bad zlib payload: %s" % ex) from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise ProtocolError("size_limit", "zlib payload inflates past max_message_size %d"
                            % limit)
    if not inflater.eof:
        raise ProtocolError("invalid_data", "zlib payload ends early")
    return out
