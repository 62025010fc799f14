"""Apache's ``TJSONProtocol``, driven by ``thrift_spec`` (standard library only).

What it writes is byte for byte what Apache's Python ``TJSONProtocol`` writes for
the same values (``tests/test_json_protocol.py``): a struct is an object keyed by
field id, each value tagged with its type (``{"1":{"i32":5},"2":{"str":"x"}}``),
a list or set ``["i32",3,1,2,3]``, a map ``["str","i32",2,{"a":1,"b":2}]``, a
bool ``1``/``0``, binary base64, numbers in key position quoted, a message
``[1,"name",type,seqid,{...}]``. One deliberate difference: a NaN or infinite
double is written as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``
(what Apache's other languages write and every Apache reader accepts), where
Apache's Python writes bare ``nan``/``inf`` that no JSON parser, its own
included, can read.

Reading parses the text with :mod:`json` and walks it with the spec: unknown
fields are skipped, a value whose tag does not match the field's type is
skipped like an unknown field (as the other protocols do), and everything
malformed is a :class:`~thriftgen.runtime.errors.ProtocolError` with a path.
"""

import base64
import binascii
import json
import math
import re
import uuid as uuid_mod

from .errors import ProtocolError, SpecError
from .service import FrozenDict, _by_id, _entries
from .ttype import TType

__all__ = ["encode", "encode_simple", "decode_at", "encode_message", "read_header", "after_body", "message_end"]

VERSION = 1
_TAG = {TType.BOOL: "tf", TType.BYTE: "i8", TType.I16: "i16", TType.I32: "i32",
        TType.I64: "i64", TType.DOUBLE: "dbl", TType.STRING: "str", TType.STRUCT: "rec",
        TType.LIST: "lst", TType.SET: "set", TType.MAP: "map", TType.UUID: "uid"}
_TTYPE = {tag: ttype for ttype, tag in _TAG.items()}
_BITS = {TType.BYTE: 8, TType.I16: 16, TType.I32: 32, TType.I64: 64}
# Apache escapes exactly these (other control characters are written as they are).
_ESCAPES = str.maketrans({'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n",
                          "\r": "\\r", "\t": "\\t"})
_SPECIAL_DOUBLES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_INT_TEXT = re.compile(r"-?[0-9]+\Z")


def _bad(message, kind="invalid_data"):
    return ProtocolError(kind, message)


# --------------------------------------------------------------------------- writing


def _check_class(cls):
    if not isinstance(cls, type) or not isinstance(getattr(cls, "thrift_spec", None), tuple):
        raise SpecError("expected a generated class with a thrift_spec tuple, got %r" % (cls,))


def encode(obj, strict_utf8=True):
    """``obj`` (a generated struct) as TJSONProtocol bytes."""
    _check_class(obj.__class__)
    out = []
    _write_struct(obj, out)
    return "".join(out).encode("utf-8", "strict" if strict_utf8 else "surrogateescape")


def encode_message(name, msg_type, seqid, body, strict_utf8=True):
    out = ["[1,", _string(name), ",%d,%d," % (msg_type, seqid)]
    if body is None:
        out.append("{}")
    else:
        _write_struct(body, out)
    out.append("]")
    return "".join(out).encode("utf-8", "strict" if strict_utf8 else "surrogateescape")


def _string(text):
    return '"' + text.translate(_ESCAPES) + '"'


def _write_struct(obj, out):
    cls = obj.__class__
    out.append("{")
    first = True
    for fid, ttype, name, args, _ in _entries(cls):
        value = getattr(obj, name)
        if value is None:
            continue
        if not first:
            out.append(",")
        first = False
        out.append('"%d":{"%s":' % (fid, _TAG[ttype]))
        try:
            _write_value(ttype, args, value, out, False)
        except ProtocolError as ex:
            ex._add_path("." + name)
            raise
        out.append("}")
    out.append("}")


def _no_key(ttype, key, protocol):
    """Only scalars can be JSON object keys; Apache writes invalid JSON for the rest."""
    if key and ttype in (TType.STRUCT, TType.LIST, TType.SET, TType.MAP):
        raise _bad("%s cannot write a %s as a map key"
                   % (protocol, "struct" if ttype == TType.STRUCT else "container"))


