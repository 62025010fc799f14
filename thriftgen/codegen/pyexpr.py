"""Python expressions as small trees, laid out exactly as black would.

The view model builds every data-dependent piece of code (spec tuples,
``__slots__``, signatures, constant values, calls) as an :class:`Expr` and
renders it with :func:`layout`, which reproduces black's line splitting for
the shapes the generator emits:

* a line that fits in 88 columns stays on one line;
* otherwise the *last* bracket pair of the line is split (black's
  right-hand split; for ``def`` lines the *first*, black's left-hand split);
* a tuple/list/set/dict display with two or more items is then exploded one
  item per line with a trailing comma; any other bracket (a call, a
  subscript, a parameter list) keeps its contents on one indented line when
  they fit, and is exploded otherwise;
* an assignment whose right side has no brackets and does not fit gets
  wrapped in parentheses when that makes it fit; so does one whose left side
  has brackets (``x: Dict[K, V] = f(...)``) when the line up to the value's
  last bracket does not fit.

That is what makes ``-thrift no_fmt`` output byte-identical to black's (the
tests run black over every fixture to prove it). Widths are measured like
black measures them (East Asian wide characters count two).
"""

from __future__ import annotations

import unicodedata
from typing import Iterable, Optional, Sequence, Union

LINE_LENGTH = 88
INDENT = "    "


def _fallback_width(text: str) -> int:
    total = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        total += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return total


def str_width(text: str) -> int:
    """Display width of ``text`` as black counts it (its own table when available)."""
    if text.isascii():
        return len(text)
    try:
        from black.strings import str_width as black_width
    except ImportError:  # pragma: no cover - black is a dependency of the tool
        return _fallback_width(text)
    return black_width(text)


class Expr:
    __slots__ = ()

    def flat(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _key(self) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self)
                and self._key() == other._key())  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self._key()))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self._key()!r}"


# The expression classes are built in the hot loops of the view model: plain slotted
# classes (set through object.__setattr__, immutable afterwards) rather than frozen
# dataclasses, whose __init__ costs several times more.

_set = object.__setattr__


class Atom(Expr):
    """Text black never splits (a name, a number, a string literal, ``x.y``)."""

    __slots__ = ("text",)
    text: str

    def __init__(self, text: str):
        _set(self, "text", text)

    def flat(self) -> str:
        return self.text

    def _key(self) -> tuple:
        return (self.text,)


class Group(Expr):
    """``open item, item close``: a call, subscript, parameter list or display.

    ``open`` includes what precedes the bracket (``"Foo("``, ``"Optional["``).
    ``display`` marks tuple/list/set/dict literals (black always explodes
    them one item per line when they do not fit and have several items).
    ``one_tuple`` renders ``(x,)``.
    """

    __slots__ = ("open", "items", "close", "display", "one_tuple", "_body")
    open: str
    items: tuple
    close: str
    display: bool
    one_tuple: bool
    _body: Optional[str]

    def __init__(self, open: str, items: tuple, close: str, display: bool = False,
                 one_tuple: bool = False):
        _set(self, "open", open)
        _set(self, "items", items)
        _set(self, "close", close)
        _set(self, "display", display)
        _set(self, "one_tuple", one_tuple)
        _set(self, "_body", None)

    def body(self) -> str:
        # Memoized: layout asks a nested group for its text at every level it tries.
        text = self._body
        if text is None:
            text = ", ".join([i.flat() for i in self.items])
            if self.one_tuple:
                text += ","
            _set(self, "_body", text)
        return text

    def flat(self) -> str:
        return self.open + self.body() + self.close

    def _key(self) -> tuple:
        return (self.open, self.items, self.close, self.display, self.one_tuple)


class Seq(Expr):
    """Parts written next to each other (``key: value``, ``name=value``, ...)."""

    __slots__ = ("parts", "_flat")
    parts: tuple
    _flat: Optional[str]

    def __init__(self, parts: tuple):
        _set(self, "parts", parts)
        _set(self, "_flat", None)

    def flat(self) -> str:
        text = self._flat
        if text is None:
            text = "".join([p.flat() for p in self.parts])
            _set(self, "_flat", text)
        return text

    def _key(self) -> tuple:
        return (self.parts,)


