"""PLY (LALR) grammar for the Thrift IDL, producing :mod:`thriftgen.idl.ast` nodes.

Follows Apache Thrift's grammar (thrifty.yy) with thriftgo's extensions:
annotations on every type reference, ``uuid``, octal ints. Legacy ``senum`` /
``slist`` parse with a warning; fields without an id get negative ids like
Apache does. Syntax errors stop the parse of that file with a located
diagnostic naming what was expected.

The LALR tables are generated once, committed as ``_parsetab.py`` and loaded
from there; ``python -m thriftgen.idl.grammar`` regenerates them. PLY never
writes ``parser.out``/``parsetab.py`` into the user's directory.
"""

from __future__ import annotations

import os
import sys
import textwrap
import threading
from bisect import bisect_right
from typing import Optional

from ply import yacc

from thriftgen.diagnostics import Diagnostic, DiagnosticSink, ERROR, WARNING, SourceText
from thriftgen.idl import ast
from thriftgen.idl.lexer import TOKEN_DISPLAY, LexError, TokenStream, tokens  # noqa: F401

#: Containers and const values nested deeper than this are rejected: nothing real
#: needs it, and later stages (printer, codegen) walk them recursively.
MAX_NESTING = 64

start = "document"


class ParseError(Exception):
    def __init__(self, message: str, offset: int, width: int = 1):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.width = width


class _Ctx:
    """Per-parse state, reachable from grammar actions as ``p.lexer.ctx``."""

    __slots__ = ("src", "sink", "parser", "saw_definition", "headers", "definitions", "id_offsets")

    def __init__(self, src: SourceText, sink: DiagnosticSink, parser):
        self.src = src
        self.sink = sink
        self.parser = parser
        self.saw_definition = False
        self.headers: list = []
        self.definitions: list = []
        self.id_offsets: dict = {}  # id(Field) -> offset of its id, for warnings


def _end(p, i: int) -> int:
    tok = p.slice[i]
    end = getattr(tok, "end", None)
    return end if end is not None else tok.lexpos + len(tok.value)


def _loc(p, i: int) -> ast.Loc:
    return p.lexer.ctx.src.loc(p.lexpos(i))


def _warn(p, message: str, offset: int, width: int = 1) -> None:
    ctx = p.lexer.ctx
    ctx.sink.add(Diagnostic(WARNING, message, ctx.src.loc(offset), width))


def _error(p, message: str, offset: int, width: int = 1) -> None:
    ctx = p.lexer.ctx
    ctx.sink.add(Diagnostic(ERROR, message, ctx.src.loc(offset), width))


def _last(*ends: Optional[int]) -> int:
    for e in reversed(ends):
        if e is not None:
            return e
    raise AssertionError("no end offset")


# --------------------------------------------------------------------------- document


def p_document(p):
    """document : items"""
    ctx = p.lexer.ctx
    p[0] = (ctx.headers, ctx.definitions)


def p_items(p):
    """items : items item
    | empty"""


def p_item_header(p):
    """item : header"""
    ctx = p.lexer.ctx
    h = p[1]
    if ctx.saw_definition:
        kind = "include" if isinstance(h, ast.Include) else (
            "cpp_include" if isinstance(h, ast.CppInclude) else "namespace")
        _error(p, f"'{kind}' must come before all definitions (types, consts, services)",
               h.span.start, len(kind))
    ctx.headers.append(h)


def p_item_definition(p):
    """item : definition sep_opt"""
    ctx = p.lexer.ctx
    d = p[1]
    if p[2] is not None:
        d.span = ast.Span.of(d.span.start, p[2])
    ctx.saw_definition = True
    ctx.definitions.append(d)


def p_empty(p):
    """empty :"""


def p_sep_opt(p):
    """sep_opt : COMMA
    | SEMI
    | empty"""
    p[0] = _end(p, 1) if p[1] is not None else None


# --------------------------------------------------------------------------- headers


