"""JSON <-> Thrift values, strictly: a value that does not fit its type is an error
naming the JSON path and the expected type, never a silent 0.

=================  ==========================================  ===========================
Thrift type        JSON accepted                               JSON printed
=================  ==========================================  ===========================
bool               ``true`` / ``false``                        ``true`` / ``false``
i8 i16 i32 i64     integer, or a string of decimal digits      integer (i64 too)
                   (``"-12"``); range-checked
double             number, or a numeric string (also           number; ``"NaN"``,
                   ``"NaN"``, ``"Infinity"``, ``"-Infinity"``)  ``"Infinity"``, ``"-Infinity"``
string             string                                      string
binary             base64 string (standard alphabet, padded)   base64 string
uuid               string ``uuid.UUID`` accepts                canonical string
enum               member name (``"SHIPPED"``) or its number   member name (a number when
                   (integer or digit string); must be declared  the value is not declared)
list / set         array (a set rejects duplicates)            array
map                object whose keys are parsed into the key   object (keys as strings) when
                   type like strings above, or an array of     the key type is a scalar,
                   ``[key, value]`` pairs (any key type)       else ``[key, value]`` pairs
struct / union /   object by IDL field name; ``null`` or       object of the set fields
exception          absent = unset (IDL defaults apply);        (``null`` never printed)
                   required fields must be there; a union
                   exactly one field
=================  ==========================================  ===========================

Paths look like ``$.req.items[3].sku`` or ``$.prices["HP-1"]``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import uuid as uuid_mod
from typing import Any

from thriftgen.call.dynamic import INT_BITS, DynamicTypes, TypeSpec
from thriftgen.runtime import service as _tg
from thriftgen.runtime.errors import ThriftgenError

__all__ = ["JsonMappingError", "from_json", "to_json", "args_from_json"]

_INT_TEXT = re.compile(r"^-?[0-9]+$")
_SCALAR_KEYS = frozenset(["bool", "i8", "i16", "i32", "i64", "double", "string", "binary",
                          "uuid", "enum"])


class JsonMappingError(ThriftgenError):
    """A JSON value that does not fit its Thrift type; ``path`` says where."""

    def __init__(self, path: str, message: str):
        super().__init__("%s: %s" % (path, message))
        self.path = path
        self.message = message


def describe(value: Any) -> str:
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


def _fail(path: str, expected: str, value: Any) -> JsonMappingError:
    return JsonMappingError(path, "expected %s, got %s" % (expected, describe(value)))


def _int_expected(kind: str) -> str:
    bits = INT_BITS[kind]
    return "%s (an integer from %d to %d)" % (kind, -(1 << (bits - 1)), (1 << (bits - 1)) - 1)


# --------------------------------------------------------------------------- JSON -> Thrift


def from_json(value: Any, ts: TypeSpec, types: DynamicTypes, path: str = "$",
              frozen: bool = False) -> Any:
    """The Python value of type ``ts`` for parsed JSON ``value``; raises JsonMappingError."""
    k = ts.kind
    if k == "bool":
        if value is True or value is False:
            return value
        raise _fail(path, "bool (true or false)", value)
    if k in INT_BITS:
        return _parse_int(value, k, path)
    if k == "double":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise _fail(path, "double (a number)", value)
    if k == "string":
        if isinstance(value, str):
            return value
        raise _fail(path, "string", value)
    if k == "binary":
        if isinstance(value, str):
            try:
                return base64.b64decode(value.encode("ascii"), validate=True)
            except (binascii.Error, UnicodeEncodeError, ValueError):
                pass
        raise _fail(path, "binary (a base64 string)", value)
    if k == "uuid":
        if isinstance(value, str):
            try:
                return uuid_mod.UUID(value)
            except ValueError:
                pass
        raise _fail(path, "uuid (a string like \"123e4567-e89b-12d3-a456-426614174000\")",
                    value)
    if k == "enum":
        return _parse_enum(value, ts, path)
    if k in ("list", "set"):
        if not isinstance(value, list):
            raise _fail(path, "%s (an array)" % ts.name, value)
        if k == "set" and ts.elem.kind == "struct":
            raise JsonMappingError(path, "%s cannot be built in Python (structs are not "
                                   "hashable)" % ts.name)
        items = [from_json(v, ts.elem, types, "%s[%d]" % (path, i), frozen or k == "set")
                 for i, v in enumerate(value)]
        if k == "list":
            return tuple(items) if frozen else items
        result = set()
        for i, item in enumerate(items):
            if item in result:
                raise JsonMappingError("%s[%d]" % (path, i), "duplicate set element")
            result.add(item)
        return frozenset(result) if frozen else result
    if k == "map":
        return _parse_map(value, ts, types, path, frozen)
    if k == "struct":
        if frozen:
            raise JsonMappingError(path, "a %s struct cannot be a set element or map key in "
                                   "Python (structs are not hashable)" % ts.name)
        return struct_from_json(value, ts.cls, types, path)
    raise JsonMappingError(path, "unsupported type %s" % ts.name)  # pragma: no cover


def _parse_int(value: Any, kind: str, path: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, str) and _INT_TEXT.match(value):
        n = int(value)
    else:
        raise _fail(path, _int_expected(kind), value)
    bits = INT_BITS[kind]
    if not -(1 << (bits - 1)) <= n < (1 << (bits - 1)):
        raise JsonMappingError(path, "%s is out of range for %s" % (n, _int_expected(kind)))
    return n


def _enum_choices(ts: TypeSpec) -> str:
    return ", ".join("%s=%d" % (v.name, v.value) for v in ts.definition.values)


def _parse_enum(value: Any, ts: TypeSpec, path: str) -> Any:
    names = ts.cls._tg_idl_values
    if isinstance(value, str) and not _INT_TEXT.match(value):
        if value in names:
            return ts.cls(names[value])
        raise JsonMappingError(path, "%s is not a member of enum %s (%s)"
                               % (describe(value), ts.name, _enum_choices(ts)))
    if (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str):
        n = _parse_int(value, "i32", path)
        try:
            return ts.cls(n)
        except ValueError:
            raise JsonMappingError(path, "%d is not a value of enum %s (%s)"
                                   % (n, ts.name, _enum_choices(ts))) from None
    raise _fail(path, "enum %s (a member name or its number)" % ts.name, value)


def _parse_key(text: str, ts: TypeSpec, types: DynamicTypes, path: str) -> Any:
    """An object key (always a JSON string) read as a value of the map's key type."""
    k = ts.kind
    if k == "bool":
        if text in ("true", "false"):
            return text == "true"
        raise _fail(path, "bool key (\"true\" or \"false\")", text)
    if k == "double":
        try:
            return float(text)
        except ValueError:
            raise _fail(path, "double key (a numeric string)", text) from None
    return from_json(text, ts, types, path, True)


