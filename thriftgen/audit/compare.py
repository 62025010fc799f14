"""Two versions of an IDL program compared: the audit's engine.

Plain data in, plain data out: two checked :class:`~thriftgen.idl.loader.Program`
values and the pairs of their root files give a list of :class:`Finding`;
which rules count and how they are printed is the caller's business
(:mod:`thriftgen.audit.policy`).

How definitions are matched, old to new:

1. Files are paired from the roots down their includes (same include alias on
   both sides), so a file keeps its identity however it is found.
2. A definition keeps its identity by name within its paired file.
3. A definition that vanished is *followed* through the fields that used it:
   when ``Outer.f`` (same id on both sides) was of type ``A`` and is now of type
   ``B``, which did not exist before, ``A`` was renamed to ``B`` (or moved,
   when the name is the same in another file). Repeated until nothing changes,
   so renamed structs inside renamed structs are followed too.
4. What is left is looked up by name in any file (moved), else removed.

Types are compared on the wire: typedefs followed, ``string``/``binary`` and
``enum``/``i32`` alike, structs by identity when matched, else structurally
(a field whose type changed from one struct to an unrelated but compatible one
is not a break).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple

from thriftgen.idl import ast
from thriftgen.idl.ast import Loc
from thriftgen.idl.checker import STREAMING_KEY, _article, type_display
from thriftgen.idl.loader import Program, gc_paused
from thriftgen.idl.printer import print_const_value


@dataclass(frozen=True)
class Finding:
    """One rule firing. ``loc`` is in the new version (where the change is, or where
    the removed thing was); ``old_loc`` is the matching place in the old version."""

    rule: str
    subject: str  # what ``ignore = ["rule:subject"]`` names: ``Struct.field``, ``Svc.method``
    message: str
    loc: Optional[Loc]
    width: int = 1
    old_loc: Optional[Loc] = None
    old_message: str = ""


_WIRE_KIND = {"bool": "bool", "byte": "i8", "i8": "i8", "i16": "i16", "i32": "i32",
              "i64": "i64", "double": "double", "string": "string", "binary": "string",
              "slist": "string", "uuid": "uuid"}
_SAME_DECLARED_BASE = {"byte": "i8", "slist": "string"}


def _wire_kind(node) -> Optional[str]:
    if isinstance(node, ast.BaseType):
        return _WIRE_KIND.get(node.name)
    if isinstance(node, ast.Enum):
        return "i32"
    if isinstance(node, ast.Senum):
        return "string"
    if isinstance(node, ast.Struct):
        return "struct"
    if isinstance(node, ast.ListType):
        return "list"
    if isinstance(node, ast.SetType):
        return "set"
    if isinstance(node, ast.MapType):
        return "map"
    return None


def _family(d) -> str:
    """Definitions that can keep their identity across a change of keyword."""
    return "struct" if isinstance(d, ast.Struct) else type(d).__name__


def _width(node) -> int:
    """Caret width: nodes are located at their name (an enum value: its ``NAME = n``)."""
    if isinstance(node, ast.EnumValue):
        return max(1, node.span[1] - node.span[0])
    return max(1, len(getattr(node, "name", "") or ""))


def _field_text(f: ast.Field) -> str:
    req = "" if f.requiredness == ast.DEFAULT else f.requiredness + " "
    return f"{f.id}: {req}{type_display(f.type)} {f.name}"


def _kind_word(role: str) -> str:
    return {"args": "argument", "throws": "exception", "union": "member"}.get(role, "field")


@dataclass
class _Def:
    """A definition with the file that defines it."""

    path: str
    node: object

    @property
    def name(self) -> str:
        return self.node.name  # type: ignore[attr-defined]


class Auditor:
    """Compares ``old`` with ``new``; :meth:`run` returns the findings in file order."""

    def __init__(self, old: Program, new: Program, root_pairs: List[Tuple[str, str]],
                 texts: Optional[Tuple[dict, dict]] = None):
        self.old = old
        self.new = new
        # display name -> SourceText of each side: a definition whose text is the same
        # and whose names still mean the same definitions is not compared field by field
        self.texts = texts
        self.file_pairs = _pair_files(old, new, root_pairs)  # old path -> new path
        # Pairs whose bytes and includes are the same on both sides: nothing in them can
        # differ, so they are neither compared nor even unpickled unless looked into.
        self.unchanged = _unchanged_pairs(old, new, self.file_pairs)
        self._unchanged_new = set(self.unchanged.values())
        self.findings: List[Finding] = []
        self.image: Dict[int, _Def] = {}  # id(old node) -> its new definition
        self.origin: Dict[int, _Def] = {}  # id(new node) -> its old definition
        self.how: Dict[int, str] = {}  # id(old node) -> "same" | "renamed" | "moved"
        self._compatible: Dict[Tuple[int, int], Optional[str]] = {}
        self._unmatched: set = set()  # names of old definitions not matched yet
        self._verdicts: Dict[tuple, Tuple[Optional[str], bool]] = {}  # see _type_verdict
        self._stable: Dict[tuple, bool] = {}  # see _stable_name

    # -- matching --------------------------------------------------------------

    def _image(self, path: str, node) -> Optional[_Def]:
        """The new definition matched with old ``node`` (defined in ``path``), if any."""
        new_path = self.unchanged.get(path)
        if new_path is None:
            return self.image.get(id(node))
        found = self.new.files[new_path].symbols.get(node.name)
        return _Def(new_path, found) if found is not None else None

    def _claimed(self, path: str, node) -> bool:
        """Whether new ``node`` (defined in ``path``) is matched with an old definition."""
        return path in self._unchanged_new or id(node) in self.origin

    def _map(self, old: _Def, new: _Def, how: str) -> None:
        self.image[id(old.node)] = new
        self.origin[id(new.node)] = old
        self.how[id(old.node)] = how

    def _old_defs(self) -> Iterator[_Def]:
        for pf in self.old:
            if pf.path not in self.unchanged:
                for d in pf.document.definitions:
                    yield _Def(pf.path, d)

    def _match(self) -> None:
        for old_path, new_path in self.file_pairs.items():
            if old_path in self.unchanged:
                continue
            new_symbols = self.new.files[new_path].symbols
            for d in self.old.files[old_path].document.definitions:
                n = new_symbols.get(d.name)
                if n is not None and _family(n) == _family(d) and id(n) not in self.origin:
                    self._map(_Def(old_path, d), _Def(new_path, n), "same")
        while self._follow_once():
            pass
        by_name: Dict[Tuple[str, str], List[_Def]] = {}
        for pf in self.new:
            if pf.path in self._unchanged_new:
                continue
            for d in pf.document.definitions:
                if id(d) not in self.origin:
                    by_name.setdefault((d.name, _family(d)), []).append(_Def(pf.path, d))
        for od in self._old_defs():
            if id(od.node) in self.image:
                continue
            candidates = by_name.get((od.name, _family(od.node)), [])
            if len(candidates) == 1:
                self._map(od, candidates[0], "moved")

    def _follow_once(self) -> bool:
        """Match vanished definitions through the types of matched fields; True when
        something new was matched (another round may match more)."""
        self._unmatched = {od.name for od in self._old_defs() if id(od.node) not in self.image}
        if not self._unmatched:
            return False
        progress = False
        for od in list(self._old_defs()):
            nd = self.image.get(id(od.node))
            if nd is None:
                continue
            for (op, ot), (np, nt) in self._paired_types(od, nd):
                progress |= self._follow_types(op, ot, np, nt)
        return progress

    def _paired_types(self, od: _Def, nd: _Def) -> Iterator[tuple]:
        o, n = od.node, nd.node
        if isinstance(o, ast.Struct) and isinstance(n, ast.Struct):
            yield from _field_type_pairs(od.path, o.fields, nd.path, n.fields)
        elif isinstance(o, ast.Typedef) and isinstance(n, ast.Typedef):
            yield (od.path, o.type), (nd.path, n.type)
        elif isinstance(o, ast.Service) and isinstance(n, ast.Service):
            new_fns = {f.name: f for f in n.functions}
            for fn in o.functions:
                nf = new_fns.get(fn.name)
                if nf is None:
                    continue
                if fn.return_type is not None and nf.return_type is not None:
                    yield (od.path, fn.return_type), (nd.path, nf.return_type)
                yield from _field_type_pairs(od.path, fn.args, nd.path, nf.args)
                yield from _field_type_pairs(od.path, fn.throws, nd.path, nf.throws)

    def _follow_types(self, op: str, ot, np: str, nt) -> bool:
        if isinstance(ot, (ast.ListType, ast.SetType)) and type(nt) is type(ot):
            return self._follow_types(op, ot.elem, np, nt.elem)
        if isinstance(ot, ast.MapType) and isinstance(nt, ast.MapType):
            a = self._follow_types(op, ot.key, np, nt.key)
            return self._follow_types(op, ot.value, np, nt.value) or a
        if not (isinstance(ot, ast.NamedType) and isinstance(nt, ast.NamedType)):
            return False
        if ot.name.rpartition(".")[2] not in self._unmatched:
            return False  # names a definition already matched: no lookup (no unpickling)
        found_old = self.old.lookup(op, ot.name)
        found_new = self.new.lookup(np, nt.name)
        if found_old is None or found_new is None:
            return False
        od, nd = _Def(found_old[0].path, found_old[1]), _Def(found_new[0].path, found_new[1])
        if (self._image(od.path, od.node) is not None or self._claimed(nd.path, nd.node)
                or _family(od.node) != _family(nd.node)):
            return False
        self._map(od, nd, "renamed" if od.name != nd.name else "moved")
        return True

    # -- reporting helpers -------------------------------------------------------

    def _report(self, rule: str, subject: str, message: str, at, old_at=None,
                old_message: str = "") -> None:
        self.findings.append(Finding(
            rule, subject, message,
            getattr(at, "loc", None) if at is not None else None,
            _width(at) if at is not None else 1,
            getattr(old_at, "loc", None) if old_at is not None else None,
            old_message))

    # -- types -------------------------------------------------------------------

    def wire_difference(self, op: str, ot, np: str, nt) -> Optional[str]:
        """None when a value written as old type ``ot`` reads back as new type ``nt``;
        else what differs, in words."""
        if isinstance(ot, ast.NamedType) and isinstance(nt, ast.NamedType):
            found_old, found_new = self.old.lookup(op, ot.name), self.new.lookup(np, nt.name)
            if (found_old is not None and found_new is not None
                    and isinstance(found_old[1], ast.Typedef)):
                image = self._image(found_old[0].path, found_old[1])
                if image is not None and image.node is found_new[1]:
                    return None  # the same typedef on both sides: reported at the typedef
        rop, ro = self.old.resolve_type(op, ot)
        rnp, rn = self.new.resolve_type(np, nt)
        ok, nk = _wire_kind(ro), _wire_kind(rn)
        if ok is None or nk is None:
            return None  # unresolved or not a type: the checker has said so
        if ok != nk:
            return f"{_shown(ot, ro)} became {_shown(nt, rn)}"
        if ok in ("list", "set"):
            inner = self.wire_difference(rop, ro.elem, rnp, rn.elem)
            return f"{ok} element: {inner}" if inner else None
        if ok == "map":
            inner = self.wire_difference(rop, ro.key, rnp, rn.key)
            if inner:
                return f"map key: {inner}"
            inner = self.wire_difference(rop, ro.value, rnp, rn.value)
            return f"map value: {inner}" if inner else None
        if ok == "struct":
            image = self._image(rop, ro)
            if image is not None and image.node is rn:
                return None  # the same struct: its own changes are reported on it
            return self._struct_difference(_Def(rop, ro), _Def(rnp, rn))
        return None

    def _struct_difference(self, od: _Def, nd: _Def) -> Optional[str]:
        """Why bytes of unrelated struct ``od`` do not read as ``nd`` (None: they do)."""
        key = (id(od.node), id(nd.node))
        if key in self._compatible:
            return self._compatible[key]
        self._compatible[key] = None  # recursive types: assume compatible while comparing
        scratch = Auditor.__new__(Auditor)
        scratch.__dict__.update(self.__dict__)
        scratch.findings = []
        scratch._compare_struct(od, nd, wire_only=True)
        from thriftgen.audit.rules import RULES

        errors = [f for f in scratch.findings if RULES[f.rule].severity == "error"]
        reason = None
        if errors:
            reason = f"{od.name} is not read as {nd.name}: {errors[0].message}"
        self._compatible[key] = reason
        return reason

    def same_declared(self, op: str, ot, np: str, nt) -> bool:
        """Whether the type is written the same way (matched definitions count as the
        same name): when not, but the wire is the same, generated code still changes."""
        if isinstance(ot, ast.BaseType) and isinstance(nt, ast.BaseType):
            return _SAME_DECLARED_BASE.get(ot.name, ot.name) == _SAME_DECLARED_BASE.get(
                nt.name, nt.name)
        if isinstance(ot, (ast.ListType, ast.SetType)) and type(nt) is type(ot):
            return self.same_declared(op, ot.elem, np, nt.elem)
        if isinstance(ot, ast.MapType) and isinstance(nt, ast.MapType):
            return (self.same_declared(op, ot.key, np, nt.key)
                    and self.same_declared(op, ot.value, np, nt.value))
        if isinstance(ot, ast.NamedType) and isinstance(nt, ast.NamedType):
            found_old, found_new = self.old.lookup(op, ot.name), self.new.lookup(np, nt.name)
            if found_old is None or found_new is None:
                return ot.name == nt.name
            image = self._image(found_old[0].path, found_old[1])
            return image is not None and image.node is found_new[1]
        return False

    # -- definitions ---------------------------------------------------------------

    def run(self) -> List[Finding]:
        self._match()
        for old_path, new_path in self.file_pairs.items():
            if old_path not in self.unchanged:
                self._compare_namespaces(old_path, new_path)
        for od in self._old_defs():
            nd = self.image.get(id(od.node))
            if nd is None:
                self._removed(od)
                continue
            how = self.how[id(od.node)]
            if how == "renamed":
                self._report("definition-renamed", od.name,
                             f"{ast.definition_kind(od.node)} '{od.name}' renamed to '{nd.name}'",
                             nd.node, od.node, f"was '{od.name}' here")
            elif how == "moved":
                self._report("definition-moved", od.name,
                             f"{ast.definition_kind(od.node)} '{od.name}' moved to "
                             f"{self.new.files[nd.path].display}", nd.node, od.node,
                             f"was in {self.old.files[od.path].display}")
            if how == "same" and isinstance(od.node, ast.Struct) and self._same_text(od, nd):
                continue
            compare = {ast.Struct: self._compare_struct, ast.Enum: self._compare_enum,
                       ast.Typedef: self._compare_typedef, ast.Service: self._compare_service,
                       ast.Const: self._compare_const}.get(type(od.node))
            if compare is not None:
                compare(od, nd)
        return self.findings

    def _same_text(self, od: _Def, nd: _Def) -> bool:
        """Whether struct ``od`` is written exactly as ``nd`` and every type name in it
        means the matched definition (same text parses to the same fields, so only a
        name that now resolves elsewhere could change anything)."""
        if self.texts is None:
            return False
        old_src = self.texts[0].get(self.old.files[od.path].display)
        new_src = self.texts[1].get(self.new.files[nd.path].display)
        o, n = od.node, nd.node
        if old_src is None or new_src is None or (
                old_src.text[o.span[0]:o.span[1]] != new_src.text[n.span[0]:n.span[1]]):
            return False
        for f in o.fields:
            for t in ast.walk_type(f.type):
                if isinstance(t, ast.NamedType) and not self._stable_name(od.path, nd.path, t.name):
                    return False
        return True

    def _stable_name(self, op: str, np: str, name: str) -> bool:
        key = (op, np, name)
        stable = self._stable.get(key)
        if stable is None:
            found_old, found_new = self.old.lookup(op, name), self.new.lookup(np, name)
            image = self._image(found_old[0].path, found_old[1]) if found_old else None
            stable = self._stable[key] = bool(
                found_new is not None and image is not None and image.node is found_new[1])
        return stable

    def _removed(self, od: _Def) -> None:
        kind = ast.definition_kind(od.node)
        at = self._neighbour(od)
        if isinstance(od.node, ast.Service):
            self._report("service-removed", od.name, f"service '{od.name}' removed", at,
                         od.node, f"'{od.name}' was defined here")
        else:
            self._report("definition-removed", od.name, f"{kind} '{od.name}' removed", at,
                         od.node, f"'{od.name}' was defined here")

    def _neighbour(self, od: _Def):
        """Where a removed definition was, in the new file: the next definition that is
        still there (else the previous one); None when the file itself is gone."""
        new_path = self.file_pairs.get(od.path)
        if new_path is None:
            return None
        defs = self.old.files[od.path].document.definitions
        index = next(i for i, d in enumerate(defs) if d is od.node)
        for d in [*defs[index + 1:], *reversed(defs[:index])]:
            image = self.image.get(id(d))
            if image is not None and image.path == new_path:
                return image.node
        return None

    def _compare_namespaces(self, old_path: str, new_path: str) -> None:
        old_doc = self.old.files[old_path].document
        new_doc = self.new.files[new_path].document
        new_ns = {ns.scope: ns for ns in new_doc.namespaces}
        for ns in old_doc.namespaces:
            now = new_ns.get(ns.scope)
            if now is None:
                first = new_doc.headers[0] if new_doc.headers else (
                    new_doc.definitions[0] if new_doc.definitions else None)
                self._report("namespace-changed", f"namespace {ns.scope}",
                             f"namespace {ns.scope} '{ns.name}' removed", first, ns, "was here")
            elif now.name != ns.name:
                self._report("namespace-changed", f"namespace {ns.scope}",
                             f"namespace {ns.scope} changed from '{ns.name}' to '{now.name}'",
                             now, ns, "was here")

    def _compare_struct(self, od: _Def, nd: _Def, wire_only: bool = False) -> None:
        o, n = od.node, nd.node
        assert isinstance(o, ast.Struct) and isinstance(n, ast.Struct)
        if (o.kind == ast.UNION) != (n.kind == ast.UNION):
            self._report("struct-kind-changed", n.name,
                         f"'{n.name}' changed from {o.kind} to {n.kind}", n, o, f"was {_article(o.kind)}")
        elif o.kind != n.kind and not wire_only:
            self._report("exception-kind-changed", n.name,
                         f"'{n.name}' changed from {o.kind} to {n.kind}", n, o, f"was {_article(o.kind)}")
        role = "union" if o.kind == ast.UNION and n.kind == ast.UNION else "struct"
        self._compare_fields(n.name, od.path, o.fields, nd.path, n.fields, role, n, wire_only)

    def _compare_fields(self, owner: str, op: str, old_fields: list, np: str, new_fields: list,
                        role: str, new_owner, wire_only: bool = False) -> None:
        """Fields (or arguments, or declared exceptions) of a matched pair, by id."""
        if len(old_fields) == len(new_fields) and all(
                o.id == n.id for o, n in zip(old_fields, new_fields)):
            for of, nf in zip(old_fields, new_fields):  # the same ids in the same order
                self._compare_field(owner, role, op, of, np, nf, wire_only)
            return
        word = _kind_word(role)
        old_by_id = {f.id: f for f in old_fields}
        new_by_id = {f.id: f for f in new_fields}
        new_by_name = {f.name: f for f in new_fields}
        old_by_name = {f.name: f for f in old_fields}
        for of in old_fields:
            subject = f"{owner}.{of.name}"
            nf = new_by_id.get(of.id)
            if nf is None:
                moved = new_by_name.get(of.name)
                if moved is not None and moved.id not in old_by_id:
                    self._report("field-id-changed", subject,
                                 f"{word} '{of.name}' of '{owner}' moved from id {of.id} to "
                                 f"id {moved.id}", moved, of, f"was {_field_text(of)}")
                else:
                    removal = _removal(role, word, of, owner, wire_only)
                    if removal is not None:
                        self._report(removal[0], subject, removal[1], new_owner, of,
                                     f"was {_field_text(of)}")
                continue
            self._compare_field(owner, role, op, of, np, nf, wire_only)
        for nf in new_fields:
            if nf.id in old_by_id:
                continue
            moved = old_by_name.get(nf.name)
            if moved is not None and moved.id not in new_by_id:
                continue  # reported as field-id-changed
            subject = f"{owner}.{nf.name}"
            if role == "throws":
                self._report("exception-added", subject,
                             f"'{owner}' now declares exception {nf.id} '{nf.name}'", nf)
            elif nf.requiredness == ast.REQUIRED and role != "union":
                self._report("required-field-added", subject,
                             f"required {word} {nf.id} '{nf.name}' added to '{owner}'", nf)

    def _type_verdict(self, op: str, ot, np: str, nt) -> Tuple[Optional[str], bool]:
        """``(wire difference, declared the same)`` of two field types. Memoized by
        the types' text per file pair: names there resolve the same whichever field
        uses them (10k structs have ~90k fields and a few thousand distinct types)."""
        if isinstance(ot, ast.BaseType) and isinstance(nt, ast.BaseType):
            if ot.name == nt.name:
                return None, True
            return self.wire_difference(op, ot, np, nt), self.same_declared(op, ot, np, nt)
        key = (op, np, type(ot), _type_key(ot), type(nt), _type_key(nt))
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = (self.wire_difference(op, ot, np, nt),
                                             self.same_declared(op, ot, np, nt))
        return verdict

    def _compare_field(self, owner: str, role: str, op: str, of: ast.Field, np: str,
                       nf: ast.Field, wire_only: bool) -> None:
        why, same_declared = self._type_verdict(op, of.type, np, nf.type)
        if (why is None and same_declared and of.name == nf.name
                and of.requiredness == nf.requiredness
                and of.default == nf.default):
            return  # the common case: nothing to say, no message built
        word = _kind_word(role)
        subject = f"{owner}.{nf.name}"
        was = f"was {_field_text(of)}"
        if why is not None:
            if of.name != nf.name:
                self._report("field-id-reused", subject,
                             f"id {nf.id} of '{owner}' was {word} '{of.name}' "
                             f"({type_display(of.type)}), now '{nf.name}' ({type_display(nf.type)})",
                             nf, of, was)
            else:
                self._report("field-type-changed", subject,
                             f"type of {word} '{nf.name}' of '{owner}' changed: {why}", nf, of, was)
            return
        if role not in ("throws", "union"):
            o_req, n_req = of.requiredness == ast.REQUIRED, nf.requiredness == ast.REQUIRED
            if n_req and not o_req:
                self._report("field-now-required", subject,
                             f"{word} '{nf.name}' of '{owner}' is now required", nf, of, was)
            elif o_req and not n_req:
                self._report("field-no-longer-required", subject,
                             f"{word} '{nf.name}' of '{owner}' is no longer required", nf, of, was)
        if wire_only:
            return
        if of.name != nf.name:
            self._report("field-renamed", subject,
                         f"{word} {nf.id} of '{owner}' renamed from '{of.name}' to '{nf.name}'",
                         nf, of, was)
        if not same_declared:
            self._report("field-type-changed-compatible", subject,
                         f"declared type of {word} '{nf.name}' of '{owner}' changed from "
                         f"{type_display(of.type)} to {type_display(nf.type)} (same wire type)",
                         nf, of, was)
        if of.default != nf.default and role != "throws":
            self._report("field-default-changed", subject,
                         f"default of {word} '{nf.name}' of '{owner}' changed from "
                         f"{_default(of)} to {_default(nf)}", nf, of, was)

    def _compare_enum(self, od: _Def, nd: _Def) -> None:
        o, n = od.node, nd.node
        assert isinstance(o, ast.Enum) and isinstance(n, ast.Enum)
        new_by_name = {v.name: v for v in n.values}
        new_by_value: Dict[int, ast.EnumValue] = {}
        for v in n.values:
            new_by_value.setdefault(v.value, v)
        old_by_name = {v.name: v for v in o.values}
        old_by_value: Dict[int, ast.EnumValue] = {}
        for v in o.values:
            old_by_value.setdefault(v.value, v)
        for v in o.values:
            subject = f"{n.name}.{v.name}"
            now = new_by_name.get(v.name)
            was = f"was {v.name} = {v.value}"
            if now is not None and now.value != v.value:
                self._report("enum-value-renumbered", subject,
                             f"'{n.name}.{v.name}' changed from {v.value} to {now.value}",
                             now, v, was)
                continue
            if now is not None:
                continue
            other = new_by_value.get(v.value)
            if other is None:
                self._report("enum-value-removed", subject,
                             f"value {v.value} ('{v.name}') removed from enum '{n.name}'", n, v, was)
            elif other.name in old_by_name:
                pass  # the other name moved here: reported as its renumbering, and below
            else:
                self._report("enum-value-renamed", subject,
                             f"enum value {v.value} of '{n.name}' renamed from '{v.name}' to "
                             f"'{other.name}'", other, v, was)
        for v in n.values:
            before = old_by_value.get(v.value)
            if before is not None and before.name != v.name and (
                    v.name in old_by_name or before.name in new_by_name):  # else a rename
                self._report("enum-value-reused", f"{n.name}.{v.name}",
                             f"{v.value} meant '{n.name}.{before.name}' and now means "
                             f"'{n.name}.{v.name}'", v, before, f"was {before.name} = {before.value}")

    def _compare_typedef(self, od: _Def, nd: _Def) -> None:
        o, n = od.node, nd.node
        assert isinstance(o, ast.Typedef) and isinstance(n, ast.Typedef)
        why = self.wire_difference(od.path, o.type, nd.path, n.type)
        was = f"was typedef {type_display(o.type)} {o.name}"
        if why is not None:
            self._report("typedef-type-changed", n.name,
                         f"typedef '{n.name}' changed on the wire: {why}", n, o, was)
        elif not self.same_declared(od.path, o.type, nd.path, n.type):
            self._report("field-type-changed-compatible", n.name,
                         f"typedef '{n.name}' changed from {type_display(o.type)} to "
                         f"{type_display(n.type)} (same wire type)", n, o, was)

    def _compare_const(self, od: _Def, nd: _Def) -> None:
        o, n = od.node, nd.node
        assert isinstance(o, ast.Const) and isinstance(n, ast.Const)
        if o.value != n.value or type_display(o.type) != type_display(n.type):
            self._report("const-changed", n.name,
                         f"const '{n.name}' changed from {type_display(o.type)} "
                         f"{print_const_value(o.value)} to {type_display(n.type)} "
                         f"{print_const_value(n.value)}", n, o, "was here")

    # -- services ----------------------------------------------------------------

    def _methods(self, program: Program, sd: _Def) -> Dict[str, Tuple[str, ast.Function, str]]:
        """Every method a service answers, inherited ones included: name -> (path,
        function, declaring service). On the wire a method is its name alone."""
        out: Dict[str, Tuple[str, ast.Function, str]] = {}
        seen = set()
        cur: Optional[_Def] = sd
        while cur is not None and id(cur.node) not in seen:
            seen.add(id(cur.node))
            svc = cur.node
            assert isinstance(svc, ast.Service)
            for fn in svc.functions:
                out.setdefault(fn.name, (cur.path, fn, svc.name))
            if svc.extends is None:
                break
            found = program.lookup(cur.path, svc.extends)
            cur = _Def(found[0].path, found[1]) if found and isinstance(found[1], ast.Service) \
                else None
        return out

    def _compare_service(self, od: _Def, nd: _Def) -> None:
        o, n = od.node, nd.node
        assert isinstance(o, ast.Service) and isinstance(n, ast.Service)
        if (o.extends or "") != (n.extends or ""):
            self._report("service-extends-changed", n.name,
                         f"service '{n.name}' extends {n.extends or 'nothing'} instead of "
                         f"{o.extends or 'nothing'}", n, o, "was here")
        old_methods = self._methods(self.old, od)
        new_methods = self._methods(self.new, nd)
        for name, (op, ofn, _) in old_methods.items():
            subject = f"{n.name}.{name}"
            if name not in new_methods:
                self._report("method-removed", subject,
                             f"method '{name}' removed from service '{n.name}'", n, ofn,
                             f"'{name}' was declared here")
                continue
            np, nfn, _ = new_methods[name]
            self._compare_function(subject, op, ofn, np, nfn)

    def _compare_function(self, subject: str, op: str, o: ast.Function, np: str,
                          n: ast.Function) -> None:
        if o.oneway != n.oneway:
            self._report("method-oneway-changed", subject,
                         f"method '{subject}' {'became' if n.oneway else 'is no longer'} oneway",
                         n, o, "was here")
        o_mode, n_mode = _streaming(o), _streaming(n)
        if o_mode != n_mode:
            self._report("method-streaming-changed", subject,
                         f"streaming mode of '{subject}' changed from {o_mode} to {n_mode}",
                         n, o, "was here")
        # void <-> T breaks too: a client expecting a value reports a missing result.
        if o.oneway or n.oneway or (o.return_type is None and n.return_type is None):
            why = None
        elif o.return_type is None or n.return_type is None:
            why = (f"{type_display(o.return_type) if o.return_type else 'void'} became "
                   f"{type_display(n.return_type) if n.return_type else 'void'}")
        else:
            why = self.wire_difference(op, o.return_type, np, n.return_type)
        if why is not None:
            self._report("method-return-type-changed", subject,
                         f"return type of '{subject}' changed: {why}", n, o, "was here")
        self._compare_fields(subject, op, o.args, np, n.args, "args", n)
        if not (o.oneway or n.oneway):
            self._compare_fields(subject, op, o.throws, np, n.throws, "throws", n)


def _removal(role: str, word: str, f: ast.Field, owner: str, wire_only: bool):
    """``(rule, message)`` for field ``f`` of ``owner`` gone from the new version (its
    name not moved to another id), or None when nothing is to be said."""
    if role == "union":
        return "union-member-removed", f"member {f.id} '{f.name}' removed from union '{owner}'"
    if role == "throws":
        return ("exception-removed",
                f"exception {f.id} '{f.name}' no longer declared by '{owner}'")
    if f.requiredness == ast.REQUIRED:
        return "required-field-removed", f"required {word} {f.id} '{f.name}' removed from '{owner}'"
    if role == "args":
        return "argument-removed", f"argument {f.id} '{f.name}' removed from '{owner}'"
    if wire_only:
        return None
    return "field-removed", f"{word} {f.id} '{f.name}' removed from '{owner}'"


def _type_key(t):
    """What identifies a type reference within one file (its name, or its text)."""
    return t.name if isinstance(t, (ast.NamedType, ast.BaseType)) else type_display(t)


def _shown(written, resolved) -> str:
    text = type_display(written)
    kind = _wire_kind(resolved)
    inner = type_display(resolved) if not isinstance(resolved, ast.Struct) else resolved.name
    if isinstance(written, ast.NamedType) and inner != text:
        return f"{text} ({kind})"
    return text


def _default(f: ast.Field) -> str:
    return print_const_value(f.default) if f.default is not None else "none"


def _streaming(fn: ast.Function) -> str:
    for a in fn.annotations:
        if a.key == STREAMING_KEY:
            return a.value or "none"
    return "none"


def _field_type_pairs(op: str, old_fields: list, np: str, new_fields: list) -> Iterator[tuple]:
    new_by_id = {f.id: f for f in new_fields}
    for f in old_fields:
        nf = new_by_id.get(f.id)
        if nf is not None:
            yield (op, f.type), (np, nf.type)


def _unchanged_pairs(old: Program, new: Program, pairs: Dict[str, str]) -> Dict[str, str]:
    """The pairs whose files have the same bytes and include unchanged pairs under the
    same aliases (so every name in them resolves to the same text)."""
    verdict: Dict[str, bool] = {}

    def same(op: str) -> bool:
        if op not in verdict:
            verdict[op] = False  # the include graph is acyclic; this only guards
            np = pairs.get(op)
            of, nf = old.files[op], new.files[np] if np is not None else None
            verdict[op] = bool(
                nf is not None and of.content_hash == nf.content_hash
                and of.includes.keys() == nf.includes.keys()
                and all(pairs.get(t) == nf.includes[a] and same(t)
                        for a, t in of.includes.items()))
        return verdict[op]

    return {op: np for op, np in pairs.items() if same(op)}


def _pair_files(old: Program, new: Program, root_pairs: List[Tuple[str, str]]) -> Dict[str, str]:
    """old path -> new path: the roots as given, then their includes by alias."""
    pairs: Dict[str, str] = {}
    taken = set()
    todo = list(root_pairs)
    while todo:
        op, np = todo.pop()
        if op in pairs or np in taken or op not in old.files or np not in new.files:
            continue
        pairs[op] = np
        taken.add(np)
        new_includes = new.files[np].includes
        for alias, target in old.files[op].includes.items():
            if alias in new_includes:
                todo.append((target, new_includes[alias]))
    return pairs


def audit_programs(old: Program, new: Program, root_pairs: List[Tuple[str, str]],
                   texts: Optional[Tuple[dict, dict]] = None) -> List[Finding]:
    """Every finding of every rule, old version against new (policy not applied).
    ``texts``: each side's sources (display name -> SourceText), which lets
    unchanged definitions of changed files be skipped (same findings, less work)."""
    with gc_paused():  # the ASTs are unpickled and walked here, never cyclic garbage
        return Auditor(old, new, root_pairs, texts).run()
