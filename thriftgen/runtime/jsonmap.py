"""JSON and plain-dict values of generated classes, strictly (standard library only).

``to_dict(obj)`` / ``from_dict(cls, value)`` and ``to_json(obj)`` /
``from_json(cls, text)`` work on every class thriftgen generates (every
template) and on the classes ``thriftgen call`` builds from an IDL at run time:
one implementation, so both give the same values and the same errors. A value
that does not fit its type is a :class:`JsonMappingError` naming the JSON path and
the expected type, never a silent 0.

=================  ==========================================  ===========================
Thrift type        JSON accepted                               JSON printed
=================  ==========================================  ===========================
bool               ``true`` / ``false``                        ``true`` / ``false``
i8 i16 i32 i64     integer, or a string of decimal digits      integer (i64 too: Python
                   (``"-12"``); range-checked                  ints keep every digit)
double             number, or a numeric string (also           number; ``"NaN"``,
                   ``"NaN"``, ``"Infinity"``, ``"-Infinity"``)  ``"Infinity"``, ``"-Infinity"``
string             string                                      string
binary             base64 string (standard alphabet, padded)   base64 string
uuid               string ``uuid.UUID`` accepts                canonical string
enum               member name (``"SHIPPED"``) or its number   member name (a number when
                   (integer or digit string); must be declared  the value is not declared)
list / set         array (a set rejects duplicates)            array (sets sorted)
map                object whose keys are parsed into the key   object (keys as strings) when
                   type like strings above, or an array of     the key type is a scalar,
                   ``[key, value]`` pairs (any key type)       else ``[key, value]`` pairs
struct / union /   object by IDL field name; ``null`` or       object of the set fields
exception          absent = unset (IDL defaults apply);        (``null`` never printed)
                   required fields must be there; a union
                   exactly one field
=================  ==========================================  ===========================

Paths look like ``$.req.items[3].sku`` or ``$.prices["HP-1"]``. Field names are
the IDL's (``from``, not the attribute ``from_``); the attribute name is accepted
too. Types come from ``thrift_spec``; the IDL names and required fields from the
class's ``_tg_idl_names`` / ``_tg_required`` tables (classes without them, such
as Apache-generated ones, map by attribute name with nothing required).
"""

import base64
import binascii
import json
import math
import re
import uuid as uuid_mod

from .errors import ThriftgenError
from .service import FrozenDict, _entries
from .ttype import TType

__all__ = ["JsonMappingError", "to_dict", "from_dict", "to_json", "from_json",
           "value_to_json", "value_from_json", "type_name", "describe"]

_INT_TEXT = re.compile(r"^-?[0-9]+$")
_BITS = {TType.BYTE: 8, TType.I16: 16, TType.I32: 32, TType.I64: 64}
_INT_NAMES = {TType.BYTE: "i8", TType.I16: "i16", TType.I32: "i32", TType.I64: "i64"}
_SCALARS = frozenset([TType.BOOL, TType.BYTE, TType.I16, TType.I32, TType.I64, TType.DOUBLE,
                      TType.STRING, TType.UUID])


class JsonMappingError(ThriftgenError):
    """A JSON value that does not fit its Thrift type; ``path`` says where."""

    def __init__(self, path, message):
        super().__init__("%s: %s" % (path, message))
        self.path = path
        self.message = message


# --------------------------------------------------------------------------- public API


def to_dict(obj):
    """The JSON-compatible value (dicts, lists, str, int, float, bool) of struct ``obj``."""
    return _struct_out(obj)


def from_dict(cls, value, path="$"):
    """An instance of generated class ``cls`` from a JSON-compatible ``value``."""
    return _struct_in(value, cls, path)


def to_json(obj, **dumps_options):
    """``json.dumps(to_dict(obj), **dumps_options)``."""
    return json.dumps(_struct_out(obj), **dumps_options)


