"""Python classes built at run time from a checked IDL program (no code generation).

:class:`DynamicTypes` turns the structs, unions, exceptions, enums and
services of a :class:`~thriftgen.idl.loader.Program` into classes with the
same ``thrift_spec`` the code generator writes (same field ids, wire types,
Python attribute names, type arguments, defaults, union / by-declaration
markers), so the runtime codec encodes and decodes them byte for byte like the
generated classes. Services become :class:`DynamicService` objects: per
function, the args/result classes and a :class:`~thriftgen.runtime.service.Function`
record, i.e. what a generated ``Processor`` exposes -- enough for
:class:`~thriftgen.runtime.rpc.Channel.call` and for serving with
:meth:`DynamicService.processor`.

Each resolved type is described by a :class:`TypeSpec` (kind + children +
class), which the JSON mapping (:mod:`thriftgen.call.jsonmap`) walks.
"""

from __future__ import annotations

import enum
import uuid as uuid_mod
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from thriftgen.codegen import naming
from thriftgen.idl import ast
from thriftgen.idl.loader import Program
from thriftgen.runtime import service as _tg
from thriftgen.runtime.errors import ThriftgenError
from thriftgen.runtime.ttype import TType

__all__ = ["DynamicTypes", "DynamicService", "DynamicFunction", "TypeSpec", "DynamicError"]

_BASE_KIND = {"byte": "i8", "slist": "string"}
_TTYPE = {
    "bool": TType.BOOL, "i8": TType.BYTE, "i16": TType.I16, "i32": TType.I32,
    "i64": TType.I64, "double": TType.DOUBLE, "string": TType.STRING, "binary": TType.STRING,
    "uuid": TType.UUID, "list": TType.LIST, "set": TType.SET, "map": TType.MAP,
    "struct": TType.STRUCT, "enum": TType.I32,
}
INT_BITS = {"i8": 8, "i16": 16, "i32": 32, "i64": 64}
#: Kinds whose defaults are shared values (the generator puts them in ``thrift_spec``).
IMMUTABLE_KINDS = frozenset(["bool", "i8", "i16", "i32", "i64", "double", "string", "binary",
                             "uuid", "enum"])


class DynamicError(ThriftgenError):
    """The program uses something that cannot be built (e.g. an undefined type)."""


@dataclass(eq=False)
class TypeSpec:
    """A resolved IDL type (typedefs followed)."""

    kind: str  # bool i8 i16 i32 i64 double string binary uuid list set map struct enum
    elem: Optional["TypeSpec"] = None
    key: Optional["TypeSpec"] = None
    value: Optional["TypeSpec"] = None
    cls: Any = None  # struct / enum class
    definition: Any = field(default=None, repr=False)  # ast.Struct / ast.Enum
    path: str = ""  # file defining the struct / enum

    @property
    def ttype(self) -> int:
        return _TTYPE[self.kind]

    @property
    def name(self) -> str:
        """What the type is called in messages (``i32``, ``list<string>``, ``EchoRequest``)."""
        k = self.kind
        if k in ("struct", "enum"):
            return self.definition.name
        if k in ("list", "set"):
            return "%s<%s>" % (k, self.elem.name)
        if k == "map":
            return "map<%s,%s>" % (self.key.name, self.value.name)
        return k


@dataclass(eq=False)
class FieldInfo:
    id: int
    name: str  # IDL name
    attr: str  # Python attribute
    type: TypeSpec
    required: bool


@dataclass(eq=False)
class DynamicFunction:
    name: str
    service: str  # the service that declares it
    function: _tg.Function  # the runtime's record (args/result classes, oneway)
    args: List[FieldInfo]
    result: Optional[TypeSpec]  # None: void
    throws: List[Tuple[FieldInfo, str]]  # (result field, exception type as written)
    oneway: bool


@dataclass(eq=False)
class DynamicService:
    name: str
    path: str
    functions: Dict[str, DynamicFunction]  # own and inherited, by wire name
    own: List[str]  # names declared by this service itself
    extends: Optional["DynamicService"] = None

    def processor(self, handler: Any) -> Any:
        """A processor for :mod:`thriftgen.runtime.rpc` servers, calling ``handler``'s methods."""
        table = {n: f.function for n, f in self.functions.items()}
        cls = type(self.name + "Processor", (_tg.ProcessorBase,), {})
        _tg.bind_functions(self.name, [cls], table.values())
        return cls(handler)


