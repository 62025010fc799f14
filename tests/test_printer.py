"""The AST printer: exact layout on small inputs, round-trips on everything else."""

from __future__ import annotations

import math
import textwrap

import pytest

from thriftgen.diagnostics import DiagnosticSink
from thriftgen.idl import ast
from thriftgen.idl.grammar import decode_source, parse_text
from thriftgen.idl.printer import print_const_value, print_document, print_type, quote_string

PATH = "t.thrift"


def parse(text: str) -> ast.Document:
    sink = DiagnosticSink()
    doc = parse_text(text, PATH, sink)
    assert doc is not None and not sink.has_errors, sink.render() + "\n---\n" + text
    return doc


def roundtrip(doc: ast.Document) -> ast.Document:
    text = print_document(doc)
    again = parse(text)
    assert again == doc, text
    assert print_document(again) == text  # printing is a fixed point
    return again


def doc_of(*definitions, headers=()) -> ast.Document:
    return ast.Document(PATH, list(headers), list(definitions))


KITCHEN_SINK = r"""
include "other.thrift"
cpp_include '<string>'
namespace py kitchen.sink (py.annotation = "x", flag)
namespace * all

/** A typedef. */
typedef list<i32 (e = "1")> cpp_type "std::vector<int>" (outer = "2") IntList (td = "3")
typedef map cpp_type 'std::map' <string, set cpp_type "std::set" <binary>> Nested
typedef other.Thing Aliased

const i64 BIG = 9223372036854775807
const i64 SMALL = -9223372036854775808
const double PI = 3.141592653589793
const double TINY = 5e-324
const double HUGE = 1.7976931348623157e308
const double NEG_ZERO = -0.0
const string QUOTES = "she said \"it's\" \\ done\n\ttab\r"
const string SINGLE = 'only "double" quotes inside'
const bool YES = true
const Color FAV = Color.RED
const list<map<string, list<i32>>> DEEP = [{"a": [1, 2, 3], 'b': []}, {}]
const map<i32, string> LONG = {1: "one one one one one", 2: "two two two two two", 3: "three three three"}

/**
 * Colors.
 *
 *   Indented line.
 */
enum Color {
  /** Red. */
  RED,
  GREEN = 5 (g = "1"),
  BLUE,
  NEGATIVE = -3,
  NEXT
} (enum.anno = "e")

senum Legacy { "a", 'b"' }

struct Plain {}

/** Everything a field can carry. */
struct Fields {
  1: required i32 req = 1,
  2: optional string opt = "x" (f = "1"),
  3: Fields& recursive,
  -1: i32 negative_id,
  i32 no_id,
  6: i8 i8,
  7: list<i8> list,
  /** Documented. */
  8: map<Color, list<string>> m = {Color.RED: ["r"]},
  9: uuid id,
  10: double d = 1e+100,
  11: slist legacy,
} (struct.anno = "s")

union U { 1: i32 a; 2: string b }
exception Err { 1: string message (m = "1") }

/** The service. */
service Base {}
service Child extends Base {
  /** Ping. */
  void ping(),
  oneway void fire(1: string what),
  list<i32> (r = "1") get(1: i32 id, 2: optional string reason = "none") throws (1: Err err, 2: other.Oops oops) (fn = "x"),
  i32 implicit(i32 a, /** doc'd */ i32 b),
  string long_args(1: map<string, list<string>> first_argument, 2: map<string, list<string>> second_argument),
} (svc = "y")
"""


def test_kitchen_sink_round_trips():
    sink = DiagnosticSink()
    doc = parse_text(KITCHEN_SINK, PATH, sink)
    assert doc is not None and not sink.has_errors, sink.render()
    again = roundtrip(doc)
    # Spot checks that equality really covers what was printed.
    fields = again.definitions[-5].fields
    assert [(f.id, f.explicit_id) for f in fields[3:5]] == [(-1, False), (-2, False)]
    assert again.definitions[-1].functions[3].args[1].doc == "doc'd"


def test_exact_layout():
    doc = parse(textwrap.dedent("""\
        namespace py a.b
        /** S doc */ struct S { 1: required i32 a = 1 (x = "y")  2: list<string> b } (k = "v")
        enum E { A, B = 3 }
        service Svc extends Base { oneway void f(1: i32 x) throws (1: Err e) }
        const map<string,i32> M = {"a": 1}
        """))
    assert print_document(doc) == textwrap.dedent("""\
        namespace py a.b

        /** S doc */
        struct S {
          1: required i32 a = 1 (x = "y"),
          2: list<string> b,
        } (k = "v")

        enum E {
          A,
          B = 3,
        }

        service Svc extends Base {
          oneway void f(1: i32 x) throws (1: Err e),
        }

        const map<string, i32> M = {"a": 1}
        """)


