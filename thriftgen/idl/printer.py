"""Renders an AST back to Thrift IDL text.

The output re-parses (``thriftgen.idl.grammar.parse_text``) to an AST equal to
the input for everything the parser can produce: docs, annotations on every
node that carries them, ``cpp_type``, ``&``, implicit field ids and enum values,
exact doubles. Layout is fixed (2-space indent, one member per line, trailing
``,`` after members) so the output is deterministic.

Limits, all outside what a parse can produce: ``Const.annotations`` have no IDL
syntax and are not printed; a doc containing ``*/`` is printed with ``* /``; a
multi-line doc whose lines all share leading whitespace loses it (the parser
dedents docs); NaN prints as ``nan`` (IDL has no way to write it).
"""

from __future__ import annotations

import math
from typing import Optional

from thriftgen.idl import ast

INDENT = "  "
#: Const lists/maps longer than this on one line are broken one item per line.
INLINE_WIDTH = 72

_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def quote_string(s: str) -> str:
    """A Thrift string literal for ``s``.

    Only ``\\n \\r \\t \\" \\' \\\\`` exist as escapes; every other character is
    written as itself (the lexer accepts anything but a raw newline inside quotes).
    """
    quote = "'" if '"' in s and "'" not in s else '"'
    out = []
    for ch in s:
        if ch == quote:
            out.append("\\" + ch)
        else:
            out.append(_ESCAPES.get(ch, ch))
    return quote + "".join(out) + quote


