"""Typed AST of a Thrift IDL document.

Every node carries a ``loc`` (file, line, column of its first token); definitions,
fields, functions, enum values and headers also carry a ``span`` (start/end byte
offsets into the decoded source text, end exclusive) so that tools such as the
trimmer can cut the original text instead of re-printing it.

Locations, spans and raw comment text are excluded from equality: two ASTs are
equal when they describe the same IDL, wherever it was written. That is what the
printer round-trip relies on.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Iterator, Optional, Union


# Loc and Span are small tuple subclasses rather than dataclasses: the parser
# makes one per node, hundreds of thousands on a large IDL. Hot paths build them
# with ``Loc.of``/``Span.of`` (tuple.__new__ directly, no Python-level __init__).
_tuple_new = tuple.__new__


class Loc(tuple):
    """(file, line, col); line and column are 1-based, columns count characters."""

    __slots__ = ()
    file = property(operator.itemgetter(0))
    line = property(operator.itemgetter(1))
    col = property(operator.itemgetter(2))

    def __new__(cls, file: str, line: int, col: int) -> "Loc":
        return _tuple_new(cls, (file, line, col))

    def __getnewargs__(self):
        return tuple(self)

    @staticmethod
    def of(file: str, line: int, col: int) -> "Loc":
        return _tuple_new(Loc, (file, line, col))

    def __str__(self) -> str:
        return f"{self[0]}:{self[1]}:{self[2]}"

    def __repr__(self) -> str:
        return f"Loc({self[0]!r}, {self[1]}, {self[2]})"


class Span(tuple):
    """(start, end) character offsets into the decoded source, end exclusive."""

    __slots__ = ()
    start = property(operator.itemgetter(0))
    end = property(operator.itemgetter(1))

    def __new__(cls, start: int, end: int) -> "Span":
        return _tuple_new(cls, (start, end))

    def __getnewargs__(self):
        return tuple(self)

    @staticmethod
    def of(start: int, end: int) -> "Span":
        return _tuple_new(Span, (start, end))

    def __repr__(self) -> str:
        return f"Span({self[0]}, {self[1]})"


NO_LOC = Loc("<unknown>", 0, 0)
NO_SPAN = Span(0, 0)


def _loc() -> Loc:
    return field(default=NO_LOC, compare=False, repr=False)  # type: ignore[return-value]


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)  # type: ignore[return-value]


@dataclass(slots=True)
class Annotation:
    key: str
    value: Optional[str]  # None for a bare flag: ``(python.immutable)``
    loc: Loc = _loc()


Annotations = tuple  # tuple[Annotation, ...]; a plain tuple keeps nodes hashable-ish and cheap


def annotation_values(annotations: tuple, key: str) -> list[Optional[str]]:
    """All values of ``key`` (repeated keys collect into a list, as thriftgo does)."""
    return [a.value for a in annotations if a.key == key]


# --------------------------------------------------------------------------- types

BASE_TYPE_NAMES = frozenset(
    ["bool", "byte", "i8", "i16", "i32", "i64", "double", "string", "binary", "uuid", "slist"]
)


@dataclass(slots=True)
class BaseType:
    """``bool byte i8 i16 i32 i64 double string binary uuid``; ``slist`` is legacy."""

    name: str
    annotations: tuple = ()
    loc: Loc = _loc()


@dataclass(slots=True)
class ListType:
    elem: "TypeRef"
    annotations: tuple = ()
    cpp_type: Optional[str] = None
    loc: Loc = _loc()


@dataclass(slots=True)
class SetType:
    elem: "TypeRef"
    annotations: tuple = ()
    cpp_type: Optional[str] = None
    loc: Loc = _loc()


@dataclass(slots=True)
class MapType:
    key: "TypeRef"
    value: "TypeRef"
    annotations: tuple = ()
    cpp_type: Optional[str] = None
    loc: Loc = _loc()


@dataclass(slots=True)
class NamedType:
    """A reference by name: ``Foo`` or ``included_file.Foo``; resolved by the loader."""

    name: str
    annotations: tuple = ()
    loc: Loc = _loc()


TypeRef = Union[BaseType, ListType, SetType, MapType, NamedType]


# --------------------------------------------------------------------------- const values


@dataclass(slots=True)
class ConstInt:
    value: int
    loc: Loc = _loc()


@dataclass(slots=True)
class ConstDouble:
    value: float
    loc: Loc = _loc()

    def __eq__(self, other: object) -> bool:
        # NaN cannot be written in IDL, so plain float equality is enough; keep
        # 1.0 == ConstDouble(1.0) distinct from ConstInt(1) via the type check.
        return isinstance(other, ConstDouble) and other.value == self.value


@dataclass(slots=True)
class ConstString:
    value: str
    loc: Loc = _loc()


@dataclass(slots=True)
class ConstRef:
    """An identifier used as a value: a const, ``Enum.MEMBER`` or ``inc.Enum.MEMBER``."""

    name: str
    loc: Loc = _loc()


@dataclass(slots=True)
class ConstList:
    items: list
    loc: Loc = _loc()


@dataclass(slots=True)
class ConstMap:
    items: list  # list[tuple[ConstValue, ConstValue]]
    loc: Loc = _loc()


ConstValue = Union[ConstInt, ConstDouble, ConstString, ConstRef, ConstList, ConstMap]


# --------------------------------------------------------------------------- headers


@dataclass(slots=True)
class Include:
    path: str
    loc: Loc = _loc()
    span: Span = _span()

    @property
    def alias(self) -> str:
        """The name other files use to refer to it: the file's base name sans extension."""
        base = self.path.replace("\\", "/").rsplit("/", 1)[-1]
        return base[:-7] if base.endswith(".thrift") else base.rsplit(".", 1)[0]


