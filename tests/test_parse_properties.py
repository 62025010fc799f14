"""Property tests: the printer round-trips, and no input makes the front end raise
anything but a diagnostic (``IDLError``)."""

from __future__ import annotations

import os
import re
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apache_baseline import INCLUDE_DIRS
from conftest import CORPUS_DIR
from thriftgen.cli import load_and_check
from thriftgen.diagnostics import DiagnosticSink, IDLError
from thriftgen.idl import ast
from thriftgen.idl.grammar import decode_source, parse_text
from thriftgen.idl.lexer import KEYWORDS
from thriftgen.idl.printer import print_document

PATH = "p.thrift"
CORPUS_FILES = (
    sorted(p.relative_to(CORPUS_DIR).as_posix() for p in CORPUS_DIR.rglob("*.thrift"))
    if CORPUS_DIR.is_dir() else []
)
needs_corpus = pytest.mark.skipif(not CORPUS_FILES, reason=f"Apache corpus not found at {CORPUS_DIR}")

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The slow variants run 20 x 1000 examples: one 20k-example run makes Hypothesis
# keep every choice sequence in memory (it reached 3.5 GB).
SLOW_CHUNKS = range(20)
SLOW = settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))


def parse_clean(text: str):
    """The document when ``text`` parses without errors, else None."""
    sink = DiagnosticSink()
    doc = parse_text(text, PATH, sink)
    return doc if doc is not None and not sink.has_errors else None


def assert_round_trips(doc: ast.Document) -> None:
    text = print_document(doc)
    sink = DiagnosticSink()
    again = parse_text(text, doc.path, sink)
    assert again is not None and not sink.has_errors, sink.render() + "\n---\n" + text
    assert again == doc, text


# --------------------------------------------------------------------------- corpus round-trip


@needs_corpus
def test_every_corpus_file_round_trips_through_the_printer():
    parsed = 0
    for rel in CORPUS_FILES:
        sink = DiagnosticSink()
        text = decode_source((CORPUS_DIR / rel).read_bytes(), rel, sink)
        doc = parse_text(text, rel, sink) if text is not None else None
        if doc is None or sink.has_errors:
            continue
        assert_round_trips(doc)
        parsed += 1
    assert parsed >= len(CORPUS_FILES) * 0.9  # nearly all of them parse


# --------------------------------------------------------------------------- generated ASTs

_FIRST = "abcxyzABCXYZ_"
_REST = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
# Built rather than filtered (filters make generation several times slower);
# a reserved word becomes a name by appending '_'.
ident = st.builds(lambda a, b: a + b + ("_" if a + b in KEYWORDS else ""),
                  st.sampled_from(_FIRST), st.text(_REST, max_size=6))
dotted = st.lists(ident, min_size=1, max_size=3).map(".".join)
field_names = st.one_of(ident, st.sampled_from(sorted(ast.BASE_TYPE_NAMES | {"list", "set", "map"})))
annotation_keys = st.one_of(dotted, st.sampled_from(["string", "i32", "cpp_type"]))
annotations = st.lists(
    st.builds(ast.Annotation, annotation_keys, st.none() | st.text(max_size=8)), max_size=2
).map(tuple)

# Docs the parser can produce: no '*/', lines without surrounding whitespace
# (the parser strips and dedents them), no leading/trailing blank lines.
_doc_line = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters="\x7f"),
                    max_size=12).map(str.strip)
docs = st.none() | st.lists(_doc_line, min_size=1, max_size=3).map(
    lambda lines: "\n".join(lines).strip("\n").replace("*/", "* /"))

types = st.recursive(
    st.builds(ast.BaseType, st.sampled_from(sorted(ast.BASE_TYPE_NAMES)), annotations)
    | st.builds(ast.NamedType, dotted, annotations),
    lambda inner: st.builds(ast.ListType, inner, annotations, st.none() | st.text(max_size=6))
    | st.builds(ast.SetType, inner, annotations, st.none() | st.text(max_size=6))
    | st.builds(ast.MapType, inner, inner, annotations, st.none() | st.text(max_size=6)),
    max_leaves=4,
)

