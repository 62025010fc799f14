"""Base classes of ``-thrift template=slim`` output (standard library only, 3.9+).

A slim generated class holds only what users touch: annotated fields with
their defaults and one compact type string::

    class Dimensions(_tg.SerdesStruct):
        \"\"\"Outside dimensions of the shipping package.\"\"\"

        length_mm: Optional[int] = None
        weight_g: Optional[int] = 0
        tags: Optional[List[str]] = _tg.fresh(lambda: ["new"])
        box: Optional[_tg_types.Box] = None
        _tg_spec = "1i 4i 7Ls 8<_tg_types.Box>"

Generated modules hold their class statements (and typedefs, aliases,
constants naming classes) under ``if TYPE_CHECKING:`` and end with a lazy
table (``_TG_LAZY``) and a ``__getattr__`` / ``__dir__`` (PEP 562) that hand it
to :func:`attach` on first use - importing them does not import this runtime.
The module's ``__getattr__`` then builds a class from its body - a constant
of the module's code object - on first access and stores it in the module
(:func:`lazy` does the same for modules that call it at import). Importing a module of thousands of classes thus
creates none of them (measured: class creation was the floor of the import
time, ~19 us a class; ``bench/outputs.py``).

Everything else is shared and built on first use, so building a class costs
little more than creating the class object:

* :class:`StructMeta` (at class creation, on first access): turns
  the annotated fields into ``__slots__`` (in declaration order) and moves
  their defaults into ``_tg_defaults``; reads the flags in front of
  ``_tg_spec``.
* ``__init__``: the first construction of a class compiles a specialised
  ``__init__(self, a=None, b=0, ...)`` for it (plain positional/keyword
  parameters, fresh containers for mutable defaults) and installs it on the
  class, so constructing - and decoding, which calls ``cls()`` - runs the same
  code as the default variant's hand-written ``__init__``. Type checkers see
  the signature through :func:`dataclass_transform` (annotations + defaults);
  ``inspect.signature(cls)`` sees it through ``StructMeta.__signature__``.
* ``thrift_spec``: built from ``_tg_spec`` the first time anything asks for
  it (the codec, Apache's protocols, tests), then stored on the class, where
  the runtime codec (:mod:`thriftgen.runtime`) finds it as for any class.
* ``__eq__``, ``__repr__``, ``validate``: shared, same results as the default
  variant's; :class:`SerdesStruct` / :class:`SerdesError` also have the
  Apache-protocol ``read(iprot)`` / ``write(oprot)`` (through
  :func:`thriftgen.runtime.service.read_struct`), which ``-thrift
  no_default_serdes`` leaves out by deriving from :class:`Struct` /
  :class:`Error` instead. Every slim class is an instance of
  :class:`StructMeta` (``isinstance(type(obj), StructMeta)``).

``_tg_spec`` grammar: optional class flags, then one token per annotated field,
in annotation order, separated by single spaces::

    spec   := flags? field (" " field)*          (empty: no fields)
    flags  := "|" (union) | "#" (negative ids: spec in id order)
            | "~" (Apache's C codec must not be used)     any combination, any order
    field  := "!"? id type                       ("!": required)
    id     := "-"? digits
    type   := "t" bool | "b" i8 | "h" i16 | "i" i32 | "q" i64 | "d" double
            | "s" string | "y" binary | "u" uuid
            | "L" type | "S" type | "M" type type  (list, set, map)
            | "<" name ">"                       (struct or enum)
    name   := a dotted name resolved in the class's module globals (``Money``,
              ``_tg_types.Money``) when the spec is built

Service modules use :class:`Client`, :class:`AsyncClient`, :class:`Processor`
and :func:`bind_service`, loaded on first use from
:mod:`thriftgen.runtime._slim_service` (a module of structs only never
imports the RPC runtime).
"""

from __future__ import annotations

import enum
import sys
import threading
from builtins import __build_class__ as _build_class
from types import CodeType as _CodeType
from types import FunctionType as _FunctionType

