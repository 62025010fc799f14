"""JSON <-> Thrift values for ``thriftgen call``: the runtime's mapping
(:mod:`thriftgen.runtime.jsonmap`, which documents it, and which generated
classes use too) applied to the types of classes built at run time, so both
give the same values and the same errors.
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