def p_header_include(p):
    """header : INCLUDE LITERAL"""
    path = p[2]
    if not path:
        _error(p, "include path is empty", p.lexpos(2), 2)
    p[0] = ast.Include(path, _loc(p, 2), ast.Span.of(p.lexpos(1), _end(p, 2)))


def p_header_cpp_include(p):
    """header : CPP_INCLUDE LITERAL"""
    p[0] = ast.CppInclude(p[2], _loc(p, 2), ast.Span.of(p.lexpos(1), _end(p, 2)))


def p_header_namespace(p):
    """header : NAMESPACE IDENTIFIER IDENTIFIER annotations
    | NAMESPACE STAR IDENTIFIER annotations"""
    annos, aend = p[4]
    p[0] = ast.Namespace(p[2], p[3], annos, _loc(p, 3), ast.Span.of(p.lexpos(1), _last(_end(p, 3), aend)))


# --------------------------------------------------------------------------- definitions


def p_definition(p):
    """definition : typedef
    | const
    | enum
    | senum
    | struct
    | service"""
    p[0] = p[1]


def p_typedef(p):
    """typedef : TYPEDEF field_type IDENTIFIER annotations"""
    annos, aend = p[4]
    p[0] = ast.Typedef(p[3], p[2], None, annos, _loc(p, 3),
                       ast.Span.of(p.lexpos(1), _last(_end(p, 3), aend)))


def p_const(p):
    """const : CONST field_type IDENTIFIER EQ const_value"""
    value, vend = p[5]
    p[0] = ast.Const(p[3], p[2], value, None, (), _loc(p, 3), ast.Span.of(p.lexpos(1), vend))


def p_enum(p):
    """enum : ENUM IDENTIFIER LBRACE enum_values RBRACE annotations"""
    annos, aend = p[6]
    values = p[4]
    nxt = 0
    for v in values:
        if v.explicit:
            nxt = v.value
        else:
            v.value = nxt
        nxt = v.value + 1
    p[0] = ast.Enum(p[2], values, None, annos, _loc(p, 2),
                    ast.Span.of(p.lexpos(1), _last(_end(p, 5), aend)))


def p_enum_values(p):
    """enum_values : enum_values enum_value
    | empty"""
    if len(p) == 2:
        p[0] = []
    else:
        p[1].append(p[2])
        p[0] = p[1]


def p_enum_value(p):
    """enum_value : IDENTIFIER EQ INT_CONST annotations sep_opt
    | IDENTIFIER annotations sep_opt"""
    start = p.lexpos(1)
    if len(p) == 6:
        annos, aend = p[4]
        p[0] = ast.EnumValue(p[1], p[3], True, None, annos, _loc(p, 1),
                             ast.Span.of(start, _last(_end(p, 3), aend, p[5])))
    else:
        annos, aend = p[2]
        p[0] = ast.EnumValue(p[1], 0, False, None, annos, _loc(p, 1),
                             ast.Span.of(start, _last(_end(p, 1), aend, p[3])))


def p_senum(p):
    """senum : SENUM IDENTIFIER LBRACE senum_values RBRACE annotations"""
    annos, aend = p[6]
    _warn(p, "'senum' is deprecated; use 'enum' or string constants", p.lexpos(1), 5)
    p[0] = ast.Senum(p[2], p[4], None, annos, _loc(p, 2),
                     ast.Span.of(p.lexpos(1), _last(_end(p, 5), aend)))


def p_senum_values(p):
    """senum_values : senum_values LITERAL sep_opt
    | empty"""
    if len(p) == 2:
        p[0] = []
    else:
        p[1].append(p[2])
        p[0] = p[1]


def p_struct(p):
    """struct : struct_kind IDENTIFIER LBRACE fields RBRACE annotations"""
    annos, aend = p[6]
    kind, kstart = p[1]
    fields = _assign_field_ids(p, p[4], f"{kind} '{p[2]}'")
    p[0] = ast.Struct(kind, p[2], fields, None, annos, _loc(p, 2),
                      ast.Span.of(kstart, _last(_end(p, 5), aend)))


