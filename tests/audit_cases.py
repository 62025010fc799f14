"""The audit's scenario table: pairs of small IDLs, the findings expected, and how
to show on the wire that the verdict is right.

``expect``: ``(rule id, line in NEW)`` for every finding with every rule
enabled (wire and source). ``wire``: a :class:`Value` (bytes of one version's
struct read by the other, both ways) or a :class:`Call` (a call from one
version's client to the other version's server, both ways); ``broken`` says
whether the round trip must fail or change a value. ``apache``: what
``thrift --audit`` says about the pair, where it differs from its own reading
of a real break: ``"misses"`` (a break it does not report) or ``"flags"`` (a
compatible edit it reports as a failure); None when it agrees.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple


@dataclass
class Value:
    struct: str
    sample: Any  # the old version's value, in thriftgen call's JSON mapping
    broken: bool
    new_struct: Optional[str] = None  # when the struct was renamed
    new_sample: Any = None  # a value the new version may write (read by the old one)
    by: str = "id"  # compare fields by "id" or by "name" (a field that changed id)
    enum_by_number: bool = False  # a renamed enum value keeps its number


@dataclass
class Call:
    service: str
    method: str
    args: Any  # the old client's arguments (JSON mapping)
    broken: bool
    returns: Any = None  # what the server returns (JSON of its return type), or
    raises: Optional[Tuple[str, Any]] = None  # (throws field, exception JSON)
    new_args: Any = None  # the new client's arguments (default: ``args``)
    multiplexed: bool = False
    by: str = "id"  # compare arguments by "id" or by "name"
    enum_by_number: bool = False


@dataclass
class Case:
    name: str
    old: str
    new: str
    expect: List[Tuple[str, int]]
    wire: Any = None
    apache: Optional[str] = None
    why_no_wire: str = ""
    extra_files: dict = field(default_factory=dict)  # name -> (old text, new text)

    def __post_init__(self):
        self.old = textwrap.dedent(self.old).lstrip("\n")
        self.new = textwrap.dedent(self.new).lstrip("\n")


CASES = [
    # ------------------------------------------------------------------ struct fields
    Case("optional field added", """
        struct S {
          1: i32 a
        }""", """
        struct S {
          1: i32 a
          2: optional string b
        }""", [], Value("S", {"a": 1}, broken=False)),
    Case("optional field added in the middle of the ids", """
        struct S {
          1: i32 a
          5: i32 c
        }""", """
        struct S {
          1: i32 a
          3: optional i32 b
          5: i32 c
        }""", [], Value("S", {"a": 1, "c": 3}, broken=False), apache="flags"),
    Case("field type changed", """
        struct S {
          1: i32 a
        }""", """
        struct S {
          1: i64 a
        }""", [("field-type-changed", 2)], Value("S", {"a": 7}, broken=True)),
    Case("field type changed in a list element", """
        struct S {
          1: list<i32> xs
        }""", """
        struct S {
          1: list<i64> xs
        }""", [("field-type-changed", 2)], Value("S", {"xs": [1, 2]}, broken=True)),
    Case("list became set", """
        struct S {
          1: list<i32> xs
        }""", """
        struct S {
          1: set<i32> xs
        }""", [("field-type-changed", 2)], Value("S", {"xs": [1, 2]}, broken=True)),
    Case("map value type changed", """
        struct S {
          1: map<string, i32> m
        }""", """
        struct S {
          1: map<string, double> m
        }""", [("field-type-changed", 2)], Value("S", {"m": {"k": 1}}, broken=True)),
    Case("map key type changed", """
        struct S {
          1: map<i32, string> m
        }""", """
        struct S {
          1: map<i16, string> m
        }""", [("field-type-changed", 2)], Value("S", {"m": {"1": "x"}}, broken=True)),
    Case("string became binary", """
        struct S {
          1: string s
        }""", """
        struct S {
          1: binary s
        }""", [("field-type-changed-compatible", 2)], Value("S", {"s": "abc"}, broken=False)),
    Case("enum field became i32", """
        enum E {
          A = 1
        }
        struct S {
          1: E e
        }""", """
        enum E {
          A = 1
        }
        struct S {
          1: i32 e
        }""", [("field-type-changed-compatible", 5)], Value("S", {"e": "A"}, broken=False,
                                                              enum_by_number=True),
        apache="flags"),
    Case("field renamed, id and type kept", """
        struct S {
          1: i32 count
        }""", """
        struct S {
          1: i32 total
        }""", [("field-renamed", 2)], Value("S", {"count": 4}, broken=False)),
    Case("field id reused for another field", """
        struct S {
          1: i32 a
          2: string b
        }""", """
        struct S {
          1: i32 a
          2: i64 c
        }""", [("field-id-reused", 3)], Value("S", {"a": 1, "b": "x"}, broken=True)),
    Case("field moved to another id", """
        struct S {
          1: i32 a
          2: string b
        }""", """
        struct S {
          1: i32 a
          3: string b
        }""", [("field-id-changed", 3)], Value("S", {"a": 1, "b": "x"}, broken=True, by="name"),
        ),
    Case("optional field removed", """
        struct S {
          1: i32 a
          2: optional string b
        }""", """
        struct S {
          1: i32 a
        }""", [("field-removed", 1)], Value("S", {"a": 1, "b": "x"}, broken=False),
        apache="flags"),
    Case("required field added", """
        struct S {
          1: i32 a
        }""", """
        struct S {
          1: i32 a
          2: required i32 b
        }""", [("required-field-added", 3)], Value("S", {"a": 1}, broken=True)),
    Case("required field removed", """
        struct S {
          1: i32 a
          2: required i32 b
        }""", """
        struct S {
          1: i32 a
        }""", [("required-field-removed", 1)], Value("S", {"a": 1, "b": 2}, broken=True)),
    Case("optional field made required", """
        struct S {
          1: i32 a
          2: optional i32 b
        }""", """
        struct S {
          1: i32 a
          2: required i32 b
        }""", [("field-now-required", 3)], Value("S", {"a": 1}, broken=True)),
    Case("required field made optional", """
        struct S {
          1: i32 a
          2: required i32 b
        }""", """
        struct S {
          1: i32 a
          2: optional i32 b
        }""", [("field-no-longer-required", 3)], Value("S", {"a": 1, "b": 2}, broken=True,
                                                      new_sample={"a": 1})),
    Case("default requiredness made optional", """
        struct S {
          1: i32 a
        }""", """
        struct S {
          1: optional i32 a
        }""", [], Value("S", {"a": 1}, broken=False)),
    Case("default value changed", """
        struct S {
          1: i32 a = 1
        }""", """
        struct S {
          1: i32 a = 2
        }""", [("field-default-changed", 2)], Value("S", {"a": 5}, broken=False),
        apache=None),
    Case("nested struct's field type changed", """
        struct Inner {
          1: i32 x
        }
        struct Outer {
          1: list<Inner> items
        }""", """
        struct Inner {
          1: string x
        }
        struct Outer {
          1: list<Inner> items
        }""", [("field-type-changed", 2)], Value("Outer", {"items": [{"x": 1}]}, broken=True)),
    # ------------------------------------------------------------------ typedefs
    Case("typedef's type changed", """
        typedef i32 Id
        struct S {
          1: Id id
        }""", """
        typedef i64 Id
        struct S {
          1: Id id
        }""", [("typedef-type-changed", 1)], Value("S", {"id": 3}, broken=True),
        apache="misses"),
    Case("field type replaced by a typedef of the same type", """
        struct S {
          1: i64 id
        }""", """
        typedef i64 Id
        struct S {
          1: Id id
        }""", [("field-type-changed-compatible", 3)], Value("S", {"id": 3}, broken=False),
        apache="flags"),
    Case("typedef chain changes underneath", """
        typedef i32 Base
        typedef Base Id
        struct S {
          1: Id id
        }""", """
        typedef string Base
        typedef Base Id
        struct S {
          1: Id id
        }""", [("typedef-type-changed", 1)],
        Value("S", {"id": 3}, broken=True), apache="misses"),
    # ------------------------------------------------------------------ renames and moves
    Case("struct renamed, still used by the same field", """
        struct Point {
          1: i32 x
        }
        struct Shape {
          1: Point origin
        }""", """
        struct Position {
          1: i32 x
        }
        struct Shape {
          1: Position origin
        }""", [("definition-renamed", 1)],
        Value("Shape", {"origin": {"x": 2}}, broken=False), apache="flags"),
    Case("renamed struct changed too", """
        struct Point {
          1: i32 x
        }
        struct Shape {
          1: Point origin
        }""", """
        struct Position {
          1: i64 x
        }
        struct Shape {
          1: Position origin
        }""", [("definition-renamed", 1), ("field-type-changed", 2)],
        Value("Shape", {"origin": {"x": 2}}, broken=True)),
    Case("field's struct replaced by an unrelated incompatible struct", """
        struct A {
          1: i32 x
        }
        struct B {
          1: string y
        }
        struct S {
          1: A v
        }""", """
        struct A {
          1: i32 x
        }
        struct B {
          1: string y
        }
        struct S {
          1: B v
        }""", [("field-type-changed", 8)], Value("S", {"v": {"x": 1}}, broken=True)),
    Case("field's struct replaced by an unrelated struct of the same shape", """
        struct A {
          1: i32 x
        }
        struct B {
          1: i32 y
        }
        struct S {
          1: A v
        }""", """
        struct A {
          1: i32 x
        }
        struct B {
          1: i32 y
        }
        struct S {
          1: B v
        }""", [("field-type-changed-compatible", 8)], Value("S", {"v": {"x": 1}}, broken=False),
        apache="flags"),
    Case("a field's type name now means an enum, its text unchanged", """
        struct P {
          1: i32 x
        }
        struct S {
          1: P p
        }""", """
        enum P {
          X = 1
        }
        struct S {
          1: P p
        }""", [("definition-removed", 4), ("field-type-changed", 5)],
        Value("S", {"p": {"x": 1}}, broken=True)),
    Case("struct removed, nothing used it", """
        struct Used {
          1: i32 a
        }
        struct Unused {
          1: i32 b
        }""", """
        struct Used {
          1: i32 a
        }""", [("definition-removed", 1)], Value("Used", {"a": 1}, broken=False),
        apache="flags"),
    Case("definition moved to an included file", """
        struct P {
          1: i32 x
        }
        struct S {
          1: P p
        }""", """
        include "common.thrift"
        struct S {
          1: common.P p
        }""", [("definition-moved", 1)],
        Value("S", {"p": {"x": 1}}, broken=False),
        extra_files={"common.thrift": (None, "struct P {\n  1: i32 x\n}\n")}, apache="flags"),
    # ------------------------------------------------------------------ unions
    Case("union member added", """
        union U {
          1: i32 a
        }""", """
        union U {
          1: i32 a
          2: string b
        }""", [], Value("U", {"a": 1}, broken=False)),
    Case("union member removed", """
        union U {
          1: i32 a
          2: string b
        }""", """
        union U {
          1: i32 a
        }""", [("union-member-removed", 1)], Value("U", {"b": "x"}, broken=True)),
    Case("struct became a union", """
        struct S {
          1: i32 a
          2: i32 b
        }""", """
        union S {
          1: i32 a
          2: i32 b
        }""", [("struct-kind-changed", 1)], Value("S", {"a": 1, "b": 2}, broken=True),
        apache="misses"),
    Case("exception became a struct", """
        exception E {
          1: string why
        }""", """
        struct E {
          1: string why
        }""", [("exception-kind-changed", 1)], Value("E", {"why": "m"}, broken=False),
        apache="flags"),
    # ------------------------------------------------------------------ enums
    Case("enum value added", """
        enum E {
          A = 1
        }
        struct S {
          1: E e
        }""", """
        enum E {
          A = 1
          B = 2
        }
        struct S {
          1: E e
        }""", [], Value("S", {"e": "A"}, broken=False)),
    Case("enum value removed", """
        enum E {
          A = 1
          B = 2
        }
        struct S {
          1: E e
        }""", """
        enum E {
          A = 1
        }
        struct S {
          1: E e
        }""", [("enum-value-removed", 1)], Value("S", {"e": "B"}, broken=True)),
    Case("enum value renumbered", """
        enum E {
          A = 1
          B = 2
        }
        struct S {
          1: E e
        }""", """
        enum E {
          A = 1
          B = 3
        }
        struct S {
          1: E e
        }""", [("enum-value-renumbered", 3)], Value("S", {"e": "B"}, broken=True)),
    Case("enum values swapped", """
        enum E {
          A = 1
          B = 2
        }
        struct S {
          1: E e
        }""", """
        enum E {
          A = 2
          B = 1
        }
        struct S {
          1: E e
        }""", [("enum-value-renumbered", 2), ("enum-value-renumbered", 3),
               ("enum-value-reused", 2), ("enum-value-reused", 3)],
        Value("S", {"e": "B"}, broken=True), apache="misses"),
    Case("enum value renamed, number kept", """
        enum E {
          A = 1
          B = 2
        }
        struct S {
          1: E e
        }""", """
        enum E {
          A = 1
          BEE = 2
        }
        struct S {
          1: E e
        }""", [("enum-value-renamed", 3)], Value("S", {"e": "B"}, broken=False,
                                                 enum_by_number=True)),
    Case("implicit enum values shift", """
        enum E {
          A
          B
        }
        struct S {
          1: E e
        }""", """
        enum E {
          Z
          A
          B
        }
        struct S {
          1: E e
        }""", [("enum-value-renumbered", 3), ("enum-value-renumbered", 4),
               ("enum-value-reused", 2), ("enum-value-reused", 3)],
        Value("S", {"e": "A"}, broken=True), apache="misses"),
    # ------------------------------------------------------------------ services
    Case("method added", """
        service Svc {
          i32 f(1: i32 x)
        }""", """
        service Svc {
          i32 f(1: i32 x)
          void g()
        }""", [], Call("Svc", "f", {"x": 1}, broken=False, returns=2)),
    Case("method removed", """
        service Svc {
          i32 f(1: i32 x)
          void g()
        }""", """
        service Svc {
          i32 f(1: i32 x)
        }""", [("method-removed", 1)], Call("Svc", "g", {}, broken=True)),
    Case("method moved to the base service", """
        service Base {
          void ping()
        }
        service Svc {
          i32 f(1: i32 x)
          i32 g()
        }""", """
        service Base {
          void ping()
          i32 g()
        }
        service Svc extends Base {
          i32 f(1: i32 x)
        }""", [("service-extends-changed", 5)], Call("Svc", "g", {}, broken=False, returns=3),
        apache="flags"),
    Case("argument type changed", """
        service Svc {
          i32 f(1: i32 x)
        }""", """
        service Svc {
          i32 f(1: string x)
        }""", [("field-type-changed", 2)], Call("Svc", "f", {"x": 1}, broken=True, returns=0,
                                               new_args={"x": "1"})),
    Case("argument moved to another id", """
        service Svc {
          i32 f(1: i32 x, 2: i32 y)
        }""", """
        service Svc {
          i32 f(1: i32 x, 3: i32 y)
        }""", [("field-id-changed", 2)], Call("Svc", "f", {"x": 1, "y": 2}, broken=True,
                                             returns=0, by="name")),
    Case("argument renamed", """
        service Svc {
          i32 f(1: i32 x)
        }""", """
        service Svc {
          i32 f(1: i32 count)
        }""", [("field-renamed", 2)], Call("Svc", "f", {"x": 5}, broken=False, returns=1,
                                          new_args={"count": 5}), apache=None),
    Case("argument removed", """
        service Svc {
          i32 f(1: i32 x, 2: i32 y)
        }""", """
        service Svc {
          i32 f(1: i32 x)
        }""", [("argument-removed", 2)], Call("Svc", "f", {"x": 1, "y": 2}, broken=False,
                                             returns=1, new_args={"x": 1}), apache="flags"),
    Case("argument added", """
        service Svc {
          i32 f(1: i32 x)
        }""", """
        service Svc {
          i32 f(1: i32 x, 2: i32 y)
        }""", [], Call("Svc", "f", {"x": 1}, broken=False, returns=1)),
    Case("return type changed", """
        service Svc {
          i32 f()
        }""", """
        service Svc {
          i64 f()
        }""", [("method-return-type-changed", 2)], Call("Svc", "f", {}, broken=True, returns=5)),
    Case("return type became void", """
        service Svc {
          i32 f()
        }""", """
        service Svc {
          void f()
        }""", [("method-return-type-changed", 2)], Call("Svc", "f", {}, broken=True, returns=5)),
    Case("void method now returns a value", """
        service Svc {
          void f()
        }""", """
        service Svc {
          i32 f()
        }""", [("method-return-type-changed", 2)], Call("Svc", "f", {}, broken=True,
                                                      returns=None)),
    Case("oneway added", """
        service Svc {
          void f(1: i32 x)
        }""", """
        service Svc {
          oneway void f(1: i32 x)
        }""", [("method-oneway-changed", 2)], Call("Svc", "f", {"x": 1}, broken=True)),
    Case("declared exception removed", """
        exception Oops {
          1: string why
        }
        service Svc {
          i32 f() throws (1: Oops oops)
        }""", """
        exception Oops {
          1: string why
        }
        service Svc {
          i32 f()
        }""", [("exception-removed", 5)],
        Call("Svc", "f", {}, broken=True, raises=("oops", {"why": "no"}))),
    Case("declared exception added", """
        exception Oops {
          1: string why
        }
        service Svc {
          i32 f()
        }""", """
        exception Oops {
          1: string why
        }
        service Svc {
          i32 f() throws (1: Oops oops)
        }""", [("exception-added", 5)],
        Call("Svc", "f", {}, broken=True, raises=("oops", {"why": "no"})), apache="misses"),
    Case("exception's own field changed", """
        exception Oops {
          1: i32 code
        }
        service Svc {
          i32 f() throws (1: Oops oops)
        }""", """
        exception Oops {
          1: string code
        }
        service Svc {
          i32 f() throws (1: Oops oops)
        }""", [("field-type-changed", 2)],
        Call("Svc", "f", {}, broken=True, raises=("oops", {"code": 1}))),
    Case("service removed", """
        service Keep {
          void ping()
        }
        service Gone {
          i32 f()
        }""", """
        service Keep {
          void ping()
        }""", [("service-removed", 1)], Call("Gone", "f", {}, broken=True, multiplexed=True)),
    Case("streaming mode changed", """
        struct Req {
          1: i32 x
        }
        service Svc {
          Req f(1: Req r)
        }""", """
        struct Req {
          1: i32 x
        }
        service Svc {
          Req f(1: Req r) (streaming.mode="server")
        }""", [("method-streaming-changed", 5)],
        why_no_wire="streaming calls are issue 17's; no streaming peer exists here yet",
        apache="misses"),
    # ------------------------------------------------------------------ source only
    Case("namespace changed", """
        namespace py old.pkg
        struct S {
          1: i32 a
        }""", """
        namespace py new.pkg
        struct S {
          1: i32 a
        }""", [("namespace-changed", 1)], Value("S", {"a": 1}, broken=False)),
    Case("const value changed", """
        const i32 LIMIT = 10
        struct S {
          1: i32 a
        }""", """
        const i32 LIMIT = 20
        struct S {
          1: i32 a
        }""", [("const-changed", 1)], Value("S", {"a": 1}, broken=False)),
    Case("nothing changed but comments and order", """
        struct A {
          1: i32 x
          2: string y
        }""", """
        // reordered
        struct A {
          2: string y  // the label
          1: i32 x
        }""", [], Value("A", {"x": 1, "y": "s"}, broken=False)),
]