from ._api import require_api
from .errors import SpecError
from .ttype import TType

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing-only names: nothing of typing is needed at run time
    from typing import Any, Callable, ClassVar, Iterable, Optional, TypeVar

    from typing_extensions import dataclass_transform

    from ._slim_service import AsyncClient, Client, Function, Processor, bind_service
    from .service import FrozenDict

    _T = TypeVar("_T")
else:

    def dataclass_transform(**_kwargs):
        return lambda cls: cls


__all__ = [
    "Struct",
    "Error",
    "SerdesStruct",
    "SerdesError",
    "StructMeta",
    "fresh",
    "Client",
    "AsyncClient",
    "Processor",
    "Function",
    "bind_service",
    "FrozenDict",
    "lazy",
    "attach",
]

_FLAGS = frozenset("|#~")
_lock = threading.RLock()


class _Fresh:
    """A default built anew for every instance (a container or a struct value)."""

    __slots__ = ("factory",)

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory

    def __repr__(self) -> str:
        return "<fresh default>"


def fresh(factory: Callable[[], _T]) -> _T:
    """Class-level default whose value ``factory()`` makes for each instance."""
    return _Fresh(factory)  # type: ignore[return-value]


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "DEFAULT"


_UNSET = _Unset()


# --------------------------------------------------------------------------- the metaclass


@dataclass_transform()
class StructMeta(type):
    """Creates slim classes: slots from annotations, defaults set aside (see the module doc)."""

    def __new__(mcls, name: str, bases: tuple, ns: dict, **kwargs: Any) -> StructMeta:
        spec = ns.get("_tg_spec")
        if spec is not None:
            fields = tuple(ns.get("__annotations__", ()))
            ns["__slots__"] = fields
            pop = ns.pop
            ns["_tg_defaults"] = tuple([pop(f, None) for f in fields])
            if spec and spec[0] in _FLAGS:
                head = spec[:3]
                if "|" in head:
                    ns["_tg_is_union"] = True
                if "#" in head:
                    ns["_tg_spec_by_declaration"] = True
                if "~" in head:
                    ns["_tg_no_c_codec"] = True
        return type.__new__(mcls, name, bases, ns, **kwargs)

    @property
    def __signature__(cls) -> Any:
        """What ``inspect.signature(cls)`` shows: the compiled ``__init__``'s parameters."""
        owner = _owner(cls)
        if owner is None:
            return None
        import inspect

        init = owner.__dict__.get("__init__") or _compile_init(owner)
        sig = inspect.signature(init)
        return sig.replace(parameters=list(sig.parameters.values())[1:])


def _owner(cls: type) -> Any:
    """The generated class ``cls`` is or derives from (the one holding ``_tg_spec``)."""
    for klass in cls.__mro__:
        if "_tg_spec" in klass.__dict__:
            return klass
    return None


# --------------------------------------------------------------------------- __init__


def _compile_init(owner: Any) -> Callable[..., None]:
    """Compile and install ``owner.__init__`` from its fields and defaults."""
    with _lock:
        existing = owner.__dict__.get("__init__")
        if existing is not None:
            return existing  # type: ignore[no-any-return]
        ns: dict = {"_tg_UNSET": _UNSET}
        params, body = ["self"], []
        for i, (name, default) in enumerate(zip(owner.__slots__, owner._tg_defaults)):
            if isinstance(default, _Fresh):
                ns["_tg_f%d" % i] = default.factory
                params.append("%s=_tg_UNSET" % name)
                body.append("    if %s is _tg_UNSET:" % name)
                body.append("        %s = _tg_f%d()" % (name, i))
            elif default is None:
                params.append("%s=None" % name)
            else:
                ns["_tg_d%d" % i] = default
                params.append("%s=_tg_d%d" % (name, i))
            body.append("    self.%s = %s" % (name, name))
        source = "def __init__(%s):\n%s\n" % (", ".join(params), "\n".join(body) or "    pass")
        exec(compile(source, "<thriftgen slim %s.__init__>" % owner.__qualname__, "exec"), ns)
        init = ns["__init__"]
        init.__qualname__ = owner.__qualname__ + ".__init__"
        init.__module__ = owner.__module__
        hints = owner.__dict__.get("__annotations__", {})
        init.__annotations__ = dict({f: hints[f] for f in owner.__slots__ if f in hints},
                                    **{"return": "None"})
        type.__setattr__(owner, "__init__", init)
        return init  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- thrift_spec