def from_json(cls, text):
    """An instance of ``cls`` from JSON text (str or UTF-8 bytes)."""
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError) as ex:
        raise JsonMappingError("$", "not valid JSON: %s" % ex) from None
    return _struct_in(value, cls, "$")


def value_to_json(value, ttype, args):
    """The JSON-compatible form of ``value`` of wire type ``ttype`` (``thrift_spec`` args)."""
    return _out(value, ttype, args)


def value_from_json(value, ttype, args, path="$", frozen=False):
    """The Python value of type ``(ttype, args)`` for parsed JSON ``value``.
    ``frozen``: a set element or map key (containers built hashable)."""
    return _in(value, ttype, args, path, frozen)


# --------------------------------------------------------------------------- names


def type_name(ttype, args):
    """How a type is called in messages: ``i32``, ``list<string>``, ``EchoRequest``."""
    if ttype in _INT_NAMES:
        if ttype == TType.I32 and isinstance(args, type):
            return args.__name__
        return _INT_NAMES[ttype]
    if ttype == TType.STRING:
        return "binary" if args == "BINARY" else "string"
    if ttype == TType.STRUCT:
        return args[0].__name__
    if ttype == TType.LIST:
        return "list<%s>" % type_name(args[0], args[1])
    if ttype == TType.SET:
        return "set<%s>" % type_name(args[0], args[1])
    if ttype == TType.MAP:
        return "map<%s,%s>" % (type_name(args[0], args[1]), type_name(args[2], args[3]))
    return {TType.BOOL: "bool", TType.DOUBLE: "double", TType.UUID: "uuid"}.get(ttype, "?")


def _fields(cls):
    """``[(IDL name, attribute, ttype, args, required)]`` in declaration order."""
    table = cls.__dict__.get("_tg_json_fields")
    if table is None:
        by_attr = {e[2]: e for e in _entries(cls)}
        idl = {attr: name for name, attr in (getattr(cls, "_tg_idl_names", None) or {}).items()}
        required = frozenset(getattr(cls, "_tg_required", None) or ())
        order = [a for a in getattr(cls, "__slots__", ()) if a in by_attr]
        order += [a for a in by_attr if a not in order]
        table = [(idl.get(a, a), a, by_attr[a][1], by_attr[a][3], a in required) for a in order]
        type.__setattr__(cls, "_tg_json_fields", table)
    return table


def _enum_names(enum_cls):
    """value -> IDL name (the first name of a value)."""
    names = getattr(enum_cls, "_tg_idl_names", None)
    if isinstance(names, dict):
        return names
    return {m.value: m.name for m in reversed(list(enum_cls))}


def _enum_values(enum_cls):
    """IDL name -> value, in declaration order (aliases too)."""
    values = getattr(enum_cls, "_tg_idl_values", None)
    if isinstance(values, dict):
        return values
    return {name: m.value for name, m in enum_cls.__members__.items()}


