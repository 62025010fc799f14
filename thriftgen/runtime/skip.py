"""SkipDecode: walk encoded values without building Python objects.

``skip(buf, offset, ttype, protocol="binary", max_depth=64) -> end``
    returns the offset just past the value of wire type ``ttype`` (a
    :class:`~thriftgen.runtime.ttype.TType` number) that starts at ``offset``.

``message_end(buf, offset=0, protocol="binary") -> end``
    returns the offset just past a whole unframed message (envelope header
    plus the struct body), so a buffered byte stream can be cut into
    messages.

Both raise :class:`~thriftgen.runtime.errors.ProtocolError`; ``kind ==
'truncated'`` means the buffer ends before the value does (a stream reader
should wait for more bytes).  Every struct or container level counts against
``max_depth`` (Apache's ``TProtocol.skip`` convention).

Fixed-width container elements are skipped arithmetically; compact varint
elements are counted in bulk.  Skipping validates structure (types, sizes,
lengths) but not contents (UTF-8, bool bytes, varint value ranges); a full
decode is stricter.
"""

from ._wire import (
    BIN_MIN_WIDTH,
    CMP_MIN_WIDTH,
    CT_TO_TTYPE,
    HIGH_BYTES,
    S_I,
    convert_exception,
    err_count,
    err_depth,
    err_length,
    err_truncated,
    rsize,
    rzz16,
)
from .errors import ProtocolError

__all__ = ["skip", "message_end"]

_unpack_i32 = S_I.unpack_from

# fixed widths per TType, indexed by a wire byte (None: variable or invalid)
_BIN_FIXED_WIDTHS = {2: 1, 3: 1, 4: 8, 6: 2, 8: 4, 10: 8, 16: 16}
_BIN_FIXED = tuple(_BIN_FIXED_WIDTHS.get(_t) for _t in range(256))

# compact: fixed widths per TType of container elements
_CMP_FIXED = {2: 1, 3: 1, 4: 8, 16: 16}
_CMP_VARINT = (6, 8, 10)

# compact field context, indexed by type id: 0 = no payload (bool),
# >0 = fixed width, -1 = varint, None = needs the general path
_CT_FIELD = (None, 0, 0, 1, -1, -1, -1, 8, None, None, None, None, None, 16, None, None)


def _bad_type(t):
    raise ProtocolError("bad_type", "invalid wire type %d" % t)


# ---------------------------------------------------------------------------
# binary


def bskip(buf, pos, t, depth):
    """Skip one binary-protocol value of TType ``t``; internal, no wrapping."""
    n = len(buf)
    w = _BIN_FIXED[t] if 0 <= t < 256 else None
    if w is not None:
        end = pos + w
        if end > n:
            err_truncated(w, n - pos)
        return end
    if t == 11:
        if pos + 4 > n:
            err_truncated(4, n - pos, "string length")
        ln = _unpack_i32(buf, pos)[0]
        pos += 4
        end = pos + ln
        if ln < 0 or end > n:
            err_length(ln, n - pos)
        return end
    if t == 12:
        if depth <= 0:
            err_depth()
        return _bskip_struct(buf, pos, depth - 1, n)
    if t == 15 or t == 14:
        if depth <= 0:
            err_depth()
        if pos + 5 > n:
            err_truncated(5, n - pos, "list header")
        et = buf[pos]
        ln = _unpack_i32(buf, pos + 1)[0]
        pos += 5
        if ln <= 0:
            if ln < 0:
                err_count(ln, 1, n - pos)
            return pos
        return _bskip_seq(buf, pos, et, ln, depth - 1, n)
    if t == 13:
        if depth <= 0:
            err_depth()
        if pos + 6 > n:
            err_truncated(6, n - pos, "map header")
        kt = buf[pos]
        vt = buf[pos + 1]
        ln = _unpack_i32(buf, pos + 2)[0]
        pos += 6
        if ln <= 0:
            if ln < 0:
                err_count(ln, 1, n - pos)
            return pos
        kmin = BIN_MIN_WIDTH.get(kt)
        vmin = BIN_MIN_WIDTH.get(vt)
        if kmin is None:
            _bad_type(kt)
        if vmin is None:
            _bad_type(vt)
        if ln * (kmin + vmin) > n - pos:
            err_count(ln, kmin + vmin, n - pos)
        kw = _BIN_FIXED[kt]
        vw = _BIN_FIXED[vt]
        if kw is not None and vw is not None:
            return pos + ln * (kw + vw)  # bounds checked above
        if kt == 11 and (vt == 11 or vw is not None):
            return _bskip_string_map(buf, pos, ln, vw, n)
        depth -= 1
        for _ in range(ln):
            pos = bskip(buf, pos, kt, depth)
            pos = bskip(buf, pos, vt, depth)
        return pos
    _bad_type(t)


