"""Semantic checker: every rule, on the failing and on the valid side.

Each case writes small IDL files to a temporary directory, runs the real loader and
checker, and looks at the diagnostics (severity, line, column, message).
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from thriftgen.diagnostics import DiagnosticSink, IDLError
from thriftgen.idl.checker import check_program, find_cycles, scalar_problem
from thriftgen.idl import ast
from thriftgen.idl.loader import load_program

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "apache-thrift"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    # Diagnostics name files relative to the working directory: keep them short.
    monkeypatch.chdir(tmp_path)


def run(tmp_path: Path, main: str, include_dirs=(), **others: str) -> DiagnosticSink:
    """Load ``main`` (plus ``others``: file name -> text) and check it; return the sink."""
    for name, text in others.items():
        if not name.endswith(".thrift"):
            name += ".thrift"
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    entry = tmp_path / "main.thrift"
    entry.write_text(main)
    sink = DiagnosticSink()
    program = load_program([str(entry)], list(include_dirs), sink)
    check_program(program, sink)
    assert not any("internal error" in d.message for d in sink.diagnostics)
    return sink


def _located(sink: DiagnosticSink, severity: str) -> list:
    out = []
    for d in sink.sorted():
        if d.severity == severity:
            assert d.loc is not None, d.message
            out.append((d.loc.line, d.loc.col, d.message))
    return out


def errors(sink: DiagnosticSink) -> list:
    return _located(sink, "error")


def warnings(sink: DiagnosticSink) -> list:
    return _located(sink, "warning")


def messages(sink: DiagnosticSink, severity: str = "error") -> list:
    return [d.message for d in sink.sorted() if d.severity == severity]


def assert_clean(sink: DiagnosticSink) -> None:
    assert errors(sink) == []


# --------------------------------------------------------------------------- types


def test_unknown_type_with_suggestion_and_width(tmp_path):
    sink = run(tmp_path, "struct Customer {}\nstruct Order {\n  1: Custmer c\n  2: Nothing n\n}\n")
    assert errors(sink) == [
        (3, 6, "undefined type 'Custmer'; did you mean 'Customer'?"),
        (4, 6, "undefined type 'Nothing'"),
    ]
    assert [d.width for d in sink.sorted()] == [len("Custmer"), len("Nothing")]


def test_unknown_base_type_spelling_and_foreign_names(tmp_path):
    sink = run(tmp_path, "struct A {\n  1: strng s\n  2: long l\n}\n")
    assert messages(sink) == ["undefined type 'strng'; did you mean 'string'?",
                              "undefined type 'long'; did you mean 'i64'?"]


def test_forward_references_and_recursive_structs_are_fine(tmp_path):
    assert_clean(run(tmp_path, "struct A { 1: B b, 2: list<A> kids }\nstruct B { 1: optional A back }\n"
                               "typedef map<string, list<B>> Index\n"))


def test_alias_not_included(tmp_path):
    sink = run(tmp_path, "struct A { 1: shared.Money m }\n")
    assert messages(sink) == ["undefined type 'shared.Money': no included file is named 'shared.thrift'"]


def test_included_types_resolve_and_missing_member_is_suggested(tmp_path):
    lib = "struct Money { 1: i64 cents }\n"
    assert_clean(run(tmp_path, 'include "lib.thrift"\nstruct A { 1: lib.Money m }\n', lib=lib))
    sink = run(tmp_path, 'include "lib.thrift"\nstruct A { 1: lib.Mony m, 2: Money n }\n', lib=lib)
    assert messages(sink) == ["undefined type 'lib.Mony': lib.thrift defines no 'Mony'; did you mean 'lib.Money'?",
                              "undefined type 'Money'; did you mean 'lib.Money'?"]


def test_type_only_included_transitively(tmp_path):
    sink = run(tmp_path, 'include "mid.thrift"\nstruct A { 1: deep.D d }\n',
               mid='include "deep.thrift"\nstruct M { 1: deep.D d }\n', deep="struct D {}\n")
    assert len(errors(sink)) == 1
    assert "deep.thrift is not included by" in messages(sink)[0]


def test_include_alias_with_dots(tmp_path):
    # Apache names the types of include "a.b.thrift" as a.b.Type (its corpus relies on it).
    sink = run(tmp_path, 'include "a.b.thrift"\nstruct S { 1: a.b.T t = a.b.K, 2: a.b.E e = a.b.E.X }\n',
               **{"a.b.thrift": "struct T {}\nconst T K = {}\nenum E { X }\n"})
    assert_clean(sink)


@pytest.mark.parametrize("decl, use, message", [
    ("service Billing {}", "Billing", "'Billing' is a service, not a type"),
    ("const i32 MAX = 1", "MAX", "'MAX' is a const, not a type"),
    ("enum Color { RED }", "Color.RED", "'Color.RED' is an enum value, not a type"),
])
def test_wrong_category_used_as_type(tmp_path, decl, use, message):
    sink = run(tmp_path, f"{decl}\nstruct A {{ 1: {use} x }}\n")
    assert errors(sink) == [(2, 15, message)]


def test_types_in_every_position_are_checked(tmp_path):
    sink = run(tmp_path, "typedef Nope1 T\nconst Nope2 C = 1\nservice S {\n"
                         "  Nope3 f(1: Nope4 a) throws (1: Nope5 e)\n}\n"
                         "struct X { 1: map<Nope6, list<Nope7>> m }\n")
    assert [m.split("'")[1] for m in messages(sink)] == [f"Nope{i}" for i in range(1, 8)]


def test_typedef_cycles(tmp_path):
    sink = run(tmp_path, "typedef B A\ntypedef A B\ntypedef list<L> L\ntypedef map<string, M> M\n"
                         "struct S { 1: A a = 1 }\n")
    assert errors(sink) == [
        (1, 11, "typedef cycle: A -> B -> A"),
        (3, 17, "typedef 'L' refers to itself"),
        (4, 24, "typedef 'M' refers to itself"),
    ]


def test_typedef_chains_resolve(tmp_path):
    assert_clean(run(tmp_path, "typedef i32 A\ntypedef A B\ntypedef list<B> C\nconst C X = [1, 2]\n"
                               "const B Y = 7\nstruct S { 1: C c = [3] }\n"))


# --------------------------------------------------------------------------- definitions


def test_duplicate_global_names_share_one_namespace(tmp_path):
    sink = run(tmp_path, "struct User {}\nenum User { A }\nconst i32 User = 1\n")
    assert errors(sink) == [(2, 6, "'User' is already defined in this file (as a struct)"),
                            (3, 11, "'User' is already defined in this file (as a struct)")]
    note = sink.sorted()[0].notes[0]
    assert (note.severity, note.loc.line, note.loc.col) == ("note", 1, 8)


def test_same_name_in_two_files_is_fine(tmp_path):
    assert_clean(run(tmp_path, 'include "lib.thrift"\nstruct User { 1: lib.User u }\n', lib="struct User {}\n"))


def test_enum_rules(tmp_path):
    sink = run(tmp_path, "enum E {\n  A = 1\n  B = 1\n  A = 2\n  C = 0x80000000\n  D = -2147483649\n}\n")
    assert errors(sink) == [
        (4, 3, "duplicate value name 'A' in enum 'E'"),
        (5, 7, "value 2147483648 of 'E.C' is outside the int32 range (-2147483648..2147483647)"),
        (6, 7, "value -2147483649 of 'E.D' is outside the int32 range (-2147483648..2147483647)"),
    ]
    # Apache 0.17 accepts duplicate values: a warning only.
    assert warnings(sink) == [(3, 3, "'E.B' has the same value (1) as 'E.A'")]


def test_enum_limits_and_implicit_values(tmp_path):
    assert_clean(run(tmp_path, "enum E { LO = -2147483648, HI = 2147483646, TOP }\n"))
    sink = run(tmp_path, "enum E { HI = 2147483647, OVER }\n")
    assert messages(sink) == ["value 2147483648 of 'E.OVER' is outside the int32 range (-2147483648..2147483647)"]


@pytest.mark.parametrize("owner", ["struct", "union", "exception"])
def test_duplicate_field_ids_and_names(tmp_path, owner):
    sink = run(tmp_path, f"{owner} X {{\n  1: i32 a\n  1: i32 b\n  2: i32 a\n}}\n")
    assert errors(sink) == [(3, 3, f"duplicate field id 1 in {owner} 'X': 'b' and 'a'"),
                            (4, 10, f"duplicate field name 'a' in {owner} 'X'")]


def test_distinct_fields_and_names_reused_across_structs(tmp_path):
    assert_clean(run(tmp_path, "struct X { 1: i32 a, 2: i32 b }\nstruct Y { 1: i32 a, 2: i32 b }\n"))


def test_union_rules(tmp_path):
    sink = run(tmp_path, "union U {\n  1: required i32 a = 1\n  2: i32 b = 2\n  3: i32 c = 3\n}\n")
    assert errors(sink) == [(3, 10, "union 'U' has more than one default value ('a' and 'b')"),
                            (4, 10, "union 'U' has more than one default value ('a' and 'c')")]
    assert [w[2] for w in warnings(sink)] == [
        "union member 'a' of 'U' is declared required; union members are always optional (ignored)"]
    assert_clean(run(tmp_path, "union U { 1: i32 a = 1, 2: string b }\n"))


# --------------------------------------------------------------------------- services


def test_function_argument_and_throws_duplicates(tmp_path):
    sink = run(tmp_path, "exception E {}\nservice S {\n"
                         "  void f(1: i32 a, 1: i32 b, 2: i32 a) throws (1: E x, 2: E x)\n}\n")
    assert messages(sink) == [
        "duplicate field id 1 in the arguments of 'f': 'b' and 'a'",
        "duplicate field name 'a' in the arguments of 'f'",
        "duplicate field name 'x' in the throws of 'f'",
    ]


def test_arguments_and_throws_may_reuse_ids(tmp_path):
    assert_clean(run(tmp_path, "exception E {}\nservice S { void f(1: i32 a) throws (1: E e) }\n"))


def test_oneway_rules(tmp_path):
    sink = run(tmp_path, "exception E {}\nservice S {\n  oneway i32 f()\n  oneway void g() throws (1: E e)\n}\n")
    assert errors(sink) == [(3, 14, "oneway function 'f' must return void, not i32"),
                            (4, 15, "oneway function 'g' cannot throw exceptions (no reply is sent)")]
    assert_clean(run(tmp_path, "service S { oneway void f(1: string s) }\n"))


def test_throws_must_be_exceptions(tmp_path):
    sink = run(tmp_path, "struct P {}\nenum K { A }\nservice S {\n  void f() throws (1: P p, 2: K k, 3: i32 n)\n}\n")
    assert messages(sink) == [
        "'P' in the throws clause of 'f' is a struct, not an exception",
        "'K' in the throws clause of 'f' is an enum, not an exception",
        "'i32' in the throws clause of 'f' is the base type i32, not an exception",
    ]
    sink = run(tmp_path, "exception E {}\ntypedef E Alias\nservice S {\n  void f() throws (1: required Alias e)\n}\n")
    assert_clean(sink)
    assert [w[2] for w in warnings(sink)] == [
        "throws field 'e' of 'f' is declared required; exceptions are always optional"]


def test_base_service_rules(tmp_path):
    sink = run(tmp_path, "struct NotSvc {}\nservice Base {}\nservice A extends Bsae {}\n"
                         "service B extends NotSvc {}\nservice C extends D {}\nservice D extends C {}\n")
    assert errors(sink) == [
        (3, 19, "undefined base service 'Bsae'; did you mean 'Base'?"),
        (4, 19, "service 'B' cannot extend 'NotSvc': it is a struct, not a service"),
        (5, 9, "service inheritance cycle: C -> D -> C"),
    ]


def test_extends_across_files_and_forward(tmp_path):
    assert_clean(run(tmp_path, 'include "lib.thrift"\nservice A extends lib.Base { void g() }\n'
                               "service B extends C {}\nservice C extends A {}\n",
                     lib="service Base { void f() }\n"))


def test_duplicate_and_overriding_functions(tmp_path):
    sink = run(tmp_path, "service Root { void ping() }\nservice Base extends Root { void stat() }\n"
                         "service S extends Base {\n  void f()\n  void f()\n  void ping()\n}\n")
    assert errors(sink) == [
        (5, 8, "duplicate function 'f' in service 'S'"),
        (6, 8, "function 'ping' of service 'S' is already defined in base service 'Root'"),
    ]
    assert_clean(run(tmp_path, "service A { void f() }\nservice B { void f() }\n"))


def test_streaming_annotations(tmp_path):
    body = ("struct M {}\nservice S {\n"
            '  M a(1: M m) (streaming.mode = "bidirectional")\n'
            '  M b(1: M m) (streaming.mode = "client")\n'
            '  M c(1: M m) (streaming.mode = "server")\n'
            '  M d(1: M m) (streaming.mode = "unary")\n'
            "  M e(1: M m, 2: M n)\n}\n")
    assert_clean(run(tmp_path, body))
    sink = run(tmp_path, "struct M {}\nservice S {\n"
                         '  M a(1: M m) (streaming.mode = "both")\n'
                         '  M b(1: M m) (streaming.mode = "client", streaming.mode = "client")\n'
                         '  M c() (streaming.mode = "server")\n'
                         "  M d(1: M m) (streaming.mode)\n}\n")
    assert messages(sink) == [
        "invalid streaming.mode 'both' on 'a' (expected one of bidirectional, client, server, unary)",
        "'streaming.mode' given more than once on 'b'",
        "streaming function 'c' must take exactly one argument (it takes 0)",
        "invalid streaming.mode without a value on 'd' (expected one of bidirectional, client, server, unary)",
    ]


# --------------------------------------------------------------------------- const values


@pytest.mark.parametrize("base, literal, ok", [
    ("i8", "127", True), ("i8", "128", False), ("i8", "-128", True), ("i8", "-129", False),
    ("byte", "0x7f", True), ("byte", "0x80", False),
    ("i16", "32767", True), ("i16", "32768", False), ("i16", "-32769", False),
    ("i32", "2147483647", True), ("i32", "2147483648", False), ("i32", "-2147483648", True),
    ("i64", "9223372036854775807", True), ("i64", "9223372036854775808", False),
    ("i64", "-9223372036854775808", True), ("i32", "1.5", False), ("i32", '"1"', False),
    ("bool", "true", True), ("bool", "false", True), ("bool", "0", True), ("bool", "1", True),
    ("bool", "2", False), ("bool", '"true"', False),
    ("double", "1", True), ("double", "-2.5e3", True), ("double", "1e400", False), ("double", '"1"', False),
    ("string", '"x"', True), ("string", "1", False), ("string", "[]", False),
    ("binary", "'bytes'", True), ("binary", "0", False),
    ("uuid", '"00112233-4455-6677-8899-aabbccddeeff"', True),
    ("uuid", '"{00112233-4455-6677-8899-AABBCCDDEEFF}"', True),
    ("uuid", '"00112233-4455-6677-8899-aabbccddeefg"', False),
    ("uuid", '"0011223344556677"', False), ("uuid", "1", False),
])
def test_scalar_const_ranges_and_kinds(tmp_path, base, literal, ok):
    sink = run(tmp_path, f"const {base} X = {literal}\n")
    found = errors(sink)
    if ok:
        assert found == []
    else:
        assert len(found) == 1 and found[0][:2] == (1, 12 + len(base))


def test_scalar_problem_messages():
    assert scalar_problem("i8", ast.ConstInt(200)) == "value 200 is out of range for i8 (-128..127)"
    assert scalar_problem("bool", ast.ConstInt(2)) == "expected a bool (true, false, 1 or 0), got value 2"
    assert scalar_problem("string", ast.ConstInt(1)) == "expected a string literal (string), got an integer"
    assert scalar_problem("double", ast.ConstString("x")) == "expected a number (double), got a string"
    assert scalar_problem("i32", ast.ConstInt(5)) is None


def test_enum_typed_consts(tmp_path):
    head = "enum Color { RED = 1, GREEN = 2 }\nenum Size { S = 1 }\n"
    assert_clean(run(tmp_path, head + "const Color A = Color.RED\nconst Color B = 2\nconst i32 C = Color.GREEN\n"
                                      "const Color D = A\n"))
    sink = run(tmp_path, head + 'const Color A = 3\nconst Color B = Size.S\nconst Color C = RED\n'
                                'const Color D = "RED"\nconst string E = Color.RED\nconst i8 F = Color.RED\n')
    assert messages(sink) == [
        "3 is not a value of enum 'Color' (RED=1, GREEN=2)",
        "'Size.S' is a value of enum 'Size', not of 'Color'",
        "undefined constant 'RED'; enum values are qualified: did you mean 'Color.RED'?",
        "expected a value of enum 'Color', got a string; write Color.RED without quotes",
        "expected string, got enum value 'Color.RED'",
    ]


def test_enum_member_by_name_through_wrong_prefix_is_an_apache_compatible_warning(tmp_path):
    sink = run(tmp_path, "enum A { X = 1 }\nenum B { Y = 2 }\nstruct S { 1: B b = A.Y }\n")
    assert_clean(sink)
    assert messages(sink, "warning") == [
        "'A.Y' is not defined; taken as 'B.Y' because the expected type is enum 'B' (write 'B.Y')"]


def test_included_consts_and_enum_members(tmp_path):
    lib = "const i32 LIMIT = 5\nenum Mode { ON = 1 }\n"
    assert_clean(run(tmp_path, 'include "lib.thrift"\nconst i32 A = lib.LIMIT\nconst lib.Mode M = lib.Mode.ON\n'
                               "const list<lib.Mode> L = [lib.Mode.ON, 1]\n", lib=lib))
    sink = run(tmp_path, 'include "lib.thrift"\nconst i32 A = lib.LIMTI\nconst i32 B = Mode.ON\n', lib=lib)
    assert messages(sink) == [
        "undefined constant 'lib.LIMTI': lib.thrift defines no 'LIMTI'; did you mean 'lib.LIMIT'?",
        "undefined constant 'Mode.ON': 'Mode' is neither an enum of this file nor an included file;"
        " did you mean 'lib.Mode.ON'?",
    ]


def test_ambiguous_constant(tmp_path):
    sink = run(tmp_path, 'include "Color.thrift"\nenum Color { RED = 1 }\nconst i32 X = Color.RED\n',
               Color="const i32 RED = 2\n")
    assert errors(sink)[0][:2] == (3, 15)
    assert messages(sink)[0].startswith("ambiguous constant 'Color.RED': it may be the value RED of enum 'Color'")


def test_type_name_used_as_constant(tmp_path):
    sink = run(tmp_path, "struct P {}\nconst i32 X = P\n")
    assert messages(sink) == ["'P' is a struct, not a constant"]


def test_containers(tmp_path):
    assert_clean(run(tmp_path, 'const list<i32> A = [1, 2]\nconst set<string> B = ["a"]\n'
                               'const map<string, list<i16>> C = {"k": [1, 2]}\n'
                               "const list<i32> D = {}\nconst map<i32, i32> E = []\n"
                               "const map<i32, map<i32, bool>> F = {1: {2: true}}\n"))
    sink = run(tmp_path, 'const list<i32> A = [1, "x"]\nconst set<i8> B = [1, 300]\n'
                         'const map<i32, string> C = {"k": "v", 1: 2}\nconst list<string> D = {"a": "b"}\n'
                         "const map<i32, i32> E = [1]\nconst list<i32> F = 5\n")
    assert errors(sink) == [
        (1, 25, "expected an integer (i32), got a string"),
        (2, 23, "value 300 is out of range for i8 (-128..127)"),
        (3, 29, "expected an integer (i32), got a string"),
        (3, 42, "expected a string literal (string), got an integer"),
        (4, 24, "expected a list (list<string>), got a map"),
        (5, 25, "expected a map (map<i32, i32>), got a list"),
        (6, 21, "expected a list (list<i32>), got an integer"),
    ]


def test_duplicate_set_elements_and_map_keys_warn(tmp_path):
    sink = run(tmp_path, 'const set<i32> S = [1, 2, 1]\nconst map<string, i32> M = {"a": 1, "a": 2}\n')
    assert_clean(sink)
    assert warnings(sink) == [(1, 27, "duplicate element in set constant (kept once)"),
                              (2, 37, "duplicate key in map constant (the last one wins)")]


def test_struct_consts(tmp_path):
    head = ("struct P { 1: required i32 x, 2: i32 y = 0, 3: optional string label }\n"
            "struct Box { 1: P corner, 2: list<P> more }\nunion U { 1: i32 a, 2: string b }\n")
    assert_clean(run(tmp_path, head + 'const P A = {"x": 1, "label": "a"}\n'
                                      'const Box B = {"corner": {"x": 1}, "more": [{"x": 2, "y": 3}]}\n'
                                      'const U C = {"b": "s"}\nconst U D = {}\n'))
    sink = run(tmp_path, head + 'const P A = {"x": 1, "z": 2}\nconst P B = {"x": "one"}\n'
                                'const P C = {1: 1}\nconst U D = {"a": 1, "b": "s"}\nconst P E = {"y": 1}\n'
                                'const P F = {"x": 1, "x": 2}\nconst Box G = {"corner": [1]}\n')
    assert errors(sink) == [
        (4, 22, "struct 'P' has no field 'z'"),
        (5, 19, "expected an integer (i32), got a string"),
        (6, 14, "field names in a struct constant must be string literals, got an integer"),
        (7, 13, "a union constant sets at most one field; this one sets 'a', 'b'"),
        (9, 22, "field 'x' is set twice in this struct constant"),
        (10, 26, "expected struct 'P' written as {\"field\": value, ...}, got a list"),
    ]
    unset = "constant of struct 'P' leaves required field(s) 'x' unset; it cannot be serialized"
    assert warnings(sink) == [(6, 13, unset), (8, 13, unset)]


def test_struct_field_suggestion(tmp_path):
    sink = run(tmp_path, 'struct P { 1: i32 width }\nconst P A = {"widht": 1}\n')
    assert messages(sink) == ["struct 'P' has no field 'widht'; did you mean 'width'?"]


def test_const_references(tmp_path):
    ok = ("const i16 SMALL = 7\nconst i32 A = SMALL\nconst double D = SMALL\nconst i64 BIG = 5\n"
          "const i8 E = BIG\nconst list<i32> L = [1]\nconst list<i32> M = L\nconst list<i64> N = L\n"
          "typedef list<i32> Ints\nconst Ints O = L\nconst map<string, i32> P = {\"a\": SMALL}\n")
    assert_clean(run(tmp_path, ok))
    sink = run(tmp_path, 'const string S = "x"\nconst i32 A = S\nconst i64 BIG = 5000000000\n'
                         "const i32 B = BIG\nconst list<i32> L = [1]\nconst list<string> M = L\n"
                         "const bool C = BIG\n")
    assert messages(sink) == [
        "constant 'S' (string) does not fit i32: expected an integer (i32), got a string",
        "constant 'BIG' (i64) does not fit i32: value 5000000000 is out of range for i32 (-2147483648..2147483647)",
        "constant 'L' (list<i32>) does not fit list<string>: expected a string literal (string), got an integer",
        "constant 'BIG' (i64) does not fit bool: expected a bool (true, false, 1 or 0), got value 5000000000",
    ]


def test_const_reference_chains_and_cycles(tmp_path):
    chain = "".join(f"const i32 C{i} = C{i + 1}\n" for i in range(300)) + "const i32 C300 = 1\n"
    assert_clean(run(tmp_path, chain))
    sink = run(tmp_path, "const i32 N = N\nconst i32 A = B\nconst i32 B = C\nconst i32 C = A\n"
                         "const list<i32> L = [1, L]\n")
    assert errors(sink) == [
        (1, 11, "constant 'N' refers to itself"),
        (2, 11, "constant cycle: A -> B -> C -> A"),
        (5, 17, "constant 'L' refers to itself"),
    ]


def test_mismatched_reference_chain_is_bounded(tmp_path):
    # Each link changes type, so every hop is a real check; the depth bound must hold.
    chain = 'const string C0 = "x"\n' + "".join(
        f"const {'i32' if i % 2 else 'i64'} C{i} = C{i - 1}\n" for i in range(1, 400))
    sink = run(tmp_path, chain)
    assert errors(sink)  # reported, and no RecursionError / internal error


def test_field_and_argument_defaults(tmp_path):
    assert_clean(run(tmp_path, "enum E { A = 1 }\nstruct S { 1: i32 a = 1, 2: E e = E.A, 3: list<E> l = [1] }\n"
                               "service V { void f(1: i32 x = 5) }\n"))
    sink = run(tmp_path, 'enum E { A = 1 }\nstruct S { 1: i32 a = "1", 2: E e = 9 }\n'
                         "service V { void f(1: i16 x = 99999) }\n")
    assert errors(sink) == [
        (2, 23, "expected an integer (i32), got a string"),
        (2, 37, "9 is not a value of enum 'E' (A=1)"),
        (3, 31, "value 99999 is out of range for i16 (-32768..32767)"),
    ]


def test_value_of_unresolvable_type_is_reported_once(tmp_path):
    sink = run(tmp_path, "const Missing X = 5\nstruct S { 1: Missing m = {} }\n")
    assert messages(sink) == ["undefined type 'Missing'", "undefined type 'Missing'"]


# --------------------------------------------------------------------------- robustness and scale


def test_find_cycles_is_iterative():
    n = 50_000  # deeper than the recursion limit
    nodes = [object() for _ in range(n)]
    succ = {id(a): [b] for a, b in zip(nodes, nodes[1:] + nodes[:1])}
    cycles = find_cycles(nodes, lambda x: succ[id(x)])
    assert len(cycles) == 1 and len(cycles[0]) == n


def test_all_errors_are_reported_up_to_the_cap(tmp_path):
    text = "".join(f"struct S{i} {{ 1: Missing{i} m }}\n" for i in range(80))
    sink = run(tmp_path, text)
    assert sink.error_count == sink.max_errors and sink.suppressed == 80 - sink.max_errors
    with pytest.raises(IDLError) as exc:
        sink.check()
    assert "30 more error(s) not shown" in str(exc.value)


def _synthetic_idl(n: int) -> str:
    parts = ["enum Kind { A = 1, B = 2 }\ntypedef i64 Id\nconst i32 LIMIT = 10\n"]
    for i in range(n):
        ref = f"S{i - 1}" if i else "Kind"
        parts.append(f"struct S{i} {{ 1: Id id, 2: {ref} prev, 3: list<{ref}> all = [], "
                     f"4: map<string, i32> m = {{\"k\": LIMIT}}, 5: Kind k = Kind.A }}\n")
    parts.append("service Svc {\n" + "".join(f"  S{i} get{i}(1: S{i} x)\n" for i in range(0, n, 50)) + "}\n")
    return "".join(parts)


def _check_time(tmp_path: Path, n: int, repeat: int = 3) -> float:
    """Best-of-``repeat`` wall time of the checker alone on an ``n``-struct IDL."""
    (tmp_path / "big.thrift").write_text(_synthetic_idl(n))
    program = load_program([str(tmp_path / "big.thrift")], [], DiagnosticSink())
    best = float("inf")
    for _ in range(repeat):
        sink = DiagnosticSink()
        start = time.perf_counter()
        check_program(program, sink)
        best = min(best, time.perf_counter() - start)
        assert errors(sink) == []
    return best


def test_checker_scales_linearly_small(tmp_path):
    t1 = _check_time(tmp_path, 500)
    t2 = _check_time(tmp_path, 2000)
    assert t2 < 1.0  # measured ~0.04 s
    assert t2 < 4 * t1 * 3  # 4x the input; quadratic work would be ~16x


@pytest.mark.slow
def test_checker_on_20k_structs(tmp_path):
    assert _check_time(tmp_path, 20000, repeat=1) < 5.0  # measured ~0.45 s


def _mutations(text: str, rng: random.Random, count: int) -> list:
    """Small random edits of a valid IDL: drop/duplicate/swap lines, delete or repeat a token."""
    lines = text.split("\n")
    tokens = ["{", "}", "(", ")", "<", ">", ",", ";", ":", "=", '"', "1", "-1", "i32", "extends",
              "throws", "oneway", "void", "required", "Missing", "99999999999", "[", "]", "1.5"]
    out = []
    for _ in range(count):
        cur = list(lines)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(cur))
            op = rng.randrange(4)
            if op == 0:
                del cur[i]
            elif op == 1:
                cur.insert(i, cur[rng.randrange(len(cur))])
            elif op == 2:
                line = cur[i]
                pos = rng.randint(0, len(line))
                cur[i] = line[:pos] + rng.choice(tokens) + line[pos:]
            else:
                j = rng.randrange(len(cur))
                cur[i], cur[j] = cur[j], cur[i]
        out.append("\n".join(cur))
    return out


def _fuzz(tmp_path: Path, count: int) -> None:
    base = (REPO / "fixtures" / "echo" / "echo.thrift").read_text() + (
        "\nenum Level { LOW = 1, HIGH = 2 }\nconst map<Level, list<string>> NAMES = {Level.LOW: [\"a\"]}\n"
        "typedef EchoRequest Req\nunion Pick { 1: i32 a, 2: string b = \"x\" }\n"
        "service Loud extends Echo {\n  Req shout2(1: Req r = {\"message\": \"m\"}) (streaming.mode=\"server\")\n}\n")
    rng = random.Random(1234)
    path = tmp_path / "fuzz.thrift"
    for text in _mutations(base, rng, count):
        path.write_text(text)
        sink = DiagnosticSink()
        try:
            program = load_program([str(path)], [], sink)
        except IDLError:
            continue
        check_program(program, sink)  # must not raise
        assert not any("internal error" in d.message for d in sink.diagnostics), text


def test_mutated_idl_never_crashes_the_checker(tmp_path):
    _fuzz(tmp_path, 150)


@pytest.mark.slow
def test_mutated_idl_never_crashes_the_checker_long(tmp_path):
    _fuzz(tmp_path, 3000)


# --------------------------------------------------------------------------- real IDL


def _check_paths(roots, include_dirs=()) -> DiagnosticSink:
    sink = DiagnosticSink()
    program = load_program([str(r) for r in roots], [str(d) for d in include_dirs], sink)
    check_program(program, sink)
    return sink


def test_store_fixture_is_clean():
    root = REPO / "fixtures" / "store" / "service.thrift"
    if not root.exists():
        pytest.skip("fixtures/store/service.thrift not written yet")
    sink = _check_paths([root], [REPO / "fixtures" / "store"])
    assert errors(sink) == []


def test_echo_fixture_is_clean():
    assert errors(_check_paths([REPO / "fixtures" / "echo" / "echo.thrift"])) == []


def _corpus_cases():
    try:
        from tests.apache_baseline import APACHE_017, INCLUDE_DIRS
    except ImportError:  # pragma: no cover - run from another directory
        import sys

        sys.path.insert(0, str(REPO))
        from tests.apache_baseline import APACHE_017, INCLUDE_DIRS
    return APACHE_017, INCLUDE_DIRS


def _corpus_sink(rel: str, include_dirs: dict) -> DiagnosticSink:
    f = CORPUS / rel
    dirs = [f.parent] + [CORPUS / d for d in include_dirs.get(rel, [])]
    sink = DiagnosticSink()
    try:
        program = load_program([str(f)], [str(d) for d in dirs], sink)
    except IDLError:
        return sink
    check_program(program, sink)
    return sink


def test_corpus_files_apache_accepts_have_no_errors():
    if not CORPUS.is_dir():
        pytest.skip("Apache corpus not available")
    verdicts, include_dirs = _corpus_cases()
    accepted = [rel for rel, v in verdicts.items() if v[0] == "accept"]
    assert len(accepted) > 150
    failures = {}
    for rel in accepted:
        errs = [f"{d.loc}: {d.message}" for d in _corpus_sink(rel, include_dirs).sorted()
                if d.severity == "error"]
        if errs:
            failures[rel] = errs[:3]
    assert failures == {}


def test_corpus_broken_constants_are_rejected_like_apache():
    if not CORPUS.is_dir():
        pytest.skip("Apache corpus not available")
    _, include_dirs = _corpus_cases()
    sink = _corpus_sink("test/BrokenConstants.thrift", include_dirs)
    assert [(e[0], e[2]) for e in errors(sink)] == [
        (21, "value 9876543210987654321 is out of range for i64 (-9223372036854775808..9223372036854775807)"),
        (24, "value 68719476736 of 'foo.bar' is outside the int32 range (-2147483648..2147483647)"),
    ]