def describe(value):
    """A JSON value as error messages show it."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return "number %s" % json.dumps(value)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return "string %s" % (text if len(text) <= 40 else text[:37] + '..."')
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return repr(value)


def _fail(path, expected, value):
    return JsonMappingError(path, "expected %s, got %s" % (expected, describe(value)))


def _int_expected(ttype):
    bits = _BITS[ttype]
    return "%s (an integer from %d to %d)" % (_INT_NAMES[ttype], -(1 << (bits - 1)),
                                              (1 << (bits - 1)) - 1)


# --------------------------------------------------------------------------- JSON -> Thrift


def _in(value, ttype, args, path, frozen):
    if ttype == TType.BOOL:
        if value is True or value is False:
            return value
        raise _fail(path, "bool (true or false)", value)
    if ttype == TType.I32 and isinstance(args, type):
        return _parse_enum(value, args, path)
    if ttype in _BITS:
        return _parse_int(value, ttype, path)
    if ttype == TType.DOUBLE:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise _fail(path, "double (a number)", value)
    if ttype == TType.STRING:
        if args == "BINARY":
            if isinstance(value, str):
                try:
                    return base64.b64decode(value.encode("ascii"), validate=True)
                except (binascii.Error, UnicodeEncodeError, ValueError):
                    pass
            raise _fail(path, "binary (a base64 string)", value)
        if isinstance(value, str):
            return value
        raise _fail(path, "string", value)
    if ttype == TType.UUID:
        if isinstance(value, str):
            try:
                return uuid_mod.UUID(value)
            except ValueError:
                pass
        raise _fail(path, "uuid (a string like \"123e4567-e89b-12d3-a456-426614174000\")",
                    value)
    if ttype == TType.LIST or ttype == TType.SET:
        name = type_name(ttype, args)
        if not isinstance(value, list):
            raise _fail(path, "%s (an array)" % name, value)
        is_set = ttype == TType.SET
        if is_set and args[0] == TType.STRUCT and value:  # an empty one is fine
            raise JsonMappingError(path, "%s cannot be built in Python (structs are not "
                                   "hashable)" % name)
        items = [_in(v, args[0], args[1], "%s[%d]" % (path, i), frozen or is_set)
                 for i, v in enumerate(value)]
        if not is_set:
            return tuple(items) if frozen else items
        result = set()
        for i, item in enumerate(items):
            if item in result:
                raise JsonMappingError("%s[%d]" % (path, i), "duplicate set element")
            result.add(item)
        return frozenset(result) if frozen else result
    if ttype == TType.MAP:
        return _parse_map(value, args, path, frozen)
    if ttype == TType.STRUCT:
        if frozen:
            raise JsonMappingError(path, "a %s struct cannot be a set element or map key in "
                                   "Python (structs are not hashable)" % args[0].__name__)
        return _struct_in(value, args[0], path)
    raise JsonMappingError(path, "unsupported type %s" % type_name(ttype, args))


def _parse_int(value, ttype, path):
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, str) and _INT_TEXT.match(value):
        n = int(value)
    else:
        raise _fail(path, _int_expected(ttype), value)
    bits = _BITS[ttype]
    if not -(1 << (bits - 1)) <= n < (1 << (bits - 1)):
        raise JsonMappingError(path, "%s is out of range for %s" % (n, _int_expected(ttype)))
    return n


def _enum_choices(enum_cls):
    return ", ".join("%s=%d" % (name, value) for name, value in _enum_values(enum_cls).items())


def _parse_enum(value, enum_cls, path):
    names = _enum_values(enum_cls)
    if isinstance(value, str) and not _INT_TEXT.match(value):
        if value in names:
            return enum_cls(names[value])
        raise JsonMappingError(path, "%s is not a member of enum %s (%s)"
                               % (describe(value), enum_cls.__name__, _enum_choices(enum_cls)))
    if (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str):
        n = _parse_int(value, TType.I32, path)
        try:
            return enum_cls(n)
        except ValueError:
            raise JsonMappingError(path, "%d is not a value of enum %s (%s)"
                                   % (n, enum_cls.__name__, _enum_choices(enum_cls))) from None
    raise _fail(path, "enum %s (a member name or its number)" % enum_cls.__name__, value)


def _parse_key(text, ttype, args, path):
    """An object key (always a JSON string) read as a value of the map's key type."""
    if ttype == TType.BOOL:
        if text in ("true", "false"):
            return text == "true"
        raise _fail(path, "bool key (\"true\" or \"false\")", text)
    if ttype == TType.DOUBLE:
        try:
            return float(text)
        except ValueError:
            raise _fail(path, "double key (a numeric string)", text) from None
    return _in(text, ttype, args, path, True)