def _write_value(ttype, args, value, out, key):
    _no_key(ttype, key, "TJSONProtocol")
    if ttype == TType.STRING:
        if args == "BINARY":
            if isinstance(value, str):
                raise _bad("binary field holds a str")
            out.append('"' + base64.b64encode(value).decode("ascii") + '"')
        else:
            if isinstance(value, (bytes, bytearray)):
                value = bytes(value).decode("utf-8", "surrogateescape")
            elif not isinstance(value, str):
                raise _bad("expected str, got %s" % type(value).__name__)
            out.append(_string(value))
    elif ttype in _BITS:
        if value.__class__ is not int and (isinstance(value, bool) or not isinstance(value, int)):
            raise _bad("expected int, got %s" % type(value).__name__)
        bits = _BITS[ttype]
        if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
            raise _bad("%d does not fit in i%d" % (value, bits))
        out.append('"%d"' % value if key else "%d" % value)
    elif ttype == TType.BOOL:
        out.append(('"1"' if key else "1") if value else ('"0"' if key else "0"))
    elif ttype == TType.DOUBLE:
        value = float(value)
        if math.isnan(value):
            out.append('"NaN"')
        elif math.isinf(value):
            out.append('"Infinity"' if value > 0 else '"-Infinity"')
        else:
            text = "{0:.17g}".format(value)
            out.append('"%s"' % text if key else text)
    elif ttype == TType.STRUCT:
        _write_struct(value, out)
    elif ttype == TType.LIST or ttype == TType.SET:
        etype, eargs = args[0], args[1]
        out.append('["%s",%d' % (_TAG[etype], len(value)))
        for i, item in enumerate(value):
            out.append(",")
            try:
                _write_value(etype, eargs, item, out, False)
            except ProtocolError as ex:
                ex._add_path("[%d]" % i)
                raise
        out.append("]")
    elif ttype == TType.MAP:
        ktype, kargs, vtype, vargs = args[0], args[1], args[2], args[3]
        out.append('["%s","%s",%d,{' % (_TAG[ktype], _TAG[vtype], len(value)))
        first = True
        for k, v in value.items():
            if not first:
                out.append(",")
            first = False
            _write_value(ktype, kargs, k, out, True)
            out.append(":")
            try:
                _write_value(vtype, vargs, v, out, False)
            except ProtocolError as ex:
                ex._add_path("[%r]" % (k,))
                raise
        out.append("}]")
    elif ttype == TType.UUID:
        out.append('"%s"' % (value if isinstance(value, uuid_mod.UUID) else uuid_mod.UUID(
            bytes=value) if isinstance(value, bytes) else uuid_mod.UUID(str(value))))
    else:
        raise _bad("cannot write wire type %r" % (ttype,), "bad_type")


# --------------------------------------------------------------------------- simple JSON


def encode_simple(obj, strict_utf8=True):
    """``obj`` as Apache's write-only ``TSimpleJSONProtocol`` writes it: an object keyed
    by field name (``thrift_spec``'s), plain arrays and objects, bools as 1/0, binary
    base64. Non-finite doubles as in TJSONProtocol (``"NaN"``), so the text is JSON."""
    _check_class(obj.__class__)
    out = []
    _simple_struct(obj, out)
    return "".join(out).encode("utf-8", "strict" if strict_utf8 else "surrogateescape")


def _simple_struct(obj, out):
    out.append("{")
    first = True
    for _, ttype, name, args, _ in _entries(obj.__class__):
        value = getattr(obj, name)
        if value is None:
            continue
        if not first:
            out.append(",")
        first = False
        out.append(_string(name) + ":")
        try:
            _simple_value(ttype, args, value, out, False)
        except ProtocolError as ex:
            ex._add_path("." + name)
            raise
    out.append("}")


def _simple_value(ttype, args, value, out, key):
    _no_key(ttype, key, "simple JSON")
    if ttype == TType.STRUCT:
        _simple_struct(value, out)
    elif ttype == TType.LIST or ttype == TType.SET:
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _simple_value(args[0], args[1], item, out, False)
        out.append("]")
    elif ttype == TType.MAP:
        out.append("{")
        for i, (k, v) in enumerate(value.items()):
            if i:
                out.append(",")
            _simple_value(args[0], args[1], k, out, True)
            out.append(":")
            _simple_value(args[2], args[3], v, out, False)
        out.append("}")
    elif ttype == TType.DOUBLE:
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            _write_value(ttype, args, value, out, key)
        else:
            text = "{0}".format(value)  # Apache's simple protocol: repr-like, not .17g
            out.append('"%s"' % text if key else text)
    else:
        _write_value(ttype, args, value, out, key)


# --------------------------------------------------------------------------- reading


def _text(buf, offset, strict_utf8):
    try:
        return bytes(buf[offset:]).decode("utf-8", "strict" if strict_utf8 else "surrogateescape")
    except UnicodeDecodeError as ex:
        raise ProtocolError("invalid_data", "invalid UTF-8 in JSON text: %s" % ex.reason,
                            offset=offset + ex.start) from None


