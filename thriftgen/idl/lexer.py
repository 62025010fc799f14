"""PLY lexer for the Thrift IDL.

Tokens carry character offsets (``lexpos``) and, for function rules, an ``end``
offset; line and column are computed from offsets on demand (a line table per
file), which is cheaper than having PLY count lines on every token. Comments are
not tokens: they are recorded on the lexer (``lexer.comments``) so the parser can
attach ``/** */`` doc comments and the trimmer can read ``@preserve`` markers.

The token rules below are ordinary PLY rules and PLY builds the master regex
from them (once per process). :class:`TokenStream` then drives that compiled
regex directly: it yields the same tokens as PLY's own ``lexer.token()`` (a test
holds the two to each other) but handles whitespace, identifiers, integers and
punctuation inline instead of through a Python call per token, which makes the
whole parse about a third faster on large IDLs.
"""

from __future__ import annotations

import re

from ply import lex

from thriftgen.idl import ast
from thriftgen.idl.ast import Comment, Span

KEYWORDS = {
    "include": "INCLUDE",
    "cpp_include": "CPP_INCLUDE",
    "namespace": "NAMESPACE",
    "typedef": "TYPEDEF",
    "const": "CONST",
    "enum": "ENUM",
    "senum": "SENUM",
    "struct": "STRUCT",
    "union": "UNION",
    "exception": "EXCEPTION",
    "service": "SERVICE",
    "extends": "EXTENDS",
    "oneway": "ONEWAY",
    "async": "ASYNC",  # Apache's deprecated spelling of oneway
    "throws": "THROWS",
    "void": "VOID",
    "required": "REQUIRED",
    "optional": "OPTIONAL",
    "list": "LIST",
    "set": "SET",
    "map": "MAP",
    "bool": "BASE_TYPE",
    "byte": "BASE_TYPE",
    "i8": "BASE_TYPE",
    "i16": "BASE_TYPE",
    "i32": "BASE_TYPE",
    "i64": "BASE_TYPE",
    "double": "BASE_TYPE",
    "string": "BASE_TYPE",
    "binary": "BASE_TYPE",
    "uuid": "BASE_TYPE",
    "slist": "BASE_TYPE",
    "true": "BOOL_CONST",
    "false": "BOOL_CONST",
    "cpp_type": "CPP_TYPE",
}

tokens = (
    "IDENTIFIER",
    "LITERAL",
    "INT_CONST",
    "DUB_CONST",
    "LBRACE",
    "RBRACE",
    "LPAREN",
    "RPAREN",
    "LT",
    "GT",
    "LBRACKET",
    "RBRACKET",
    "EQ",
    "COMMA",
    "SEMI",
    "COLON",
    "STAR",
    "AMP",
    "FIELD",
) + tuple(sorted(set(KEYWORDS.values())))

#: Display names for tokens in "expected ..." messages.
TOKEN_DISPLAY = {
    "IDENTIFIER": "identifier",
    "LITERAL": "string literal",
    "INT_CONST": "integer",
    "DUB_CONST": "number",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LPAREN": "'('",
    "RPAREN": "')'",
    "LT": "'<'",
    "GT": "'>'",
    "LBRACKET": "'['",
    "RBRACKET": "']'",
    "EQ": "'='",
    "COMMA": "','",
    "SEMI": "';'",
    "COLON": "':'",
    "STAR": "'*'",
    "AMP": "'&'",
    "FIELD": "field",
    "BASE_TYPE": "type",
    "BOOL_CONST": "'true'/'false'",
    "$end": "end of file",
}
for _kw, _tok in KEYWORDS.items():
    TOKEN_DISPLAY.setdefault(_tok, f"'{_kw}'")

t_LBRACE = r"\{"
t_RBRACE = r"\}"
t_LPAREN = r"\("
t_RPAREN = r"\)"
t_LT = r"<"
t_GT = r">"
t_LBRACKET = r"\["
t_RBRACKET = r"\]"
t_EQ = r"="
t_COMMA = r","
t_SEMI = r";"
t_COLON = r":"
t_STAR = r"\*"
t_AMP = r"&"

# Whitespace is discarded by the master regex itself: no Python call per run.
t_ignore_WS = r"[ \t\r\n\f\v]+"


class LexError(Exception):
    """A lexical error at ``offset``; the parser turns it into a diagnostic."""

    def __init__(self, message: str, offset: int, width: int = 1):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.width = width