def p_struct_kind(p):
    """struct_kind : STRUCT
    | UNION
    | EXCEPTION"""
    p[0] = (p[1], p.lexpos(1))


def p_fields(p):
    """fields : fields field
    | empty"""
    if len(p) == 2:
        p[0] = []
    else:
        p[1].append(p[2])
        p[0] = p[1]


def p_field(p):
    """field : field_start field_type field_name field_end
    | field_start field_type AMP field_name field_end"""
    # The hottest rule on big IDLs: optional parts are folded into field_start /
    # field_end alternatives (fewer reductions) and symbols are read via p.slice.
    sl = p.slice
    (fid, req, id_start, req_start), ftype = sl[1].value, sl[2]
    if len(sl) == 5:
        name_sym, (default, annos, end), reference = sl[3], sl[4].value, False
    else:
        name_sym, (default, annos, end), reference = sl[4], sl[5].value, True
    start = id_start if id_start is not None else req_start
    if start is None:  # no id and no requiredness: the field starts with its type
        start = ftype.start_offset
    name_pos = name_sym.lexpos
    ctx = p.lexer.ctx
    f = ast.Field(
        fid if fid is not None else 0,
        name_sym.value,
        ftype.value,
        req,
        default,
        fid is not None,
        reference,
        None,
        annos,
        ctx.src.loc(name_pos),
        ast.Span.of(start, end if end is not None else name_sym.end),
    )
    ctx.id_offsets[id(f)] = id_start if id_start is not None else name_pos
    p[0] = f


def p_fields_plain(p):
    """fields : fields FIELD"""
    # A run of plain fields lexed as one token (TokenStream ``fields``).
    p[1].extend(p[2])
    p[0] = p[1]


def p_field_name(p):
    """field_name : IDENTIFIER
    | BASE_TYPE
    | LIST
    | SET
    | MAP"""
    # Type names are fine as field names (``1: i8 i8``, ``2: list<i8> list``), as in
    # newer Apache (THRIFT-5626); the generator escapes what Python needs escaped.
    tok = p.slice[1]
    sym = p.slice[0]
    sym.value, sym.lexpos, sym.end = tok.value, tok.lexpos, tok.end


_NO_START = (None, ast.DEFAULT, None, None)


def p_field_start(p):
    """field_start : INT_CONST COLON
    | INT_CONST COLON REQUIRED
    | INT_CONST COLON OPTIONAL
    | REQUIRED
    | OPTIONAL
    | empty"""
    sl = p.slice
    first = sl[1]
    if first.type == "INT_CONST":
        if len(sl) == 4:
            p[0] = (first.value, sl[3].value, first.lexpos, sl[3].lexpos)
        else:
            p[0] = (first.value, ast.DEFAULT, first.lexpos, None)
    elif first.type == "empty":
        p[0] = _NO_START
    else:
        p[0] = (None, first.value, None, first.lexpos)


def p_field_end(p):
    """field_end : empty
    | sep
    | EQ const_value
    | EQ const_value sep
    | annotations_ne
    | annotations_ne sep
    | EQ const_value annotations_ne
    | EQ const_value annotations_ne sep"""
    # value: (default, annotations, end offset or None when the field ends at its name)
    sl = p.slice
    n = len(sl)
    if sl[1].type == "empty":
        p[0] = (None, (), None)
        return
    default = None
    annos: tuple = ()
    end = None
    i = 1
    if sl[1].type == "EQ":
        default, end = sl[2].value
        i = 3
    if i < n and sl[i].type == "annotations_ne":
        annos, end = sl[i].value
        i += 1
    if i < n:  # sep
        end = sl[i].value
    p[0] = (default, annos, end)


def p_sep(p):
    """sep : COMMA
    | SEMI"""
    p[0] = p.slice[1].lexpos + 1