def _parse_map(value: Any, ts: TypeSpec, types: DynamicTypes, path: str, frozen: bool) -> Any:
    result: dict = {}
    if isinstance(value, dict) and ts.key.kind in _SCALAR_KEYS:
        pairs = [(_parse_key(key, ts.key, types, "%s[%s]" % (path, json.dumps(key))), v,
                  "%s[%s]" % (path, json.dumps(key))) for key, v in value.items()]
    elif isinstance(value, list):
        pairs = []
        for i, pair in enumerate(value):
            where = "%s[%d]" % (path, i)
            if not isinstance(pair, list) or len(pair) != 2:
                raise _fail(where, "a [key, value] pair", pair)
            pairs.append((from_json(pair[0], ts.key, types, where + "[0]", True), pair[1],
                          where + "[1]"))
    else:
        hint = "an object" if ts.key.kind in _SCALAR_KEYS else "an array of [key, value] pairs"
        raise _fail(path, "%s (%s)" % (ts.name, hint), value)
    for key, v, where in pairs:
        if key in result:
            raise JsonMappingError(where, "duplicate map key %r" % (key,))
        result[key] = from_json(v, ts.value, types, where, frozen)
    return _tg.FrozenDict(result) if frozen else result


def struct_from_json(value: Any, cls: type, types: DynamicTypes, path: str = "$") -> Any:
    """An instance of dynamic struct class ``cls`` from a JSON object."""
    name = cls.__name__
    if not isinstance(value, dict):
        raise _fail(path, "%s (an object)" % name, value)
    fields = types.fields(cls)
    by_name = {f.name: f for f in fields}
    unknown = [key for key in value if key not in by_name]
    if unknown:
        known = ", ".join(f.name for f in fields) or "none"
        raise JsonMappingError(path, "unknown field %s for %s (fields: %s)"
                               % (json.dumps(unknown[0]), name, known))
    kwargs = {}
    for f in fields:
        v = value.get(f.name)
        if v is None:
            if f.required:
                raise JsonMappingError(path, "missing required field \"%s\" of %s"
                                       % (f.name, name))
            continue
        kwargs[f.attr] = from_json(v, f.type, types, "%s.%s" % (path, f.name))
    if getattr(cls, "_tg_is_union", False) and len(kwargs) != 1:
        raise JsonMappingError(path, "union %s needs exactly one field, got %d"
                               % (name, len(kwargs)))
    return cls(**kwargs)


def args_from_json(value: Any, args_cls: type, types: DynamicTypes) -> Any:
    """The args struct of a call from the JSON object of its arguments (by IDL name)."""
    return struct_from_json(value if value is not None else {}, args_cls, types, "$")


# --------------------------------------------------------------------------- Thrift -> JSON


def to_json(value: Any, ts: TypeSpec, types: DynamicTypes) -> Any:
    """A JSON-compatible Python value for ``value`` of type ``ts``."""
    k = ts.kind
    if value is None:
        return None
    if k == "double":
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if k == "binary":
        return base64.b64encode(value).decode("ascii")
    if k == "uuid":
        return str(value)
    if k == "enum":
        return ts.cls._tg_idl_names.get(int(value), int(value))
    if k in INT_BITS:
        return int(value)
    if k in ("bool", "string"):
        return value
    if k == "list":
        return [to_json(v, ts.elem, types) for v in value]
    if k == "set":
        items = [to_json(v, ts.elem, types) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if k == "map":
        if ts.key.kind in _SCALAR_KEYS:
            out = {}
            for key, v in value.items():
                j = to_json(key, ts.key, types)
                out[j if isinstance(j, str) else json.dumps(j)] = to_json(v, ts.value, types)
            return out
        return [[to_json(key, ts.key, types), to_json(v, ts.value, types)]
                for key, v in value.items()]
    if k == "struct":
        out = {}
        for f in types.fields(type(value)):
            v = getattr(value, f.attr)
            if v is not None:
                out[f.name] = to_json(v, f.type, types)
        return out
    raise TypeError("unsupported type %s" % ts.name)  # pragma: no cover