def _parse_map(value, args, path, frozen):
    ktype, kargs, vtype, vargs = args[0], args[1], args[2], args[3]
    result = {}
    if isinstance(value, dict) and ktype in _SCALARS:
        pairs = [(_parse_key(key, ktype, kargs, "%s[%s]" % (path, json.dumps(key))), v,
                  "%s[%s]" % (path, json.dumps(key))) for key, v in value.items()]
    elif isinstance(value, list):
        pairs = []
        for i, pair in enumerate(value):
            where = "%s[%d]" % (path, i)
            if not isinstance(pair, list) or len(pair) != 2:
                raise _fail(where, "a [key, value] pair", pair)
            pairs.append((_in(pair[0], ktype, kargs, where + "[0]", True), pair[1],
                          where + "[1]"))
    else:
        hint = "an object" if ktype in _SCALARS else "an array of [key, value] pairs"
        raise _fail(path, "%s (%s)" % (type_name(TType.MAP, args), hint), value)
    for key, v, where in pairs:
        if key in result:
            raise JsonMappingError(where, "duplicate map key %r" % (key,))
        result[key] = _in(v, vtype, vargs, where, frozen)
    return FrozenDict(result) if frozen else result


def _struct_in(value, cls, path):
    name = cls.__name__
    if not isinstance(value, dict):
        raise _fail(path, "%s (an object)" % name, value)
    fields = _fields(cls)
    by_name = {}
    for f in fields:
        by_name[f[0]] = f
    for f in fields:
        by_name.setdefault(f[1], f)  # the attribute name is accepted too
    unknown = [key for key in value if key not in by_name]
    if unknown:
        known = ", ".join(f[0] for f in fields) or "none"
        raise JsonMappingError(path, "unknown field %s for %s (fields: %s)"
                               % (json.dumps(unknown[0]), name, known))
    kwargs = {}
    for key, v in value.items():
        idl, attr, ttype, args, _ = by_name[key]
        if v is None:
            continue
        if attr in kwargs:
            raise JsonMappingError(path, "field \"%s\" of %s given twice" % (idl, name))
        kwargs[attr] = _in(v, ttype, args, "%s.%s" % (path, idl), False)
    for idl, attr, _, _, required in fields:
        if required and attr not in kwargs:
            raise JsonMappingError(path, "missing required field \"%s\" of %s" % (idl, name))
    if getattr(cls, "_tg_is_union", False) and len(kwargs) != 1:
        raise JsonMappingError(path, "union %s needs exactly one field, got %d"
                               % (name, len(kwargs)))
    return cls(**kwargs)


# --------------------------------------------------------------------------- Thrift -> JSON


def _out(value, ttype, args):
    if value is None:
        return None
    if ttype == TType.DOUBLE:
        value = float(value)
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if ttype == TType.STRING:
        if args == "BINARY":
            return base64.b64encode(value).decode("ascii")
        return value
    if ttype == TType.UUID:
        return str(value)
    if ttype == TType.I32 and isinstance(args, type):
        return _enum_names(args).get(int(value), int(value))
    if ttype in _BITS:
        return int(value)
    if ttype == TType.BOOL:
        return bool(value)
    if ttype == TType.LIST:
        return [_out(v, args[0], args[1]) for v in value]
    if ttype == TType.SET:
        items = [_out(v, args[0], args[1]) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if ttype == TType.MAP:
        ktype, kargs, vtype, vargs = args[0], args[1], args[2], args[3]
        if ktype in _SCALARS:
            out = {}
            for key, v in value.items():
                j = _out(key, ktype, kargs)
                out[j if isinstance(j, str) else json.dumps(j)] = _out(v, vtype, vargs)
            return out
        return [[_out(key, ktype, kargs), _out(v, vtype, vargs)] for key, v in value.items()]
    if ttype == TType.STRUCT:
        return _struct_out(value)
    raise TypeError("unsupported type %s" % type_name(ttype, args))


def _struct_out(obj):
    out = {}
    for idl, attr, ttype, args, _ in _fields(obj.__class__):
        v = getattr(obj, attr)
        if v is not None:
            out[idl] = _out(v, ttype, args)
    return out
