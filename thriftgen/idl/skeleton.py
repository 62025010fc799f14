"""A file's top-level definitions (kind, name, text span) without the LALR parser.

Trimming keeps a small part of a big IDL, and a PLY parse costs about 0.45 ms
per struct. :func:`scan` walks a file with regular expressions (compiled once,
run in C): the headers, then each definition. Structs, unions, exceptions,
enums, typedefs and consts are matched by *strict* patterns that accept only a
subset of the grammar the parser accepts without any diagnostic (field ids in
1..32767, every field with an id, no ``senum``/``slist``/``async``, containers
nested at most :data:`MAX_TYPE_DEPTH` deep, const values
:data:`MAX_VALUE_DEPTH` deep, the lexer's exact token rules): a definition they
match is known to be valid, so it may be left out of the parse when trimming
drops it. Services and senums are only delimited (their braces balanced) and
are always parsed. Anything else (an unusual but valid form, or an error) makes
:func:`scan` return None, and the caller parses the file in full.

:func:`masked` turns the definitions left out into comments of the same length
with the same line breaks, so parsing the rest gives nodes with the very
offsets, lines, columns and doc comments of a full parse.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Optional

from thriftgen.idl.recache import compile_cached

#: Every keyword of the lexer (an identifier token may not be one).
KEYWORDS = ("include", "cpp_include", "namespace", "typedef", "const", "enum", "senum",
            "struct", "union", "exception", "service", "extends", "oneway", "async", "throws",
            "void", "required", "optional", "list", "set", "map", "bool", "byte", "i8", "i16",
            "i32", "i64", "double", "string", "binary", "uuid", "slist", "true", "false",
            "cpp_type")
MAX_TYPE_DEPTH = 2  # list<map<K, V>>: deeper types send the file to the parser
MAX_VALUE_DEPTH = 2  # [[1, 2], [3]] / {"k": [1]}: deeper values likewise

# Token rules, as the lexer has them (see thriftgen.idl.lexer). Every pattern below
# puts ``_`` (whitespace and comments) only *before* a token and every token is
# maximal (keywords, identifiers and numbers cannot end early), so at each point
# one alternative at most can go on: a file that does not match fails in linear
# time, whatever it holds.
_W = r"(?![A-Za-z_0-9]|\.[A-Za-z_0-9])"  # an identifier or keyword token ends here
_ = (r"(?:[ \t\r\n\f\v]|//[^\n]*(?![^\n])|\#[^\n]*(?![^\n])"
     r"|/\*[^*]*\*+(?:[^/*][^*]*\*+)*/)*")
_IDENT = (r"(?!(?:%s)%s)[A-Za-z_](?:\.[A-Za-z_0-9]|[A-Za-z_0-9])*" % ("|".join(KEYWORDS), _W)
          + _W)
_BASE = r"(?:bool|byte|i8|i16|i32|i64|double|string|binary|uuid)" + _W  # not slist: warned
_ESC = r"""\\[nrt"'\\]"""  # the escapes the lexer accepts
_LIT = r"""(?:"(?:[^"\\\n]|%s)*"|'(?:[^'\\\n]|%s)*')""" % (_ESC, _ESC)
_NUM_END = r"(?![A-Za-z_0-9.])"
_INT = r"[+-]?(?:0[xX][0-9A-Fa-f]+|0[oO][0-7]+|[0-9]+)" + _NUM_END
_DUB = r"[+-]?(?:[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)" + _NUM_END
# 1..32767: other ids are warned about or rejected by the parser.
_FID = (r"(?:[1-9][0-9]{0,3}|[12][0-9]{4}|3[01][0-9]{3}|32[0-6][0-9]{2}|327[0-5][0-9]"
        r"|3276[0-7])" + _NUM_END)
_SEP = r"[,;]"
_OPT_SEP = r"(?:" + _ + _SEP + r")?"
_ANN = (r"\((?:" + _ + r"(?:%s|%s|cpp_type%s)" % (_IDENT, _BASE, _W) + r"(?:" + _ + "=" + _
        + _LIT + r")?" + _OPT_SEP + r")*" + _ + r"\)")
_OPT_ANN = r"(?:" + _ + _ANN + r")?"


def _type(depth: int, annotated: bool = True) -> str:
    alts = [_BASE, _IDENT]
    if depth:
        inner = _type(depth - 1, False)
        cpp = r"(?:cpp_type" + _W + _ + _LIT + _ + r")?"
        alts.append(r"list" + _W + _ + "<" + _ + inner + _ + ">(?:" + _ + r"cpp_type" + _W + _
                    + _LIT + ")?")
        alts.append(r"set" + _W + _ + cpp + "<" + _ + inner + _ + ">")
        alts.append(r"map" + _W + _ + cpp + "<" + _ + inner + _ + "," + _ + inner + _ + ">")
    # annotations on an inner type: left to the parser
    return r"(?:(?:" + "|".join(alts) + ")" + (_OPT_ANN if annotated else "") + ")"


def _value(depth: int) -> str:
    alts = [_INT, _DUB, _LIT, r"(?:true|false)" + _W, _IDENT]
    if depth:
        inner = _value(depth - 1)
        alts.append(r"\[(?:" + _ + inner + _OPT_SEP + r")*" + _ + r"\]")
        alts.append(r"\{(?:" + _ + inner + _ + ":" + _ + inner + _OPT_SEP + r")*" + _ + r"\}")
    return r"(?:" + "|".join(alts) + ")"


def _field() -> str:
    """One field, from the whitespace before its id."""
    name = r"(?:%s|%s|(?:list|set|map)%s)" % (_IDENT, _BASE, _W)
    return (_ + _FID + _ + ":" + r"(?:" + _ + r"(?:required|optional)" + _W + r")?" + _
            + _type(MAX_TYPE_DEPTH) + r"(?:" + _ + r"&)?" + _ + name + r"(?:" + _ + "=" + _
            + _value(MAX_VALUE_DEPTH) + r")?" + _OPT_ANN + _OPT_SEP)


# Loosely delimited bodies (services, senums): strings and comments skipped, braces
# balanced three deep; the parser checks what is inside.
_CHUNK = (r"""(?:[^{}"'/\#]|%s|//[^\n]*(?![^\n])|\#[^\n]*(?![^\n])""" % _LIT
          + r"|/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|/(?![/*]))")
_BRACED = r"\{(?:" + _CHUNK + r"|\{(?:" + _CHUNK + r"|\{" + _CHUNK + r"*\})*\})*\}"


@functools.lru_cache(maxsize=None)
def _patterns() -> tuple:
    """(header, definition, trailing gap) regexes, compiled on first use (the big
    definition pattern from :mod:`thriftgen.idl.recache`)."""
    field = _field()
    kinds = [
        r"(?P<struct>struct|union|exception)" + _W + _ + r"(?P<sname>" + _IDENT + r")" + _
        + r"\{(?P<body>(?:" + field + r")*)" + _ + r"\}" + _OPT_ANN,
        r"(?P<enum>enum)" + _W + _ + r"(?P<ename>" + _IDENT + r")" + _ + r"\{(?:" + _ + _IDENT
        + r"(?:" + _ + "=" + _ + _INT + r")?" + _OPT_ANN + _OPT_SEP + r")*" + _ + r"\}"
        + _OPT_ANN,
        r"(?P<typedef>typedef)" + _W + _ + _type(MAX_TYPE_DEPTH) + _ + r"(?P<tname>" + _IDENT
        + r")" + _OPT_ANN,
        r"(?P<const>const)" + _W + _ + _type(MAX_TYPE_DEPTH) + _ + r"(?P<cname>" + _IDENT + r")"
        + _ + "=" + _ + _value(MAX_VALUE_DEPTH),
        r"(?P<service>service)" + _W + _ + r"(?P<vname>" + _IDENT + r")(?:" + _ + r"extends"
        + _W + _ + _IDENT + r")?" + _ + _BRACED + _OPT_ANN,
        r"(?P<senum>senum)" + _W + _ + r"(?P<uname>" + _IDENT + r")" + _ + _BRACED + _OPT_ANN,
    ]
    definition = compile_cached(r"(?P<gap>" + _ + r")(?P<def>(?:" + "|".join(kinds) + r")"
                                + _OPT_SEP + r")")
    nonempty = r"""(?:"(?:[^"\\\n]|%s)+"|'(?:[^'\\\n]|%s)+')""" % (_ESC, _ESC)
    header = re.compile(r"(?P<gap>" + _ + r")(?:include" + _W + _ + r"(?P<inc>" + nonempty + r")"
                        + r"|cpp_include" + _W + _ + _LIT + r"|namespace" + _W + _ + r"(?:"
                        + _IDENT + r"|\*)" + _ + _IDENT + _OPT_ANN + r")")
    return header, definition, re.compile(_ + r"\Z")


#: The kinds a definition regex match can be, by group name.
_KIND_GROUPS = (("struct", "sname"), ("enum", "ename"), ("typedef", "tname"), ("const", "cname"),
                ("service", "vname"), ("senum", "uname"))
_UNESCAPE = re.compile(r"\\(.)")
_UNESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "'": "'", "\\": "\\"}
_TOKEN = re.compile(r"[A-Za-z_](?:\.[A-Za-z_0-9]|[A-Za-z_0-9])*")
_PRESERVE = re.compile(r"@preserve", re.IGNORECASE)


