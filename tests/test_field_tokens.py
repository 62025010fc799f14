"""Runs of plain fields lexed as single FIELD tokens (``TokenStream(fields=True)``) give the
same AST, spans, locations, doc comments and diagnostics as the token-by-token
parse, on every file we have and on the forms the fast path must leave alone."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from thriftgen.diagnostics import DiagnosticSink, SourceText, format_diagnostic
from thriftgen.idl import grammar
from thriftgen.idl.grammar import parse_text
from thriftgen.idl.lexer import TokenStream

REPO = Path(__file__).resolve().parents[1]


def sources() -> list:
    files = sorted(REPO.glob("fixtures/**/*.thrift"))
    corpus = REPO.parent / "shared" / "corpus" / "apache-thrift"
    if corpus.is_dir():
        files += sorted(corpus.glob("**/*.thrift"))
    return files


def shape(node):
    """Everything a node holds, recursively, as comparable plain data."""
    if isinstance(node, (list, tuple)):
        return (type(node).__name__, tuple(shape(x) for x in node))
    if isinstance(node, dict):
        return tuple(sorted((k, shape(v)) for k, v in node.items()))
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        slots = [s for cls in type(node).__mro__ for s in getattr(cls, "__slots__", ())]
        names = [f.name for f in dataclasses.fields(node)] + [s for s in slots if not s.startswith("__")]
        return (type(node).__name__, tuple((n, shape(getattr(node, n, None))) for n in dict.fromkeys(names)))
    return node


def parse_with(text: str, fields: bool):
    """(document shape or None, rendered diagnostics): ``parse_text`` as it is
    (``fields``), or with FIELD tokens off throughout."""
    original = grammar._parse

    def token_by_token(src, sink, fields):
        return original(src, sink, False)

    if not fields:
        grammar._parse = token_by_token
    try:
        sink = DiagnosticSink()
        doc = parse_text(text, "t.thrift", sink)
    finally:
        grammar._parse = original
    shown = [format_diagnostic(d, sink.sources, False) for d in sink.sorted()]
    return (shape(doc) if doc is not None else None), shown


def field_runs(text: str) -> list:
    """The number of fields each FIELD token of ``text`` holds."""
    ts = TokenStream(text, fields=True)
    ts.ctx = grammar._Ctx(SourceText("t.thrift", text), DiagnosticSink(), None)
    runs = []
    while (tok := ts.token()) is not None:
        if tok.type == "FIELD":
            runs.append(len(tok.value))
    return runs


@pytest.mark.parametrize("path", sources(), ids=lambda p: p.name)
def test_same_parse_with_and_without_field_tokens(path: Path):
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    assert parse_with(text, True) == parse_with(text, False)


def test_synthetic_idl_uses_field_tokens_and_parses_the_same(tmp_path):
    from bench.synth_idl import generate

    generate(300, tmp_path, seed=3)
    for path in sorted(tmp_path.glob("*.thrift")):
        text = path.read_text()
        assert parse_with(text, True) == parse_with(text, False), path.name
    assert sum(field_runs((tmp_path / "domain_00.thrift").read_text())) > 100


PLAIN = """struct S {
  /** doc of a */
  1: i32 a,
  2: optional string b;
  3: required other.Type c
  4: list_like d}
service Svc { void f(1: i64 x, 2: binary y) throws (1: E e) }
"""


CONTAINERS = """struct S {
  1: list<i32> a,
  2: optional set < x.Y > b;
  3: map<string,S> c
  4: required map< i8 , binary >d}