def _bskip_string_map(buf, pos, ln, vw, n):
    """Entries of a map with string keys and string (``vw`` None) or fixed-width
    values: the common shape, inlined (a call per key costs as much as the skip)."""
    unpack = _unpack_i32
    for _ in range(ln):
        if pos + 4 > n:
            err_truncated(4, n - pos, "string length")
        sl = unpack(buf, pos)[0]
        pos += 4 + sl
        if sl < 0 or pos > n:
            err_length(sl, n - pos + sl)
        if vw is None:
            if pos + 4 > n:
                err_truncated(4, n - pos, "string length")
            sl = unpack(buf, pos)[0]
            pos += 4 + sl
            if sl < 0 or pos > n:
                err_length(sl, n - pos + sl)
        else:
            pos += vw
            if pos > n:
                err_truncated(vw, n - pos + vw)
    return pos


def _bskip_seq(buf, pos, et, ln, depth, n):
    w = _BIN_FIXED[et]
    if w is not None:
        end = pos + ln * w
        if end > n:
            err_count(ln, w, n - pos)
        return end
    mw = BIN_MIN_WIDTH.get(et)
    if mw is None:
        _bad_type(et)
    if ln * mw > n - pos:
        err_count(ln, mw, n - pos)
    if et == 11:
        for _ in range(ln):
            if pos + 4 > n:
                err_truncated(4, n - pos, "string length")
            sl = _unpack_i32(buf, pos)[0]
            pos += 4
            end = pos + sl
            if sl < 0 or end > n:
                err_length(sl, n - pos)
            pos = end
        return pos
    if et == 12:
        if depth <= 0:
            err_depth()
        d1 = depth - 1
        for _ in range(ln):
            pos = _bskip_struct(buf, pos, d1, n)
        return pos
    if et == 15 or et == 14:  # nested lists of fixed-width elements: arithmetic per row
        if depth <= 0:
            err_depth()
        fixed = _BIN_FIXED
        for _ in range(ln):
            if pos + 5 > n:
                err_truncated(5, n - pos, "list header")
            w = fixed[buf[pos]]
            cnt = _unpack_i32(buf, pos + 1)[0]
            if w is None or cnt <= 0:
                pos = bskip(buf, pos, et, depth)
                continue
            pos += 5 + cnt * w
            if pos > n:
                err_count(cnt, w, n - pos + cnt * w)
        return pos
    for _ in range(ln):
        pos = bskip(buf, pos, et, depth)
    return pos


def _bskip_struct(buf, pos, depth, n):
    # ``depth`` is the budget left for values nested inside this struct
    fixed = _BIN_FIXED
    unpack = _unpack_i32
    while True:
        if pos >= n:
            err_truncated(1, 0, "field header")
        t = buf[pos]
        if t == 0:
            return pos + 1
        pos += 3
        w = fixed[t]
        if w is not None:
            pos += w
            if pos > n:
                err_truncated(w, n - pos + w, "field")
        elif t == 11:  # strings inline: the most common variable-width field
            if pos + 4 > n:
                err_truncated(4, n - pos, "string length")
            sl = unpack(buf, pos)[0]
            pos += 4 + sl
            if sl < 0 or pos > n:
                err_length(sl, n - pos + sl)
        else:
            if pos > n:
                err_truncated(3, n - pos + 3, "field header")
            pos = bskip(buf, pos, t, depth)