_SCALARS = {
    "t": (TType.BOOL, None), "b": (TType.BYTE, None), "h": (TType.I16, None),
    "i": (TType.I32, None), "q": (TType.I64, None), "d": (TType.DOUBLE, None),
    "s": (TType.STRING, "UTF8"), "y": (TType.STRING, "BINARY"), "u": (TType.UUID, None),
}


class _SpecReader:
    """Reads one ``_tg_spec`` string (grammar in the module doc)."""

    def __init__(self, owner: Any) -> None:
        self.owner = owner
        self.text = owner.__dict__["_tg_spec"]
        self.pos = 0
        self.module = sys.modules[owner.__module__]
        self.structs: list = []  # [Cls, None] lists to fill once the spec is stored

    def fail(self, why: str) -> SpecError:
        return SpecError("%s._tg_spec %r at %d: %s" % (self.owner.__name__, self.text, self.pos,
                                                        why))

    def fields(self) -> list:
        """[(id, required, ttype, args)] in annotation order."""
        text = self.text
        while self.pos < len(text) and text[self.pos] in _FLAGS:
            self.pos += 1
        out = []
        while self.pos < len(text):
            required = text[self.pos] == "!"
            if required:
                self.pos += 1
            start = self.pos
            if self.pos < len(text) and text[self.pos] == "-":
                self.pos += 1
            while self.pos < len(text) and text[self.pos].isdigit():
                self.pos += 1
            try:
                fid = int(text[start:self.pos])
            except ValueError:
                raise self.fail("expected a field id") from None
            ttype, args = self.type()
            out.append((fid, required, ttype, args))
            if self.pos < len(text):
                if text[self.pos] != " ":
                    raise self.fail("expected a space")
                self.pos += 1
        return out

    def type(self) -> tuple:
        text = self.text
        if self.pos >= len(text):
            raise self.fail("expected a type")
        code = text[self.pos]
        self.pos += 1
        scalar = _SCALARS.get(code)
        if scalar is not None:
            return scalar
        if code == "L" or code == "S":
            etype, eargs = self.type()
            return (TType.LIST if code == "L" else TType.SET), (etype, eargs, False)
        if code == "M":
            ktype, kargs = self.type()
            vtype, vargs = self.type()
            return TType.MAP, (ktype, kargs, vtype, vargs, False)
        if code == "<":
            end = text.find(">", self.pos)
            if end < 0:
                raise self.fail("unterminated name")
            name, self.pos = text[self.pos:end], end + 1
            return self.named(name)
        self.pos -= 1
        raise self.fail("unknown type code %r" % code)

    def named(self, dotted: str) -> tuple:
        first, _, rest = dotted.partition(".")
        try:  # through the module: a lazy name is built on this first access
            value = getattr(self.module, first)
            for part in rest.split(".") if rest else ():
                value = getattr(value, part)
        except AttributeError:
            raise self.fail("%r is not defined in %s" % (dotted, self.owner.__module__)) from None
        if isinstance(value, type) and issubclass(value, enum.Enum):
            return TType.I32, value
        if isinstance(value, type):
            args = [value, None]
            self.structs.append(args)
            return TType.STRUCT, args
        raise self.fail("%r is not a class" % dotted)


