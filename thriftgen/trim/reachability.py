"""What survives trimming: a linear worklist over definitions keyed by (file, name).

Roots are the functions of the root files' services (all of them, or those picked
by ``-m`` patterns), preserved definitions (``// @preserve``, ``preserved_structs``,
``preserved_files``) and, unless ``trim_all``, every const, enum, senum and
typedef of each file that survives for another reason (thriftgo keeps those
because application code uses them directly). From a root the walk follows
argument/throws/return types, container elements, typedef chains, struct fields,
``extends`` chains and ``alias.Name`` references across files, and the consts and
enums named by const values and field defaults. Each definition is processed
once, so the walk is linear in the size of what it reaches and cycle safe.

Method selection (``-m``): a pattern is a regular expression that must match a
whole name. A pattern containing a ``.`` is matched against ``Service.method``,
where Service is the root service or the service that defines the method (for
inherited methods both names work); a pattern without a ``.`` is matched against
the bare method name in every root service. So ``Svc.Get`` keeps neither
``Svc.GetUser`` nor ``XSvc.Get`` (thriftgo's unanchored match keeps both).
A service survives when it keeps a function of its own or its base survives; a
surviving service whose base keeps nothing loses its ``extends``. Without ``-m``
every root service is kept whole, with its whole ``extends`` chain.

The input program is never mutated: the result is a new :class:`Program` whose
documents hold the kept definitions (unchanged nodes are shared, services that
lost functions or their ``extends`` are new objects) and only the includes that
still contribute something.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import Iterable, Optional

from thriftgen.diagnostics import ERROR, WARNING, Diagnostic, DiagnosticSink, IDLError
from thriftgen.idl import ast
from thriftgen.idl.loader import ParsedFile, Program
from thriftgen.trim.report import TrimStats, count_document

#: thriftgo's marker: a whole comment line ``// @preserve`` or ``# @preserve``.
PRESERVE_LINE = re.compile(r"^\s*(//|#)\s*@preserve\s*$", re.IGNORECASE | re.MULTILINE)

#: Definitions kept by default (not under ``trim_all``) in every surviving file.
_KEPT_BY_DEFAULT = (ast.Const, ast.Enum, ast.Senum, ast.Typedef)


@dataclass
class TrimOptions:
    """What to keep. Plain data; see :func:`thriftgen.trim.config.resolve_options`."""

    methods: list = field(default_factory=list)  # list[str] regular expressions
    trim_all: bool = False  # also trim unreferenced consts, enums and typedefs
    preserve: bool = True  # False: ignore every preserve source (thriftgo's force trimming)
    preserved_structs: list = field(default_factory=list)  # "Name" or "alias.Name"
    preserved_files: list = field(default_factory=list)  # paths; every definition kept
    disable_preserve_comment: bool = False  # ignore ``// @preserve`` only
    strict: bool = False  # a pattern or preserve entry matching nothing is an error


@dataclass
class FileTrim:
    """What one surviving file keeps, by name, against its original document."""

    path: str
    original: ParsedFile
    kept: set  # names of kept definitions
    kept_functions: dict  # service name -> set of kept function names
    cut_extends: set  # names of services whose ``extends`` is removed
    dropped_includes: list  # ast.Include headers that no longer contribute

    def removed_definitions(self) -> list:
        return [d for d in self.original.document.definitions if d.name not in self.kept]


@dataclass
class TrimResult:
    program: Program  # the trimmed program (new documents, shared unchanged nodes)
    original: Program
    files: dict  # real path -> FileTrim, surviving files only, in program order
    stats: TrimStats
    diagnostics: list  # list[Diagnostic]: unmatched patterns and preserve entries


@dataclass
class _Pattern:
    text: str
    regex: "re.Pattern[str]"
    bare: bool  # no '.': matched against the method name alone
    matched: bool = False


def compile_patterns(methods: Iterable[str]) -> list:
    """Compile ``-m`` patterns; an invalid regular expression raises IDLError."""
    out = []
    for text in methods:
        try:
            regex = re.compile(text)
        except re.error as e:
            raise IDLError([Diagnostic(ERROR, f"invalid method pattern '{text}': {e}")]) from None
        out.append(_Pattern(text, regex, "." not in text))
    return out


class _Walk:
    """The marking pass. ``marked[path]`` holds kept definition names per file."""

    def __init__(self, program: Program, trim_all: bool):
        self.program = program
        self.trim_all = trim_all
        self.marked: dict[str, set] = {}
        self.functions: dict[tuple, set] = {}  # (path, service) -> kept function names
        self.full_services: set = set()  # (path, service) kept with every function
        self.edges: set = set()  # (from path, to path): a reference through an include
        self.work: list = []  # (path, node) still to expand
        self._lookup_cache: dict[tuple, Optional[tuple]] = {}

    # -- marking ---------------------------------------------------------------

    def mark(self, path: str, d: ast.Definition) -> None:
        names = self.marked.get(path)
        if names is None:
            names = self.marked[path] = set()
            names.add(d.name)
            self.work.append((path, d))
            self._file_became_live(path)
            return
        if d.name not in names:
            names.add(d.name)
            self.work.append((path, d))

    def make_live(self, path: str) -> None:
        if path not in self.marked:
            self.marked[path] = set()
            self._file_became_live(path)

    def _file_became_live(self, path: str) -> None:
        if self.trim_all:
            return
        for d in self.program.files[path].document.definitions:
            if isinstance(d, _KEPT_BY_DEFAULT):
                self.mark(path, d)

    def mark_function(self, path: str, svc: ast.Service, fn: ast.Function) -> None:
        kept = self.functions.setdefault((path, svc.name), set())
        if fn.name not in kept:
            kept.add(fn.name)
            self.work.append((path, fn))

    def mark_service_full(self, path: str, svc: ast.Service) -> None:
        """Keep a service with all its functions and its whole extends chain."""
        while (path, svc.name) not in self.full_services:
            self.full_services.add((path, svc.name))
            self.mark(path, svc)
            for fn in svc.functions:
                self.mark_function(path, svc, fn)
            base = self.base_of(path, svc)
            if base is None:
                return
            path, svc = base

    def base_of(self, path: str, svc: ast.Service) -> Optional[tuple]:
        if not svc.extends:
            return None
        found = self.lookup(path, svc.extends)
        if found is None or not isinstance(found[1], ast.Service):
            return None
        return found

    # -- walking ---------------------------------------------------------------

    def lookup(self, path: str, name: str) -> Optional[tuple]:
        """``(defining path, definition)`` of ``Name`` / ``alias.Name`` seen from ``path``."""
        key = (path, name)
        try:
            return self._lookup_cache[key]
        except KeyError:
            # Not Program.lookup: include aliases may contain dots ("a.b.Type"),
            # so the alias is everything before the last dot.
            pf = self.program.files[path]
            d = pf.symbols.get(name)
            res = (path, d) if d is not None else None
            if res is None and "." in name:
                alias, rest = name.rsplit(".", 1)
                target = pf.includes.get(alias)
                if target is not None:
                    d = self.program.files[target].symbols.get(rest)
                    res = (target, d) if d is not None else None
            self._lookup_cache[key] = res
            return res

    def mark_ref(self, from_path: str, found: tuple) -> None:
        """Keep what a reference in ``from_path`` names; the include it goes through too."""
        if found[0] != from_path:
            self.edges.add((from_path, found[0]))
        self.mark(*found)

    def kept_services(self) -> set:
        """(path, name) of every kept service."""
        out: set = set()
        for path, names in self.marked.items():
            symbols = self.program.files[path].symbols
            out.update((path, n) for n in names if isinstance(symbols.get(n), ast.Service))
        return out

    def visit_type(self, path: str, t: Optional[ast.TypeRef]) -> None:
        stack = [t]
        while stack:
            cur = stack.pop()
            if isinstance(cur, ast.NamedType):
                found = self.lookup(path, cur.name)
                if found is not None and not isinstance(found[1], ast.Service):
                    self.mark_ref(path, found)
            elif isinstance(cur, (ast.ListType, ast.SetType)):
                stack.append(cur.elem)
            elif isinstance(cur, ast.MapType):
                stack.append(cur.key)
                stack.append(cur.value)

    def visit_value(self, path: str, v: Optional[ast.ConstValue]) -> None:
        stack = [v]
        while stack:
            cur = stack.pop()
            if isinstance(cur, ast.ConstRef):
                self.visit_const_ref(path, cur.name)
            elif isinstance(cur, ast.ConstList):
                stack.extend(cur.items)
            elif isinstance(cur, ast.ConstMap):
                for k, val in cur.items:
                    stack.append(k)
                    stack.append(val)

    def visit_const_ref(self, path: str, name: str) -> None:
        # Keep every meaning a name could have (a const, or the enum of
        # Enum.MEMBER): the checker rejects real ambiguity, so over-keeping is safe.
        found = self.lookup(path, name)
        if found is not None and isinstance(found[1], ast.Const):
            self.mark_ref(path, found)
        if "." in name:  # Enum.MEMBER or alias.Enum.MEMBER
            found = self.lookup(path, name.rsplit(".", 1)[0])
            if found is not None and isinstance(found[1], (ast.Enum, ast.Senum)):
                self.mark_ref(path, found)

    def visit_fields(self, path: str, fields: list) -> None:
        for f in fields:
            self.visit_type(path, f.type)
            if f.default is not None:
                self.visit_value(path, f.default)

    def run(self) -> None:
        work = self.work
        while work:
            path, node = work.pop()
            if isinstance(node, ast.Struct):
                self.visit_fields(path, node.fields)
            elif isinstance(node, ast.Function):
                self.visit_type(path, node.return_type)
                self.visit_fields(path, node.args)
                self.visit_fields(path, node.throws)
            elif isinstance(node, ast.Typedef):
                self.visit_type(path, node.type)
            elif isinstance(node, ast.Const):
                self.visit_type(path, node.type)
                self.visit_value(path, node.value)
            # enums, senums and services carry no references of their own; a
            # service's functions and base are marked explicitly.


def _service_chain(walk: _Walk, path: str, svc: ast.Service) -> list:
    """``[(path, svc), (base path, base), ...]`` following extends, cycle safe."""
    chain = [(path, svc)]
    seen = {(path, svc.name)}
    while True:
        base = walk.base_of(*chain[-1])
        if base is None or (base[0], base[1].name) in seen:
            return chain
        seen.add((base[0], base[1].name))
        chain.append(base)


def _select_methods(walk: _Walk, program: Program, patterns: list) -> None:
    """Mark the functions the patterns pick, then the services that carry them.

    For each root service S, a function f of S or of a base D is picked when a
    pattern matches ``S.f`` (or ``f`` for a bare pattern), or ``D.f`` when D is
    a base that is not itself a root service (so ``-m Base.f`` reaches a base in
    an included file, while ``-m StoreFront.f`` does not revive every root
    service that happens to extend StoreFront). S survives when it picks
    something; so does its chain down to the deepest base holding a pick.
    """
    roots = set(program.roots)
    for root in program.roots:
        for svc in program.files[root].document.services():
            chain = _service_chain(walk, root, svc)
            deepest = -1
            for i, (dpath, dsvc) in enumerate(chain):
                own_name = i > 0 and dpath not in roots
                for fn in dsvc.functions:
                    full = f"{svc.name}.{fn.name}"
                    alt = f"{dsvc.name}.{fn.name}" if own_name else None
                    for p in patterns:
                        if p.bare:
                            hit = p.regex.fullmatch(fn.name)
                        else:
                            hit = p.regex.fullmatch(full) or (alt and p.regex.fullmatch(alt))
                        if hit:
                            p.matched = True
                            walk.mark_function(dpath, dsvc, fn)
                            deepest = i
            for dpath, dsvc in chain[:deepest + 1]:
                walk.mark(dpath, dsvc)


def _preserve_roots(walk: _Walk, program: Program, options: TrimOptions, report) -> None:
    if not options.preserve:
        return

    def keep(pf: ParsedFile, d: ast.Definition) -> None:
        if isinstance(d, ast.Service):
            walk.mark_service_full(pf.path, d)
        else:
            walk.mark(pf.path, d)

    if not options.disable_preserve_comment:
        for pf in program:
            for d in pf.document.definitions:
                if d.leading_comments and any(PRESERVE_LINE.search(c) for c in d.leading_comments):
                    keep(pf, d)

    for name in options.preserved_structs:
        hits = 0
        alias, _, bare = name.rpartition(".")
        for pf in program:
            d = pf.symbols.get(bare)
            if d is not None and not isinstance(d, ast.Service) and (not alias or alias == pf.alias):
                keep(pf, d)
                hits += 1
        if not hits:
            report(f"preserved struct '{name}' matches no definition")

    by_real = {os.path.realpath(p): p for p in program.files}
    for given in options.preserved_files:
        path = by_real.get(os.path.realpath(given))
        if path is None:
            report(f"preserved file '{given}' is not part of the program")
            continue
        pf = program.files[path]
        walk.make_live(path)
        for d in pf.document.definitions:
            keep(pf, d)


def _surviving_files(walk: _Walk, program: Program) -> dict:
    """path -> set of target paths of the includes it keeps, for every file written.

    An include survives when the including file refers to something through it.
    A file whose definitions survive only because they are preserved may not be
    referred to by anything: it stays reachable through its original include
    path from a root, whose includes are kept for that reason.
    """
    kept_edges: dict[str, set] = {p: set() for p in program.files}
    kept_services = walk.kept_services()
    for path, name in kept_services:
        base = walk.base_of(path, program.files[path].symbols[name])
        if base is not None and (base[0], base[1].name) in kept_services and base[0] != path:
            kept_edges[path].add(base[0])
    for src, dst in walk.edges:
        if src in walk.marked:
            kept_edges[src].add(dst)
    written: set = set()
    stack = list(program.roots)
    parent: dict[str, Optional[str]] = {r: None for r in program.roots}
    while stack:  # plain include graph from the roots: who first includes whom
        p = stack.pop()
        for target in program.files[p].includes.values():
            if target not in parent:
                parent[target] = p
                stack.append(target)

    def grow(start: Iterable[str]) -> None:
        todo = [p for p in start if p not in written]
        written.update(todo)
        while todo:
            for t in kept_edges[todo.pop()]:
                if t not in written:
                    written.add(t)
                    todo.append(t)

    grow(program.roots)
    for p in program.files:
        if p in walk.marked and p not in written:
            path, child = [], p
            while child not in written:
                up = parent.get(child)
                if up is None:
                    break
                path.append(child)
                kept_edges[up].add(child)
                child = up
            grow(path)
    return {p: kept_edges[p] for p in program.files if p in written}


def _closest_method(program: Program, pattern) -> str:
    """`` (did you mean 'Svc.m'?)`` for an unmatched pattern that looks like a typo."""
    from thriftgen.argv import close_match

    names = []
    for root in program.roots:
        for svc in program.files[root].document.services():
            for fn in svc.functions:
                names.append(fn.name if pattern.bare else f"{svc.name}.{fn.name}")
    return close_match(pattern.text, names)


def trim_program(program: Program, options: TrimOptions,
                 sink: Optional[DiagnosticSink] = None) -> TrimResult:
    """Trim ``program`` to what its root services (or selected methods) need.

    Warnings (an unmatched pattern or preserve entry; errors with ``strict``)
    go to ``sink`` when given and into ``TrimResult.diagnostics``; with
    ``strict`` such a problem raises :class:`IDLError` after all were collected.
    """
    diagnostics: list[Diagnostic] = []
    severity = ERROR if options.strict else WARNING

    def report(message: str) -> None:
        diagnostics.append(Diagnostic(severity, message))

    patterns = compile_patterns(options.methods)
    walk = _Walk(program, options.trim_all)
    if patterns:
        _select_methods(walk, program, patterns)
        for p in patterns:
            if not p.matched:
                how = "method names" if p.bare else "'Service.method' of the root services"
                report(f"method pattern '{p.text}' matches nothing (full match against {how})"
                       f"{_closest_method(program, p)}")
    else:
        for root in program.roots:
            for svc in program.files[root].document.services():
                walk.mark_service_full(root, svc)
    for root in program.roots:  # root files are always written, with their defaults
        walk.make_live(root)
    _preserve_roots(walk, program, options, report)
    while True:
        walk.run()
        edges = _surviving_files(walk, program)
        # A file written only to reach a preserved one keeps its defaults too,
        # which may reach further: iterate (only preserve can make this loop twice).
        late = [p for p in edges if p not in walk.marked]
        if not late:
            break
        for p in late:
            walk.make_live(p)

    if sink is not None:
        sink.extend(diagnostics)
    if options.strict and any(d.severity == ERROR for d in diagnostics):
        raise IDLError(diagnostics, sink.sources if sink is not None else None)
    return _build_result(program, walk, edges, diagnostics)


def _build_result(program: Program, walk: _Walk, edges: dict, diagnostics: list) -> TrimResult:
    files: dict[str, FileTrim] = {}
    new_files: dict[str, ParsedFile] = {}
    stats = TrimStats()
    kept_services = walk.kept_services()
    for path, pf in program.files.items():
        stats.before[pf.display] = count_document(pf.document)
        stem = pf.alias  # how other files name its definitions
        if path not in edges:
            stats.removed[pf.display] = [removed_name(d, stem) for d in pf.document.definitions]
            continue
        removed = stats.removed[pf.display] = []
        kept_names = walk.marked.get(path, set())
        keep_targets = edges[path]
        kept_includes = {a: t for a, t in pf.includes.items() if t in keep_targets}
        dropped = [h for h in pf.document.includes if pf.includes.get(h.alias) not in keep_targets]
        kept_functions: dict[str, set] = {}
        cut_extends: set = set()
        new_defs = []
        for d in pf.document.definitions:
            if d.name not in kept_names or pf.symbols.get(d.name) is not d:
                if d.name not in kept_names:
                    removed.append(removed_name(d, stem))
                continue  # a duplicate name is the checker's business; keep the first
            if isinstance(d, ast.Service):
                fnames = walk.functions.get((path, d.name), set())
                kept_functions[d.name] = fnames
                removed.extend(f"function {stem}.{d.name}.{f.name}" for f in d.functions
                               if f.name not in fnames)
                base = walk.base_of(path, d)
                cut = base is not None and (base[0], base[1].name) not in kept_services
                if cut:
                    cut_extends.add(d.name)
                if cut or len(fnames) != len(d.functions):
                    d = dataclasses.replace(
                        d, functions=[f for f in d.functions if f.name in fnames],
                        extends=None if cut else d.extends)
            new_defs.append(d)
        doc = pf.document
        if dropped or len(new_defs) != len(doc.definitions) or any(
                a is not b for a, b in zip(new_defs, doc.definitions)):
            dropped_ids = {id(h) for h in dropped}
            doc = dataclasses.replace(
                doc, headers=[h for h in doc.headers if id(h) not in dropped_ids],
                definitions=new_defs)
        new_pf = ParsedFile(path, pf.display, doc, kept_includes,
                            content_hash=_trimmed_hash(pf, doc, kept_functions, cut_extends),
                            include_nodes=doc.includes)
        new_files[path] = new_pf
        files[path] = FileTrim(path, pf, set(kept_names), kept_functions, cut_extends, dropped)
        stats.after[pf.display] = count_document(doc)
    for names in stats.removed.values():
        names.sort()  # the same order whichever front end parsed what
    trimmed = Program(list(program.roots), new_files, list(program.include_dirs))
    return TrimResult(trimmed, program, files, stats, diagnostics)


_KIND_WORD = {ast.STRUCT: "struct", ast.UNION: "union", ast.EXCEPTION: "exception"}


def removed_name(d, stem: str) -> str:
    """``struct catalog.ProductDraft``: a removed definition as the report names it."""
    if isinstance(d, ast.Struct):
        kind = _KIND_WORD[d.kind]
    else:
        kind = type(d).__name__.lower()
    return f"{kind} {stem}.{d.name}"


def _trimmed_hash(pf: ParsedFile, doc: ast.Document, kept_functions: dict,
                  cut_extends: set) -> str:
    """The original content hash for an untouched document; otherwise a hash of
    it and what was kept, so caches keyed by content never confuse the two."""
    if doc is pf.document:
        return pf.content_hash
    h = hashlib.sha256(f"{pf.content_hash}\0trimmed".encode())
    for d in doc.definitions:
        h.update(f"\0{d.name}".encode("utf-8", "surrogatepass"))
        if isinstance(d, ast.Service):
            fns = ",".join(f.name for f in d.functions)
            h.update(f"({fns}|{d.name in cut_extends})".encode("utf-8", "surrogatepass"))
    for inc in doc.includes:
        h.update(f"\0include {inc.path}".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


__all__ = ["TrimOptions", "TrimResult", "FileTrim", "trim_program", "compile_patterns",
           "PRESERVE_LINE"]