_DECODER = json.JSONDecoder(strict=False)  # Apache writes control characters raw
_SPACE = re.compile(r"[ \t\n\r]*")


def _parse(text, pos, offset):
    """One JSON value of ``text`` at ``pos``: (value, end position)."""
    try:
        return _DECODER.raw_decode(text, _SPACE.match(text, pos).end())
    except json.JSONDecodeError as ex:
        # Text that a longer input could still complete: wait for more of a stream.
        kind = ("truncated" if ex.pos >= len(text) or ex.msg.startswith("Unterminated")
                else "invalid_data")
        raise ProtocolError(kind, "bad JSON: %s" % ex.msg,
                            offset=offset + len(text[:ex.pos].encode("utf-8", "surrogatepass"))
                            ) from None
    except RecursionError:
        raise ProtocolError("depth_limit", "JSON nested too deeply") from None


def decode_at(cls, buf, offset, strict_utf8=True, max_depth=64):
    """One ``cls`` value at byte ``offset``: ``(obj, end offset)``."""
    _check_class(cls)
    text = _text(buf, offset, strict_utf8)
    value, end = _parse(text, 0, offset)
    obj = _read_struct(cls, value, max_depth)
    return obj, offset + len(text[:end].encode("utf-8", "surrogateescape"))


def _read_struct(cls, value, depth):
    if depth <= 0:
        raise ProtocolError("depth_limit", "structs nested more than the depth limit")
    if not isinstance(value, dict):
        raise _bad("expected a JSON object for %s" % cls.__name__)
    obj = cls()
    by_id = _by_id(cls)
    for key, tagged in value.items():
        if not _INT_TEXT.match(key) or not -32768 <= int(key) <= 32767:
            raise _bad("field id %r is not an i16" % (key,))
        if not isinstance(tagged, dict) or len(tagged) != 1:
            raise _bad("field %s: expected {\"type\": value}" % key)
        ((tag, raw),) = tagged.items()
        ttype = _TTYPE.get(tag)
        if ttype is None:
            raise _bad("field %s: unknown type tag %r" % (key, tag))
        entry = by_id.get(int(key))
        if entry is None or entry[1] != ttype:
            continue  # unknown field (or another type): skipped, as the other protocols do
        try:
            setattr(obj, entry[2], _read_value(ttype, entry[3], raw, depth - 1, False))
        except ProtocolError as ex:
            ex._add_path("." + entry[2])
            raise
    return obj


def _read_int(raw, ttype):
    if raw.__class__ is not int:
        raise _bad("expected an integer, got %s" % json.dumps(raw)[:40])
    bits = _BITS[ttype]
    if not -(1 << (bits - 1)) <= raw < (1 << (bits - 1)):
        raise _bad("%d does not fit in i%d" % (raw, bits))
    return raw


def _read_value(ttype, args, raw, depth, frozen):
    if ttype == TType.STRING:
        if not isinstance(raw, str):
            raise _bad("expected a JSON string")
        if args == "BINARY":
            return _base64(raw)
        return raw
    if ttype == TType.I32:
        value = _read_int(raw, ttype)
        return args._value2member_map_.get(value, value) if args is not None else value
    if ttype in _BITS:
        return _read_int(raw, ttype)
    if ttype == TType.BOOL:
        if raw is True or raw is False:
            return raw
        return _read_int(raw, TType.I32) != 0
    if ttype == TType.DOUBLE:
        if isinstance(raw, float) or raw.__class__ is int:
            return float(raw)
        if isinstance(raw, str):
            special = _SPECIAL_DOUBLES.get(raw)
            if special is not None:
                return special
            try:
                return float(raw)
            except ValueError:
                pass
        raise _bad("expected a number")
    if ttype == TType.UUID:
        try:
            return uuid_mod.UUID(raw)
        except (TypeError, ValueError, AttributeError):
            raise _bad("expected a UUID string") from None
    if depth <= 0:
        raise ProtocolError("depth_limit", "containers nested more than the depth limit")
    if ttype == TType.STRUCT:
        if frozen:
            raise _bad("a struct cannot be a set element or map key (not hashable)")
        return _read_struct(args[0], raw, depth)
    if ttype == TType.LIST or ttype == TType.SET:
        if not isinstance(raw, list) or len(raw) < 2 or _TTYPE.get(raw[0]) != args[0]:
            raise _bad("expected [\"%s\", size, ...]" % _TAG[args[0]])
        items = raw[2:]
        if raw[1] != len(items):
            raise _bad("declared size %r, %d elements" % (raw[1], len(items)))
        etype, eargs = args[0], args[1]
        if ttype == TType.LIST:
            values = [_read_value(etype, eargs, item, depth - 1, frozen) for item in items]
            return tuple(values) if frozen else values
        members = set(_read_value(etype, eargs, item, depth - 1, True) for item in items)
        return frozenset(members) if frozen else members
    if ttype == TType.MAP:
        ktype, kargs, vtype, vargs = args[0], args[1], args[2], args[3]
        if (not isinstance(raw, list) or len(raw) != 4 or _TTYPE.get(raw[0]) != ktype
                or _TTYPE.get(raw[1]) != vtype or not isinstance(raw[3], dict)):
            raise _bad("expected [\"%s\", \"%s\", size, {...}]" % (_TAG[ktype], _TAG[vtype]))
        if raw[2] != len(raw[3]):
            raise _bad("declared size %r, %d entries" % (raw[2], len(raw[3])))
        result = {}
        for text, item in raw[3].items():
            key = _read_key(ktype, kargs, text)
            result[key] = _read_value(vtype, vargs, item, depth - 1, frozen)
        return FrozenDict(result) if frozen else result
    raise _bad("cannot read wire type %r" % (ttype,), "bad_type")