def _build_spec(owner: Any) -> tuple:
    with _lock:
        spec = owner.__dict__.get("thrift_spec")
        if spec is not None:
            return spec  # type: ignore[no-any-return]
        reader = _SpecReader(owner)
        fields = reader.fields()
        names = owner.__slots__
        if len(fields) != len(names):
            raise SpecError("%s._tg_spec describes %d fields, the class has %d"
                            % (owner.__name__, len(fields), len(names)))
        union = owner.__dict__.get("_tg_is_union", False)
        entries = []
        required = []
        for name, default, (fid, req, ttype, args) in zip(names, owner._tg_defaults, fields):
            if req:
                required.append(name)
            if union or isinstance(default, _Fresh):
                default = None
            entries.append((fid, (fid, ttype, name, args, default)))
        if owner.__dict__.get("_tg_spec_by_declaration", False):
            spec = tuple(e for _, e in sorted(entries, key=lambda x: x[0]))
        elif entries:
            by_id = dict(entries)
            spec = tuple(by_id.get(i) for i in range(max(by_id) + 1))
        else:
            spec = ()
        type.__setattr__(owner, "_tg_required", tuple(required))
        # Stored before the nested specs are looked up: recursive types find it.
        type.__setattr__(owner, "thrift_spec", spec)
        for args in reader.structs:
            args[1] = args[0].thrift_spec
        return spec


class _LazySpec:
    """``thrift_spec`` of a class whose spec is not built yet (a non-data descriptor:
    once built, the class's own ``thrift_spec`` attribute shadows it)."""

    def __get__(self, obj: Any, cls: Any) -> Any:
        owner = _owner(cls)
        if owner is None:
            raise AttributeError("thrift_spec")
        spec = owner.__dict__.get("thrift_spec")
        return spec if spec is not None else _build_spec(owner)


def _required(owner: Any) -> tuple:
    names = owner.__dict__.get("_tg_required")
    if names is None:
        _build_spec(owner)
        names = owner.__dict__["_tg_required"]
    return names  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- base classes
#
# The four bases derive from object (exceptions: Exception) directly and share
# their methods by assignment, not through a common base: every class creation
# looks up ~90 special methods along the new class's MRO, so each extra level
# costs every generated class a few microseconds at import time.


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    owner = _owner(type(self))
    if owner is None:
        raise TypeError("%s is not a generated class" % type(self).__name__)
    _compile_init(owner)(self, *args, **kwargs)


def _validate(self: Any) -> None:
    """Raise ``ProtocolError`` when a required field is unset, or a union has not
    exactly one field set."""
    cls = type(self)
    for name in _required(_owner(cls)):
        if getattr(self, name) is None:
            from .service import missing_required

            raise missing_required(self, name)
    if cls._tg_is_union:
        from .service import check_union

        check_union(self)


def _eq(self: Any, other: object) -> bool:
    if not isinstance(other, type(self)):
        return NotImplemented
    for name in type(self).__slots__:
        if getattr(self, name) != getattr(other, name):
            return False
    return True


def _repr(self: Any) -> str:
    return "%s(%s)" % (type(self).__name__, ", ".join(
        "%s=%r" % (name, getattr(self, name)) for name in type(self).__slots__))


def _read(self: Any, iprot: Any) -> None:
    """Read the fields from an Apache-style protocol object (the runtime's generic path)."""
    from .service import read_struct

    read_struct(self, iprot)


def _write(self: Any, oprot: Any) -> None:
    """Write the struct to an Apache-style protocol object (the runtime's generic path)."""
    from .service import write_struct

    write_struct(self, oprot)


_SPEC = _LazySpec()


class Struct(metaclass=StructMeta):
    """Base of slim structs and unions generated with ``no_default_serdes``."""

    __slots__ = ()
    if TYPE_CHECKING:  # no run-time annotation: get_type_hints needs no typing names
        thrift_spec: ClassVar[Any]
    thrift_spec = _SPEC
    _tg_is_union = False
    __init__ = _init
    validate = _validate
    __eq__ = _eq
    __repr__ = _repr


class SerdesStruct(Struct):
    """Base of slim structs and unions: :class:`Struct` plus Apache-protocol
    ``read`` / ``write``."""

    __slots__ = ()
    read = _read
    write = _write