# ---------------------------------------------------------------------------
# compact


def _skip_varint(buf, pos, n):
    end = pos + 10
    while True:
        if pos >= n:
            err_truncated(1, 0, "varint")
        if buf[pos] < 0x80:
            return pos + 1
        pos += 1
        if pos >= end:
            raise ProtocolError("invalid_data", "varint longer than 10 bytes")


def _skip_varints(buf, pos, count, n):
    """Skip ``count`` consecutive varints, counting terminator bytes in bulk."""
    need = count
    while need:
        end = pos + need
        if end > n:
            err_count(need, 1, n - pos)
        found = len(buf[pos:end].translate(None, HIGH_BYTES))
        pos = end
        need -= found
    return pos


def _read_size(buf, pos, n):
    if pos >= n:
        err_truncated(1, 0, "size")
    ln = buf[pos]
    if ln < 0x80:
        return ln, pos + 1
    return rsize(buf, pos)


def cskip(buf, pos, t, depth):
    """Skip one compact-protocol value of TType ``t`` in value context."""
    n = len(buf)
    w = _CMP_FIXED.get(t)
    if w is not None:
        end = pos + w
        if end > n:
            err_truncated(w, n - pos)
        return end
    if t == 8 or t == 10 or t == 6:
        return _skip_varint(buf, pos, n)
    if t == 11:
        ln, pos = _read_size(buf, pos, n)
        end = pos + ln
        if end > n:
            err_length(ln, n - pos)
        return end
    if t == 12:
        if depth <= 0:
            err_depth()
        return _cskip_struct(buf, pos, depth - 1, n)
    if t == 15 or t == 14:
        if depth <= 0:
            err_depth()
        if pos >= n:
            err_truncated(1, 0, "list header")
        b = buf[pos]
        pos += 1
        ln = b >> 4
        if ln == 15:
            ln, pos = rsize(buf, pos)
        if ln == 0:
            return pos
        et = CT_TO_TTYPE[b & 15]
        if et is None:
            _bad_type(b & 15)
        return _cskip_seq(buf, pos, et, ln, depth - 1, n)
    if t == 13:
        if depth <= 0:
            err_depth()
        ln, pos = _read_size(buf, pos, n)
        if ln == 0:
            return pos
        if pos >= n:
            err_truncated(1, 0, "map types")
        kv = buf[pos]
        pos += 1
        kt = CT_TO_TTYPE[kv >> 4]
        vt = CT_TO_TTYPE[kv & 15]
        if kt is None:
            _bad_type(kv >> 4)
        if vt is None:
            _bad_type(kv & 15)
        mw = CMP_MIN_WIDTH[kt] + CMP_MIN_WIDTH[vt]
        if ln * mw > n - pos:
            err_count(ln, mw, n - pos)
        kw = _CMP_FIXED.get(kt)
        vw = _CMP_FIXED.get(vt)
        if kw is not None and vw is not None:
            return pos + ln * (kw + vw)  # bounds checked above
        if kt in _CMP_VARINT and vt in _CMP_VARINT:
            return _skip_varints(buf, pos, 2 * ln, n)
        if kt == 11 and vt == 11:
            return _cskip_strings(buf, pos, 2 * ln, n)
        depth -= 1
        for _ in range(ln):
            pos = cskip(buf, pos, kt, depth)
            pos = cskip(buf, pos, vt, depth)
        return pos
    _bad_type(t)