def _read_key(ttype, args, text):
    """A map key: always a JSON string, numbers and bools quoted."""
    if ttype in _BITS or ttype == TType.BOOL:
        if not _INT_TEXT.match(text):
            raise _bad("map key %r is not an integer" % (text,))
        value = _read_value(ttype, args, int(text), 1, True)
        return value
    if ttype == TType.DOUBLE:
        return _read_value(ttype, args, text, 1, True)
    if ttype in (TType.STRING, TType.UUID):
        return _read_value(ttype, args, text, 1, True)
    raise _bad("TJSONProtocol map keys cannot be of type %s" % _TAG.get(ttype, ttype))


def _base64(text):
    # Apache's readers accept unpadded base64 (its C++ writer omits the padding).
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(padded.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise _bad("expected a base64 string") from None


# --------------------------------------------------------------------------- messages


def read_header(buf, pos, strict_utf8=True):
    """``(name, msg_type, seqid, body offset)`` of the message at byte ``pos``."""
    text = _text(buf, pos, strict_utf8)
    at = _SPACE.match(text).end()
    if text[at:at + 1] != "[":
        if at >= len(text):
            raise ProtocolError("truncated", "message header needs more data", missing=1)
        raise ProtocolError("bad_version", "a TJSONProtocol message starts with '['",
                            offset=pos + at)
    at += 1
    parts = []
    for i in range(4):
        value, at = _parse(text, at, pos)
        parts.append(value)
        at = _SPACE.match(text, at).end()
        if text[at:at + 1] != ",":
            if at >= len(text):
                raise ProtocolError("truncated", "message header needs more data", missing=1)
            raise _bad("expected ',' in the message header")
        at += 1
    version, name, msg_type, seqid = parts
    if version != VERSION:
        raise ProtocolError("bad_version", "TJSONProtocol version %r (expected 1)" % (version,),
                            offset=pos)
    if not isinstance(name, str) or msg_type.__class__ is not int or seqid.__class__ is not int:
        raise _bad("bad message header")
    return name, msg_type, seqid, pos + len(text[:at].encode("utf-8", "surrogateescape"))


_BYTE_SPACE = re.compile(rb"[ \t\n\r]*")


def after_body(buf, end):
    """The offset past the ``]`` that closes a message whose body ends at ``end``."""
    at = _BYTE_SPACE.match(buf, end).end()
    if buf[at:at + 1] != b"]":
        raise ProtocolError("truncated" if at >= len(buf) else "invalid_data",
                            "expected ']' closing the message", offset=at)
    return at + 1


_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]|"')


def message_end(buf, pos):
    """Offset just past the message starting at ``pos`` (its closing ``]``);
    ProtocolError ``truncated`` while the bytes so far do not finish it."""
    read_header(buf, pos)  # a stream that is not TJSONProtocol fails here
    depth = 0
    for m in _TOKENS.finditer(buf, pos):
        token = m.group()
        if token in (b"[", b"{"):
            depth += 1
        elif token in (b"]", b"}"):
            depth -= 1
            if depth == 0:
                return m.end()
        elif token == b'"':  # a string not closed yet
            break
    raise ProtocolError("truncated", "message needs more data", missing=1)