def _assign_field_ids(p, fields: list, owner: str) -> list:
    """Apache's rule: missing or non-positive ids count down from -1, with a warning."""
    auto = -1
    offsets = p.lexer.ctx.id_offsets
    for f in fields:
        off = offsets.pop(id(f))
        if f.explicit_id and f.id > 0:
            if f.id > 32767:
                _error(p, f"field id {f.id} of '{f.name}' is out of range (1..32767)", off,
                       len(str(f.id)))
            continue
        if f.explicit_id:
            _warn(p, f"field id {f.id} of '{f.name}' in {owner} is not positive; "
                     f"assigned {auto} as Apache Thrift does", off, len(str(f.id)))
        else:
            _warn(p, f"no field id given for '{f.name}' in {owner}; assigned {auto} "
                     "(ids change if fields are reordered)", off, len(f.name))
        f.id = auto
        f.explicit_id = False
        auto -= 1
    return fields


# --------------------------------------------------------------------------- services


def p_service(p):
    """service : SERVICE IDENTIFIER extends LBRACE functions RBRACE annotations"""
    annos, aend = p[7]
    ext, ext_loc = p[3]
    svc = ast.Service(p[2], ext, p[5], None, annos, _loc(p, 2),
                      ast.Span.of(p.lexpos(1), _last(_end(p, 6), aend)))
    if ext_loc is not None:
        svc.extends_loc = ext_loc
    p[0] = svc


def p_extends(p):
    """extends : EXTENDS IDENTIFIER
    | empty"""
    p[0] = (p[2], _loc(p, 2)) if len(p) == 3 else (None, None)


def p_functions(p):
    """functions : functions function
    | empty"""
    if len(p) == 2:
        p[0] = []
    else:
        p[1].append(p[2])
        p[0] = p[1]


def p_function(p):
    """function : oneway function_type IDENTIFIER LPAREN fields RPAREN throws annotations sep_opt"""
    oneway, ostart = p[1]
    rtype, rstart = p[2]
    throws, tend = p[7]
    annos, aend = p[8]
    name = p[3]
    args = _assign_field_ids(p, p[5], f"arguments of '{name}'")
    throws = _assign_field_ids(p, throws, f"throws of '{name}'")
    start = ostart if ostart is not None else rstart
    p[0] = ast.Function(name, rtype, args, throws, oneway, None, annos, _loc(p, 3),
                        ast.Span.of(start, _last(_end(p, 6), tend, aend, p[9])))


def p_oneway(p):
    """oneway : ONEWAY
    | ASYNC
    | empty"""
    if p[1] == "async":
        _warn(p, "'async' is deprecated; use 'oneway'", p.lexpos(1), 5)
    p[0] = (True, p.lexpos(1)) if p[1] is not None else (False, None)


def p_function_type(p):
    """function_type : field_type
    | VOID"""
    if p[1] == "void":
        p[0] = (None, p.lexpos(1))
    else:
        p[0] = (p[1], p.slice[1].start_offset)


def p_throws(p):
    """throws : THROWS LPAREN fields RPAREN
    | empty"""
    p[0] = (p[3], _end(p, 4)) if len(p) == 5 else ([], None)


# --------------------------------------------------------------------------- types


def p_field_type_named(p):
    """field_type : IDENTIFIER
    | IDENTIFIER annotations_ne"""
    sl = p.slice
    tok = sl[1]
    annos = sl[2].value[0] if len(sl) == 3 else ()
    sl[0].value = ast.NamedType(tok.value, annos, p.lexer.ctx.src.loc(tok.lexpos))
    sl[0].start_offset = tok.lexpos


def p_field_type_base(p):
    """field_type : BASE_TYPE
    | BASE_TYPE annotations_ne"""
    sl = p.slice
    tok = sl[1]
    name = tok.value
    if name == "slist":
        _warn(p, "'slist' is deprecated; use 'string'", tok.lexpos, 5)
    annos = sl[2].value[0] if len(sl) == 3 else ()
    sl[0].value = ast.BaseType(name, annos, p.lexer.ctx.src.loc(tok.lexpos))
    sl[0].start_offset = tok.lexpos


