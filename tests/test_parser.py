"""Unit tests of the lexer + grammar on inline IDL snippets."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from thriftgen.diagnostics import DiagnosticSink
from thriftgen.idl import ast
from thriftgen.idl.grammar import decode_source, parse_text

PATH = "t.thrift"


def parse(src: str):
    sink = DiagnosticSink()
    return parse_text(src, PATH, sink), sink


def parse_ok(src: str) -> ast.Document:
    doc, sink = parse(src)
    assert doc is not None and not sink.has_errors, sink.render()
    return doc


def warnings_of(sink: DiagnosticSink) -> list[str]:
    return [d.message for d in sink.diagnostics if d.severity == "warning"]


def parse_error(src: str):
    """The single error of a snippet that must not parse: (message, line, col, width)."""
    doc, sink = parse(src)
    errors = [d for d in sink.diagnostics if d.severity == "error"]
    assert doc is None, "expected a syntax error"
    assert len(errors) == 1, sink.render()
    e = errors[0]
    return e.message, e.loc.line, e.loc.col, e.width


def only(doc: ast.Document):
    assert len(doc.definitions) == 1
    return doc.definitions[0]


def spanned(src: str, node) -> str:
    return src[node.span.start:node.span.end]


# --------------------------------------------------------------------------- headers


def test_headers_in_source_order():
    doc = parse_ok(
        'include "shared.thrift"\n'
        "cpp_include '<vector>'\n"
        "namespace py a.b.c\n"
        "namespace * star.all\n"
        'namespace java x.y (package.annotation = "yes", bare)\n'
        "namespace py.twisted tw\n"
    )
    inc, cpp, py, star, java, tw = doc.headers
    assert inc == ast.Include("shared.thrift") and inc.alias == "shared"
    assert cpp == ast.CppInclude("<vector>")
    assert py == ast.Namespace("py", "a.b.c")
    assert star == ast.Namespace("*", "star.all")
    assert java.annotations == (ast.Annotation("package.annotation", "yes"), ast.Annotation("bare", None))
    assert tw.scope == "py.twisted"
    assert doc.namespace("py") == "a.b.c"
    assert doc.namespace("go") == "star.all"  # falls back to '*'
    assert [i.path for i in doc.includes] == ["shared.thrift"]


def test_include_alias_strips_directories_and_extension():
    doc = parse_ok('include "../common/base.thrift"\ninclude "odd.name.thrift"')
    assert [i.alias for i in doc.includes] == ["base", "odd.name"]


def test_header_after_definition_is_an_error():
    doc, sink = parse("struct S {}\ninclude 'x.thrift'\n")
    [err] = sink.diagnostics
    assert err.message == "'include' must come before all definitions (types, consts, services)"
    assert (err.loc.line, err.loc.col, err.width) == (2, 1, 7)


def test_empty_include_path_is_an_error():
    _, sink = parse('include ""')
    assert [d.message for d in sink.diagnostics] == ["include path is empty"]


def test_empty_document():
    doc = parse_ok("  \n// nothing here\n")
    assert doc.headers == [] and doc.definitions == []


# --------------------------------------------------------------------------- typedef / const


def test_typedef_with_annotations():
    d = only(parse_ok('typedef map<string, i64> (a = "1") Counts (b = "2")'))
    assert d == ast.Typedef(
        "Counts",
        ast.MapType(ast.BaseType("string"), ast.BaseType("i64"), (ast.Annotation("a", "1"),)),
        annotations=(ast.Annotation("b", "2"),),
    )


@pytest.mark.parametrize(
    "literal, value",
    [
        ("42", ast.ConstInt(42)),
        ("-42", ast.ConstInt(-42)),
        ("+7", ast.ConstInt(7)),
        ("0x1F", ast.ConstInt(31)),
        ("-0xff", ast.ConstInt(-255)),
        ("0o17", ast.ConstInt(15)),
        ("9223372036854775807", ast.ConstInt(2**63 - 1)),
        ("-9223372036854775808", ast.ConstInt(-(2**63))),
        ("true", ast.ConstInt(1)),
        ("false", ast.ConstInt(0)),
        ("1.5", ast.ConstDouble(1.5)),
        ("-.25", ast.ConstDouble(-0.25)),
        ("1e3", ast.ConstDouble(1000.0)),
        ("6.02E+23", ast.ConstDouble(6.02e23)),
        ("-1.5e-7", ast.ConstDouble(-1.5e-7)),
        ('"double quoted"', ast.ConstString("double quoted")),
        ("'single quoted'", ast.ConstString("single quoted")),
        (r'"esc \n \r \t \" \' \\ end"', ast.ConstString("esc \n \r \t \" ' \\ end")),
        (r"'it\'s \"q\"'", ast.ConstString("it's \"q\"")),
        ("'unicode é ✓'", ast.ConstString("unicode é ✓")),
        ("OTHER_CONST", ast.ConstRef("OTHER_CONST")),
        ("Color.RED", ast.ConstRef("Color.RED")),
        ("inc.Color.RED", ast.ConstRef("inc.Color.RED")),
        ("[]", ast.ConstList([])),
        ("[1, 2; 3 4]", ast.ConstList([ast.ConstInt(1), ast.ConstInt(2), ast.ConstInt(3), ast.ConstInt(4)])),
        ("{}", ast.ConstMap([])),
        (
            '{"a": 1, "b": 2; "c": 3}',
            ast.ConstMap([(ast.ConstString(k), ast.ConstInt(v)) for k, v in (("a", 1), ("b", 2), ("c", 3))]),
        ),
        (
            '{"k": [1, {2: "x"}], "e": [[]]}',
            ast.ConstMap([
                (ast.ConstString("k"), ast.ConstList([ast.ConstInt(1), ast.ConstMap([(ast.ConstInt(2), ast.ConstString("x"))])])),
                (ast.ConstString("e"), ast.ConstList([ast.ConstList([])])),
            ]),
        ),
    ],
)
def test_const_literals(literal, value):
    d = only(parse_ok(f"const T NAME = {literal}"))
    assert isinstance(d, ast.Const) and d.name == "NAME" and d.type == ast.NamedType("T")
    assert d.value == value
    assert type(d.value) is type(value)  # 1.0 vs 1 stays distinct


def test_int_and_double_constants_are_distinct():
    assert only(parse_ok("const double D = 1.0")).value != ast.ConstInt(1)
    assert only(parse_ok("const double D = 1")).value == ast.ConstInt(1)


def test_const_separator_is_part_of_span():
    src = "const i32 A = 1;\nconst i32 B = 2,\nconst i32 C = 3\n"
    a, b, c = parse_ok(src).definitions
    assert [spanned(src, d) for d in (a, b, c)] == ["const i32 A = 1;", "const i32 B = 2,", "const i32 C = 3"]


# --------------------------------------------------------------------------- enums


def test_enum_implicit_values_count_up_from_previous():
    e = only(parse_ok("enum E { A, B, C = 10, D; E = -5 F G = 0x10, H }"))
    assert [(v.name, v.value, v.explicit) for v in e.values] == [
        ("A", 0, False), ("B", 1, False), ("C", 10, True), ("D", 11, False),
        ("E", -5, True), ("F", -4, False), ("G", 16, True), ("H", 17, False),
    ]


def test_enum_value_and_enum_annotations():
    e = only(parse_ok('enum E { A = 1 (x = "y"), B (flag) } (e = "1")'))
    assert e.values[0].annotations == (ast.Annotation("x", "y"),)
    assert e.values[1].annotations == (ast.Annotation("flag", None),)
    assert e.annotations == (ast.Annotation("e", "1"),)


def test_enum_value_must_be_an_integer():
    assert parse_error('enum E { A = "x" }') == ("unexpected string literal 'x'; expected integer", 1, 14, 3)


def test_senum_and_slist_parse_with_deprecation_warnings():
    doc, sink = parse('senum S { "a", "b"; \'c\' }\nstruct T { 1: slist s }')
    assert doc is not None and not sink.has_errors
    senum, t = doc.definitions
    assert senum == ast.Senum("S", ["a", "b", "c"])
    assert t.fields[0].type == ast.BaseType("slist")
    assert warnings_of(sink) == [
        "'senum' is deprecated; use 'enum' or string constants",
        "'slist' is deprecated; use 'string'",
    ]


# --------------------------------------------------------------------------- structs


@pytest.mark.parametrize("kind", ["struct", "union", "exception"])
def test_struct_kinds(kind):
    d = only(parse_ok(f"{kind} K {{ 1: i32 a }}"))
    assert d == ast.Struct(kind, "K", [ast.Field(1, "a", ast.BaseType("i32"))])
    assert ast.definition_kind(d) == kind


def test_field_parts():
    s = only(parse_ok(
        "struct S {\n"
        "  1: required i32 a = 5,\n"
        "  2: optional list<string> b = ['x'];\n"
        "  3: Other& c (ref = 'true')\n"
        "  4: string d\n"
        "  5: required Other &e = {}\n"
        "}"
    ))
    a, b, c, d, e = s.fields
    assert (a.id, a.requiredness, a.default) == (1, "required", ast.ConstInt(5))
    assert (b.requiredness, b.type, b.default) == (
        "optional", ast.ListType(ast.BaseType("string")), ast.ConstList([ast.ConstString("x")]))
    assert (c.requiredness, c.reference, c.annotations) == ("default", True, (ast.Annotation("ref", "true"),))
    assert (d.reference, d.default, d.explicit_id) == (False, None, True)
    assert (e.reference, e.requiredness, e.default) == (True, "required", ast.ConstMap([]))


def test_missing_and_nonpositive_field_ids_count_down_like_apache():
    doc, sink = parse("struct S { i32 a, 5: i32 b, 0: i32 c, -7: i32 d, string e }\n"
                      "union U { i32 x }")
    assert doc is not None and not sink.has_errors
    s, u = doc.definitions
    assert [(f.name, f.id, f.explicit_id) for f in s.fields] == [
        ("a", -1, False), ("b", 5, True), ("c", -2, False), ("d", -3, False), ("e", -4, False)]
    assert [(f.id, f.explicit_id) for f in u.fields] == [(-1, False)]  # the count restarts per struct
    assert warnings_of(sink) == [
        "no field id given for 'a' in struct 'S'; assigned -1 (ids change if fields are reordered)",
        "field id 0 of 'c' in struct 'S' is not positive; assigned -2 as Apache Thrift does",
        "field id -7 of 'd' in struct 'S' is not positive; assigned -3 as Apache Thrift does",
        "no field id given for 'e' in struct 'S'; assigned -4 (ids change if fields are reordered)",
        "no field id given for 'x' in union 'U'; assigned -1 (ids change if fields are reordered)",
    ]
    warn_locs = [(d.loc.line, d.loc.col) for d in sink.diagnostics]
    assert warn_locs[:3] == [(1, 16), (1, 29), (1, 39)]  # the name when no id, else the id


def test_function_args_and_throws_number_their_own_implicit_ids():
    svc = only(parse_ok("service S { void f(i32 a, i32 b) throws (E e) }"))
    fn = svc.functions[0]
    assert [f.id for f in fn.args] == [-1, -2]
    assert [f.id for f in fn.throws] == [-1]


def test_field_id_out_of_range_is_an_error():
    _, sink = parse("struct S { 32767: i32 ok, 32768: i32 big }")
    assert [d.message for d in sink.diagnostics] == ["field id 32768 of 'big' is out of range (1..32767)"]


@pytest.mark.parametrize("name", ["bool", "byte", "i8", "i16", "i32", "i64", "double", "string", "binary", "uuid"])
def test_base_types(name):
    s = only(parse_ok(f"struct S {{ 1: {name} f }}"))
    assert s.fields[0].type == ast.BaseType(name)


def test_containers_cpp_type_and_annotations_on_every_type():
    s = only(parse_ok(
        "struct S {\n"
        "  1: map cpp_type 'std::unordered_map<int, int>' <i32 (k = '1'), list<Named (n = '2')> (l = '3')> (m = '4') a\n"
        "  2: set cpp_type \"std::set\" <string> b\n"
        "  3: list<binary (python.type = 'bytes')> cpp_type 'std::vector' (outer) c\n"
        "  4: list<map<string, set<i64>>> nested\n"
        "}"
    ))
    a, b, c, nested = (f.type for f in s.fields)
    assert a == ast.MapType(
        ast.BaseType("i32", (ast.Annotation("k", "1"),)),
        ast.ListType(ast.NamedType("Named", (ast.Annotation("n", "2"),)), (ast.Annotation("l", "3"),)),
        (ast.Annotation("m", "4"),),
        "std::unordered_map<int, int>",
    )
    assert b == ast.SetType(ast.BaseType("string"), (), "std::set")
    assert c == ast.ListType(
        ast.BaseType("binary", (ast.Annotation("python.type", "bytes"),)), (ast.Annotation("outer", None),), "std::vector")
    assert nested == ast.ListType(ast.MapType(ast.BaseType("string"), ast.SetType(ast.BaseType("i64"))))
    assert [type(t).__name__ for t in ast.walk_type(nested)] == ["ListType", "MapType", "BaseType", "SetType", "BaseType"]


def test_annotation_separators_and_keyword_keys():
    s = only(parse_ok("struct S {} (a = 'x', b = 'y'; c d = 'z' string = 's' cpp_type = 't')"))
    assert [(a.key, a.value) for a in s.annotations] == [
        ("a", "x"), ("b", "y"), ("c", None), ("d", "z"), ("string", "s"), ("cpp_type", "t")]


def test_repeated_annotation_keys_are_all_kept():
    s = only(parse_ok("struct S {} (tag = 'a', tag = 'b')"))
    assert ast.annotation_values(s.annotations, "tag") == ["a", "b"]


def test_annotation_value_must_be_a_string():
    assert parse_error("struct S { 1: i32 a (x = 1) }") == ("unexpected number 1; expected string literal", 1, 26, 1)


# --------------------------------------------------------------------------- services


def test_service_functions():
    svc = only(parse_ok(
        "service Child extends base.Parent {\n"
        "  void ping(),\n"
        "  oneway void fire(1: string msg);\n"
        "  list<i32> get(1: i32 id, 2: optional string why = 'x') throws (1: NotFound nf, 2: base.Err err)\n"
        "  i32 (rt = '1') annotated() (fn = 'yes')\n"
        "} (svc = 'a')"
    ))
    assert svc.name == "Child" and svc.extends == "base.Parent"
    assert svc.annotations == (ast.Annotation("svc", "a"),)
    ping, fire, get, annotated = svc.functions
    assert (ping.return_type, ping.args, ping.throws, ping.oneway) == (None, [], [], False)
    assert fire.oneway and fire.args == [ast.Field(1, "msg", ast.BaseType("string"))]
    assert get.return_type == ast.ListType(ast.BaseType("i32"))
    assert [(f.id, f.name, f.requiredness) for f in get.args] == [(1, "id", "default"), (2, "why", "optional")]
    assert [(f.name, f.type) for f in get.throws] == [("nf", ast.NamedType("NotFound")), ("err", ast.NamedType("base.Err"))]
    assert annotated.return_type == ast.BaseType("i32", (ast.Annotation("rt", "1"),))
    assert annotated.annotations == (ast.Annotation("fn", "yes"),)


def test_async_is_deprecated_oneway():
    doc, sink = parse("service S { async void f() }")
    assert doc.definitions[0].functions[0].oneway
    assert warnings_of(sink) == ["'async' is deprecated; use 'oneway'"]


def test_throws_requires_parentheses():
    assert parse_error("service S { void f() throws }") == ("unexpected '}'; expected '('", 1, 29, 1)


# --------------------------------------------------------------------------- identifiers


def test_python_keywords_and_builtins_are_ordinary_identifiers():
    doc = parse_ok(
        "struct from { 1: i32 class, 2: None list, 3: list<i32> None, 4: from import, 5: str def }\n"
        "enum lambda { True, False, pass }\n"
        "const i32 return = 1\n"
        "service yield { from print(1: i32 self) }\n"
    )
    s, e, c, svc = doc.definitions
    assert s.name == "from"
    assert [(f.name, f.type) for f in s.fields] == [
        ("class", ast.BaseType("i32")), ("list", ast.NamedType("None")), ("None", ast.ListType(ast.BaseType("i32"))),
        ("import", ast.NamedType("from")), ("def", ast.NamedType("str"))]
    assert [v.name for v in e.values] == ["True", "False", "pass"]
    assert c.name == "return"
    assert svc.functions[0].name == "print" and svc.functions[0].args[0].name == "self"


def test_type_keywords_as_field_names():
    s = only(parse_ok("struct S { 1: i8 i8, 2: list<i8> list, 3: set<i8> set, 4: map<i8, i8> map, 5: uuid uuid, 6: string string }"))
    assert [f.name for f in s.fields] == ["i8", "list", "set", "map", "uuid", "string"]
    assert s.fields[0].type == ast.BaseType("i8")


def test_reserved_word_as_name_is_explained():
    assert parse_error("struct struct {}") == (
        "unexpected 'struct'; 'struct' is a reserved word in Thrift and cannot be used as a name", 1, 8, 6)
    assert parse_error("struct S { 1: i32 void }") == (
        "unexpected 'void'; 'void' is a reserved word in Thrift and cannot be used as a name", 1, 19, 4)


# --------------------------------------------------------------------------- comments and docs


def test_comments_are_recorded_not_parsed():
    src = "// line\n# hash\n/* block\n spanning */\n/** doc */\nstruct S { 1: i32 a /* inline */ } # end\n"
    doc = parse_ok(src)
    assert [c.text for c in doc.comments] == ["// line", "# hash", "/* block\n spanning */", "/** doc */", "/* inline */", "# end"]
    assert [c.doc for c in doc.comments] == [False, False, False, True, False, False]
    assert all(src[c.span.start:c.span.end] == c.text for c in doc.comments)
    assert doc.definitions[0].leading_comments == ("// line", "# hash", "/* block\n spanning */", "/** doc */")


def test_comments_are_recorded_with_spans():
    text = "// one\n\n# three\n/** doc */\n"
    doc = parse_ok(text)
    assert [text[c.span.start:c.span.end] for c in doc.comments] == ["// one", "# three", "/** doc */"]
    assert [c.doc for c in doc.comments] == [False, False, True]


def test_doc_comments_attach_to_the_following_node():
    doc = parse_ok(textwrap.dedent("""\
        /** The struct. */
        struct S {
          /** Field a. */
          1: i32 a
          2: i32 undocumented
        }

        /**
         * Multi-line
         *   keeps relative indent
         *
         * and blank lines
         */

        enum E {
          /** First. */ A,
          B
        }
        /** Svc */
        service Svc {
          /** Call. */
          void f(/** The arg. */ 1: i32 x) throws (/** Boom. */ 1: Err e)
        }
        /** T */ typedef i32 T
        /**C*/const i32 C = 1
        """))
    s, e, svc, t, c = doc.definitions
    assert (s.doc, s.fields[0].doc, s.fields[1].doc) == ("The struct.", "Field a.", None)
    assert e.doc == "Multi-line\n  keeps relative indent\n\nand blank lines"
    assert (e.values[0].doc, e.values[1].doc) == ("First.", None)
    fn = svc.functions[0]
    assert (svc.doc, fn.doc, fn.args[0].doc, fn.throws[0].doc) == ("Svc", "Call.", "The arg.", "Boom.")
    assert (t.doc, c.doc) == ("T", "C")


@pytest.mark.parametrize(
    "between",
    ["// plain comment\n", "/* block */\n", "/** another doc */ /* block */", "namespace py x\n"],
)
def test_doc_comment_not_attached_when_something_is_between(between):
    doc = parse_ok(f"/** Orphan. */\n{between}struct S {{}}")
    assert doc.definitions[0].doc is None


def test_plain_block_comment_is_not_a_doc():
    assert only(parse_ok("/* not doc */ struct S {}")).doc is None
    assert only(parse_ok("/**/ struct S {}")).doc is None  # empty block comment, not '/**'


def test_last_doc_comment_wins():
    assert only(parse_ok("/** one */ /** two */ struct S {}")).doc == "two"


def test_doc_of_field_is_not_taken_from_the_struct_header():
    s = only(parse_ok("/** S */ struct S {\n 1: i32 a }"))
    assert s.doc == "S" and s.fields[0].doc is None


# --------------------------------------------------------------------------- spans and locations


def test_spans_cover_keyword_through_trailing_annotations_and_separator():
    src = (
        "namespace py x.y (a = 'b')\n"
        "include 'inc.thrift'\n"
        "typedef i32 T (t = '1');\n"
        "struct S {\n"
        "  1: required i32 a = 5 (x = 'y'),\n"
        "  string b;\n"
        "  optional list<i32> c\n"
        "} (k = 'v'),\n"
        "enum E { A = 1 (z), B }\n"
        "service Svc extends Base {\n"
        "  oneway void f(1: i32 x) (fn);\n"
        "  i32 g() throws (1: Err e)\n"
        "}\n"
        "exception X {}\n"
    )
    doc = parse_ok(src)
    ns, inc = doc.headers
    t, s, e, svc, x = doc.definitions
    assert spanned(src, ns) == "namespace py x.y (a = 'b')"
    assert spanned(src, inc) == "include 'inc.thrift'"
    assert spanned(src, t) == "typedef i32 T (t = '1');"
    assert spanned(src, s).startswith("struct S {") and spanned(src, s).endswith("} (k = 'v'),")
    assert [spanned(src, f) for f in s.fields] == ["1: required i32 a = 5 (x = 'y'),", "string b;", "optional list<i32> c"]
    assert spanned(src, e) == "enum E { A = 1 (z), B }"
    assert [spanned(src, v) for v in e.values] == ["A = 1 (z),", "B"]
    assert spanned(src, svc).startswith("service Svc") and spanned(src, svc).endswith("}")
    f, g = svc.functions
    assert spanned(src, f) == "oneway void f(1: i32 x) (fn);"
    assert spanned(src, g) == "i32 g() throws (1: Err e)"
    assert spanned(src, f.args[0]) == "1: i32 x"
    assert spanned(src, x) == "exception X {}"


def test_locations_point_at_names():
    src = "struct S {\n  1: i32 alpha\n}\nservice Svc extends Base {\n  void go()\n}\nenum E {\n    V\n}\n"
    s, svc, e = parse_ok(src).definitions
    assert (s.loc.line, s.loc.col) == (1, 8)
    assert (s.fields[0].loc.line, s.fields[0].loc.col) == (2, 10)
    assert (svc.loc.line, svc.loc.col) == (4, 9)
    assert (svc.extends_loc.line, svc.extends_loc.col) == (4, 21)
    assert (svc.functions[0].loc.line, svc.functions[0].loc.col) == (5, 8)
    assert (e.values[0].loc.line, e.values[0].loc.col) == (8, 5)
    assert s.loc.file == PATH


def test_tab_counts_as_one_column():
    s = only(parse_ok("\tstruct S {\n\t\t1: i32 a }"))
    assert (s.loc.line, s.loc.col) == (1, 9)
    assert (s.fields[0].loc.line, s.fields[0].loc.col) == (2, 10)


def test_crlf_and_bom():
    sink = DiagnosticSink()
    text = decode_source(b"\xef\xbb\xbfstruct S {\r\n  1: i32 a\r\n}\r\nstruct T {}\r\n", PATH, sink)
    assert text is not None and not text.startswith("\ufeff")
    doc = parse_text(text, PATH, sink)
    s, t = doc.definitions
    assert (s.loc.line, s.loc.col) == (1, 8)
    assert (s.fields[0].loc.line, s.fields[0].loc.col) == (2, 10)
    assert (t.loc.line, t.loc.col) == (4, 8)
    assert text[s.span.start:s.span.end] == "struct S {\r\n  1: i32 a\r\n}"


def test_crlf_error_location():
    assert parse_error("struct S {\r\n  1: i32 a\r\n  2 i32 b\r\n}")[1:3] == (3, 5)


def test_bom_in_the_middle_is_an_error():
    assert parse_error("struct S {}\n\ufeffstruct T {}") == ("byte order mark in the middle of the file", 2, 1, 1)


def test_invalid_utf8_is_a_located_error():
    sink = DiagnosticSink()
    assert decode_source(b"struct S {\n  1: i32 \xffa }", PATH, sink) is None
    [err] = sink.diagnostics
    assert err.severity == "error"
    assert err.message == "file is not valid UTF-8 (byte 0xff at offset 20)"
    assert (err.loc.file, err.loc.line, err.loc.col) == (PATH, 2, 10)


def test_invalid_utf8_column_counts_characters():
    sink = DiagnosticSink()
    decode_source("// é\n// ü\xff".encode("utf-8").replace(b"\xc3\xbf", b"\xff"), PATH, sink)
    [err] = sink.diagnostics
    assert (err.loc.line, err.loc.col) == (2, 5)  # "// ü" is 4 characters, 5 bytes


def test_nul_character_is_an_error():
    sink = DiagnosticSink()
    assert decode_source(b"struct S {}\x00", PATH, sink) is None
    assert [d.message for d in sink.diagnostics] == ["file contains a NUL character (binary file?)"]


# --------------------------------------------------------------------------- syntax errors


@pytest.mark.parametrize(
    "src, expected",
    [
        ("struct S { 1: i32 a 2 i32 b }", ("unexpected type 'i32'; expected ':' after the field id", 1, 23, 3)),
        ("struct S {", ("unexpected end of file", 1, 11, 1)),
        ("const i32 x = ", ("unexpected end of file", 1, 14, 1)),
        ("struct S { 1: i32 a = 1.2.3 }", ("malformed number '1.2.3'", 1, 23, 5)),
        ("const i32 x = 12abc", ("malformed number '12abc'", 1, 15, 5)),
        ('const string s = "a\\qb"', ("invalid escape sequence '\\q' in string literal (allowed: \\n \\r \\t \\\" \\' \\\\)", 1, 20, 2)),
        ('const string s = "abc', ("unterminated string literal (strings cannot span lines)", 1, 18, 1)),
        ('const string s = "abc\n"', ("unterminated string literal (strings cannot span lines)", 1, 18, 1)),
        ("struct S {}\n/* abc", ("unterminated comment: '/*' has no matching '*/'", 2, 1, 2)),
        ("struct S { 1: i32 a @ }", ("unexpected character '@'", 1, 21, 1)),
        ("struct S { 1: i32 a \x07 }", ("unexpected character U+0007", 1, 21, 1)),
        ("struct S { 1: i32 }", ("unexpected '}'; expected a field name after the field type", 1, 19, 1)),
        ("struct S { 1: i32 a\nstruct T {}", ("unexpected 'struct'; missing '}' before 'struct'", 2, 1, 6)),
        ("const i32 x = ;", (
            "unexpected ';'; expected a constant value (number, string, identifier, [list] or {map})", 1, 15, 1)),
        ("struct S { 1: i32 a = }", (
            "unexpected '}'; expected a constant value (number, string, identifier, [list] or {map})", 1, 23, 1)),
    ],
)
def test_syntax_error_messages(src, expected):
    assert parse_error(src) == expected


@pytest.mark.parametrize(
    "src, line, col, start",
    [
        ("struct S { 1: i32 a; } }", 1, 24, "unexpected '}'; expected one of "),
        ("typedef i32", 1, 12, "unexpected end of file"),
        ("service S { void f( }", 1, 21, "unexpected '}'; expected one of "),
        ("enum E { A = 1 = 2 }", 1, 16, "unexpected '='; expected one of "),
        ("const map<i32> m = {}", 1, 14, "unexpected '>'; expected "),
        ("struct S { 1: i32 a } garbage", 1, 23, "unexpected identifier 'garbage'; expected one of "),
    ],
)
def test_syntax_errors_are_located(src, line, col, start):
    msg, l, c, _ = parse_error(src)
    assert (l, c) == (line, col)
    assert msg.startswith(start)


def test_expected_tokens_are_listed_by_name():
    # Display names, not PLY token names; long lists are cut after 8 entries.
    msg, *_ = parse_error("struct S { 1: i32 a; } }")
    assert msg == ("unexpected '}'; expected one of end of file, ',', 'const', 'cpp_include', "
                   "'enum', 'exception', 'include', '(', ...")
    assert parse_error("const map<i32> m = {}")[0] == "unexpected '>'; expected ','"


def test_deep_nesting_is_rejected_not_a_recursion_error():
    depth = 100
    msg, *_ = parse_error("typedef " + "list<" * depth + "i32" + ">" * depth + " T")
    assert msg == "types are nested more than 64 levels deep"
    msg, *_ = parse_error("const list<i32> C = " + "[" * depth + "]" * depth)
    assert msg == "constant values are nested more than 64 levels deep"


# --------------------------------------------------------------------------- constructs Apache 0.17 accepts


@pytest.mark.xfail(strict=True, reason="Apache lexes true/false as integer constants, so 'A = true' is a valid "
                                       "enum value there; our grammar only takes INT_CONST")
def test_true_as_enum_value_like_apache():
    e = only(parse_ok("enum E { A = true, B = false }"))
    assert [v.value for v in e.values] == [1, 0]


@pytest.mark.xfail(strict=True, reason="Apache 0.17 still accepts the legacy XSD field/struct modifiers "
                                       "(xsd_optional, xsd_nillable, xsd_attrs, xsd_all); we reject them")
@pytest.mark.parametrize("src", [
    "struct S { 1: i32 a xsd_optional }",
    "struct S { 1: i32 a xsd_nillable }",
    "struct S { 1: i32 a xsd_attrs { 1: i32 b } }",
    "struct S xsd_all { 1: i32 a }",
])
def test_xsd_modifiers_like_apache(src):
    parse_ok(src)


# --------------------------------------------------------------------------- tables and side effects


def test_parser_writes_and_prints_nothing(tmp_path, repo_root):
    # PLY's defaults write parser.out / parsetab.py / lextab.py into the cwd and
    # print "Generating LALR tables"; the committed tables must prevent both.
    script = (
        "from thriftgen.diagnostics import DiagnosticSink\n"
        "from thriftgen.idl.grammar import parse_text\n"
        "doc = parse_text('struct S { 1: i32 a }', 'x.thrift', DiagnosticSink())\n"
        "assert doc is not None\n"
    )
    env = {**os.environ, "PYTHONPATH": str(repo_root), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (proc.stdout, proc.stderr) == ("", "")
    assert sorted(os.listdir(tmp_path)) == []


def test_committed_parse_tables_match_the_grammar():
    from ply import yacc

    from thriftgen.idl import _parsetab, grammar

    info = yacc.ParserReflect(vars(grammar))
    info.get_all()
    assert not info.validate_all()
    assert _parsetab._lr_signature == info.signature(), (
        "thriftgen/idl/_parsetab.py is stale: run `python -m thriftgen.idl.grammar`")
