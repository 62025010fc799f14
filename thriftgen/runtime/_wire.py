"""Low-level wire helpers shared by the compiled codecs, skip and messages.

Everything here is plain functions and precompiled ``struct.Struct`` objects;
importing the module does no other work.
"""

import struct

from .errors import ProtocolError

# ---------------------------------------------------------------------------
# struct packers / unpackers (big-endian for binary, little-endian double for
# compact)

S_B = struct.Struct(">b")
S_H = struct.Struct(">h")
S_I = struct.Struct(">i")
S_Q = struct.Struct(">q")
S_D = struct.Struct(">d")
S_DLE = struct.Struct("<d")
S_UI = struct.Struct(">I")

S_BH = struct.Struct(">bh")  # field header
S_BHB = struct.Struct(">bhb")  # field header + i8
S_BHH = struct.Struct(">bhh")  # field header + i16
S_BHI = struct.Struct(">bhi")  # field header + i32 (or string length)
S_BHQ = struct.Struct(">bhq")  # field header + i64
S_BHD = struct.Struct(">bhd")  # field header + double
S_BHBI = struct.Struct(">bhbi")  # field header + list/set header
S_BHBBI = struct.Struct(">bhbbi")  # field header + map header
S_BI = struct.Struct(">bi")  # list/set header
S_BBI = struct.Struct(">bbi")  # map header

pack = struct.pack
unpack_from = struct.unpack_from

#: signed value of an unsigned byte
I8 = tuple(range(128)) + tuple(range(-128, 0))
#: zigzag-decoded value of a one byte varint
ZZ1 = tuple((x >> 1) ^ -(x & 1) for x in range(128))

#: bytes >= 0x80 (continuation bytes of a varint), for bytes.translate
HIGH_BYTES = bytes(range(128, 256))

#: fixed encoded width per TType, binary protocol (None: variable)
BIN_WIDTH = {2: 1, 3: 1, 4: 8, 6: 2, 8: 4, 10: 8, 16: 16}
#: minimum encoded width per TType, binary protocol
BIN_MIN_WIDTH = {2: 1, 3: 1, 4: 8, 6: 2, 8: 4, 10: 8, 11: 4, 12: 1, 13: 6, 14: 5, 15: 5, 16: 16}
#: minimum encoded width per TType of a container element, compact protocol
CMP_MIN_WIDTH = {2: 1, 3: 1, 4: 8, 6: 1, 8: 1, 10: 1, 11: 1, 12: 1, 13: 1, 14: 1, 15: 1, 16: 16}

#: TType -> compact type id (bool elements are written as TRUE/FALSE bytes)
TTYPE_TO_CT = {2: 1, 3: 3, 4: 7, 6: 4, 8: 5, 10: 6, 11: 8, 12: 12, 13: 11, 14: 10, 15: 9, 16: 13}
#: compact type id -> TType (index by ct; None = invalid)
CT_TO_TTYPE = (None, 2, 2, 3, 6, 8, 10, 4, 11, 15, 14, 13, 12, 16, None, None)

MAX_I32 = 0x7FFFFFFF


# ---------------------------------------------------------------------------
# error helpers (called from generated code; they always raise)


def err_truncated(need, have, what="value"):
    have = max(have, 0)
    raise ProtocolError(
        "truncated", "%s needs %d more bytes, only %d left" % (what, need, have),
        missing=max(need - have, 1),
    )


def err_length(length, have):
    if length > MAX_I32:  # read unsigned (one comparison less on the fast path)
        length -= 1 << 32
    if length < 0:
        raise ProtocolError("negative_size", "negative length %d" % length)
    have = max(have, 0)
    raise ProtocolError(
        "truncated", "length %d exceeds the %d bytes left" % (length, have),
        missing=max(length - have, 1),
    )


def err_count(count, min_width, have):
    if count < 0:
        raise ProtocolError("negative_size", "negative container size %d" % count)
    have = max(have, 0)
    raise ProtocolError(
        "truncated",
        "container of %d elements needs at least %d bytes, only %d left"
        % (count, count * min_width, have),
        missing=max(count * min_width - have, 1),
    )


def err_elem_type(got, want):
    raise ProtocolError(
        "bad_type", "container element type %d on the wire, expected %d" % (got, want)
    )


def err_map_types(kgot, vgot, kwant, vwant):
    raise ProtocolError(
        "bad_type",
        "map types (%d, %d) on the wire, expected (%d, %d)" % (kgot, vgot, kwant, vwant),
    )


def err_depth():
    raise ProtocolError("depth_limit", "maximum nesting depth exceeded")


def err_union(cls_name):
    raise ProtocolError("invalid_data", "more than one field of union %s is set" % cls_name)


def err_range(value, bits):
    raise ProtocolError("invalid_data", "%r is out of range for i%d" % (value, bits))


# ---------------------------------------------------------------------------
# compact varints


def read_varint(buf, pos, max_bytes, limit):
    """Read an unsigned varint at ``pos``; return ``(value, end)``.

    ``max_bytes`` bounds the encoding length, ``limit`` the value (exclusive).
    """
    result = 0
    shift = 0
    end = pos + max_bytes
    n = len(buf)
    while True:
        if pos >= n:
            raise ProtocolError("truncated", "varint runs past the end of the input")
        if pos >= end:
            raise ProtocolError("invalid_data", "varint longer than %d bytes" % max_bytes)
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
    if result >= limit:
        raise ProtocolError("invalid_data", "varint value %d out of range" % result)
    return result, pos