def t_DOC_COMMENT(t):
    r"/\*\*(?!/)[^*]*\*+(?:[^/*][^*]*\*+)*/"
    t.lexer.comments.append(Comment(t.value, Span.of(t.lexpos, t.lexer.lexpos), doc=True))


def t_BLOCK_COMMENT(t):
    r"/\*[^*]*\*+(?:[^/*][^*]*\*+)*/"
    t.lexer.comments.append(Comment(t.value, Span.of(t.lexpos, t.lexer.lexpos)))


def t_UNTERMINATED_COMMENT(t):
    r"/\*"
    raise LexError("unterminated comment: '/*' has no matching '*/'", t.lexpos, 2)


def t_LINE_COMMENT(t):
    r"(?://|\#)[^\n]*"
    t.lexer.comments.append(Comment(t.value, Span.of(t.lexpos, t.lexer.lexpos)))


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "'": "'", "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\(.)", re.S)


def t_LITERAL(t):
    r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'"""
    raw = t.value[1:-1]
    if "\\" in raw:
        base = t.lexpos + 1

        def unescape(m: re.Match) -> str:
            ch = m.group(1)
            try:
                return _ESCAPES[ch]
            except KeyError:
                shown = repr(ch)[1:-1] if ch.isprintable() else f"\\x{ord(ch):02x}"
                raise LexError(
                    f"invalid escape sequence '\\{shown}' in string literal"
                    " (allowed: \\n \\r \\t \\\" \\' \\\\)",
                    base + m.start(),
                    2,
                ) from None

        raw = _ESCAPE_RE.sub(unescape, raw)
    t.value = raw
    t.end = t.lexer.lexpos
    return t


def t_UNTERMINATED_LITERAL(t):
    r"""["'][^\n]*"""
    raise LexError("unterminated string literal (strings cannot span lines)", t.lexpos, 1)


def t_DUB_CONST(t):
    r"[+-]?(?:[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)(?![A-Za-z_0-9.])"
    t.end = t.lexer.lexpos
    t.raw = t.value
    t.value = float(t.value)
    return t


#: Digits an integer literal may have. Thrift's widest integer (i64) needs 19
#: decimal digits; up to this many the checker reports a value out of range,
#: beyond it the lexer refuses the literal (Python refuses to convert 4,300+
#: decimal digits, and a huge value is no use to anyone).
MAX_INT_DIGITS = 64


def int_literal(text: str, base: int, pos: int) -> int:
    """The value of an integer literal (``text`` as matched), or LexError when it
    has more than MAX_INT_DIGITS digits."""
    digits = len(text.lstrip("+-")) - (2 if base != 10 else 0)
    if digits > MAX_INT_DIGITS:
        raise LexError(f"integer literal too long: {digits} digits (the widest Thrift "
                       f"integer, i64, has at most 19 decimal digits)", pos, len(text))
    return int(text, base)


def t_HEX_CONST(t):
    r"[+-]?0[xX][0-9A-Fa-f]+(?![A-Za-z_0-9.])"
    t.end = t.lexer.lexpos
    t.raw = t.value
    t.type = "INT_CONST"
    t.value = int_literal(t.value, 16, t.lexpos)
    return t


def t_OCT_CONST(t):
    r"[+-]?0[oO][0-7]+(?![A-Za-z_0-9.])"
    t.end = t.lexer.lexpos
    t.raw = t.value
    t.type = "INT_CONST"
    t.value = int_literal(t.value, 8, t.lexpos)
    return t


def t_INT_CONST(t):
    r"[+-]?[0-9]+(?![A-Za-z_0-9.])"
    t.end = t.lexer.lexpos
    t.raw = t.value
    t.value = int_literal(t.value, 10, t.lexpos)
    return t


def t_IDENTIFIER(t):
    r"[A-Za-z_](?:\.[A-Za-z_0-9]|[A-Za-z_0-9])*"
    t.type = KEYWORDS.get(t.value, "IDENTIFIER")
    t.end = t.lexer.lexpos
    return t


def t_error(t):
    ch = t.value[0]
    if ch == "\ufeff":
        what = "byte order mark in the middle of the file"
    elif ch.isprintable():
        what = f"unexpected character '{ch}'"
    else:
        what = f"unexpected character U+{ord(ch):04X}"
    # A malformed number such as ``12abc`` or ``1.2.3`` is reported as one thing.
    m = re.match(r"[+-]?[0-9][A-Za-z_0-9.]*", t.value)
    if m:
        raise LexError(f"malformed number '{m.group()}'", t.lexpos, len(m.group()))
    raise LexError(what, t.lexpos, 1)