class Error(Exception, metaclass=StructMeta):
    """Base of slim exceptions generated with ``no_default_serdes``."""

    __slots__ = ()
    if TYPE_CHECKING:  # no run-time annotation: get_type_hints needs no typing names
        thrift_spec: ClassVar[Any]
    thrift_spec = _SPEC
    _tg_is_union = False
    __init__ = _init
    validate = _validate
    __eq__ = _eq
    __repr__ = _repr
    __str__ = _repr
    __hash__ = Exception.__hash__


class SerdesError(Error):
    """Base of slim exceptions: :class:`Error` plus ``read`` / ``write``."""

    __slots__ = ()
    read = _read
    write = _write


# --------------------------------------------------------------------------- lazy modules

_SERVICE_CLASSES = ("Client", "AsyncClient", "Processor")
_WORD: Any = None  # the pattern of a name, compiled on first use


class _LazyModule:
    """Builds the definitions of one generated module on first access (see :func:`lazy`)."""

    def __init__(self, ns: dict, table: dict, code: Any, service: Any, functions: Any) -> None:
        self.ns = ns
        self.table = table
        self.code = code  # the module's code object: the class bodies are its constants
        self.bodies: Any = None  # class name -> body code object, filled on first use
        self.service = service
        self.functions = functions
        self.building: set = set()

    def getattr(self, name: str) -> Any:
        if name not in self.table:
            raise AttributeError("module %r has no attribute %r" % (self.ns["__name__"], name))
        with _lock:
            return self.build(name)

    def dir(self) -> list:
        return sorted(set(self.ns) | set(self.table))

    def __getitem__(self, name: str) -> Any:
        """Name lookup of the alias expressions: module globals, else a lazy name."""
        if name in self.ns:
            return self.ns[name]
        if name in self.table:
            return self.build(name)
        raise KeyError(name)  # eval goes on to the builtins

    def build(self, name: str) -> Any:
        ns = self.ns
        if name in ns:
            return ns[name]
        if name in self.building:  # only reachable through a bug in the table
            raise SpecError("%s.%s is defined in terms of itself" % (ns["__name__"], name))
        self.building.add(name)
        try:
            if self.service is not None and name in _SERVICE_CLASSES:
                self.build_service()
                return ns[name]
            entry = self.table[name]
            if entry[:1] == "=":  # an alias, typedef or constant: a Python expression
                # Its names are looked up through self (the locals mapping): lazy ones
                # are built on the way.
                names: Any = self  # a mapping as far as eval is concerned
                value = eval(entry[1:], ns, names)  # noqa: S307 - text of the module itself
                ns[name] = value
                return value
            value = ns[name] = self.build_class(name, entry)
        finally:
            self.building.discard(name)
        # The names its (string) annotations use: typing.get_type_hints(cls) looks
        # them up in the module dict, which does not reach __getattr__.
        hints = value.__dict__.get("__annotations__")
        if hints:
            self.prepare(_annotation_names(hints))
        return value

    def build_class(self, name: str, bases: str) -> Any:
        if self.bodies is None:
            self.bodies = {c.co_name: c for c in self.code.co_consts
                           if isinstance(c, _CodeType) and c.co_name in self.table}
        body = self.bodies.get(name)
        if body is None:
            raise SpecError("%s.%s: no class body in the module's code"
                            % (self.ns["__name__"], name))
        # Names the body and its lambdas (fresh defaults) read as globals must exist
        # as globals: a dict lookup does not reach the module's __getattr__.
        self.prepare(_names(body))
        args = [self.resolve(b.strip()) for b in bases.split(",") if b.strip()]
        return _build_class(_FunctionType(body, self.ns), name, *args)

    def prepare(self, names: Any) -> None:
        ns, table, building = self.ns, self.table, self.building
        for n in names:
            if n in table and n not in ns and n not in building:
                self.build(n)

    def resolve(self, dotted: str) -> Any:
        first, _, rest = dotted.partition(".")
        value = self.ns[first] if first in self.ns else self.build(first)
        for part in rest.split(".") if rest else ():
            value = getattr(value, part)
        return value

    def build_service(self) -> None:
        # The three classes exist together: binding the function table needs all of them.
        from ._slim_service import Function, bind_service

        ns = self.ns
        classes = [self.build_class(n, self.table[n]) for n in _SERVICE_CLASSES]
        functions = [Function(f[0], f[1], *[self.resolve(c) for c in f[2:]])
                     for f in self.functions]
        client, async_client, processor = classes
        bind_service(self.service, client, async_client, processor, functions)
        for n, cls in zip(_SERVICE_CLASSES, classes):
            ns[n] = cls