def _varint_tail(buf, pos, x, max_bytes, limit):
    """Slow path of the readers below: bytes 5.. of a varint starting at pos."""
    shift = 35
    i = pos + 5
    end = pos + max_bytes
    n = len(buf)
    while True:
        if i >= end:
            raise ProtocolError("invalid_data", "varint longer than %d bytes" % max_bytes)
        if i >= n:
            raise ProtocolError("truncated", "varint runs past the end of the input")
        b = buf[i]
        i += 1
        x |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
    if x >= limit:
        raise ProtocolError("invalid_data", "varint value %d out of range" % x)
    return x, i


def _rv(buf, pos, max_bytes, limit):
    # Unrolled for the common 1..5 byte encodings.  Running off the end of
    # ``buf`` raises IndexError, which callers report as 'truncated'.
    b = buf[pos]
    if b < 0x80:
        return b, pos + 1
    x = b & 0x7F
    b = buf[pos + 1]
    if b < 0x80:
        x |= b << 7
        i = pos + 2
    else:
        x |= (b & 0x7F) << 7
        b = buf[pos + 2]
        if b < 0x80:
            x |= b << 14
            i = pos + 3
        else:
            if max_bytes < 4:
                raise ProtocolError("invalid_data", "varint longer than %d bytes" % max_bytes)
            x |= (b & 0x7F) << 14
            b = buf[pos + 3]
            if b < 0x80:
                x |= b << 21
                i = pos + 4
            else:
                x |= (b & 0x7F) << 21
                b = buf[pos + 4]
                x |= (b & 0x7F) << 28
                if b >= 0x80:
                    return _varint_tail(buf, pos, x, max_bytes, limit)
                i = pos + 5
    if x >= limit:
        raise ProtocolError("invalid_data", "varint value %d out of range" % x)
    return x, i


def rv16(buf, pos):
    return _rv(buf, pos, 3, 1 << 16)


def rv32(buf, pos):
    return _rv(buf, pos, 5, 1 << 32)


def rv64(buf, pos):
    return _rv(buf, pos, 10, 1 << 64)


def rsize(buf, pos):
    """Read a compact size (non-negative i32 varint)."""
    v, pos = _rv(buf, pos, 5, 1 << 32)
    if v > MAX_I32:
        raise ProtocolError("size_limit", "size %d exceeds the i32 range" % v)
    return v, pos


def rzz16(buf, pos):
    """Read a zigzag i16 varint (long-form compact field id)."""
    z, pos = _rv(buf, pos, 3, 1 << 16)
    return (z >> 1) ^ -(z & 1), pos


def wvar(out, n):
    """Append unsigned varint ``n`` (already range checked) to ``out``."""
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def wv16(out, z):
    """Append zigzag value ``z`` of an i16 (``z`` may be out of range)."""
    if z < 0 or z >> 16:
        err_range((z >> 1) ^ -(z & 1), 16)
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)


def wv32(out, z):
    if z < 0 or z >> 32:
        err_range((z >> 1) ^ -(z & 1), 32)
    if z < 0x4000:
        out += bytes(((z & 0x7F) | 0x80, z >> 7))
        return
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)


def wv64(out, z):
    if z < 0 or z >> 64:
        err_range((z >> 1) ^ -(z & 1), 64)
    if z < 0x4000:
        out += bytes(((z & 0x7F) | 0x80, z >> 7))
        return
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)


def compact_field_header(ct, fid, last):
    """Bytes of a compact field header for type id ``ct`` after field ``last``."""
    delta = fid - last
    if 0 < delta <= 15:
        return bytes(((delta << 4) | ct,))
    if not -32768 <= fid <= 32767:
        raise ProtocolError("invalid_data", "field id %d out of range" % fid)
    out = bytearray((ct,))
    wvar(out, (fid << 1) ^ (fid >> 15))
    return bytes(out)


def wfh(out, ct, fid, last):
    """Append a compact field header (runtime variant for very wide structs)."""
    delta = fid - last
    if 0 < delta <= 15:
        out.append((delta << 4) | ct)
    else:
        out.append(ct)
        wvar(out, (fid << 1) ^ (fid >> 15))


# ---------------------------------------------------------------------------
# converting stray exceptions / attributing paths

_TRUNCATION_ERRORS = (IndexError, struct.error)


def convert_exception(ex, encoding=False):
    """Turn a non-ProtocolError exception into a ProtocolError."""
    if isinstance(ex, ProtocolError):
        return ex
    if isinstance(ex, RecursionError):
        pe = ProtocolError("depth_limit", "nesting too deep for the Python stack")
    elif encoding:
        pe = ProtocolError("invalid_data", "cannot encode value: %s: %s" % (type(ex).__name__, ex))
    elif isinstance(ex, _TRUNCATION_ERRORS):
        pe = ProtocolError("truncated", "input ends in the middle of a value")
    elif isinstance(ex, UnicodeDecodeError):
        pe = ProtocolError("invalid_data", "invalid UTF-8: %s" % ex.reason)
    elif isinstance(ex, MemoryError):
        pe = ProtocolError("size_limit", "out of memory while decoding")
    elif isinstance(ex, (ValueError, OverflowError)):
        pe = ProtocolError("invalid_data", "%s: %s" % (type(ex).__name__, ex))
    else:
        pe = ProtocolError("unknown", "%s: %s" % (type(ex).__name__, ex))
    pe.__cause__ = ex
    return pe


def _short_repr(value):
    try:
        text = repr(value)
    except Exception:  # pragma: no cover - hostile __repr__
        text = "<%s>" % type(value).__name__
    if len(text) > 40:
        text = text[:37] + "..."
    return text