_MASTER = None


def _master():
    global _MASTER
    if _MASTER is None:
        import sys

        _MASTER = lex.lex(module=sys.modules[__name__], errorlog=lex.NullLogger())
    return _MASTER


def build_lexer():
    """A fresh PLY lexer for one file (cloned from the process-wide master)."""
    lexer = _master().clone()
    lexer.comments = []
    return lexer


class Token:
    """What the parser sees of a token (the attributes of PLY's LexToken)."""

    __slots__ = ("type", "value", "lexpos", "lineno", "end", "raw", "lexer")

    def __init__(self, type_, value, lexpos, end):
        self.type = type_
        self.value = value
        self.lexpos = lexpos
        self.end = end
        self.lineno = 0

    def __repr__(self) -> str:
        return f"Token({self.type}, {self.value!r}, {self.lexpos})"


_WS = r"[ \t\r\n\f\v]"
_WORD = r"[A-Za-z_](?:\.[A-Za-z_0-9]|[A-Za-z_0-9])*"
#: A field in its plainest and by far most common form, ``1: optional i64 name,``:
#: a decimal id, requiredness, a base or named type or a container of such types
#: (one level), without annotations, a name,
#: then a separator, or else the ``}`` / ``)`` / next id that ends it. Anything
#: more (a default, annotations, ``&``, nested containers, a comment inside) does
#: not match and is lexed token by token. Such a field is three quarters of the
#: tokens of a big IDL; a run of them is one FIELD token (one match per field, one
#: shift and one reduction per run).
_SIMPLE_FIELD = re.compile(
    rf"(?P<id>[0-9]{{1,5}}){_WS}*:{_WS}*(?:(?P<req>required|optional){_WS}+)?"
    rf"(?:(?P<type>{_WORD}){_WS}+"
    rf"|(?P<seq>list|set){_WS}*<{_WS}*(?P<elem>{_WORD}){_WS}*>{_WS}*"
    rf"|(?P<map>map){_WS}*<{_WS}*(?P<key>{_WORD}){_WS}*,{_WS}*(?P<value>{_WORD}){_WS}*>{_WS}*)"
    rf"(?P<name>{_WORD})(?![A-Za-z_0-9.])"
    rf"{_WS}*(?:(?P<sep>[,;])|(?=[}})0-9]))")
#: Comment rules (recorded, never tokens) that may sit between the fields of a run.
_COMMENT_KINDS = frozenset({"DOC_COMMENT", "BLOCK_COMMENT", "LINE_COMMENT"})
#: Type words a FIELD token may hold (``slist`` warns: it takes the long way).
_FIELD_BASE = frozenset(k for k, v in KEYWORDS.items() if v == "BASE_TYPE") - {"slist"}
#: Field names that are keywords the grammar accepts as names (``2: list<i8> list``).
_NAME_KEYWORDS = frozenset(k for k, v in KEYWORDS.items() if v in ("BASE_TYPE", "LIST", "SET",
                                                                  "MAP"))


def _plain_type(m, group: str, src):
    """The base or named type a FIELD match holds in ``group``; None for a keyword
    that is not a base type (or ``slist``, which warns the long way)."""
    word = m.group(group)
    if word in KEYWORDS:
        if word not in _FIELD_BASE:
            return None
        return ast.BaseType(word, (), src.loc(m.start(group)))
    return ast.NamedType(word, (), src.loc(m.start(group)))