const_values = st.recursive(
    st.builds(ast.ConstInt, st.integers())
    | st.builds(ast.ConstDouble, st.floats(allow_nan=False))
    | st.builds(ast.ConstString, st.text(max_size=10))
    | st.builds(ast.ConstRef, dotted),
    lambda inner: st.builds(ast.ConstList, st.lists(inner, max_size=3))
    | st.builds(ast.ConstMap, st.lists(st.tuples(inner, inner), max_size=3)),
    max_leaves=6,
)


@st.composite
def field_lists(draw, max_size=4):
    fields = draw(st.lists(st.builds(
        ast.Field,
        id=st.integers(1, 32767),
        name=field_names,
        type=types,
        requiredness=st.sampled_from([ast.REQUIRED, ast.OPTIONAL, ast.DEFAULT]),
        default=st.none() | const_values,
        explicit_id=st.booleans(),
        reference=st.booleans(),
        doc=docs,
        annotations=annotations,
    ), max_size=max_size))
    auto = -1
    for f in fields:  # implicit ids as the parser assigns them
        if not f.explicit_id:
            f.id, auto = auto, auto - 1
    return fields


@st.composite
def enums(draw):
    values = draw(st.lists(st.builds(
        ast.EnumValue, name=ident, value=st.integers(-(2**31), 2**31 - 1), explicit=st.booleans(),
        doc=docs, annotations=annotations), max_size=4))
    nxt = 0
    for v in values:  # implicit values count up from the previous one
        if not v.explicit:
            v.value = nxt
        nxt = v.value + 1
    return ast.Enum(draw(ident), values, draw(docs), draw(annotations))


functions = st.builds(
    ast.Function, name=ident, return_type=st.none() | types, args=field_lists(3), throws=field_lists(2),
    oneway=st.booleans(), doc=docs, annotations=annotations,
)

definitions = st.one_of(
    st.builds(ast.Typedef, name=ident, type=types, doc=docs, annotations=annotations),
    st.builds(ast.Const, name=ident, type=types, value=const_values, doc=docs),
    enums(),
    st.builds(ast.Senum, name=ident, values=st.lists(st.text(max_size=6), max_size=3), doc=docs,
              annotations=annotations),
    st.builds(ast.Struct, kind=st.sampled_from([ast.STRUCT, ast.UNION, ast.EXCEPTION]), name=ident,
              fields=field_lists(), doc=docs, annotations=annotations),
    st.builds(ast.Service, name=ident, extends=st.none() | dotted, functions=st.lists(functions, max_size=3),
              doc=docs, annotations=annotations),
)

headers = st.one_of(
    st.builds(ast.Include, st.text(min_size=1, max_size=12)),
    st.builds(ast.CppInclude, st.text(max_size=12)),
    st.builds(ast.Namespace, st.just("*") | dotted, dotted, annotations),
)

documents = st.builds(ast.Document, st.just(PATH), st.lists(headers, max_size=3), st.lists(definitions, max_size=4))


@FAST
@given(documents)
def test_generated_documents_round_trip(doc):
    assert_round_trips(doc)


@pytest.mark.slow
@pytest.mark.parametrize("chunk", SLOW_CHUNKS)
@SLOW
@given(documents)
def test_generated_documents_round_trip_many(chunk, doc):
    assert_round_trips(doc)


# --------------------------------------------------------------------------- mutations