def test_long_const_values_and_arguments_break_over_lines():
    doc = parse(
        "const list<string> L = [" + ", ".join(f'"item number {i}"' for i in range(6)) + "]\n"
        "service S { void f(/** d */ 1: i32 a, 2: list<string> b = ["
        + ", ".join(f'"long default value {i}"' for i in range(4)) + "]) }\n"
    )
    text = print_document(doc)
    assert text.startswith('const list<string> L = [\n  "item number 0",\n  "item number 1",\n')
    assert "  void f(\n    /** d */\n    1: i32 a,\n    2: list<string> b = [\n      \"long default value 0\",\n" in text
    roundtrip(doc)


def test_empty_document_prints_empty():
    assert print_document(ast.Document(PATH)) == ""


def test_header_order_is_kept():
    doc = parse('namespace py x\ninclude "a.thrift"\nnamespace go y\ncpp_include "b"')
    roundtrip(doc)
    assert print_document(doc).splitlines() == ["namespace py x", 'include "a.thrift"', "namespace go y", 'cpp_include "b"']


# --------------------------------------------------------------------------- strings


@pytest.mark.parametrize(
    "value",
    [
        "", "plain", 'dq"', "sq'", "both \" and '", "back\\slash", "\\\"", "\n\r\t", "trailing\\",
        "unicode é ✓ 𝄞", "\x01\x0b\x0c\x7f control", "\u2028line sep", "\ufeffbom", "\x00nul",
        "\ud800 lone surrogate", "'" * 3 + '"' * 2,
    ],
)
def test_any_string_round_trips(value):
    doc = doc_of(
        ast.Const("C", ast.BaseType("string"), ast.ConstString(value)),
        ast.Senum("S", [value]),
        ast.Struct("struct", "T", [ast.Field(1, "f", ast.BaseType("string"), annotations=(ast.Annotation("k", value),))]),
        headers=[ast.Include(value or "x"), ast.CppInclude(value)],
    )
    roundtrip(doc)


def test_quote_choice_and_escapes():
    assert quote_string("plain") == '"plain"'
    assert quote_string('say "hi"') == "'say \"hi\"'"
    assert quote_string("it's \"x\"") == '"it\'s \\"x\\""'
    assert quote_string("a\nb\tc\rd\\") == '"a\\nb\\tc\\rd\\\\"'


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "value",
    [0.0, -0.0, 1.0, -1.5, 0.1, 1 / 3, 1e16, 1e-7, 123456789012345678.0, 5e-324, 2.2250738585072014e-308,
     1.7976931348623157e308, -1.7976931348623157e308, math.inf, -math.inf],
)
def test_doubles_round_trip_exactly(value):
    doc = roundtrip(doc_of(ast.Const("D", ast.BaseType("double"), ast.ConstDouble(value))))
    got = doc.definitions[0].value
    assert isinstance(got, ast.ConstDouble)
    assert math.copysign(1, got.value) == math.copysign(1, value) and got.value == value


@pytest.mark.parametrize("value", [0, 1, -1, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63), 2**64, -(10**30)])
def test_ints_round_trip(value):
    doc = roundtrip(doc_of(ast.Const("I", ast.BaseType("i64"), ast.ConstInt(value))))
    assert type(doc.definitions[0].value) is ast.ConstInt


def test_ints_and_doubles_stay_distinct():
    assert print_const_value(ast.ConstInt(1)) == "1"
    assert print_const_value(ast.ConstDouble(1.0)) == "1.0"
    assert print_const_value(ast.ConstDouble(1e22)) == "1e+22"
    assert print_const_value(ast.ConstDouble(math.inf)) == "1e999"


# --------------------------------------------------------------------------- ids, enum values


def test_implicit_ids_print_without_id_explicit_ids_with():
    s = ast.Struct("struct", "S", [
        ast.Field(-1, "a", ast.BaseType("i32"), explicit_id=False),
        ast.Field(3, "b", ast.BaseType("i32")),
        ast.Field(-2, "c", ast.BaseType("i32"), explicit_id=False),
    ])
    text = print_document(doc_of(s))
    assert "  i32 a,\n  3: i32 b,\n  i32 c,\n" in text
    roundtrip(doc_of(s))