class TokenStream:
    """Feeds the PLY parser from PLY's compiled master regex (see module doc).

    Has the attributes grammar actions and rule functions use: ``token()``,
    ``lexpos``, ``lexmatch``, ``comments`` and ``ctx``.

    ``fields``: emit each run of plain fields as one FIELD token holding the built
    :class:`~thriftgen.idl.ast.Field` list (see ``_SIMPLE_FIELD``). The tokens are only
    valid where the grammar has a field, so a file with a syntax error is parsed
    again without them and reports exactly what the token-by-token parse says.
    """

    def __init__(self, text: str, fields: bool = False):
        master = _master()
        if len(master.lexre) != 1:  # pragma: no cover - PLY splits only huge rule sets
            raise RuntimeError("unexpected PLY master regex split")
        self._regex, index = master.lexre[0]
        self._kinds = [None if e is None else (e[0], e[1]) for e in index]
        self.text = text
        self.lexpos = 0
        self.lexmatch = None
        self.lineno = 0
        self.comments: list = []
        self.ctx = None
        self.fields = fields
        self.token = self._tokens().__next__

    def _tokens(self):
        text = self.text
        match = self._regex.match
        kinds = self._kinds
        keywords = KEYWORDS
        fields = self.fields
        n = len(text)
        pos = 0
        while pos < n:
            m = match(text, pos)
            if m is None:
                self.lexpos = pos
                fake = lex.LexToken()
                fake.value, fake.lexpos, fake.lexer = text[pos:], pos, self
                t_error(fake)  # always raises LexError
            end = m.end()
            func, ttype = kinds[m.lastindex]
            if ttype is None:  # whitespace
                pos = end
                continue
            value = m.group()
            if func is None:  # punctuation
                yield Token(ttype, value, pos, end)
            elif ttype == "IDENTIFIER":
                yield Token(keywords.get(value, "IDENTIFIER"), value, pos, end)
            elif ttype == "INT_CONST":
                if fields:
                    run = self._field_run(pos)
                    if run is not None:
                        tok, pos = run
                        yield tok
                        continue
                tok = Token(ttype, int(value, 10) if end - pos <= MAX_INT_DIGITS
                            else int_literal(value, 10, pos), pos, end)
                tok.raw = value
                yield tok
            else:
                tok = lex.LexToken()
                tok.type, tok.value, tok.lexpos, tok.lineno, tok.lexer = ttype, value, pos, 0, self
                self.lexpos, self.lexmatch = end, m
                tok = func(tok)
                if tok is not None:
                    yield tok
            pos = end
        self.lexpos = n
        while True:
            yield None

    def _field(self, m):
        """The Field of a ``_SIMPLE_FIELD`` match, or None when its words are
        keywords the long way must judge (``1: struct x``, ``1: i32 optional``)."""
        name = m.group("name")
        if name in KEYWORDS and name not in _NAME_KEYWORDS:
            return None
        ctx = self.ctx
        src = ctx.src
        if m.start("type") >= 0:
            ftype = _plain_type(m, "type", src)
            if ftype is None:
                return None
        elif m.start("seq") >= 0:
            elem = _plain_type(m, "elem", src)
            if elem is None:
                return None
            make = ast.ListType if m.group("seq") == "list" else ast.SetType
            ftype = make(elem, (), None, src.loc(m.start("seq")))
        else:
            key, value = _plain_type(m, "key", src), _plain_type(m, "value", src)
            if key is None or value is None:
                return None
            ftype = ast.MapType(key, value, (), None, src.loc(m.start("map")))
        start = m.start()
        req = m.group("req")
        sep = m.start("sep")
        f = ast.Field(int(m.group("id")), name, ftype,
                      req if req is not None else ast.DEFAULT, None, True, False, None, (),
                      src.loc(m.start("name")),
                      ast.Span.of(start, sep + 1 if sep >= 0 else m.end("name")))
        ctx.id_offsets[id(f)] = start
        return f

    def _field_run(self, start: int):
        """``(FIELD token, position after it)`` of the plain fields from ``start`` on,
        with only whitespace and comments between them (recorded as the main loop
        would), or None when none starts there. One token for a whole run of fields
        is one shift and one reduction for the parser instead of three per field."""
        text, match, kinds = self.text, self._regex.match, self._kinds
        field_match = _SIMPLE_FIELD.match
        comments = self.comments
        run = []
        pos = end = start
        while True:
            fm = field_match(text, pos)  # matches only where an integer token starts
            f = self._field(fm) if fm is not None else None
            if f is None:
                break
            run.append(f)
            end = pos = fm.end()
            while (m := match(text, pos)) is not None:  # up to the next token
                ttype = kinds[m.lastindex][1]
                if ttype in _COMMENT_KINDS:
                    comments.append(Comment(m.group(), Span.of(pos, m.end()),
                                            doc=ttype == "DOC_COMMENT"))
                elif ttype is not None:  # not whitespace
                    break
                pos = m.end()
        return (Token("FIELD", run, start, end), pos) if run else None