# Comments are single tokens so that mutations mostly land in IDL, not in the
# license header every corpus file starts with.
_TOKEN = re.compile(rb"/\*.*?\*/|//[^\n]*|#[^\n]*|[A-Za-z_0-9.]+|\s+|\"[^\"\n]*\"|'[^'\n]*'|.", re.S)
_VOCABULARY = [w.encode() for w in KEYWORDS] + [
    b"{", b"}", b"(", b")", b"<", b">", b"[", b"]", b"=", b",", b";", b":", b"*", b"&", b'"',
    b"'", b"/*", b"*/", b"/**", b"//", b"#", b"\n", b"1", b"-1", b"0x", b"1.5e", b"99999999999999999999",
    b"x", b"Foo.BAR", b"\\", b"\xff", b"\xef\xbb\xbf", b"\x00", b"\r\n", b"\t",
]


@st.composite
def mutated_corpus_files(draw):
    """A corpus file with a few token-level or byte-level mutations: (rel path, bytes)."""
    rel = draw(st.sampled_from(CORPUS_FILES or ["-"]))
    tokens = _TOKEN.findall((CORPUS_DIR / rel).read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        if not tokens:
            break
        i = draw(st.integers(0, len(tokens) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "replace", "truncate", "bytes"]))
        if op == "delete":
            del tokens[i]
        elif op == "duplicate":
            tokens.insert(i, tokens[i])
        elif op == "swap":
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == "insert":
            tokens.insert(i, draw(st.sampled_from(_VOCABULARY)))
        elif op == "replace":
            tokens[i] = draw(st.sampled_from(_VOCABULARY))
        elif op == "truncate":
            data = b"".join(tokens)
            tokens = [data[: draw(st.integers(0, len(data)))]]
        else:
            tokens.insert(i, draw(st.binary(min_size=1, max_size=4)))
    return rel, b"".join(tokens)


_idl_alphabet = "structenumservicei32list<map>{}()[]:;,=&*\"'/#\\ \n\t0123456789.-+xX_aZ"
random_sources = st.one_of(
    st.binary(max_size=300),
    st.text(_idl_alphabet, max_size=300).map(str.encode),
)


def assert_only_diagnostics(data: bytes, rel: str = "fuzz.thrift") -> None:
    """Decode, parse, print and run the whole loader + checker on ``data``: any
    failure must come out as diagnostics, never as another exception."""
    sink = DiagnosticSink()
    text = decode_source(data, PATH, sink)
    doc = parse_text(text, PATH, sink) if text is not None else None
    if doc is None:
        assert sink.has_errors
    elif not sink.has_errors:
        assert_round_trips(doc)
    sink.render()  # quoting hostile source lines must not fail either

    src_dir = CORPUS_DIR / os.path.dirname(rel)
    include_dirs = [str(src_dir)] + [str(CORPUS_DIR / d) for d in INCLUDE_DIRS.get(rel, [])]
    with tempfile.TemporaryDirectory() as tmp:
        # Same base name as the original so 'alias.Name' references keep working;
        # its includes resolve from the corpus through the include path.
        path = os.path.join(tmp, os.path.basename(rel))
        with open(path, "wb") as fh:
            fh.write(data)
        try:
            load_and_check([path], include_dirs, None, True, DiagnosticSink())
        except IDLError as e:
            assert e.errors, "IDLError without an error diagnostic"
            str(e)


@needs_corpus
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_corpus_files())
def test_mutated_corpus_files_give_diagnostics_not_exceptions(case):
    rel, data = case
    assert_only_diagnostics(data, rel)


@FAST
@given(random_sources)
def test_random_input_gives_diagnostics_not_exceptions(data):
    assert_only_diagnostics(data)


@pytest.mark.slow
@pytest.mark.parametrize("chunk", SLOW_CHUNKS)
@needs_corpus
@SLOW
@given(mutated_corpus_files())
def test_mutated_corpus_files_many(chunk, case):
    rel, data = case
    assert_only_diagnostics(data, rel)


@pytest.mark.slow
@pytest.mark.parametrize("chunk", SLOW_CHUNKS)
@SLOW
@given(random_sources)
def test_random_input_many(chunk, data):
    assert_only_diagnostics(data)