ExprLike = Union[Expr, str]


def _as_expr(e: ExprLike) -> Expr:
    return Atom(e) if isinstance(e, str) else e


def _exprs(items: Iterable[ExprLike]) -> tuple:
    return tuple([Atom(i) if isinstance(i, str) else i for i in items])


def seq(*parts: ExprLike) -> Expr:
    if len(parts) == 1:
        return _as_expr(parts[0])
    return Seq(_exprs(parts))


def call(func: str, args: Iterable[ExprLike] = ()) -> Group:
    return Group(func + "(", _exprs(args), ")")


def kwarg(name: str, value: ExprLike) -> Expr:
    return seq(name + "=", value)


def subscript(base: str, args: Sequence[ExprLike]) -> Group:
    return Group(base + "[", _exprs(args), "]")


def tuple_(items: Sequence[ExprLike]) -> Group:
    items = _exprs(items)
    return Group("(", items, ")", True, len(items) == 1)


def list_(items: Sequence[ExprLike]) -> Group:
    return Group("[", _exprs(items), "]", True)


def set_(items: Sequence[ExprLike]) -> Expr:
    if not items:
        return Atom("set()")
    return Group("{", _exprs(items), "}", True)


def dict_(items: Sequence[tuple]) -> Group:
    return Group("{", tuple([seq(k, ": ", v) for k, v in items]), "}", True)


# --------------------------------------------------------------------------- layout


def _parts(e: Expr) -> list:
    """Flatten nested Seqs into a list of Atoms and Groups."""
    if isinstance(e, Seq):
        out: list = []
        for p in e.parts:
            out.extend(_parts(p))
        return out
    return [e]


def _flat(parts: Sequence[Expr]) -> str:
    return "".join([p.flat() for p in parts])


def fits(indent: str, text: str) -> bool:
    """``indent + text`` fits on one line (what :func:`layout` leaves alone)."""
    if text.isascii() and indent.isascii():  # the common case, without a call
        return len(indent) + len(text) <= LINE_LENGTH
    return str_width(indent) + str_width(text) <= LINE_LENGTH


_fits = fits


def _split(parts: list, idx: int, indent: str) -> list[str]:
    """Split the line at the Group ``parts[idx]`` (head / body / tail)."""
    group = parts[idx]
    return _split_group(indent, _flat(parts[:idx]) + group.open, group,
                        group.close + _flat(parts[idx + 1:]))


def _split_group(indent: str, head: str, group: Group, tail: str) -> list[str]:
    inner = indent + INDENT
    explode = group.display and len(group.items) >= 2
    if not explode:
        body = group.body()
        if _fits(inner, body):
            return [indent + head, inner + body, indent + tail]
    lines = [indent + head]
    _exploded(group.items, inner, lines)
    lines.append(indent + tail)
    return lines


def _exploded(items: Sequence, inner: str, lines: list) -> None:
    """One item per line with a trailing comma (``_line`` of each, the common case
    of an item that fits inlined). A ``str`` item is an atom: never split."""
    room = LINE_LENGTH - str_width(inner)  # for ASCII items (most), fits() without a call
    append = lines.append
    for item in items:
        if isinstance(item, str):
            append(inner + item + ",")
            continue
        text = item.flat() + ","
        if len(text) <= room and text.isascii() or not text.isascii() and _fits(inner, text):
            append(inner + text)
        else:
            lines.extend(_line(_parts(item) + [Atom(",")], inner))


def _rhs_in_parens(parts: list, indent: str) -> Optional[list]:
    """black's choice for ``lhs = value(...)`` that does not fit, when ``lhs`` has
    brackets (an annotation such as ``x: Dict[K, V]``): it splits at the value's last
    bracket only if the line up to that bracket fits (or a bracket closes between
    ``=`` and it); otherwise it wraps the whole value in parentheses
    (``_prefer_split_rhs_oop_over_rhs`` in black's linegen). None: not that case."""
    head = parts[0].flat() if isinstance(parts[0], Atom) else ""
    if not head.endswith(" = ") or not any(c in head[:-3] for c in "[("):
        return None
    if str_width(indent) + str_width(head) + 1 > LINE_LENGTH - 1:
        return None  # the left side is too long itself: black splits at the last bracket
    last = parts[-1]
    if not (isinstance(last, Group) and last.items) or len(parts) < 2:
        return None
    between = _flat(parts[1:-1])
    if any(c in between for c in ")]}"):
        return None
    if _fits(indent, _flat(parts[:-1]) + last.open):
        return None
    return [indent + head + "("] + _line(parts[1:], indent + INDENT) + [indent + ")"]