@dataclass(slots=True)
class CppInclude:
    path: str
    loc: Loc = _loc()
    span: Span = _span()


@dataclass(slots=True)
class Namespace:
    scope: str  # "py", "java", "*", ...
    name: str
    annotations: tuple = ()
    loc: Loc = _loc()
    span: Span = _span()


Header = Union[Include, CppInclude, Namespace]


# --------------------------------------------------------------------------- definitions

REQUIRED = "required"
OPTIONAL = "optional"
DEFAULT = "default"  # neither keyword given


@dataclass(slots=True)
class Field:
    id: int
    name: str
    type: TypeRef
    requiredness: str = DEFAULT
    default: Optional[ConstValue] = None
    explicit_id: bool = True  # False when the IDL gave no id (Apache: negative, warned)
    reference: bool = False  # the ``&`` marker
    doc: Optional[str] = None
    annotations: tuple = ()
    loc: Loc = _loc()
    span: Span = _span()


@dataclass(slots=True)
class Typedef:
    name: str
    type: TypeRef
    doc: Optional[str] = None
    annotations: tuple = ()
    loc: Loc = _loc()
    span: Span = _span()
    leading_comments: tuple = field(default=(), compare=False, repr=False)


@dataclass(slots=True)
class Const:
    name: str
    type: TypeRef
    value: ConstValue
    doc: Optional[str] = None
    annotations: tuple = ()
    loc: Loc = _loc()
    span: Span = _span()
    leading_comments: tuple = field(default=(), compare=False, repr=False)


@dataclass(slots=True)
class EnumValue:
    name: str
    value: int  # resolved (implicit values count up from the previous one)
    explicit: bool = True
    doc: Optional[str] = None
    annotations: tuple = ()
    loc: Loc = _loc()
    span: Span = _span()


@dataclass(slots=True)
class Enum:
    name: str
    values: list = field(default_factory=list)  # list[EnumValue]
    doc: Optional[str] = None
    annotations: tuple = ()
    loc: Loc = _loc()
    span: Span = _span()
    leading_comments: tuple = field(default=(), compare=False, repr=False)


@dataclass(slots=True)
class Senum:
    """Legacy string enum (``senum``); accepted with a warning."""

    name: str
    values: list = field(default_factory=list)  # list[str]
    doc: Optional[str] = None
    annotations: tuple = ()
    loc: Loc = _loc()
    span: Span = _span()
    leading_comments: tuple = field(default=(), compare=False, repr=False)


STRUCT = "struct"
UNION = "union"
EXCEPTION = "exception"


@dataclass(slots=True)
class Struct:
    """``struct``, ``union`` or ``exception`` (see ``kind``)."""

    kind: str
    name: str
    fields: list = field(default_factory=list)  # list[Field]
    doc: Optional[str] = None
    annotations: tuple = ()
    loc: Loc = _loc()
    span: Span = _span()
    leading_comments: tuple = field(default=(), compare=False, repr=False)