def test_enum_implicit_and_explicit_values():
    e = ast.Enum("E", [
        ast.EnumValue("A", 0, explicit=False), ast.EnumValue("B", 0, explicit=True),
        ast.EnumValue("C", 1, explicit=False), ast.EnumValue("D", -10), ast.EnumValue("F", -9, explicit=False),
    ])
    text = print_document(doc_of(e))
    assert "  A,\n  B = 0,\n  C,\n  D = -10,\n  F,\n" in text
    roundtrip(doc_of(e))


# --------------------------------------------------------------------------- docs


@pytest.mark.parametrize(
    "doc",
    ["", "one line", "two\nlines", "para\n\nafter blank", "  leading spaces on first\nsecond", "a\n  indented\nb",
     "* starts with a star", "x\n* star line", "/* looks like a comment", "** stars **", "tab\there", "ends with /"],
)
def test_docs_round_trip(doc):
    fn = ast.Function("f", None, [ast.Field(1, "a", ast.BaseType("i32"), doc=doc)], doc=doc)
    d = doc_of(
        ast.Struct("struct", "S", [ast.Field(1, "f", ast.BaseType("i32"), doc=doc)], doc=doc),
        ast.Enum("E", [ast.EnumValue("A", 1, doc=doc)], doc=doc),
        ast.Service("Svc", None, [fn], doc=doc),
        ast.Typedef("T", ast.BaseType("i32"), doc=doc),
        ast.Const("C", ast.BaseType("i32"), ast.ConstInt(1), doc=doc),
        ast.Senum("SE", ["x"], doc=doc),
    )
    roundtrip(d)


def test_doc_closing_marker_is_rendered_safely():
    d = doc_of(ast.Struct("struct", "S", [], doc="ends */ early */"))
    text = print_document(d)
    again = parse(text)
    assert len(again.definitions) == 1
    assert again.definitions[0].doc == "ends * / early * /"


# --------------------------------------------------------------------------- types and values


def test_print_type():
    t = ast.MapType(
        ast.BaseType("string", (ast.Annotation("k", "v"),)),
        ast.ListType(ast.NamedType("inc.Foo"), (), "std::deque"),
        (ast.Annotation("flag", None),),
        "std::map",
    )
    assert print_type(t) == 'map cpp_type "std::map" <string (k = "v"), list<inc.Foo> cpp_type "std::deque"> (flag)'
    assert print_type(ast.SetType(ast.BaseType("i32"))) == "set<i32>"
    roundtrip(doc_of(ast.Typedef("T", t)))


def test_print_const_value_is_one_line():
    v = ast.ConstMap([(ast.ConstString(f"key{i}"), ast.ConstList([ast.ConstRef("E.A")] * 5)) for i in range(10)])
    text = print_const_value(v)
    assert "\n" not in text and text.startswith('{"key0": [E.A, E.A, E.A, E.A, E.A], "key1": ')


def test_annotations_everywhere_round_trip():
    a = (ast.Annotation("a", "1"), ast.Annotation("b", None), ast.Annotation("a", "2"))
    typ = ast.ListType(ast.MapType(ast.BaseType("i32", a), ast.NamedType("X", a), a), a, "c")
    d = doc_of(
        ast.Typedef("T", typ, annotations=a),
        ast.Struct("struct", "S", [ast.Field(1, "f", typ, annotations=a)], annotations=a),
        ast.Enum("E", [ast.EnumValue("V", 1, annotations=a)], annotations=a),
        ast.Senum("SE", [], annotations=a),
        ast.Service("Svc", None, [ast.Function("f", typ, [ast.Field(1, "x", typ, annotations=a)], annotations=a)],
                    annotations=a),
        headers=[ast.Namespace("py", "x.y", a), ast.Namespace("*", "z", a)],
    )
    roundtrip(d)


def test_fixture_files_round_trip(fixtures_dir):
    files = sorted(fixtures_dir.rglob("*.thrift"))
    parsed = 0
    for path in files:
        sink = DiagnosticSink()
        text = decode_source(path.read_bytes(), PATH, sink)
        doc = parse_text(text, PATH, sink) if text is not None else None
        if doc is not None and not sink.has_errors:  # fixtures/errors has broken files
            roundtrip(doc)
            parsed += 1
    assert parsed >= 5