class DynamicTypes:
    """Classes for the definitions of ``program``, built on first use and cached."""

    def __init__(self, program: Program):
        self.program = program
        self._structs: Dict[Tuple[str, str], type] = {}
        self._fields: Dict[type, List[FieldInfo]] = {}
        self._enums: Dict[Tuple[str, str], type] = {}
        self._services: Dict[Tuple[str, str], DynamicService] = {}
        self._unfixed: List[type] = []

    # -- types ----------------------------------------------------------------------

    def resolve(self, path: str, t: Any) -> TypeSpec:
        found_path, r = self.program.resolve_type(path, t)
        if isinstance(r, ast.BaseType):
            return TypeSpec(_BASE_KIND.get(r.name, r.name))
        if isinstance(r, ast.ListType):
            return TypeSpec("list", elem=self.resolve(found_path, r.elem))
        if isinstance(r, ast.SetType):
            return TypeSpec("set", elem=self.resolve(found_path, r.elem))
        if isinstance(r, ast.MapType):
            return TypeSpec("map", key=self.resolve(found_path, r.key),
                            value=self.resolve(found_path, r.value))
        if isinstance(r, ast.Senum):
            return TypeSpec("string")
        if isinstance(r, ast.Enum):
            return TypeSpec("enum", cls=self._enum(found_path, r), definition=r, path=found_path)
        if isinstance(r, ast.Struct):
            return TypeSpec("struct", cls=self._struct(found_path, r), definition=r,
                            path=found_path)
        raise DynamicError("type '%s' is %s" % (getattr(t, "name", t), "a service" if isinstance(
            r, ast.Service) else "undefined"))

    def struct_class(self, path: str, name: str) -> type:
        """The class of struct/union/exception ``name`` defined in (or visible from) ``path``."""
        found = self.program.lookup(path, name)
        if found is None or not isinstance(found[1], ast.Struct):
            raise DynamicError("no struct, union or exception named '%s'" % name)
        cls = self._struct(found[0].path, found[1])
        self._fix()
        return cls

    def fields(self, cls: type) -> List[FieldInfo]:
        """Fields of a class built here, in declaration order."""
        return self._fields[cls]

    def _enum(self, path: str, d: ast.Enum) -> type:
        key = (path, d.name)
        cls = self._enums.get(key)
        if cls is None:
            names = naming.assign_names([v.name for v in d.values], naming.ENUM_RESERVED)
            cls = enum.IntEnum(d.name, [(n, v.value) for n, v in zip(names, d.values)])
            cls._tg_idl_names = {v.value: v.name for v in reversed(d.values)}
            cls._tg_idl_values = {v.name: v.value for v in d.values}
            self._enums[key] = cls
        return cls

    def _struct(self, path: str, d: ast.Struct) -> type:
        key = (path, d.name)
        cls = self._structs.get(key)
        if cls is None:
            cls = self._make_class(path, d.name, d.kind, d.fields)
            self._structs[key] = cls
            self._fill(cls, path, d.kind, d.fields)
        return cls

    def _make_class(self, path: str, name: str, kind: str, fields: list) -> type:
        reserved = naming.EXCEPTION_RESERVED if kind == ast.EXCEPTION else naming.STRUCT_RESERVED
        attrs = naming.assign_names([f.name for f in fields], reserved)
        body: Dict[str, Any] = {"__slots__": tuple(attrs), "__module__": "thriftgen.call.dynamic",
                                "_tg_idl_path": path}
        if kind == ast.EXCEPTION:
            bases: tuple = (_DynamicStruct, Exception)
            body["__hash__"] = Exception.__hash__  # raise/traceback machinery hashes exceptions
        else:
            bases = (_DynamicStruct,)
        cls = type(name, bases, body)
        if kind == ast.UNION:
            cls._tg_is_union = True
        if any(f.id < 0 for f in fields):
            cls._tg_spec_by_declaration = True
        return cls

    def _fill(self, cls: type, path: str, kind: str, fields: list) -> None:
        """Resolve the fields, then build ``thrift_spec`` and the default factories."""
        infos, entries, defaults = [], [], {}
        for f, attr in zip(fields, cls.__slots__):
            ts = self.resolve(path, f.type)
            infos.append(FieldInfo(f.id, f.name, attr, ts, f.requiredness == ast.REQUIRED))
            dflt = None
            if f.default is not None and kind != ast.UNION:
                if ts.kind in IMMUTABLE_KINDS:
                    dflt = self.const_value(f.default, ts, path)
                    defaults[attr] = _constant(dflt)
                else:
                    defaults[attr] = _fresh(self, f.default, ts, path)
            entries.append((f.id, (f.id, ts.ttype, attr, spec_args(ts), dflt)))
        self._fields[cls] = infos
        # The tables generated classes carry too (the JSON mapping and field masks read them).
        cls._tg_required = tuple(i.attr for i in infos if i.required)
        cls._tg_idl_names = {i.name: i.attr for i in infos if i.name != i.attr}
        if getattr(cls, "_tg_spec_by_declaration", False):
            spec: tuple = tuple(e for _, e in sorted(entries, key=lambda x: x[0]))
        elif entries:
            by_id = dict(entries)
            spec = tuple(by_id.get(i) for i in range(max(by_id) + 1))
        else:
            spec = ()
        cls.thrift_spec = spec
        cls._tg_defaults = defaults
        self._unfixed.append(cls)

    def _fix(self) -> None:
        if self._unfixed:
            pending, self._unfixed = self._unfixed, []
            _tg.fix_specs(pending)

    # -- constants -------------------------------------------------------------------

    def const_value(self, cv: Any, ts: TypeSpec, path: str, frozen: bool = False,
                    depth: int = 0) -> Any:
        """The Python value of IDL constant ``cv`` for type ``ts`` (as generated code has it)."""
        if depth > 100:
            raise DynamicError("constant refers to itself")
        if isinstance(cv, ast.ConstRef):
            found = self._lookup_const(path, cv.name, ts)
            if found is None:
                raise DynamicError("'%s' is not a constant or enum value" % cv.name)
            if len(found) == 2:
                pf, const = found
                return self.const_value(const.value, ts, pf.path, frozen, depth + 1)
            _, _, member = found
            return self.const_value(ast.ConstInt(member.value), ts, path, frozen, depth + 1)
        k = ts.kind
        if k == "bool" and isinstance(cv, ast.ConstInt):
            return bool(cv.value)
        if k in INT_BITS and isinstance(cv, ast.ConstInt):
            return cv.value
        if k == "enum" and isinstance(cv, ast.ConstInt):
            try:
                return ts.cls(cv.value)
            except ValueError:
                return cv.value
        if k == "double" and isinstance(cv, (ast.ConstInt, ast.ConstDouble)):
            return float(cv.value)
        if k == "string" and isinstance(cv, ast.ConstString):
            return cv.value
        if k == "binary" and isinstance(cv, ast.ConstString):
            return cv.value.encode("utf-8", "surrogatepass")
        if k == "uuid" and isinstance(cv, ast.ConstString):
            return uuid_mod.UUID(cv.value)
        if k in ("list", "set") and (isinstance(cv, ast.ConstList)
                                     or (isinstance(cv, ast.ConstMap) and not cv.items)):
            items = [self.const_value(i, ts.elem, path, frozen or k == "set", depth + 1)
                     for i in getattr(cv, "items", [])]
            if k == "list":
                return tuple(items) if frozen else items
            return frozenset(items) if frozen else set(items)
        if k == "map" and (isinstance(cv, ast.ConstMap)
                           or (isinstance(cv, ast.ConstList) and not cv.items)):
            mapping = {self.const_value(a, ts.key, path, True, depth + 1):
                       self.const_value(b, ts.value, path, frozen, depth + 1)
                       for a, b in getattr(cv, "items", [])}
            return _tg.FrozenDict(mapping) if frozen else mapping
        if k == "struct" and isinstance(cv, ast.ConstMap):
            by_name = {fi.name: fi for fi in self.fields(ts.cls)}
            kwargs = {}
            for a, b in cv.items:
                fi = by_name.get(a.value) if isinstance(a, ast.ConstString) else None
                if fi is None:
                    raise DynamicError("'%s' has no field %r" % (ts.name, getattr(a, "value", a)))
                kwargs[fi.attr] = self.const_value(b, fi.type, path, False, depth + 1)
            return ts.cls(**kwargs)
        raise DynamicError("%r cannot be a value of type %s" % (cv, ts.name))

    def _lookup_const(self, path: str, name: str, ts: TypeSpec) -> Optional[tuple]:
        found = self.program.lookup_const(path, name)
        if found is None and ts.kind == "enum" and "." in name:
            # Apache resolves ``Anything.M`` to member M of the expected enum (the checker warns)
            member = name.rsplit(".", 1)[1]
            for v in ts.definition.values:
                if v.name == member:
                    return None, ts.definition, v
        return found

    # -- services --------------------------------------------------------------------

    def service(self, path: str, name: str) -> DynamicService:
        found = self.program.lookup(path, name)
        if found is None or not isinstance(found[1], ast.Service):
            raise DynamicError("no service named '%s'" % name)
        svc = self._service(found[0].path, found[1], set())
        self._fix()
        return svc

    def _service(self, path: str, d: ast.Service, seen: set) -> DynamicService:
        key = (path, d.name)
        cached = self._services.get(key)
        if cached is not None:
            return cached
        if key in seen:
            raise DynamicError("service '%s' extends itself" % d.name)
        seen.add(key)
        base = None
        if d.extends:
            found = self.program.lookup(path, d.extends)
            if found is None or not isinstance(found[1], ast.Service):
                raise DynamicError("base service '%s' is undefined" % d.extends)
            base = self._service(found[0].path, found[1], seen)
        functions = dict(base.functions) if base is not None else {}
        chain_names = set(functions) | {f.name for f in d.functions}
        reserved = set(naming.SERVICE_RESERVED)
        for n in chain_names:
            reserved.update({"send_" + n, "recv_" + n, "process_" + n})
        py_names = naming.assign_names([f.name for f in d.functions], reserved)
        for fn, py_name in zip(d.functions, py_names):
            functions[fn.name] = self._function(path, d.name, fn, py_name)
        svc = DynamicService(d.name, path, functions, [f.name for f in d.functions], base)
        self._services[key] = svc
        return svc

    def _function(self, path: str, service: str, fn: ast.Function, py_name: str
                  ) -> DynamicFunction:
        args_cls = self._make_class(path, fn.name + "_args", ast.STRUCT, fn.args)
        self._fill(args_cls, path, ast.STRUCT, fn.args)
        result_cls, result, throws = None, None, []
        if not fn.oneway:
            success = [] if fn.return_type is None else [
                ast.Field(0, "success", fn.return_type, ast.OPTIONAL)]
            fields = success + list(fn.throws)
            result_cls = self._make_class(path, fn.name + "_result", ast.STRUCT, fields)
            self._fill(result_cls, path, ast.STRUCT, fields)
            infos = self.fields(result_cls)
            if fn.return_type is not None:
                result = infos[0].type
            for t, fi in zip(fn.throws, infos[len(success):]):
                if fi.type.kind != "struct" or fi.type.definition.kind != ast.EXCEPTION:
                    raise DynamicError("'%s' in throws of '%s' is not an exception"
                                       % (t.name, fn.name))
                throws.append((fi, t.type.name if isinstance(t.type, ast.NamedType)
                               else fi.type.name))
        record = _tg.Function(fn.name, py_name, args_cls, result_cls)
        return DynamicFunction(fn.name, service, record, self.fields(args_cls), result, throws,
                               fn.oneway)


