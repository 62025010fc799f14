"""The audit's rules: an id, a category, a default severity and a one-line doc each.

Two categories, as buf groups its breaking rules:

- **wire**: bytes written by one version are misread or rejected by the other
  (a value lost, changed or refused). On by default, at error severity.
- **source**: the wire is unaffected but the generated code changes for its
  users (a renamed attribute or keyword argument, a moved module, a new
  default). Off by default; ``enable = ["source"]`` turns them on (warnings).

A rule's doc line is what ``thriftgen audit --list-rules`` prints and what the
README's table shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

WIRE = "wire"
SOURCE = "source"
CATEGORIES = (WIRE, SOURCE)


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    severity: str  # "error" or "warning"
    doc: str


_RULES = [
    # -- wire: fields of structs, unions, exceptions, arguments and results
    Rule("field-type-changed", WIRE, "error",
         "a field id keeps its name but its wire type changed (readers skip the value)"),
    Rule("field-id-reused", WIRE, "error",
         "a field id now names another field of another type"),
    Rule("field-id-changed", WIRE, "error",
         "a field kept its name but moved to another id (readers of the old id lose it)"),
    Rule("required-field-added", WIRE, "error",
         "a new required field: old writers never send it, new readers reject their bytes"),
    Rule("required-field-removed", WIRE, "error",
         "a required field removed: new writers never send it, old readers reject their bytes"),
    Rule("field-now-required", WIRE, "error",
         "an optional or default field became required (old writers may omit it)"),
    Rule("field-no-longer-required", WIRE, "error",
         "a required field became optional or default (new writers may omit it)"),
    Rule("union-member-removed", WIRE, "error",
         "a union member removed: a union holding it decodes as empty"),
    Rule("struct-kind-changed", WIRE, "error",
         "a struct became a union or a union a struct (a union holds exactly one field)"),
    Rule("argument-removed", WIRE, "warning",
         "a method argument removed: what old clients send is ignored"),
    # -- wire: enums and typedefs
    Rule("enum-value-removed", WIRE, "error",
         "an enum value's number no longer exists (readers get an unknown value)"),
    Rule("enum-value-renumbered", WIRE, "error",
         "an enum value's name now has another number"),
    Rule("enum-value-reused", WIRE, "error",
         "an enum number now names a different value"),
    Rule("typedef-type-changed", WIRE, "error",
         "a typedef's underlying wire type changed (every field using it changes)"),
    # -- wire: services
    Rule("service-removed", WIRE, "error",
         "a service removed or renamed (multiplexed clients name it on the wire)"),
    Rule("method-removed", WIRE, "error",
         "a method removed from a service (inherited methods included)"),
    Rule("method-oneway-changed", WIRE, "error",
         "a method became oneway or stopped being oneway"),
    Rule("method-return-type-changed", WIRE, "error",
         "a method's return type changed on the wire (void included)"),
    Rule("method-streaming-changed", WIRE, "error",
         "a method's streaming mode (streaming.mode) changed"),
    Rule("exception-removed", WIRE, "error",
         "a declared exception removed: old servers throw what new clients cannot read"),
    Rule("exception-added", WIRE, "warning",
         "a declared exception added: old clients cannot read it when new servers throw it"),
    # -- source: generated code changes, the wire does not
    Rule("field-renamed", SOURCE, "warning",
         "a field or argument renamed, id and type kept (attribute, keyword argument)"),
    Rule("field-removed", SOURCE, "warning",
         "an optional field removed (reusing its id later for another type breaks the wire)"),
    Rule("field-type-changed-compatible", SOURCE, "warning",
         "a field's declared type changed without changing the wire (string/binary, "
         "enum/i32, typedef names)"),
    Rule("field-default-changed", SOURCE, "warning", "a field's default value changed"),
    Rule("definition-removed", SOURCE, "warning",
         "a struct, enum, typedef or const removed (nothing that remains uses it)"),
    Rule("definition-renamed", SOURCE, "warning",
         "a definition renamed (followed through the fields that use it)"),
    Rule("definition-moved", SOURCE, "warning",
         "a definition moved to another file (its Python module changes)"),
    Rule("enum-value-renamed", SOURCE, "warning", "an enum value renamed, number kept"),
    Rule("exception-kind-changed", SOURCE, "warning",
         "an exception became a struct or a struct an exception"),
    Rule("const-changed", SOURCE, "warning", "a constant's type or value changed"),
    Rule("namespace-changed", SOURCE, "warning", "a file's namespace changed or was removed"),
    Rule("service-extends-changed", SOURCE, "warning",
         "a service's base service changed (its methods are compared either way)"),
]

RULES: Dict[str, Rule] = {r.id: r for r in _RULES}