"""


def test_plain_containers_join_the_run():
    assert field_runs(CONTAINERS) == [4]
    assert parse_with(CONTAINERS, True) == parse_with(CONTAINERS, False)


def test_each_run_of_plain_fields_is_one_token():
    assert field_runs(PLAIN) == [4, 2, 1]
    doc, diags = parse_with(PLAIN, True)
    assert (doc, diags) == parse_with(PLAIN, False)


RUNS = """struct S {
  1: i32 a, // after a
  /** doc of b */
  2: i32 b; # hash comment
  /* block */ 3: i32 c
  4: i32 d = 1,
  5: i32 e, 6: i32 f
}
"""


def test_comments_between_fields_stay_in_the_run_and_a_default_ends_it():
    assert field_runs(RUNS) == [3, 2]
    doc, diags = parse_with(RUNS, True)
    assert (doc, diags) == parse_with(RUNS, False)
    sink = DiagnosticSink()
    parsed = parse_text(RUNS, "t.thrift", sink)
    assert parsed is not None
    assert [c.text for c in parsed.comments] == [
        "// after a", "/** doc of b */", "# hash comment", "/* block */"]
    assert parsed.definitions[0].fields[1].doc == "doc of b"


LEFT_ALONE = {
    "default": "struct S { 1: i32 a = 5, 2: string b = 'x' }",
    "annotations": "struct S { 1: i32 (x = 'y') a (z = 'w'), 2: i32 b (k = 'v'); }",
    "reference": "struct S { 1: S &a, }",
    "container": "struct S { 1: list<i32> a, 2: map<string, S> b; 3: set<x.Y> c }",
    "comment inside": "struct S { 1: /* c */ i32 a, 2: i32 /* c */ b, 3: i32 c /* c */ = 1 }",
    "keyword type": "struct S { 1: void a }",
    "keyword name": "struct S { 1: i32 optional }",
    "type-word names": "struct S { 1: i8 i8, 2: list<i8> list, 3: string map, 4: set<i8> set }",
    "slist": "struct S { 1: slist a }",
    "no separator": "struct S { 1: i32 a 2: i32 b\n 3: i32 c }",
    "no id": "struct S { i32 a, optional i32 b }",
    "id out of range": "struct S { 40000: i32 a, 0: i32 b, 123456: i32 c }",
    "signed id": "struct S { -1: i32 a, +2: i32 b }",
    "hex id": "struct S { 0x1: i32 a }",
    "const map, identifier keys": "const map<string, string> M = {1: A B: C, 2: D}",
    "const map, no separators": "const map<i32, E> M = {1: E.A 2: E.B}",
    "field at top level": "1: i32 a,",
    "field in an enum": "enum E { 1: i32 a }",
    "field in a const list": "const list<i32> L = [1: i32 a]",
    "dotted name": "struct S { 1: i32 a.b }",
    "name then colon": "struct S { 1: i32 a: 2 }",
    "crlf and tabs": "struct S {\r\n\t1:\trequired\ti32\ta\t,\r\n\t2 : i64 b ;\r\n}",
    "nested container": "struct S { 1: map<i32, list<string>> a, 2: list<list<i8>> b }",
    "container annotations": "struct S { 1: list<i32 (x='y')> a, 2: set<i32> (k='v') b }",
    "cpp_type": "struct S { 1: list<i32> cpp_type 'std::vector' a, 2: map cpp_type 'M' <i8, i8> b }",
    "slist element": "struct S { 1: list<slist> a }",
    "keyword element": "struct S { 1: list<void> a, 2: map<struct, i8> b }",
    "uuid and double": "struct S { 1: uuid a, 2: double b }",
    "unterminated": "struct S { 1: i32 a,",
    "function args": "service X { i32 f(1: i32 a 2: string b), oneway void g(1: i32 c) }",
}


@pytest.mark.parametrize("text", LEFT_ALONE.values(), ids=LEFT_ALONE.keys())
def test_forms_the_fast_path_leaves_alone_parse_the_same(text: str):
    assert parse_with(text, True) == parse_with(text, False)


@pytest.mark.parametrize("text", [LEFT_ALONE[k] for k in (
    "field at top level", "field in an enum", "field in a const list", "name then colon")])
def test_a_field_token_out_of_place_reports_the_token_by_token_error(text: str):
    doc, diags = parse_with(text, True)
    assert doc is None and diags and "error" in diags[0]
    assert "FIELD" not in diags[0] and "field token" not in diags[0]