def p_field_type_container(p):
    """field_type : container_type
    | container_type annotations_ne"""
    t = p[1]
    if len(p) == 3:
        t.annotations = p[2][0]
    p[0] = t
    p.slice[0].start_offset = p.slice[1].start_offset
    if _nesting(t) > MAX_NESTING:
        _raise(p, f"types are nested more than {MAX_NESTING} levels deep", p.slice[1].start_offset)


def p_container_map(p):
    """container_type : MAP cpp_type LT field_type COMMA field_type GT"""
    p[0] = ast.MapType(p[4], p[6], (), p[2], _loc(p, 1))
    p.slice[0].start_offset = p.lexpos(1)


def p_container_set(p):
    """container_type : SET cpp_type LT field_type GT"""
    p[0] = ast.SetType(p[4], (), p[2], _loc(p, 1))
    p.slice[0].start_offset = p.lexpos(1)


def p_container_list(p):
    """container_type : LIST LT field_type GT cpp_type"""
    p[0] = ast.ListType(p[3], (), p[5], _loc(p, 1))
    p.slice[0].start_offset = p.lexpos(1)


def p_cpp_type(p):
    """cpp_type : CPP_TYPE LITERAL
    | empty"""
    p[0] = p[2] if len(p) == 3 else None


def _nesting(t) -> int:
    depth = 0
    while isinstance(t, (ast.ListType, ast.SetType, ast.MapType)):
        depth += 1
        t = t.value if isinstance(t, ast.MapType) else t.elem
        if depth > MAX_NESTING:
            break
    return depth


# --------------------------------------------------------------------------- annotations


_NO_ANNOTATIONS = ((), None)


def p_annotations(p):
    """annotations : annotations_ne
    | empty"""
    p[0] = p[1] if p[1] is not None else _NO_ANNOTATIONS


def p_annotations_ne(p):
    """annotations_ne : LPAREN annotation_list RPAREN"""
    p[0] = (tuple(p[2]), _end(p, 3))


def p_annotation_list(p):
    """annotation_list : annotation_list annotation
    | empty"""
    if len(p) == 2:
        p[0] = []
    else:
        p[1].append(p[2])
        p[0] = p[1]


def p_annotation(p):
    """annotation : annotation_key EQ LITERAL sep_opt
    | annotation_key sep_opt"""
    key, loc = p[1]
    p[0] = ast.Annotation(key, p[3] if len(p) == 5 else None, loc)


def p_annotation_key(p):
    """annotation_key : IDENTIFIER
    | BASE_TYPE
    | CPP_TYPE"""
    # Keys such as ``string`` or ``cpp_type`` are keywords elsewhere but fine here.
    p[0] = (p[1], _loc(p, 1))


# --------------------------------------------------------------------------- const values


def p_const_value_int(p):
    """const_value : INT_CONST"""
    p[0] = (ast.ConstInt(p[1], _loc(p, 1)), _end(p, 1))


def p_const_value_double(p):
    """const_value : DUB_CONST"""
    p[0] = (ast.ConstDouble(p[1], _loc(p, 1)), _end(p, 1))


def p_const_value_bool(p):
    """const_value : BOOL_CONST"""
    # Apache reads ``true``/``false`` as the integers 1 and 0.
    p[0] = (ast.ConstInt(1 if p[1] == "true" else 0, _loc(p, 1)), _end(p, 1))


def p_const_value_string(p):
    """const_value : LITERAL"""
    p[0] = (ast.ConstString(p[1], _loc(p, 1)), _end(p, 1))


def p_const_value_ref(p):
    """const_value : IDENTIFIER"""
    p[0] = (ast.ConstRef(p[1], _loc(p, 1)), _end(p, 1))


def p_const_value_list(p):
    """const_value : LBRACKET const_list_items RBRACKET"""
    node = ast.ConstList(p[2], _loc(p, 1))
    _check_const_depth(p, node)
    p[0] = (node, _end(p, 3))