def _annotation_names(hints: dict) -> set:
    """The names (and attribute names: harmless extras) in string annotations."""
    global _WORD
    if _WORD is None:
        import re  # not at import time: only building a class needs it

        _WORD = re.compile(r"[A-Za-z_]\w*")
    return set(_WORD.findall(" ".join([h for h in hints.values() if isinstance(h, str)])))


def _names(code: Any) -> set:
    """Global names read by ``code`` and the functions nested in it."""
    out = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, _CodeType):
            out |= _names(c)
    return out


def lazy(ns: dict, table: dict, service: Optional[str] = None,
         functions: Iterable[tuple] = ()) -> None:
    """Make the definitions of a generated module lazy: called at the end of it.

    ``table`` maps each lazy name to the comma-separated bases of its class
    statement (which the module holds under ``if TYPE_CHECKING:``, so type
    checkers see it; its body is a constant of the module's code object) or
    to ``"=" + expression`` for an alias. The module-level ``__getattr__``
    (PEP 562) builds a name on first access and stores it in the module, so
    later accesses are plain lookups and the object's identity never
    changes. A service module also passes its name and function table
    (``(wire name, method name, args class name[, result class name])``):
    ``Client``, ``AsyncClient`` and ``Processor`` are then built and bound
    together.
    """
    module = _LazyModule(ns, table, sys._getframe(1).f_code, service, tuple(functions))
    ns["__getattr__"] = module.getattr
    ns["__dir__"] = module.dir


def attach(ns: dict, spec: tuple, api: tuple = (1, "0.1.0")) -> "_LazyModule":
    """The lazy builder of a generated module, made on its first use.

    Generated modules do not import the runtime: their ``__getattr__`` /
    ``__dir__`` call this on first use with ``_TG_LAZY``, ``(table[, service,
    functions])`` as :func:`lazy` takes them, so importing a package of them
    costs only their own modules. The module's code object (its class bodies are
    constants of it) comes from its loader, the way the import got it. ``api``:
    ``(runtime API level, thriftgen version)`` the module was generated for (see
    :mod:`thriftgen.runtime._api`); checked here, on first use."""
    require_api(api[0], api[1], ns.get("__name__", "generated code"))
    with _lock:
        current = ns.get("__getattr__")
        module = getattr(current, "__self__", None)
        if isinstance(module, _LazyModule):
            return module
        loader = ns.get("__loader__")
        get_code = getattr(loader, "get_code", None)
        if get_code is None:
            raise SpecError("%s: its loader cannot give its code object; "
                            "generate it again to load it this way" % ns["__name__"])
        table = spec[0]
        service = spec[1] if len(spec) > 1 else None
        functions = tuple(spec[2]) if len(spec) > 2 else ()
        ns.setdefault("_tg", sys.modules[__name__])
        module = _LazyModule(ns, table, get_code(ns["__name__"]), service, functions)
        ns["__getattr__"] = module.getattr
        ns["__dir__"] = module.dir
        return module


_SERVICE_NAMES = ("Client", "AsyncClient", "Processor", "Function", "bind_service")


def __getattr__(name: str) -> Any:
    # Service modules only: structs-only packages never import the RPC runtime.
    if name in _SERVICE_NAMES:
        from . import _slim_service

        return getattr(_slim_service, name)
    if name == "FrozenDict":  # constants with frozen maps
        from .service import FrozenDict

        return FrozenDict
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