def _cskip_seq(buf, pos, et, ln, depth, n):
    w = _CMP_FIXED.get(et)
    if w is not None:
        end = pos + ln * w
        if end > n:
            err_count(ln, w, n - pos)
        return end
    if ln > n - pos:
        err_count(ln, 1, n - pos)
    if et in _CMP_VARINT:
        return _skip_varints(buf, pos, ln, n)
    if et == 11:
        return _cskip_strings(buf, pos, ln, n)
    if et == 12:
        if depth <= 0:
            err_depth()
        d1 = depth - 1
        for _ in range(ln):
            pos = _cskip_struct(buf, pos, d1, n)
        return pos
    for _ in range(ln):
        pos = cskip(buf, pos, et, depth)
    return pos


def _cskip_strings(buf, pos, count, n):
    """Skip ``count`` consecutive strings (sizes under 128 read inline)."""
    for _ in range(count):
        if pos >= n:
            err_truncated(1, 0, "size")
        sl = buf[pos]
        if sl < 0x80:
            pos += 1
        else:
            sl, pos = rsize(buf, pos)
        pos += sl
        if pos > n:
            err_length(sl, n - pos + sl)
    return pos


def cskip_field(buf, pos, ct, depth):
    """Skip the payload of a compact *field* of type id ``ct`` (bool: none)."""
    w = _CT_FIELD[ct]
    if w is not None:
        if w > 0:
            end = pos + w
            if end > len(buf):
                err_truncated(w, len(buf) - pos)
            return end
        if w == 0:
            return pos
        return _skip_varint(buf, pos, len(buf))
    t = CT_TO_TTYPE[ct]
    if t is None:
        _bad_type(ct)
    return cskip(buf, pos, t, depth)


def _cskip_struct(buf, pos, depth, n):
    table = _CT_FIELD
    while True:
        if pos >= n:
            err_truncated(1, 0, "field header")
        b = buf[pos]
        pos += 1
        ct = b & 15
        if ct == 0:
            return pos
        if b < 16:
            _, pos = rzz16(buf, pos)
        w = table[ct]
        if w is not None:
            if w > 0:
                pos += w
                if pos > n:
                    err_truncated(w, n - pos + w, "field")
            elif w < 0:
                if pos < n and buf[pos] < 0x80:  # one-byte varint inline
                    pos += 1
                else:
                    pos = _skip_varint(buf, pos, n)
        elif ct == 8:  # strings inline: the most common variable-width field
            if pos >= n:
                err_truncated(1, 0, "size")
            sl = buf[pos]
            if sl < 0x80:
                pos += 1
            else:
                sl, pos = rsize(buf, pos)
            pos += sl
            if pos > n:
                err_length(sl, n - pos + sl)
        else:
            t = CT_TO_TTYPE[ct]
            if t is None:
                _bad_type(ct)
            pos = cskip(buf, pos, t, depth)


# ---------------------------------------------------------------------------
# public API


def _as_bytes(buf):
    return buf if isinstance(buf, bytes) else bytes(buf)


def skip(buf, offset, ttype, protocol="binary", max_depth=64):
    """Return the offset just past the value of type ``ttype`` at ``offset``."""
    buf = _as_bytes(buf)
    if protocol == "binary":
        fn = bskip
    elif protocol == "compact":
        fn = cskip
    else:
        raise ValueError("unknown protocol %r" % (protocol,))
    if offset < 0:
        raise ValueError("negative offset")
    try:
        return fn(buf, offset, ttype, max_depth)
    except Exception as ex:
        raise convert_exception(ex) from None


def message_end(buf, offset=0, protocol="binary", max_depth=64):
    """Return the offset just past the unframed message starting at ``offset``."""
    from ._message import read_header

    buf = _as_bytes(buf)
    if protocol == "json":
        from ._json import message_end as json_message_end

        return json_message_end(buf, offset)
    try:
        _name, _type, _seqid, pos = read_header(buf, offset, protocol)
        if protocol == "binary":
            return bskip(buf, pos, 12, max_depth)
        return cskip(buf, pos, 12, max_depth)
    except Exception as ex:
        raise convert_exception(ex) from None