def p_const_list_items(p):
    """const_list_items : const_list_items const_value sep_opt
    | empty"""
    if len(p) == 2:
        p[0] = []
    else:
        p[1].append(p[2][0])
        p[0] = p[1]


def p_const_value_map(p):
    """const_value : LBRACE const_map_items RBRACE"""
    node = ast.ConstMap(p[2], _loc(p, 1))
    _check_const_depth(p, node)
    p[0] = (node, _end(p, 3))


def p_const_map_items(p):
    """const_map_items : const_map_items const_value COLON const_value sep_opt
    | empty"""
    if len(p) == 2:
        p[0] = []
    else:
        p[1].append((p[2][0], p[4][0]))
        p[0] = p[1]


def _check_const_depth(p, node) -> None:
    # Each container records its depth (keyed by id; the nodes stay alive during the
    # parse) so the check is O(children), and a too-deep value fails where it crosses.
    children = node.items if isinstance(node, ast.ConstList) else [v for kv in node.items for v in kv]
    depth = 1 + max((_cdepth.get(id(c), 0) for c in children), default=0)
    _cdepth[id(node)] = depth
    if depth > MAX_NESTING:
        _raise(p, f"constant values are nested more than {MAX_NESTING} levels deep", p.lexpos(1))


_cdepth: dict = {}


def _raise(p, message: str, offset: int) -> None:
    raise ParseError(message, offset)


# --------------------------------------------------------------------------- errors


def p_error(tok):
    if tok is None:
        raise ParseError("unexpected end of file", -1)
    lexer = tok.lexer
    parser = lexer.ctx.parser
    expected = []
    try:
        state = parser.statestack[-1]
        expected = sorted(k for k in parser.action[state] if k != "error")
    except Exception:  # pragma: no cover - defensive: messages only
        pass
    shown = _describe(tok)
    msg = f"unexpected {shown}"
    hint = _hint(tok, expected)
    if hint:
        msg += f"; {hint}"
    elif expected:
        names = []
        for e in expected:
            d = TOKEN_DISPLAY.get(e, e.lower())
            if d not in names:
                names.append(d)
        if len(names) > 8:
            names = names[:8] + ["..."]
        msg += "; expected " + (names[0] if len(names) == 1 else "one of " + ", ".join(names))
    width = getattr(tok, "end", tok.lexpos + len(str(tok.value))) - tok.lexpos
    raise ParseError(msg, tok.lexpos, max(1, width))


def _describe(tok) -> str:
    if tok.type == "IDENTIFIER":
        return f"identifier '{tok.value}'"
    if tok.type == "LITERAL":
        v = tok.value if len(tok.value) <= 30 else tok.value[:27] + "..."
        return f"string literal {v!r}"
    if tok.type in ("INT_CONST", "DUB_CONST"):
        return f"number {getattr(tok, 'raw', tok.value)}"
    if tok.type in ("BASE_TYPE",):
        return f"type '{tok.value}'"
    if tok.type in TOKEN_DISPLAY and TOKEN_DISPLAY[tok.type].startswith("'"):
        return f"'{tok.value}'" if tok.type not in ("BOOL_CONST",) else f"'{tok.value}'"
    return f"'{tok.value}'"


_KEYWORD_TOKENS = {
    "INCLUDE", "CPP_INCLUDE", "NAMESPACE", "TYPEDEF", "CONST", "ENUM", "SENUM", "STRUCT",
    "UNION", "EXCEPTION", "SERVICE", "EXTENDS", "ONEWAY", "ASYNC", "THROWS", "VOID", "REQUIRED",
    "OPTIONAL", "LIST", "SET", "MAP", "BASE_TYPE", "BOOL_CONST", "CPP_TYPE",
}


_DEFINITION_TOKENS = {"TYPEDEF", "CONST", "ENUM", "SENUM", "STRUCT", "UNION", "EXCEPTION",
                      "SERVICE", "INCLUDE", "CPP_INCLUDE", "NAMESPACE"}


