"""JSON <-> Thrift values for ``thriftgen call``: the runtime's mapping
(:mod:`thriftgen.runtime.jsonmap`, what generated classes use too) applied to the
types of classes built at run time, so both give the same values and errors.
A value that does not fit its type is an error naming the JSON path and the
expected type, never a silent 0.

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

from typing import Any

from thriftgen.call.dynamic import DynamicTypes, TypeSpec, spec_args
from thriftgen.runtime import jsonmap as _map
from thriftgen.runtime.jsonmap import JsonMappingError, describe

__all__ = ["JsonMappingError", "from_json", "to_json", "args_from_json", "struct_from_json",
           "describe"]


def from_json(value: Any, ts: TypeSpec, types: DynamicTypes, path: str = "$",
              frozen: bool = False) -> Any:
    """The Python value of type ``ts`` for parsed JSON ``value``; raises JsonMappingError."""
    return _map.value_from_json(value, ts.ttype, spec_args(ts), path, frozen)


def struct_from_json(value: Any, cls: type, types: DynamicTypes, path: str = "$") -> Any:
    """An instance of dynamic struct class ``cls`` from a JSON object."""
    return _map.from_dict(cls, value, path)


def args_from_json(value: Any, args_cls: type, types: DynamicTypes) -> Any:
    """The args struct of a call from the JSON object of its arguments (by IDL name)."""
    return _map.from_dict(args_cls, value if value is not None else {}, "$")


def to_json(value: Any, ts: TypeSpec, types: DynamicTypes) -> Any:
    """A JSON-compatible Python value for ``value`` of type ``ts``."""
    return _map.value_to_json(value, ts.ttype, spec_args(ts))
