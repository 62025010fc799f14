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
  wrapped in parentheses when that makes it fit.

That is what makes ``-thrift no_fmt`` output byte-identical to black's (the
tests run black over every fixture to prove it). Widths are measured like
black measures them (East Asian wide characters count two).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence, Union

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
    def flat(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Atom(Expr):
    """Text black never splits (a name, a number, a string literal, ``x.y``)."""

    text: str

    def flat(self) -> str:
        return self.text


@dataclass(frozen=True)
class Group(Expr):
    """``open item, item close``: a call, subscript, parameter list or display.

    ``open`` includes what precedes the bracket (``"Foo("``, ``"Optional["``).
    ``display`` marks tuple/list/set/dict literals (black always explodes
    them one item per line when they do not fit and have several items).
    ``one_tuple`` renders ``(x,)``.
    """

    open: str
    items: tuple
    close: str
    display: bool = False
    one_tuple: bool = False

    def body(self) -> str:
        # Memoized (outside the dataclass fields): layout asks a nested group for its
        # text at every level it tries.
        text = self.__dict__.get("_body")
        if text is None:
            text = ", ".join([i.flat() for i in self.items])
            if self.one_tuple:
                text += ","
            self.__dict__["_body"] = text
        return text

    def flat(self) -> str:
        return self.open + self.body() + self.close


@dataclass(frozen=True)
class Seq(Expr):
    """Parts written next to each other (``key: value``, ``name=value``, ...)."""

    parts: tuple

    def flat(self) -> str:
        text = self.__dict__.get("_flat")
        if text is None:
            text = self.__dict__["_flat"] = "".join([p.flat() for p in self.parts])
        return text


ExprLike = Union[Expr, str]


def _as_expr(e: ExprLike) -> Expr:
    return Atom(e) if isinstance(e, str) else e


def seq(*parts: ExprLike) -> Expr:
    exprs = tuple(_as_expr(p) for p in parts)
    return exprs[0] if len(exprs) == 1 else Seq(exprs)


def call(func: str, args: Iterable[ExprLike] = ()) -> Group:
    return Group(func + "(", tuple(_as_expr(a) for a in args), ")")


def kwarg(name: str, value: ExprLike) -> Expr:
    return seq(name + "=", value)


def subscript(base: str, args: Sequence[ExprLike]) -> Group:
    return Group(base + "[", tuple(_as_expr(a) for a in args), "]")


def tuple_(items: Sequence[ExprLike]) -> Group:
    items = tuple(_as_expr(i) for i in items)
    return Group("(", items, ")", display=True, one_tuple=len(items) == 1)


def list_(items: Sequence[ExprLike]) -> Group:
    return Group("[", tuple(_as_expr(i) for i in items), "]", display=True)


def set_(items: Sequence[ExprLike]) -> Expr:
    if not items:
        return Atom("set()")
    return Group("{", tuple(_as_expr(i) for i in items), "}", display=True)


def dict_(items: Sequence[tuple]) -> Group:
    return Group("{", tuple(seq(_as_expr(k), ": ", _as_expr(v)) for k, v in items), "}",
                 display=True)


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


def _fits(indent: str, text: str) -> bool:
    if text.isascii() and indent.isascii():  # the common case, without a call
        return len(indent) + len(text) <= LINE_LENGTH
    return str_width(indent) + str_width(text) <= LINE_LENGTH


def _split(parts: list, idx: int, indent: str) -> list[str]:
    """Split the line at the Group ``parts[idx]`` (head / body / tail)."""
    group = parts[idx]
    head = _flat(parts[:idx]) + group.open
    tail = group.close + _flat(parts[idx + 1:])
    inner = indent + INDENT
    body = group.body()
    explode = group.display and len(group.items) >= 2
    if not explode and _fits(inner, body):
        return [indent + head, inner + body, indent + tail]
    lines = [indent + head]
    _exploded(group.items, inner, lines)
    lines.append(indent + tail)
    return lines


def _exploded(items: tuple, inner: str, lines: list) -> None:
    """One item per line with a trailing comma (``_line`` of each, the common case
    of an item that fits inlined)."""
    for item in items:
        text = item.flat() + ","
        if _fits(inner, text):
            lines.append(inner + text)
        else:
            lines.extend(_line(_parts(item) + [Atom(",")], inner))


def _line(parts: list, indent: str, assignment: bool = False) -> list[str]:
    text = _flat(parts)
    if _fits(indent, text):
        return [indent + text]
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
    parts = ([Atom(head)] if head else []) + _parts(expr) + ([Atom(tail)] if tail else [])
    return "\n".join(_line(parts, indent, assignment))


def assign(target: str, value: ExprLike, indent: str = "") -> str:
    """``target = value`` (``target`` may carry an annotation: ``X: int``)."""
    return layout(value, indent, head=f"{target} = ", assignment=True)


def def_line(name: str, params: Sequence[ExprLike], returns: str, indent: str = "",
             keyword: str = "def") -> str:
    """``def name(params) -> returns:`` (black's left-hand split on the parameters);
    ``keyword="async def"`` for a coroutine."""
    group = Group(f"{keyword} {name}(", tuple(_as_expr(p) for p in params), ")")
    tail = f") -> {returns}:"
    text = group.open + group.body() + tail
    if _fits(indent, text):
        return indent + text
    inner = indent + INDENT
    body = group.body()
    if _fits(inner, body):
        if len(group.items) == 1:
            body += ","  # black adds a comma when the split body has none
        return "\n".join([indent + group.open, inner + body, indent + tail])
    lines = [indent + group.open]
    _exploded(group.items, inner, lines)
    lines.append(indent + tail)
    return "\n".join(lines)


__all__ = [
    "Atom", "Group", "Seq", "Expr", "seq", "call", "kwarg", "subscript", "tuple_", "list_",
    "set_", "dict_", "layout", "assign", "def_line", "str_width", "LINE_LENGTH",
]