def _line(parts: list, indent: str, assignment: bool = False) -> list[str]:
    text = _flat(parts)
    if _fits(indent, text):
        return [indent + text]
    if assignment:
        wrapped = _rhs_in_parens(parts, indent)
        if wrapped is not None:
            return wrapped
    for idx in range(len(parts) - 1, -1, -1):
        part = parts[idx]
        if isinstance(part, Group) and part.items:
            return _split(parts, idx, indent)
        if isinstance(part, Group):
            break  # an empty bracket pair: black leaves such lines alone
    if assignment and len(parts) >= 2:
        # ``x = "long atom"``: black wraps the value in parentheses if that makes
        # it fit; after an annotation (``x: T = "long"``) it always does.
        head, value = _flat(parts[:-1]), parts[-1].flat()
        annotated = ":" in head.split("=", 1)[0]
        if head.endswith(" = ") and (annotated or _fits(indent + INDENT, value)):
            return [indent + head + "(", indent + INDENT + value, indent + ")"]
    return [indent + text]


def layout(expr: ExprLike, indent: str = "", head: str = "", tail: str = "",
           assignment: bool = False) -> str:
    """Lines of ``head + expr + tail`` at ``indent`` as black lays them out."""
    expr = _as_expr(expr)
    text = head + expr.flat() + tail
    if _fits(indent, text):  # most lines: what _line would return, without the parts
        return indent + text
    if isinstance(expr, Group) and expr.items and not tail:
        # The line's last bracket pair is the expression's own: where _line splits.
        return "\n".join(_split_group(indent, head + expr.open, expr, expr.close))
    parts = ([Atom(head)] if head else []) + _parts(expr) + ([Atom(tail)] if tail else [])
    return "\n".join(_line(parts, indent, assignment))


def assign(target: str, value: ExprLike, indent: str = "") -> str:
    """``target = value`` (``target`` may carry an annotation: ``X: int``)."""
    return layout(value, indent, head=f"{target} = ", assignment=True)


def def_line(name: str, params: Sequence[ExprLike], returns: str, indent: str = "",
             keyword: str = "def") -> str:
    """``def name(params) -> returns:`` (black's left-hand split on the parameters);
    ``keyword="async def"`` for a coroutine."""
    open_ = f"{keyword} {name}("
    body = ", ".join([p if isinstance(p, str) else p.flat() for p in params])
    tail = f") -> {returns}:"
    text = open_ + body + tail
    if _fits(indent, text):
        return indent + text
    inner = indent + INDENT
    if _fits(inner, body):
        if len(params) == 1:
            body += ","  # black adds a comma when the split body has none
        return "\n".join([indent + open_, inner + body, indent + tail])
    lines = [indent + open_]
    _exploded(params, inner, lines)
    lines.append(indent + tail)
    return "\n".join(lines)


def assign_tuple(target: str, items: Sequence[ExprLike], indent: str = "") -> str:
    """``assign(target, tuple_(items), indent)`` without making atoms of the ``str``
    items (a statement the view model writes for every class)."""
    if len(items) < 2:
        return assign(target, tuple_(items), indent)
    head = f"{target} = ("
    text = head + ", ".join([i if isinstance(i, str) else i.flat() for i in items]) + ")"
    if _fits(indent, text):
        return indent + text
    # Exploded one item per line, as layout() does a display of two or more items.
    lines = [indent + head]
    _exploded(items, indent + INDENT, lines)
    lines.append(indent + ")")
    return "\n".join(lines)


__all__ = [
    "Atom", "Group", "Seq", "Expr", "seq", "call", "kwarg", "subscript", "tuple_", "list_",
    "set_", "dict_", "layout", "assign", "assign_tuple", "def_line", "fits", "str_width",
    "LINE_LENGTH",
]