@dataclass(slots=True)
class Function:
    name: str
    return_type: Optional[TypeRef]  # None for void
    args: list = field(default_factory=list)  # list[Field]
    throws: list = field(default_factory=list)  # list[Field]
    oneway: bool = False
    doc: Optional[str] = None
    annotations: tuple = ()
    loc: Loc = _loc()
    span: Span = _span()


@dataclass(slots=True)
class Service:
    name: str
    extends: Optional[str] = None  # "Base" or "inc.Base"
    functions: list = field(default_factory=list)  # list[Function]
    doc: Optional[str] = None
    annotations: tuple = ()
    loc: Loc = _loc()
    span: Span = _span()
    leading_comments: tuple = field(default=(), compare=False, repr=False)
    extends_loc: Loc = _loc()


Definition = Union[Typedef, Const, Enum, Senum, Struct, Service]


@dataclass(slots=True)
class Comment:
    text: str  # raw, including the ``//``, ``#`` or ``/* */`` markers
    span: Span
    doc: bool = False  # a ``/** */`` comment


@dataclass(slots=True)
class Document:
    """One parsed ``.thrift`` file."""

    path: str
    headers: list = field(default_factory=list)  # list[Header], in source order
    definitions: list = field(default_factory=list)  # list[Definition], in source order
    comments: list = field(default_factory=list, compare=False, repr=False)
    source_len: int = field(default=0, compare=False, repr=False)

    @property
    def includes(self) -> list[Include]:
        return [h for h in self.headers if isinstance(h, Include)]

    @property
    def namespaces(self) -> list[Namespace]:
        return [h for h in self.headers if isinstance(h, Namespace)]

    @property
    def cpp_includes(self) -> list[CppInclude]:
        return [h for h in self.headers if isinstance(h, CppInclude)]

    def namespace(self, scope: str) -> Optional[str]:
        """The namespace for ``scope``, falling back to ``namespace *``."""
        star = None
        for ns in self.namespaces:
            if ns.scope == scope:
                return ns.name
            if ns.scope == "*":
                star = ns.name
        return star

    def structs(self) -> Iterator[Struct]:
        return (d for d in self.definitions if isinstance(d, Struct))

    def services(self) -> Iterator[Service]:
        return (d for d in self.definitions if isinstance(d, Service))


def walk_type(t: TypeRef) -> Iterator[TypeRef]:
    """``t`` and every type nested inside it (container elements, keys, values)."""
    stack = [t]
    while stack:
        cur = stack.pop()
        yield cur
        if isinstance(cur, (ListType, SetType)):
            stack.append(cur.elem)
        elif isinstance(cur, MapType):
            stack.append(cur.value)
            stack.append(cur.key)


def definition_kind(d: Definition) -> str:
    """The IDL keyword of a definition (``struct``, ``union``, ``enum``, ...)."""
    if isinstance(d, Struct):
        return d.kind
    return {
        Typedef: "typedef",
        Const: "const",
        Enum: "enum",
        Senum: "senum",
        Service: "service",
    }[type(d)]


def _pickle_by_constructor(classes) -> None:
    """Pickle nodes as ``(class, field values)``: calling the dataclass ``__init__``
    again. Half the bytes of the default slot-state dict per node and faster both
    ways; it matters where ASTs cross processes (the parallel parse hands each
    worker's ASTs back pickled) and in the parse cache. Every field is an
    ``__init__`` parameter (checked below), so nothing is lost."""
    from dataclasses import fields

    for cls in classes:
        assert all(f.init for f in fields(cls)), cls
        cls.__reduce_ex__ = _constructor_reducer([f.name for f in fields(cls)])


def _constructor_reducer(names: list):
    if len(names) == 1:
        one = operator.attrgetter(names[0])
        return lambda self, _protocol: (type(self), (one(self),))
    many = operator.attrgetter(*names)  # a tuple of the values, in __init__ order
    return lambda self, _protocol: (type(self), many(self))

_pickle_by_constructor([c for c in list(globals().values())
                        if isinstance(c, type) and c.__module__ == __name__
                        and hasattr(c, "__dataclass_fields__")])