def _hint(tok, expected: list) -> Optional[str]:
    # Targeted messages for the mistakes people really make; the generic
    # "expected one of ..." list (widened by LALR state merging) is the fallback.
    if tok.type in _DEFINITION_TOKENS and "RBRACE" in expected:
        return f"missing '}}' before '{tok.value}'"
    if "LBRACKET" in expected and "LITERAL" in expected and "INT_CONST" in expected:
        return "expected a constant value (number, string, identifier, [list] or {map})"
    if "AMP" in expected and "IDENTIFIER" in expected and tok.type not in _KEYWORD_TOKENS:
        return "expected a field name after the field type"
    if tok.type in _KEYWORD_TOKENS and "IDENTIFIER" in expected:
        return f"'{tok.value}' is a reserved word in Thrift and cannot be used as a name"
    if "COLON" in expected and tok.type in ("BASE_TYPE", "IDENTIFIER", "LIST", "SET", "MAP"):
        return "expected ':' after the field id"
    return None


# --------------------------------------------------------------------------- entry point

_TABMODULE = "thriftgen.idl._parsetab"
_local = threading.local()


def _make_parser(write_tables: bool = False):
    here = sys.modules[__name__]
    return yacc.yacc(
        module=here,
        start=start,
        tabmodule=_TABMODULE,
        outputdir=os.path.dirname(os.path.abspath(__file__)),
        write_tables=write_tables,
        debug=False,
        errorlog=yacc.NullLogger(),
        optimize=False,
    )


def _parser():
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = _make_parser()
    return parser


def clean_doc(raw: str) -> str:
    """Text of a ``/** ... */`` comment: markers, leading ``*`` and indentation removed."""
    body = raw[3:-2]
    lines = body.split("\n")
    out = []
    for i, line in enumerate(lines):
        s = line.rstrip()
        if i > 0:
            stripped = s.lstrip()
            if stripped.startswith("*"):
                s = stripped[1:]
                if s.startswith(" "):
                    s = s[1:]
        out.append(s)
    text = textwrap.dedent("\n".join(out[1:])) if len(out) > 1 else ""
    first = out[0].strip()
    text = (first + "\n" + text) if first else text
    return text.strip("\n").rstrip()


def parse_text(text: str, path: str, sink: DiagnosticSink) -> Optional[ast.Document]:
    """Parse one file's decoded text. Returns None (errors in ``sink``) on a syntax error."""
    src = SourceText(path, text)
    sink.sources.add(src)
    # First with plain fields as single tokens; a file that does not parse so is
    # parsed again token by token, whose diagnostics are the ones reported.
    local = DiagnosticSink(sources=sink.sources)
    try:
        headers, definitions, comments = _parse(src, local, fields=True)
    except (ParseError, LexError):
        try:
            headers, definitions, comments = _parse(src, sink, fields=False)
        except (ParseError, LexError) as e:
            _report_syntax_errors(src, sink, e)
            return None
    else:
        sink.extend(local.diagnostics)
    doc = ast.Document(path, headers, definitions, comments, len(text))
    _attach_comments(doc, text)
    return doc


def _report_syntax_errors(src: SourceText, sink: DiagnosticSink, first) -> None:
    """Report ``first`` and every later independent syntax error: parsing resumes at
    the next declaration after each one (:mod:`thriftgen.idl.recovery`)."""
    from thriftgen.idl.recovery import MAX_SYNTAX_ERRORS, declaration_starts, masked_from

    text = src.text
    starts = declaration_starts(text)
    error, resumed, reported = first, 0, 0
    while True:
        offset = error.offset if error.offset >= 0 else len(text.rstrip())
        sink.add(Diagnostic(ERROR, error.message, src.loc(offset), error.width))
        reported += 1
        if error.offset < 0 or reported >= MAX_SYNTAX_ERRORS:
            return  # at the end of the file, or enough for one file
        # The next declaration at or after the error, past where this parse began
        # (an error on a declaration's own keyword resumes there: "missing '}'").
        later = [s for s in starts if s >= offset and s > resumed]
        if not later:
            return
        resumed = later[0]
        part = SourceText(src.path, masked_from(text, resumed))
        try:
            _parse(part, sink, fields=False)
        except (ParseError, LexError) as e:
            error = e
        else:
            return