def _double(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        # Overflows back to +-inf when re-read; the lexer has no "inf" literal.
        return "1e999" if x > 0 else "-1e999"
    # repr is the shortest text that reads back to the same float, and always has
    # a '.' or an exponent, so it lexes as a double, never as an int.
    return repr(float(x))


# --------------------------------------------------------------------------- types


def _annotations(annos: tuple) -> str:
    if not annos:
        return ""
    parts = [a.key if a.value is None else f"{a.key} = {quote_string(a.value)}" for a in annos]
    return " (" + ", ".join(parts) + ")"


def _cpp_type(t, before_bracket: bool = False) -> str:
    if t.cpp_type is None:
        return ""
    return f" cpp_type {quote_string(t.cpp_type)}" + (" " if before_bracket else "")


def print_type(t: ast.TypeRef) -> str:
    """IDL text of a type reference, with its annotations and ``cpp_type``."""
    if isinstance(t, (ast.BaseType, ast.NamedType)):
        text = t.name
    elif isinstance(t, ast.ListType):
        # The grammar puts a list's cpp_type after the '>', a set's/map's before '<'.
        text = f"list<{print_type(t.elem)}>{_cpp_type(t)}"
    elif isinstance(t, ast.SetType):
        text = f"set{_cpp_type(t, True)}<{print_type(t.elem)}>"
    elif isinstance(t, ast.MapType):
        text = f"map{_cpp_type(t, True)}<{print_type(t.key)}, {print_type(t.value)}>"
    else:
        raise TypeError(f"not a type reference: {t!r}")
    return text + _annotations(t.annotations)


# --------------------------------------------------------------------------- const values


def print_const_value(v: ast.ConstValue) -> str:
    """IDL text of a constant value on one line."""
    return _const(v, 0, inline_only=True)


def _const(v: ast.ConstValue, level: int, inline_only: bool = False) -> str:
    if isinstance(v, ast.ConstInt):
        return str(int(v.value))
    if isinstance(v, ast.ConstDouble):
        return _double(v.value)
    if isinstance(v, ast.ConstString):
        return quote_string(v.value)
    if isinstance(v, ast.ConstRef):
        return v.name
    if isinstance(v, ast.ConstList):
        parts = [_const(i, level + 1, True) for i in v.items]
        inline = "[" + ", ".join(parts) + "]"
        if inline_only or len(inline) <= INLINE_WIDTH:
            return inline
        pad = INDENT * (level + 1)
        body = "".join(f"{pad}{_const(i, level + 1)},\n" for i in v.items)
        return f"[\n{body}{INDENT * level}]"
    if isinstance(v, ast.ConstMap):
        parts = [f"{_const(k, level + 1, True)}: {_const(x, level + 1, True)}" for k, x in v.items]
        inline = "{" + ", ".join(parts) + "}"
        if inline_only or len(inline) <= INLINE_WIDTH:
            return inline
        pad = INDENT * (level + 1)
        body = "".join(
            f"{pad}{_const(k, level + 1)}: {_const(x, level + 1)},\n" for k, x in v.items
        )
        return f"{{\n{body}{INDENT * level}}}"
    raise TypeError(f"not a constant value: {v!r}")


# --------------------------------------------------------------------------- docs


def _doc_lines(doc: Optional[str], level: int) -> list[str]:
    """A ``/** */`` comment that the parser cleans back to ``doc``."""
    if doc is None:
        return []
    pad = INDENT * level
    # '*/' would end the comment early; nothing the parser produces contains it.
    doc = doc.replace("*/", "* /")
    if "\n" not in doc and doc == doc.strip():
        return [f"{pad}/** {doc} */" if doc else f"{pad}/** */"]
    lines = [f"{pad}/**"]
    for line in doc.split("\n"):
        lines.append(f"{pad} * {line}" if line else f"{pad} *")
    lines.append(f"{pad} */")
    return lines


# --------------------------------------------------------------------------- members


def _field(f: ast.Field, level: int) -> str:
    parts = []
    if f.explicit_id:
        parts.append(f"{f.id}: ")
    # An implicit id is left out so the parser assigns it again (-1, -2, ... in order).
    if f.requiredness != ast.DEFAULT:
        parts.append(f.requiredness + " ")
    parts.append(print_type(f.type))
    parts.append("& " if f.reference else " ")
    parts.append(f.name)
    if f.default is not None:
        parts.append(" = " + _const(f.default, level))
    parts.append(_annotations(f.annotations))
    return "".join(parts)


def _field_block(fields: list, level: int) -> list[str]:
    out = []
    for f in fields:
        out.extend(_doc_lines(f.doc, level))
        out.append(f"{INDENT * level}{_field(f, level)},")
    return out


def _field_list(fields: list, level: int) -> str:
    """``(...)`` of function arguments/throws: inline when short and undocumented."""
    if not fields:
        return "()"
    if all(f.doc is None for f in fields):
        inline = "(" + ", ".join(_field(f, level) for f in fields) + ")"
        if "\n" not in inline and len(inline) <= INLINE_WIDTH:
            return inline
    body = "\n".join(_field_block(fields, level + 1))
    return f"(\n{body}\n{INDENT * level})"


def _function(fn: ast.Function, level: int) -> list[str]:
    head = "oneway " if fn.oneway else ""
    ret = "void" if fn.return_type is None else print_type(fn.return_type)
    text = f"{INDENT * level}{head}{ret} {fn.name}{_field_list(fn.args, level)}"
    if fn.throws:
        text += f" throws {_field_list(fn.throws, level)}"
    text += _annotations(fn.annotations) + ","
    return [*_doc_lines(fn.doc, level), text]


def _enum_value(v: ast.EnumValue) -> str:
    # An implicit value is left out: the parser counts up from the previous one.
    value = f" = {v.value}" if v.explicit else ""
    return f"{v.name}{value}{_annotations(v.annotations)},"


# --------------------------------------------------------------------------- definitions


def _block(head: str, members: list[str], tail_annotations: tuple) -> list[str]:
    if not members:
        return [f"{head} {{}}{_annotations(tail_annotations)}"]
    return [f"{head} {{", *members, f"}}{_annotations(tail_annotations)}"]


def _definition(d: ast.Definition) -> list[str]:
    lines = _doc_lines(d.doc, 0)
    if isinstance(d, ast.Typedef):
        lines.append(f"typedef {print_type(d.type)} {d.name}{_annotations(d.annotations)}")
    elif isinstance(d, ast.Const):
        lines.append(f"const {print_type(d.type)} {d.name} = {_const(d.value, 0)}")
    elif isinstance(d, ast.Enum):
        members = []
        for v in d.values:
            members.extend(_doc_lines(v.doc, 1))
            members.append(INDENT + _enum_value(v))
        lines.extend(_block(f"enum {d.name}", members, d.annotations))
    elif isinstance(d, ast.Senum):
        members = [f"{INDENT}{quote_string(s)}," for s in d.values]
        lines.extend(_block(f"senum {d.name}", members, d.annotations))
    elif isinstance(d, ast.Struct):
        lines.extend(_block(f"{d.kind} {d.name}", _field_block(d.fields, 1), d.annotations))
    elif isinstance(d, ast.Service):
        head = f"service {d.name}" + (f" extends {d.extends}" if d.extends else "")
        members = [line for fn in d.functions for line in _function(fn, 1)]
        lines.extend(_block(head, members, d.annotations))
    else:
        raise TypeError(f"not a definition: {d!r}")
    return lines


def _header(h: ast.Header) -> str:
    if isinstance(h, ast.Include):
        return f"include {quote_string(h.path)}"
    if isinstance(h, ast.CppInclude):
        return f"cpp_include {quote_string(h.path)}"
    if isinstance(h, ast.Namespace):
        return f"namespace {h.scope} {h.name}{_annotations(h.annotations)}"
    raise TypeError(f"not a header: {h!r}")


def print_document(doc: ast.Document) -> str:
    """IDL text of a whole document: headers first, then definitions, blank-line separated."""
    chunks = []
    if doc.headers:
        chunks.append("\n".join(_header(h) for h in doc.headers))
    chunks.extend("\n".join(_definition(d)) for d in doc.definitions)
    return "\n\n".join(chunks) + "\n" if chunks else ""


__all__ = ["print_document", "print_type", "print_const_value", "quote_string"]