# --------------------------------------------------------------------------- class behaviour


class _DynamicStruct:
    """Methods of every dynamic class (what generated classes define one by one)."""

    __slots__ = ()
    thrift_spec: Any
    _tg_defaults: Dict[str, Callable[[], Any]] = {}

    def __init__(self, **kwargs: Any) -> None:
        defaults = type(self)._tg_defaults
        for attr in type(self).__slots__:
            if attr in kwargs:
                value = kwargs.pop(attr)
            else:
                make = defaults.get(attr)
                value = make() if make is not None else None
            object.__setattr__(self, attr, value)
        if kwargs:
            raise TypeError("%s has no field %s" % (type(self).__name__, ", ".join(kwargs)))

    def read(self, iprot: Any) -> None:
        _tg.read_struct(self, iprot)

    def write(self, oprot: Any) -> None:
        _tg.write_struct(self, oprot)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return _tg.fields_equal(self, other)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the generated classes

    def __repr__(self) -> str:
        return _tg.struct_repr(self)

    __str__ = __repr__


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


def _fresh(types: DynamicTypes, cv: Any, ts: TypeSpec, path: str) -> Callable[[], Any]:
    # mutable defaults are built anew for every instance, as generated __init__ does
    return lambda: types.const_value(cv, ts, path)


def spec_args(ts: TypeSpec) -> Any:
    k = ts.kind
    if k == "string":
        return "UTF8"
    if k == "binary":
        return "BINARY"
    if k == "enum":
        return ts.cls
    if k == "struct":
        return [ts.cls, None]
    if k in ("list", "set"):
        return (ts.elem.ttype, spec_args(ts.elem), False)
    if k == "map":
        return (ts.key.ttype, spec_args(ts.key), ts.value.ttype, spec_args(ts.value), False)
    return None
