#!/usr/bin/env python3
"""Deterministic generator of large multi-file Thrift IDLs for the benchmarks.

    python bench/synth_idl.py N OUTDIR [--seed S] [--domains K] [--reach F] [--print-reachable]

writes ``OUTDIR/base.thrift`` (typedefs, enums, consts), ``common.thrift``
(shared value structs and the exceptions), ``domain_00.thrift`` ...
``domain_<K-1>.thrift`` (the bulk of the structs) and the root
``service.thrift`` (a few services, one extending another). ``N`` counts every
struct, union and exception. Services reach about ``F`` (default 5%) of them
transitively; the generator knows that set exactly and ``--print-reachable``
prints it, one ``file.Name`` per line (sorted), for tests to use as an oracle.

Shape, chosen so that closures stay small and every peer accepts the output:

* Structs are laid out in small clusters. A struct may reference earlier
  structs of its own cluster and *leaf* structs (no struct fields) of its own
  file, ``common`` or the domain it includes, so no closure grows past a
  cluster plus a handful of leaves.
* Domain ``2j+1`` includes domain ``2j``; the others include only ``base`` and
  ``common``. Apache's compiler parses an included file again for every
  include path, so "every domain includes every earlier one" would make it
  exponential in K (measured: 2^K re-parses) and benchmark that quirk instead
  of the parser.
* Field names avoid Apache's reserved words; defaults are only given where all
  three front ends agree on their meaning.

Everything comes from ``random.Random(seed)`` and ordered containers only
(never set iteration), so the same arguments give identical bytes.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

NOUNS = (
    "Account", "Order", "Invoice", "Payment", "Shipment", "Customer", "Product",
    "Warehouse", "Ledger", "Session", "Device", "Policy", "Quote", "Refund",
    "Subscription", "Voucher", "Review", "Ticket", "Supplier", "Contract", "Asset",
    "Zone", "Itinerary", "Courier", "Profile", "Journal", "Gauge", "Notice",
    "Budget", "Claim", "Calendar", "Job", "Attachment", "Statement", "Lot",
    "Credential", "Grant", "Crew", "Venture", "Rollout",
)
STRUCT_SUFFIXES = (
    "Info", "Record", "Summary", "Detail", "Request", "Response", "Entry",
    "Snapshot", "Event", "Settings", "Stats", "Key", "Handle", "Change", "Spec",
)
ENUM_SUFFIXES = ("Status", "Kind", "Level", "Mode", "Phase", "Category", "Origin", "Channel")
ENUM_MEMBERS = (
    "UNKNOWN", "ACTIVE", "PENDING", "SUSPENDED", "CLOSED", "ARCHIVED", "DRAFT",
    "APPROVED", "REJECTED", "LOW", "MEDIUM", "HIGH", "CRITICAL", "EXPIRED",
)
FIELD_WORDS = (
    "id", "name", "title", "amount", "quantity", "total", "created_at", "updated_at",
    "owner_id", "status_text", "score", "weight", "price", "currency", "enabled",
    "labels", "attributes", "items", "parent_id", "note", "email", "phone", "street",
    "city", "postal_code", "country", "version", "checksum", "payload", "bitmask",
    "page_size", "page_token", "ratio", "latitude", "longitude", "priority",
    "origin", "destination", "cause", "remark", "revision", "quota", "locale",
    "timezone", "expires_at", "attempts", "sequence", "digest", "url",
    "description", "category_name", "tier", "duration_ms", "size_bytes",
    "item_count", "active", "deleted", "visible", "metadata",
)
FIELD_PREFIXES = ("primary", "secondary", "last", "first", "max", "min", "avg", "prev", "extra")
EXCEPTION_NAMES = (
    "NotFoundError", "InvalidRequestError", "PermissionDeniedError",
    "ConflictError", "UnavailableError", "RateLimitedError",
)
VERBS = ("get", "list", "create", "update", "delete", "sync", "validate", "export")
SERVICE_NAMES = ("CoreService", "CatalogService", "OperationsService")
SENTENCES = (
    "Kept for backwards compatibility with older clients.",
    "Values are validated by the server before they are stored.",
    "Owned by the team that operates this domain.",
    "May be empty when the upstream system has no data.",
    "Timestamps are milliseconds since the Unix epoch.",
    "Changing this requires a schema review.",
)
#: Apache 0.17's reserved words (thriftl.ll) plus Python keywords: never used as names.
RESERVED = frozenset("""
BEGIN END __CLASS__ __DIR__ __FILE__ __FUNCTION__ __LINE__ __METHOD__ __NAMESPACE__
abstract alias and args as assert begin break case catch class clone continue declare
def default del delete do dynamic elif else elseif elsif end enddeclare endfor
endforeach endif endswitch endwhile ensure except exec finally float for foreach from
function global goto if implements import in inline instanceof interface is lambda
module native new next nil not or package pass public print private protected raise
redo rescue retry register return self sizeof static super switch synchronized then
this throw transient try undef unless unsigned until use var virtual volatile when
while with xor yield None True False async await nonlocal
""".split())

BASE_TYPES = ("bool", "byte", "i8", "i16", "i32", "i64", "double", "string", "binary")
#: Typedefs written into base.thrift: name -> underlying type (a chain included).
BASE_TYPEDEFS = (
    ("Timestamp", "i64"), ("UserId", "i64"), ("EmailAddress", "string"),
    ("Cents", "i64"), ("Blob", "binary"), ("Flag", "bool"), ("TinyCode", "byte"),
    ("SmallCode", "i8"), ("PortNumber", "i16"), ("Counter", "i32"), ("Fraction", "double"),
    ("DisplayName", "string"), ("CreatedAt", "Timestamp"),
    ("TagList", "list<string>"), ("AttributeMap", "map<string, string>"), ("IdSet", "set<i64>"),
)
BASE_SCALAR_TYPEDEFS = {name: under for name, under in BASE_TYPEDEFS if "<" not in under}


def _scalar_of(name: str) -> str:
    while name in BASE_SCALAR_TYPEDEFS:
        name = BASE_SCALAR_TYPEDEFS[name]
    return name


# --------------------------------------------------------------------------- model

@dataclass(frozen=True)
class Base:
    name: str


@dataclass(frozen=True)
class BaseTypedef:
    name: str  # defined in base.thrift


@dataclass(frozen=True)
class EnumRef:
    name: str  # defined in base.thrift


@dataclass(frozen=True)
class StructRef:
    qname: str  # "file.Name" of the struct
    via: Optional[str] = None  # name of a typedef to it (same file as the struct)


@dataclass(frozen=True)
class Container:
    kind: str  # list | set | map
    args: tuple


TypeSpec = Union[Base, BaseTypedef, EnumRef, StructRef, Container]


@dataclass
class StructSpec:
    file: str
    name: str
    kind: str = "struct"  # struct | union | exception
    refs: list = field(default_factory=list)  # qnames referenced directly
    alias: Optional[str] = None  # typedef name pointing at this struct

    @property
    def qname(self) -> str:
        return f"{self.file}.{self.name}"


@dataclass
class GeneratedIDL:
    root: Path
    files: list
    reachable: set
    n_structs: int
    seed: int


def _qualify(file: str, name: str, here: str) -> str:
    return name if file == here else f"{file}.{name}"


def render_type(t: TypeSpec, here: str, structs: dict) -> str:
    if isinstance(t, Base):
        return t.name
    if isinstance(t, BaseTypedef):
        return _qualify("base", t.name, here)
    if isinstance(t, EnumRef):
        return _qualify("base", t.name, here)
    if isinstance(t, StructRef):
        s = structs[t.qname]
        return _qualify(s.file, t.via or s.name, here)
    inner = ", ".join(render_type(a, here, structs) for a in t.args)
    return f"{t.kind}<{inner}>"


class _Generator:
    def __init__(self, n: int, seed: int, domains: int, reach: float):
        if n < 10:
            raise ValueError("n must be at least 10")
        self.rng = random.Random(seed)
        self.n = n
        self.seed = seed
        self.reach = reach
        self.n_exceptions = max(1, min(len(EXCEPTION_NAMES), n // 10))
        self.n_common = max(3, n // 50)
        rest = n - self.n_exceptions - self.n_common
        self.n_domains = max(1, min(domains, rest // 3))
        self.structs: dict[str, StructSpec] = {}  # qname -> spec, in definition order
        self.file_structs: dict[str, list] = {}
        self.leaves: dict[str, list] = {}  # file -> leaf qnames, in order
        self.enums: list[tuple] = []  # (name, [(member, value|None)])
        self.serial = 0

    # -- names ---------------------------------------------------------------

    def struct_name(self) -> str:
        self.serial += 1
        return f"{self.rng.choice(NOUNS)}{self.rng.choice(STRUCT_SUFFIXES)}{self.serial}"

    def field_name(self, used: set, hint: Optional[str] = None) -> str:
        word = hint or self.rng.choice(FIELD_WORDS)
        candidates = [word] + [f"{p}_{word}" for p in self.rng.sample(FIELD_PREFIXES, 4)]
        for cand in candidates:
            if cand not in used and cand not in RESERVED:
                used.add(cand)
                return cand
        cand = f"{word}_{len(used) + 1}"
        used.add(cand)
        return cand

    # -- types and values ----------------------------------------------------

    def scalar_type(self) -> TypeSpec:
        r = self.rng.random()
        if r < 0.62:
            return Base(self.rng.choice(BASE_TYPES))
        if r < 0.82:
            return BaseTypedef(self.rng.choice(BASE_TYPEDEFS)[0])
        return EnumRef(self.rng.choice(self.enums)[0])

    def container_type(self, elem: Optional[TypeSpec] = None) -> TypeSpec:
        """A container; ``elem`` (a struct) is placed somewhere inside it when given."""
        rng = self.rng
        shape = rng.randrange(8)
        leaf = elem
        if shape == 0:
            return Container("list", (leaf or Base(rng.choice(("string", "i64", "double", "binary"))),))
        if shape == 1:
            if leaf is None:
                return Container("set", (Base(rng.choice(("i64", "string", "i32"))),))
            return Container("list", (leaf,))
        if shape == 2:
            return Container("map", (Base("string"), leaf or Base(rng.choice(("string", "i32", "i64")))))
        if shape == 3:
            key = EnumRef(rng.choice(self.enums)[0]) if leaf is None else Base("i64")
            return Container("map", (key, leaf or Base("string")))
        if shape == 4:  # nested: map<i32, list<T>>
            return Container("map", (Base("i32"), Container("list", (leaf or Base("string"),))))
        if shape == 5:  # nested: list<map<string, T>>
            return Container("list", (Container("map", (Base("string"), leaf or Base("i64"))),))
        if shape == 6:
            if leaf is None:
                return Container("set", (EnumRef(rng.choice(self.enums)[0]),))
            return Container("list", (Container("list", (leaf,)),))
        return Container("list", (leaf or BaseTypedef(rng.choice(("Timestamp", "UserId", "DisplayName"))),))

    def default_value(self, t: TypeSpec, here: str) -> Optional[str]:
        """A literal all three front ends read the same way, or None."""
        rng = self.rng
        if isinstance(t, BaseTypedef):
            if t.name not in BASE_SCALAR_TYPEDEFS:
                return None
            t = Base(_scalar_of(t.name))
        if isinstance(t, EnumRef):
            members = dict(self.enums)[t.name]
            return f"{_qualify('base', t.name, here)}.{rng.choice(members)[0]}"
        if isinstance(t, Container):
            if t.kind == "list" and t.args == (Base("string"),):
                return "[" + ", ".join(f'"{w}"' for w in rng.sample(("a", "b", "c", "d"), 2)) + "]"
            if t.kind == "map" and t.args == (Base("string"), Base("i32")):
                return '{"read": %d, "write": %d}' % (rng.randrange(100), rng.randrange(100))
            return None
        if not isinstance(t, Base):
            return None
        name = t.name
        if name == "bool":
            return rng.choice(("true", "false"))
        if name in ("byte", "i8"):
            return str(rng.randint(-100, 100))
        if name == "i16":
            return str(rng.randint(0, 30000))
        if name == "i32":
            if rng.random() < 0.3:
                return _qualify("base", "DEFAULT_PAGE_SIZE", here)
            return str(rng.randint(0, 1_000_000))
        if name == "i64":  # 32-bit values: Apache warns about each wider literal, on every parse
            return str(rng.randint(-(2**31), 2**31 - 1))
        if name == "double":
            return rng.choice(("0.5", "1.25", "-3.75", "100.0", "1e3", "2.5e-3"))
        if name == "string":
            if rng.random() < 0.3:
                return _qualify("base", "DEFAULT_REGION", here)
            return '"%s"' % rng.choice(("n/a", "default", "eu-west-1", "unknown", ""))
        return None  # binary: spelled differently by every peer

    # -- definitions -----------------------------------------------------------

    def make_enums(self) -> None:
        count = max(4, self.n // 250)
        seen: set = set()
        for i in range(count):
            name = f"{self.rng.choice(NOUNS)}{self.rng.choice(ENUM_SUFFIXES)}"
            if name in seen:
                name = f"{name}{i}"
            seen.add(name)
            members = self.rng.sample(ENUM_MEMBERS, self.rng.randint(3, 8))
            explicit = self.rng.random() < 0.5
            step = self.rng.choice((1, 10))
            values = [(m, k * step if explicit or k == 0 else None) for k, m in enumerate(members)]
            self.enums.append((name, values))

    def plan_file(self, file: str, count: int, leaf_pool: list) -> None:
        """Create ``count`` structs in ``file``, in clusters (see the module doc)."""
        rng = self.rng
        specs = self.file_structs.setdefault(file, [])
        own_leaves = self.leaves.setdefault(file, [])
        made = 0
        while made < count:
            size = min(count - made, rng.randint(3, 16))
            cluster: list[StructSpec] = []
            for pos in range(size):
                kind = "union" if rng.random() < 0.03 else "struct"
                spec = StructSpec(file, self.struct_name(), kind)
                if pos > 0 and kind == "struct":
                    nrefs = rng.choices((0, 1, 2, 3), (30, 40, 20, 10))[0]
                    pool = [c.qname for c in cluster] + own_leaves[-20:] + leaf_pool
                    for q in rng.sample(pool, min(nrefs, len(pool))):
                        if q not in spec.refs:
                            spec.refs.append(q)
                if not spec.refs:
                    own_leaves.append(spec.qname)
                if rng.random() < 0.08 and kind != "exception":
                    spec.alias = f"{spec.name}Alias"
                cluster.append(spec)
                specs.append(spec)
                self.structs[spec.qname] = spec
                made += 1

    def leaf_sample(self, file: str, k: int) -> list:
        leaves = self.leaves.get(file, [])
        return self.rng.sample(leaves, min(k, len(leaves)))

    def plan(self) -> None:
        self.make_enums()
        self.plan_file("common", self.n_common, [])
        for i in range(self.n_exceptions):
            spec = StructSpec("common", EXCEPTION_NAMES[i], "exception")
            self.file_structs["common"].append(spec)
            self.structs[spec.qname] = spec
        rest = self.n - self.n_common - self.n_exceptions
        per, extra = divmod(rest, self.n_domains)
        for d in range(self.n_domains):
            file = self.domain_file(d)
            pool = self.leaf_sample("common", 10)
            if d % 2 == 1:
                pool += self.leaf_sample(self.domain_file(d - 1), 20)
            self.plan_file(file, per + (1 if d < extra else 0), pool)

    @staticmethod
    def domain_file(d: int) -> str:
        return f"domain_{d:02d}"

    def domain_includes(self, d: int) -> list:
        return ["base", "common"] + ([self.domain_file(d - 1)] if d % 2 == 1 else [])

    # -- reachability ----------------------------------------------------------

    def closure(self, starts, into: set) -> set:
        """Struct qnames reachable from ``starts`` not already in ``into``."""
        new: set = set()
        stack = [q for q in starts if q not in into]
        while stack:
            q = stack.pop()
            if q in new or q in into:
                continue
            new.add(q)
            stack.extend(self.structs[q].refs)
        return new

    def pick_entries(self) -> list:
        """Structs the services mention directly, so that the closure is ~reach*n."""
        budget = max(1, round(self.reach * self.n)) - self.n_exceptions
        candidates = [q for q, s in self.structs.items() if s.kind != "exception"]
        self.rng.shuffle(candidates)
        reached: set = set()
        entries = []
        for q in candidates:
            if len(reached) >= budget:
                break
            if q in reached:
                continue
            new = self.closure([q], reached)
            if len(reached) + len(new) <= budget:
                reached |= new
                entries.append(q)
        if not entries and candidates:
            entries.append(candidates[0])
        return entries

    # -- text ------------------------------------------------------------------

    def doc(self, lines: list, indent: str, subject: str) -> None:
        text = f"{subject} {self.rng.choice(SENTENCES)}"
        if self.rng.random() < 0.3:
            lines.append(f"{indent}/**")
            lines.append(f"{indent} * {text}")
            lines.append(f"{indent} * {self.rng.choice(SENTENCES)}")
            lines.append(f"{indent} */")
        else:
            lines.append(f"{indent}/** {text} */")

    def header(self, lines: list, file: str, includes: list) -> None:
        lines.append(f"// {file}.thrift: generated by bench/synth_idl.py (n={self.n}, seed={self.seed}).")
        lines.append("")
        for inc in includes:
            lines.append(f'include "{inc}.thrift"')
        if includes:
            lines.append("")
        lines.append(f"namespace py synth.{file}")
        lines.append(f"namespace java com.example.synth.{file}")
        lines.append("")

    def write_base(self) -> str:
        lines: list = []
        self.header(lines, "base", [])
        for name, under in BASE_TYPEDEFS:
            if self.rng.random() < 0.3:
                self.doc(lines, "", f"{name} is a {under}.")
            lines.append(f"typedef {under} {name}")
        lines.append("")
        for name, values in self.enums:
            self.doc(lines, "", f"The {name} of a record.")
            lines.append(f"enum {name} {{")
            for member, value in values:
                lines.append(f"  {member}" + (f" = {value}" if value is not None else "") + ",")
            lines.append("}")
            lines.append("")
        first_enum, first_values = self.enums[0]
        lines += [
            "const i32 DEFAULT_PAGE_SIZE = 50",
            "const i32 MAX_PAGE_SIZE = 1000",
            "# A const defined by another const.",
            "const i32 PAGE_SIZE_LIMIT = MAX_PAGE_SIZE",
            "const i64 EPOCH_OFFSET = 1700000000000",
            "const Timestamp NEVER = 0",
            "const double DEFAULT_RATIO = 0.25",
            'const string DEFAULT_REGION = "eu-west-1"',
            "const bool STRICT_MODE = true",
            'const list<string> DEFAULT_TAGS = ["new", "synthetic"]',
            'const map<string, i32> RATE_LIMITS = {"read": 1000, "write": 100}',
            "const set<i16> RESERVED_PORTS = [22, 80, 443]",
            f"const {first_enum} DEFAULT_{first_enum.upper()} = {first_enum}.{first_values[-1][0]}",
        ]
        return "\n".join(lines) + "\n"

    def struct_fields(self, spec: StructSpec, here: str) -> list:
        """(type, requiredness, default, doc?) per field; every ref appears exactly once."""
        rng = self.rng
        if spec.kind == "exception":
            enum_name = self.enums[0][0]
            return [(Base("string"), "default", None), (EnumRef(enum_name), "optional", None),
                    (BaseTypedef("AttributeMap"), "optional", None)]
        types: list = []
        for q in spec.refs:
            target = self.structs[q]
            ref = StructRef(q, target.alias if target.alias and rng.random() < 0.5 else None)
            types.append(ref if rng.random() < 0.5 else self.container_type(ref))
        want = max(len(types), rng.randint(3, 15))
        while len(types) < want:
            types.append(self.container_type() if rng.random() < 0.2 else self.scalar_type())
        rng.shuffle(types)
        out = []
        for t in types:
            if spec.kind == "union":
                req = "optional" if rng.random() < 0.5 else "default"
            else:
                req = rng.choices(("required", "optional", "default"), (15, 35, 50))[0]
            default = None
            if spec.kind != "union" and rng.random() < 0.2:
                default = self.default_value(t, here)
            out.append((t, req, default))
        return out

    def write_struct(self, lines: list, spec: StructSpec) -> None:
        rng = self.rng
        here = spec.file
        if rng.random() < 0.6:
            self.doc(lines, "", f"{spec.name}:")
        elif rng.random() < 0.2:
            lines.append(f"// {spec.name} has no doc comment, only this line comment.")
        lines.append(f"{spec.kind} {spec.name} {{")
        used: set = set()
        fid = 0
        for t, req, default in self.struct_fields(spec, here):
            fid += 1 if rng.random() < 0.9 else rng.randint(2, 5)  # gaps: removed fields
            hint = None
            if isinstance(t, StructRef):
                hint = _snake(self.structs[t.qname].name.rstrip("0123456789"))
            name = self.field_name(used, hint)
            if rng.random() < 0.2:
                self.doc(lines, "  ", f"The {name.replace('_', ' ')}.")
            req_text = "" if req == "default" else req + " "
            default_text = f" = {default}" if default is not None else ""
            sep = ";" if rng.random() < 0.1 else ","
            lines.append(f"  {fid}: {req_text}{render_type(t, here, self.structs)} {name}{default_text}{sep}")
        lines.append("}")
        if spec.alias:
            lines.append(f"typedef {spec.name} {spec.alias}")
        lines.append("")

    def write_structs_file(self, file: str, includes: list) -> str:
        lines: list = []
        self.header(lines, file, includes)
        for spec in self.file_structs[file]:
            self.write_struct(lines, spec)
        return "\n".join(lines)

    def write_service(self, entries: list) -> tuple:
        """service.thrift text, plus the exception qnames its methods throw."""
        rng = self.rng
        here = "service"
        includes = ["base", "common"] + [self.domain_file(d) for d in range(self.n_domains)]
        lines: list = []
        self.header(lines, here, includes)
        exceptions = [q for q, s in self.structs.items() if s.kind == "exception"]
        thrown: list = []
        methods: list = [[] for _ in SERVICE_NAMES]
        queue = list(entries)
        count = 0
        while queue:
            count += 1
            req = queue.pop()
            ret = queue.pop() if queue and rng.random() < 0.5 else None
            target = self.structs[req]
            verb = rng.choice(VERBS)
            mname = f"{verb}{target.name}"
            if ret is None and rng.random() < 0.08:
                oneway = True
            else:
                oneway = False
            mlines: list = []
            if rng.random() < 0.5:
                self.doc(mlines, "  ", f"{mname}:")
            if oneway:
                rtext = "oneway void"
            elif ret is not None:
                rt = StructRef(ret, self.structs[ret].alias)
                rtext = render_type(rt if rng.random() < 0.6 else Container("list", (rt,)), here, self.structs)
            else:
                rtext = rng.choice(("void", "bool", "i64", "string",
                                    render_type(EnumRef(rng.choice(self.enums)[0]), here, self.structs),
                                    "list<base.Timestamp>"))
            arg_type = StructRef(req)
            if rng.random() < 0.25:
                arg_type = Container("map", (Base("string"), arg_type))
            args = [f"1: {render_type(arg_type, here, self.structs)} request"]
            if rng.random() < 0.5:
                args.append("2: i32 page_size")
            if rng.random() < 0.3:
                args.append(f"3: {render_type(EnumRef(rng.choice(self.enums)[0]), here, self.structs)} mode")
            throws = ""
            if not oneway and exceptions:
                picked = rng.sample(exceptions, min(len(exceptions), rng.randint(0, 2)))
                if count <= len(exceptions):  # every exception is thrown somewhere
                    picked = [exceptions[count - 1]] + [p for p in picked if p != exceptions[count - 1]]
                if picked:
                    parts = []
                    for i, q in enumerate(picked, 1):
                        s = self.structs[q]
                        parts.append(f"{i}: {_qualify(s.file, s.name, here)} {_snake(s.name)}")
                        if q not in thrown:
                            thrown.append(q)
                    throws = " throws (" + ", ".join(parts) + ")"
            mlines.append(f"  {rtext} {mname}({', '.join(args)}){throws},")
            methods[count % len(SERVICE_NAMES)].append(mlines)
        for i, name in enumerate(SERVICE_NAMES):
            self.doc(lines, "", f"{name} groups related calls.")
            extends = f" extends {SERVICE_NAMES[0]}" if i == 1 else ""
            lines.append(f"service {name}{extends} {{")
            for mlines in methods[i]:
                lines += mlines
            if not methods[i]:
                lines.append(f"  void ping{name}(),")  # no entry left for it; keep a body
            lines.append("}")
            lines.append("")
        return "\n".join(lines), thrown

    def write(self, outdir: Path) -> GeneratedIDL:
        self.plan()
        entries = self.pick_entries()
        outdir.mkdir(parents=True, exist_ok=True)
        texts = {"base": self.write_base(), "common": self.write_structs_file("common", ["base"])}
        for d in range(self.n_domains):
            file = self.domain_file(d)
            texts[file] = self.write_structs_file(file, self.domain_includes(d))
        texts["service"], thrown = self.write_service(entries)
        files = []
        for name, text in texts.items():
            path = outdir / f"{name}.thrift"
            path.write_bytes(text.encode("utf-8"))
            files.append(path)
        reachable = self.closure(entries, set()) | set(thrown)
        return GeneratedIDL(outdir / "service.thrift", files, reachable, len(self.structs), self.seed)


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


DEFAULT_SEED = 42
DEFAULT_DOMAINS = 10
DEFAULT_REACH = 0.05


def generate(n: int, outdir, seed: int = DEFAULT_SEED, domains: int = DEFAULT_DOMAINS,
             reach: float = DEFAULT_REACH) -> GeneratedIDL:
    """Write the IDL for ``n`` structs into ``outdir``; returns its root, files and the
    exact set of structs reachable from the services (``"file.Name"`` strings)."""
    return _Generator(n, seed, domains, reach).write(Path(outdir))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, help="number of structs (structs + unions + exceptions)")
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--domains", type=int, default=DEFAULT_DOMAINS, help="number of domain files (K)")
    ap.add_argument("--reach", type=float, default=DEFAULT_REACH,
                    help="fraction of structs the services reach transitively")
    ap.add_argument("--print-reachable", action="store_true",
                    help="print the reachable structs (file.Name), one per line")
    args = ap.parse_args(argv)
    gen = generate(args.n, args.outdir, seed=args.seed, domains=args.domains, reach=args.reach)
    if args.print_reachable:
        sys.stdout.write("".join(q + "\n" for q in sorted(gen.reachable)))
    size = sum(os.path.getsize(p) for p in gen.files)
    print(f"wrote {len(gen.files)} files ({size / 1e6:.1f} MB), {gen.n_structs} structs, "
          f"{len(gen.reachable)} reachable; root {gen.root}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