def _parse(src: SourceText, sink: DiagnosticSink, fields: bool) -> tuple:
    """``(headers, definitions, comments)`` of ``src``; ParseError / LexError."""
    parser = _parser()
    lexer = TokenStream(src.text, fields=fields)
    lexer.ctx = _Ctx(src, sink, parser)
    try:
        headers, definitions = parser.parse(lexer=lexer, tokenfunc=lexer.token)
    finally:
        _cdepth.clear()
    return headers, definitions, lexer.comments


def _attach_comments(doc: ast.Document, text: str) -> None:
    """Attach ``/** */`` comments to the node that follows them, and record each
    definition's leading comments (for ``@preserve`` and the trimmer)."""
    comments = doc.comments
    if not comments:
        return
    ends = [c.span.end for c in comments]

    def doc_before(start: int) -> Optional[str]:
        i = bisect_right(ends, start) - 1
        if i < 0:
            return None
        c = comments[i]
        # As Apache: the nearest doc comment with only whitespace in between,
        # blank lines included.
        if not c.doc or text[c.span.end:start].strip():
            return None
        return clean_doc(c.text)

    # Leading comments of a definition: those after the previous header/definition.
    items = sorted([*doc.headers, *doc.definitions], key=lambda n: n.span.start)
    prev_end = 0
    for item in items:
        start, prev_end, d = prev_end, item.span.end, item
        if isinstance(d, (ast.Include, ast.CppInclude, ast.Namespace)):
            continue
        d.doc = doc_before(d.span.start)
        i = bisect_right(ends, start)
        lead = []
        while i < len(comments) and comments[i].span.end <= d.span.start:
            if comments[i].span.start >= start:
                lead.append(comments[i].text)
            i += 1
        d.leading_comments = tuple(lead)
        if isinstance(d, ast.Struct):
            for f in d.fields:
                f.doc = doc_before(f.span.start)
        elif isinstance(d, ast.Enum):
            for v in d.values:
                v.doc = doc_before(v.span.start)
        elif isinstance(d, ast.Service):
            for fn in d.functions:
                fn.doc = doc_before(fn.span.start)
                for f in fn.args:
                    f.doc = doc_before(f.span.start)
                for f in fn.throws:
                    f.doc = doc_before(f.span.start)


def decode_source(data: bytes, path: str, sink: DiagnosticSink) -> Optional[str]:
    """UTF-8 (BOM optional) → str; a decoding failure is a located error."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        prefix = data[: e.start]
        line = prefix.count(b"\n") + 1
        # Columns count characters, as in every other diagnostic.
        line_bytes = prefix[prefix.rfind(b"\n") + 1:]
        col = len(line_bytes.decode("utf-8", "replace")) + 1
        sink.add(Diagnostic(ERROR, f"file is not valid UTF-8 (byte 0x{data[e.start]:02x} "
                                   f"at offset {e.start})", ast.Loc.of(path, line, col)))
        return None
    if "\x00" in text:
        off = text.index("\x00")
        src = SourceText(path, text)
        sink.sources.add(src)
        sink.add(Diagnostic(ERROR, "file contains a NUL character (binary file?)", src.loc(off)))
        return None
    return text


def write_tables() -> str:
    """Regenerate the committed ``_parsetab.py`` (run after changing the grammar)."""
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_parsetab.py")
    if os.path.exists(target):
        os.remove(target)
    sys.modules.pop(_TABMODULE, None)
    _make_parser(write_tables=True)
    return target


if __name__ == "__main__":  # pragma: no cover
    print(write_tables())
