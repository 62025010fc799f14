"""AST nodes pickle as ``(class, field values)`` (the parallel parse and the parse
cache move ASTs as pickles): every field survives, shared nodes stay shared, and
the pickle holds no slot-state dicts."""

from __future__ import annotations

import dataclasses
import pickle
import pickletools

from thriftgen.diagnostics import DiagnosticSink
from thriftgen.idl import ast
from thriftgen.idl.cache import decode_entry, encode_entry
from thriftgen.idl.grammar import parse_text

IDL = """
namespace py p.q (a = "b")
include "other.thrift"
/** S doc */
struct S {
  /** f doc */
  1: required i32 a = 5 (x = "y"),
  2: optional list<map<string, other.T>> b,
  3: S &c,
}
union U { 1: i8 x; 2: binary y }
exception E { 1: string msg }
enum Color { RED = 1, GREEN }
senum Legacy { "a", "b" }
typedef map<i32, set<double>> M
const list<i32> L = [1, 2, 0x10]
const M CM = {1: [1.5]}
service Svc extends other.Base {
  oneway void ping(1: i64 at),
  S get(1: i32 id) throws (1: E e),
}
"""


def test_every_node_survives_a_pickle_round_trip():
    doc = parse_text(IDL, "t.thrift", DiagnosticSink())
    assert doc is not None
    again = pickle.loads(pickle.dumps(doc, protocol=pickle.HIGHEST_PROTOCOL))
    assert again == doc
    for before, after in zip(_nodes(doc), _nodes(again)):
        assert type(before) is type(after)
        for f in dataclasses.fields(before):  # compare=False fields too (locs, spans)
            assert getattr(before, f.name) == getattr(after, f.name), (type(before), f.name)


def test_pickles_call_the_constructor_and_hold_no_state_dicts():
    doc = parse_text(IDL, "t.thrift", DiagnosticSink())
    ops = {op.name for op, _, _ in pickletools.genops(pickle.dumps(doc, protocol=5))}
    assert "REDUCE" in ops and "BUILD" not in ops


def test_shared_nodes_stay_shared():
    t = ast.BaseType("i32")
    pair = pickle.loads(pickle.dumps([t, t], protocol=5))
    assert pair[0] is pair[1]


def test_the_parse_cache_payload_round_trips():
    sink = DiagnosticSink()
    doc = parse_text(IDL, "t.thrift", sink)
    payload = encode_entry(doc, sink.diagnostics)
    assert payload is not None
    hit = decode_entry(payload)
    assert hit is not None and hit.load_document() == doc


def _nodes(node):
    if isinstance(node, (list, tuple)) and not isinstance(node, (ast.Loc, ast.Span)):
        for x in node:
            yield from _nodes(x)
    elif dataclasses.is_dataclass(node):
        yield node
        for f in dataclasses.fields(node):
            yield from _nodes(getattr(node, f.name))