@dataclass
class SkelDef:
    """One top-level definition. ``start``: its keyword; ``end``: after its trailing
    separator; ``gap``: where the whitespace and comments before it begin."""

    kind: str  # struct | union | exception | enum | typedef | const | service | senum
    name: str
    gap: int
    start: int
    end: int
    validated: bool  # matched by a strict pattern: may be left out of the parse
    preserve: bool  # the comments before it mention @preserve (a trimming root)
    fields: int = 0  # a validated struct's field count (for the trim counts)


@dataclass
class Skeleton:
    includes: list  # include paths, in order
    defs: list  # list[SkelDef], in order


def compile_patterns() -> None:
    """Compile the patterns now (before forking workers that scan)."""
    _patterns()


def scan(text: str) -> Optional[Skeleton]:
    """The skeleton of a decoded file, or None when the file has to be parsed whole."""
    header, definition, end = _patterns()
    pos, includes, defs = 0, [], []
    while True:
        m = header.match(text, pos)
        if m is None:
            break
        inc = m.group("inc")
        if inc is not None:
            includes.append(_UNESCAPE.sub(lambda e: _UNESCAPES[e.group(1)], inc[1:-1]))
        pos = m.end()
    n = len(text)
    while pos < n:
        m = definition.match(text, pos)
        if m is None:
            break
        for kind, name in _KIND_GROUPS:
            value = m.group(kind)
            if value is not None:
                break
        gap, start, stop = m.start(), m.start("def"), m.end()
        preserve = text.find("@", gap, start) >= 0 and _PRESERVE.search(text, gap, start)
        defs.append(SkelDef(value, m.group(name), gap, start, stop,
                            kind not in ("service", "senum"), bool(preserve),
                            _count_fields(text, *m.span("body")) if kind == "struct" else 0))
        pos = stop
    if end.match(text, pos) is None:
        return None  # something else (a header after a definition, an error, ...)
    return Skeleton(includes, defs)


_QUOTED_OR_COMMENT = re.compile(_LIT + r"|//[^\n]*|\#[^\n]*|/\*[^*]*\*+(?:[^/*][^*]*\*+)*/")
_BRACES = re.compile(r"\{[^{}]*\}")
_FIELD_ID = re.compile(r"(?<![A-Za-z_0-9.])[0-9]+[ \t\r\n\f\v]*:")


def _count_fields(text: str, pos: int, end: int) -> int:
    """Fields of a *validated* struct body. There, ``<digits> :`` outside strings,
    comments and const maps (the only other places it can be) starts a field."""
    body = _QUOTED_OR_COMMENT.sub("", text[pos:end])
    for _depth in range(MAX_VALUE_DEPTH + 1):
        if "{" not in body:
            break
        body = _BRACES.sub("", body)
    return len(_FIELD_ID.findall(body))


def tokens(text: str, d: SkelDef) -> set:
    """Every identifier-like word of the definition (a superset of what it refers to:
    field names, keywords and words in comments and strings come along)."""
    return set(_TOKEN.findall(text, d.start, d.end))


_NOT_NEWLINE = re.compile(r"[^\n]")


def _comment_end(text: str, d: SkelDef) -> int:
    """Where a block comment replacing ``d`` can end: after the last two adjacent
    characters that are not line breaks (``*/`` goes there, blanks follow)."""
    i = d.end
    while i - d.start >= 4 and "\n" in text[i - 2:i]:
        i -= 1
    return i


def maskable(text: str, d: SkelDef) -> bool:
    """Whether :func:`masked` can turn ``d`` into a comment."""
    return _comment_end(text, d) - d.start >= 4


def masked(text: str, skip: list) -> str:
    """``text`` with the definitions ``skip`` (sorted, disjoint, :func:`maskable`)
    turned into one block comment each plus blanks: same length, same line
    breaks, so everything else keeps its offsets, lines and columns. The comment
    keeps the definition's text with every ``*/`` and ``@`` defused (it must not
    end early nor read as ``@preserve``) and is never a doc comment (it starts
    ``/*`` plus a keyword's third letter), so doc comments attach as in the full
    text."""
    parts, pos = [], 0
    for d in skip:
        end = _comment_end(text, d)
        parts.append(text[pos:d.start])
        parts.append("/*" + text[d.start + 2:end - 2].replace("*/", "* ").replace("@", " ")
                     + "*/")
        parts.append(_NOT_NEWLINE.sub(" ", text[end:d.end]))
        pos = d.end
    parts.append(text[pos:])
    return "".join(parts)


__all__ = ["Skeleton", "SkelDef", "scan", "compile_patterns", "masked", "maskable", "tokens", "KEYWORDS"]
