"""Loads a set of root IDL files and everything they include into a :class:`Program`.

Include resolution follows Apache: relative to the including file first, then
each ``-I`` directory in order. Each file is parsed once however many paths
include it (files are keyed by their resolved real path). Include cycles are
reported with the whole cycle. Parsing goes through the content-hash cache
(:mod:`thriftgen.idl.cache`) when one is given.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import multiprocessing
import os
import pickle
import re
import threading
from dataclasses import dataclass, field
from typing import Iterator, Optional, Sequence

from thriftgen.diagnostics import DiagnosticSink, IDLError, SourceText
from thriftgen.idl import ast
from thriftgen.idl.grammar import decode_source, parse_text


@contextlib.contextmanager
def gc_paused():
    """Cyclic GC off for a bulk build of long-lived, acyclic objects (ASTs, views).

    Every collection would otherwise traverse the whole growing heap again:
    measured on 60k synthetic structs, parsing takes 26 s with the collector and
    16.6 s without; unpickling an AST 2.0 s vs 0.29 s. Reference counting still
    frees everything that is not in a cycle; cycles wait for the next collection
    after the block. Nests; restores the previous state.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class ParsedFile:
    """One loaded file. ``document`` and ``symbols`` are materialized on first use,
    so a run served entirely from the cache never unpickles an AST."""

    __slots__ = ("path", "display", "content_hash", "include_nodes", "includes",
                 "_document", "_load", "_symbols")

    def __init__(self, path: str, display: str, document: Optional[ast.Document] = None,
                 includes: Optional[dict] = None, *, content_hash: str = "",
                 include_nodes: Optional[list] = None, load=None):
        self.path = path  # resolved real path: the identity of the file
        self.display = display  # how diagnostics name it (relative to cwd when inside it)
        self.content_hash = content_hash
        self.includes = includes if includes is not None else {}  # alias -> real path
        self.include_nodes = include_nodes if include_nodes is not None else (
            document.includes if document is not None else [])
        self._document = document
        self._load = load
        self._symbols: Optional[dict] = None

    @property
    def document(self) -> ast.Document:
        if self._document is None:
            self._document = self._load()
            self._load = None
        return self._document

    @property
    def symbols(self) -> dict:
        """Definition name -> Definition (the first one; duplicates are the checker's)."""
        if self._symbols is None:
            symbols: dict = {}
            for d in self.document.definitions:
                symbols.setdefault(d.name, d)
            self._symbols = symbols
        return self._symbols

    @property
    def alias(self) -> str:
        base = os.path.basename(self.path)
        return base[:-7] if base.endswith(".thrift") else os.path.splitext(base)[0]

    def __repr__(self) -> str:
        return f"ParsedFile({self.display!r})"


@dataclass
class Program:
    """Every file reachable from the roots, in dependency order (includes first)."""

    roots: list  # list[str] real paths
    files: dict  # real path -> ParsedFile, insertion order = includes before includers
    include_dirs: list = field(default_factory=list)
    #: id(typedef) -> what its chain resolves to (resolve_type stays linear on long chains)
    _typedef_ends: dict = field(default_factory=dict, repr=False, compare=False)

    def __iter__(self) -> Iterator[ParsedFile]:
        return iter(self.files.values())

    def file(self, path: str) -> ParsedFile:
        return self.files[path]

    def fingerprint(self) -> bytes:
        """Identity of the whole input: every file's name, content and include mapping.
        Equal fingerprints mean every semantic check gives the same result."""
        h = hashlib.sha256()
        for pf in self.files.values():
            h.update(f"{pf.display}\0{pf.content_hash}\0".encode("utf-8", "surrogatepass"))
            for alias, target in sorted(pf.includes.items()):
                h.update(f"{alias}={self.files[target].display if target in self.files else target}\0"
                         .encode("utf-8", "surrogatepass"))
        h.update("\0".join(self.files[r].display for r in self.roots if r in self.files).encode())
        return h.digest()

    def lookup(self, from_path: str, name: str) -> Optional[tuple]:
        """Resolve ``Name`` or ``alias.Name`` as seen from ``from_path``.

        Returns ``(ParsedFile, Definition)`` or None.
        """
        pf = self.files[from_path]
        d = pf.symbols.get(name)
        if d is not None:
            return pf, d
        # ``alias.Name``; an include alias may itself contain dots (``a.b.thrift``).
        dot = name.rfind(".")
        if dot > 0:
            target = pf.includes.get(name[:dot])
            if target is not None:
                tf = self.files[target]
                d = tf.symbols.get(name[dot + 1:])
                if d is not None:
                    return tf, d
        return None

    def resolve_type(self, from_path: str, t: ast.TypeRef) -> tuple:
        """Follow typedef chains, however long: ``(file_path, type)`` where type is not
        a typedef.

        A NamedType that resolves to a struct/enum/... is returned as
        ``(path_of_defining_file, definition)``; unresolvable names return
        ``(from_path, t)`` unchanged (the checker reports them), and so does a
        typedef cycle (the checker reports it too).
        """
        ends = self._typedef_ends
        passed = []  # typedefs of this chain, remembered with its end
        seen = set()
        path = from_path
        while isinstance(t, ast.NamedType):
            found = self.lookup(path, t.name)
            if found is None:
                break
            pf, d = found
            if not isinstance(d, ast.Typedef):
                path, t = pf.path, d
                break
            end = ends.get(id(d))
            if end is not None:
                path, t = end
                break
            if id(d) in seen:
                return path, t  # a cycle: not remembered
            seen.add(id(d))
            passed.append(d)
            path, t = pf.path, d.type
        for d in passed:
            ends[id(d)] = (path, t)
        return path, t

    def lookup_const(self, from_path: str, name: str) -> Optional[tuple]:
        """Resolve a const-value identifier: ``CONST``, ``Enum.MEMBER``,
        ``alias.CONST``, ``alias.Enum.MEMBER``.

        Returns ``(ParsedFile, Const)`` or ``(ParsedFile, Enum, EnumValue)`` or None.
        """
        found = self.lookup(from_path, name)
        if found is not None and isinstance(found[1], ast.Const):
            return found
        if "." in name:
            head, member = name.rsplit(".", 1)
            found = self.lookup(from_path, head)
            if found is not None and isinstance(found[1], ast.Enum):
                for v in found[1].values:
                    if v.name == member:
                        return found[0], found[1], v
        return None


def display_path(path: str, cwd: Optional[str] = None) -> str:
    cwd = cwd or os.getcwd()
    try:
        rel = os.path.relpath(path, cwd)
    except ValueError:  # another drive on Windows
        return path
    return path if rel.startswith("..") else rel


#: ``include "path"`` at the start of a line: what the parallel pre-scan follows.
_INCLUDE_LINE = re.compile(rb"""^[ \t]*include[ \t]+(?:"([^"\\\n]*)"|'([^'\\\n]*)')""", re.MULTILINE)
#: With ``jobs=None``, parse in parallel only when this many bytes need parsing.
PARALLEL_MIN_BYTES = 1_000_000
#: Share of the bytes the forked worker parses: it also pickles what it parsed
#: (~0.45x the parse time), the caller only unpickles it (~0.15x).
WORKER_SHARE = 0.42

#: What the forked parse worker inherits: the Loader of the running load.
_FORK_LOADER = None


class Handoff:
    """Results of forked workers passed through files, not the pool's pipe.

    A worker writing a big result into the pipe stalls until the parent's
    result thread has read it all, and while the parent computes (holding the
    GIL) that thread gets the GIL back once per switch interval for every 64 kB
    read: measured 1.4 s per 18 MB module, most of the parallel gain. A file
    is written at once and read when the parent is ready for it.
    """

    def __init__(self):
        import tempfile

        self.dir = tempfile.mkdtemp(prefix="thriftgen-")

    def put(self, data: bytes) -> str:
        """In a worker: store ``data``; the path to hand back."""
        import tempfile

        fd, path = tempfile.mkstemp(dir=self.dir)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return path

    def take(self, path: str) -> bytes:
        with open(path, "rb") as fh:
            data = fh.read()
        os.unlink(path)
        return data

    def close(self) -> None:
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)


def _parse_in_worker(real: str, display: str) -> Optional[str]:
    """In the forked worker: parse one file; the cache payload of the result
    (also written to the cache, if any) through the Handoff, or None when it has
    errors (the caller then parses it itself, so every diagnostic comes out
    exactly as serially)."""
    from thriftgen.idl.cache import encode_entry

    loader, handoff = _FORK_LOADER
    data = loader._data[real]
    local = DiagnosticSink()
    doc = loader._decode_and_parse(real, data, display, local)
    if doc is None or local.has_errors:
        return None
    payload = encode_entry(doc, local.diagnostics)
    if payload is None:
        return None
    if loader.cache is not None and real not in loader.texts:
        loader.cache.put_payload(data, display, payload)
    return handoff.put(payload)


class Loader:
    """Parses root files and their includes; collects diagnostics in ``sink``.

    ``jobs``: 1 parses serially; 2 or more forks that many minus one workers that
    parse part of the files while this process parses the rest (see
    :meth:`_prefetch`); None does so only for big inputs in a single-threaded
    process where ``fork`` exists. The result is the same either way.

    ``texts``: real path -> decoded text to parse instead of the file's own (the
    trimming front end's masked texts, see :mod:`thriftgen.idl.skeleton`); those
    files bypass the cache, and diagnostics still quote the file itself.

    ``names``: real path -> the name diagnostics give the file instead of its path
    (the audit's old side, read from git, is ``REF:path``).
    """

    def __init__(self, include_dirs: Sequence[str] = (), sink: Optional[DiagnosticSink] = None,
                 cache=None, jobs: Optional[int] = None, texts: Optional[dict] = None,
                 names: Optional[dict] = None):
        self.names = names or {}
        self.include_dirs = [os.path.abspath(d) for d in include_dirs]
        self.sink = sink if sink is not None else DiagnosticSink()
        self.cache = cache
        self.jobs = jobs
        self.texts = texts or {}
        self.files: dict[str, ParsedFile] = {}
        self._failed: set[str] = set()
        self._data: dict[str, bytes] = {}  # real path -> bytes read by the pre-scan
        self._parsed: dict[str, tuple] = {}  # real path -> (display, CachedFile) from workers

    # -- parallel pre-parsing ------------------------------------------------------

    def _workers(self, todo_bytes: int, files: int) -> int:
        if files < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return 1
        if self.jobs is None:
            if (todo_bytes < PARALLEL_MIN_BYTES or threading.active_count() > 1
                    or (os.cpu_count() or 1) < 2):
                return 1
            return 2
        return min(self.jobs, files)

    def _prefetch(self, roots: list) -> None:
        """Parse the files the roots (probably) include in parallel before the walk.

        A cheap scan of ``include`` lines finds the files the walk will want;
        forked workers parse a share of them (largest first, by bytes) while this
        process parses the rest, and hand back cache payloads (the pickled AST
        with its includes and diagnostics). The walk itself is unchanged and
        takes a result only for the same path, bytes and display name, so a
        scan that guesses wrong (an include inside a comment, an escaped path)
        costs time, never correctness; a file with errors is parsed again by
        the walk so its diagnostics come out exactly as in a serial run.
        """
        if self.jobs == 1:
            return
        order = self.discover(roots)
        if self.cache is not None:
            order = [(r, d) for r, d in order if r in self.texts or not self._cached(r, d)]
        workers = self._workers(sum(len(self._data[r]) for r, _ in order), len(order))
        if workers < 2:
            return
        self._parse_parallel(order, workers)

    def discover(self, roots: list) -> list:
        """``[(real path, display)]`` of the roots and the files their ``include``
        lines (probably) name, read into ``_data`` for the walk."""
        order: list = []
        seen: set = set()
        pending = list(roots)
        while pending:
            real, display = pending.pop(0)
            if real in seen:
                continue
            seen.add(real)
            try:
                with open(real, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            self._data[real] = data
            order.append((real, display))
            for m in _INCLUDE_LINE.finditer(data):
                raw = m.group(1) if m.group(1) is not None else m.group(2)
                try:
                    target = self._find_path(raw.decode("utf-8"), real)
                except UnicodeDecodeError:
                    continue
                if target is not None and target not in seen:
                    pending.append((target, display_path(target)))
        return order

    def _parse_parallel(self, order: list, workers: int) -> None:
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        from thriftgen.idl.cache import decode_entry

        theirs = _share(order, self._data, 1 - (1 - WORKER_SHARE) * 2 / workers)
        mine = [item for item in order if item not in set(theirs)]
        global _FORK_LOADER
        try:
            handoff = Handoff()
        except OSError:
            return  # no temporary directory: the walk parses everything
        _FORK_LOADER = (self, handoff)
        try:
            ctx = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(workers - 1, mp_context=ctx) as pool:
                futures = [(real, display, pool.submit(_parse_in_worker, real, display))
                           for real, display in theirs]
                for real, display in mine:  # parsed now, served to the walk below
                    self._parsed[real] = (display, self._parse_now(real, display))
                # Unpickle each worker result as it arrives (the walk and the checker
                # need every AST anyway; meanwhile this process would only wait).
                where = {future: (real, display) for real, display, future in futures}
                for future in as_completed(where):
                    real, display = where[future]
                    path = future.result()
                    if path is not None:
                        self._parsed[real] = (display, self._unpickled(
                            real, display, decode_entry(handoff.take(path))))
        except (OSError, BrokenProcessPool):
            pass  # no worker after all: the walk parses what is missing
        finally:
            _FORK_LOADER = None
            handoff.close()

    def _unpickled(self, real: str, display: str, hit):
        """A worker's result as a document in hand (``hit`` itself if it will not load)."""
        doc = hit.load_document() if hit is not None else None
        if doc is None:
            return hit
        sources = {display: SourceText(display, self._data[real].decode("utf-8-sig"))}
        return _Parsed(doc, hit.diagnostics, sources)

    def _cached(self, real: str, display: str) -> bool:
        hit = self.cache.get(self._data[real], display)
        if hit is not None:
            self._parsed[real] = (display, hit)
        return hit is not None

    def _parse_now(self, real: str, display: str):
        """Parse in this process for the walk: a CachedFile-like result holding the
        document itself, or None (errors: the walk parses and reports them)."""
        local = DiagnosticSink()  # its sources join the run's only if the walk takes it
        data = self._data[real]
        doc = self._decode_and_parse(real, data, display, local)
        if doc is None or local.has_errors:
            return None
        if self.cache is not None and real not in self.texts:
            self.cache.put(data, display, doc, local.diagnostics)
        return _Parsed(doc, local.diagnostics, local.sources)

    def _decode_and_parse(self, real: str, data: bytes, display: str,
                          local: DiagnosticSink) -> Optional[ast.Document]:
        text = self.texts.get(real)
        if text is None:
            text = decode_source(data, display, local)
            return parse_text(text, display, local) if text is not None else None
        doc = parse_text(text, display, local)
        local.sources.add(SourceText(display, data.decode("utf-8-sig")))  # quote the file
        return doc

    # -- reading and parsing -------------------------------------------------

    def _parse_file(self, real: str, display: str) -> Optional[ParsedFile]:
        data = self._data.pop(real, None)
        if data is None:
            try:
                with open(real, "rb") as fh:
                    data = fh.read()
            except OSError as e:
                self.sink.error(f"cannot read {display}: {e.strerror or e}")
                return None
        digest = hashlib.sha256(data).hexdigest()
        pre = self._parsed.pop(real, None)
        if pre is not None and pre[0] == display and pre[1] is not None:
            hit = pre[1]
            if isinstance(hit, _Parsed):
                self.sink.sources.update(hit.sources)
                self.sink.extend(hit.diagnostics)
                return ParsedFile(real, display, hit.document, content_hash=digest)
            self.sink.extend(hit.diagnostics)
            self.sink.sources.add(SourceText(display, data.decode("utf-8-sig")))

            def load_pre(hit=hit, data=data, display=display) -> ast.Document:
                doc = hit.load_document()
                return doc if doc is not None else self._reparse(data, display)

            return ParsedFile(real, display, content_hash=digest, include_nodes=hit.includes,
                              load=load_pre)
        if self.cache is not None and real not in self.texts:
            hit = self.cache.get(data, display)
            if hit is not None:
                self.sink.extend(hit.diagnostics)
                # Diagnostics of later stages quote source lines: keep the text at hand.
                self.sink.sources.add(SourceText(display, data.decode("utf-8-sig")))

                def load(hit=hit, data=data, display=display) -> ast.Document:
                    doc = hit.load_document()
                    return doc if doc is not None else self._reparse(data, display)

                return ParsedFile(real, display, content_hash=digest,
                                  include_nodes=hit.includes, load=load)
        local = DiagnosticSink(sources=self.sink.sources)
        doc = self._decode_and_parse(real, data, display, local)
        self.sink.extend(local.diagnostics)
        if doc is None:
            return None
        if self.cache is not None and not local.has_errors and real not in self.texts:
            self.cache.put(data, display, doc, local.diagnostics)
        return ParsedFile(real, display, doc, content_hash=digest)

    def _reparse(self, data: bytes, display: str) -> ast.Document:
        # The cache entry's header was valid but its AST was not: parse again.
        local = DiagnosticSink(sources=self.sink.sources)
        text = decode_source(data, display, local)
        doc = parse_text(text, display, local) if text is not None else None
        if doc is None:  # pragma: no cover - the same bytes parsed fine before
            raise IDLError(local.diagnostics, self.sink.sources)
        return doc

    def _find_include(self, inc: ast.Include, from_real: str) -> Optional[str]:
        return self._find_path(inc.path, from_real)

    def _find_path(self, path: str, from_real: str) -> Optional[str]:
        candidates = [os.path.dirname(from_real), *self.include_dirs]
        for base in candidates:
            cand = os.path.join(base, path)
            if os.path.isfile(cand):
                return os.path.realpath(cand)
        return None

    # -- graph walk ------------------------------------------------------------

    def root_entries(self, roots: Sequence[str]) -> list:
        """``[(real path, display)]`` of the roots that exist (the others are errors)."""
        root_reals = []
        for r in roots:
            if not os.path.isfile(r):
                self.sink.error(f"no such IDL file: {r}")
                continue
            root_reals.append(os.path.realpath(r))
        return [(real, self.names.get(real) or display_path(os.path.abspath(self._given(real, roots))))
                for real in root_reals]

    def load(self, roots: Sequence[str]) -> Program:
        entries = self.root_entries(roots)
        root_reals = [real for real, _ in entries]
        self._prefetch(entries)
        order: list[str] = []
        for real, display in entries:
            self._visit(real, display, [], order)
        self._data.clear()
        self._parsed.clear()
        self.sink.check()
        files = {p: self.files[p] for p in order}
        return Program(root_reals, files, list(self.include_dirs))

    @staticmethod
    def _given(real: str, roots: Sequence[str]) -> str:
        for r in roots:
            if os.path.realpath(r) == real:
                return r
        return real

    def _visit(self, real: str, display: str, stack: list, order: list) -> None:
        # Iterative over the include graph would need explicit frames; include
        # depth is tiny in practice, but guard against pathological chains.
        if real in self.files or real in self._failed:
            return
        if len(stack) > 200:
            self.sink.error(f"includes nested more than 200 levels deep at {display}")
            return
        pf = self._parse_file(real, display)
        if pf is None:
            self._failed.add(real)
            return
        self.files[real] = pf  # registered before children: a cycle finds it on the stack
        stack.append(real)
        for inc in pf.include_nodes:
            target = self._find_include(inc, real)
            if target is None:
                searched = [os.path.dirname(display) or ".", *map(display_path, self.include_dirs)]
                self.sink.error(
                    f"cannot find included file '{inc.path}' (searched: {', '.join(searched)})",
                    inc.loc, len(inc.path) + 2)
                continue
            if target in stack:
                cycle = stack[stack.index(target):] + [target]
                names = " -> ".join(self._display_of(p) for p in cycle)
                self.sink.error(f"include cycle: {names}", inc.loc, len(inc.path) + 2)
                continue
            alias = inc.alias
            prev = pf.includes.get(alias)
            if prev is not None and prev != target:
                self.sink.error(
                    f"two includes share the name '{alias}' ({self._display_of(prev)} and "
                    f"{display_path(target)}); references '{alias}.X' would be ambiguous",
                    inc.loc, len(inc.path) + 2)
                continue
            pf.includes[alias] = target
            self._visit(target, self.names.get(target) or display_path(target), stack, order)
        stack.pop()
        order.append(real)

    def _display_of(self, real: str) -> str:
        pf = self.files.get(real)
        return pf.display if pf else self.names.get(real) or display_path(real)


_FORK_TASK = None


def _run_forked(item):
    func, handoff = _FORK_TASK
    return handoff.put(pickle.dumps(func(item), protocol=pickle.HIGHEST_PROTOCOL))


def fork_map(func, items: list, weights: list, workers: int, share: float = 0.5) -> list:
    """``[func(item) for item in items]``, forked workers taking about ``share`` of the
    total weight (largest items first) while this process computes the rest.
    ``func`` runs in the worker as forked (nothing is pickled but items and
    results). Serial when ``workers`` < 2, there is one item, or forking fails."""
    if workers < 2 or len(items) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [func(item) for item in items]
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    global _FORK_TASK
    total = sum(weights)
    theirs, taken = set(), 0
    for i in sorted(range(len(items)), key=lambda i: -weights[i]):
        if taken + weights[i] / 2 <= share * total:
            theirs.add(i)
            taken += weights[i]
    results: list = [None] * len(items)
    done: set = set()
    try:
        handoff = Handoff()
    except OSError:
        return [func(item) for item in items]
    _FORK_TASK = (func, handoff)
    try:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers - 1, mp_context=ctx) as pool:
            futures = {i: pool.submit(_run_forked, items[i]) for i in theirs}
            for i in range(len(items)):
                if i not in theirs:
                    results[i] = func(items[i])
                    done.add(i)
            for i, future in futures.items():
                results[i] = pickle.loads(handoff.take(future.result()))
                done.add(i)
    except (OSError, BrokenProcessPool):
        for i in range(len(items)):
            if i not in done:
                results[i] = func(items[i])
    finally:
        _FORK_TASK = None
        handoff.close()
    return results


class _Parsed:
    """A document parsed ahead of the walk in this process (see Loader._prefetch)."""

    __slots__ = ("document", "diagnostics", "sources")

    def __init__(self, document: ast.Document, diagnostics: list, sources: dict):
        self.document = document
        self.diagnostics = diagnostics
        self.sources = sources


def _share(order: list, data: dict, fraction: float) -> list:
    """Files (largest first) adding up to about ``fraction`` of the bytes."""
    total = sum(len(data[r]) for r, _ in order)
    out, taken = [], 0
    for item in sorted(order, key=lambda it: -len(data[it[0]])):
        size = len(data[item[0]])
        if taken + size / 2 <= fraction * total:
            out.append(item)
            taken += size
    return out


def load_program(roots: Sequence[str], include_dirs: Sequence[str] = (),
                 sink: Optional[DiagnosticSink] = None, cache=None,
                 jobs: Optional[int] = None, names: Optional[dict] = None) -> Program:
    """Parse ``roots`` and their includes. Raises :class:`IDLError` on errors.
    ``jobs``: parse processes (see :class:`Loader`; None: parallel for big inputs);
    ``names``: display names of files (see :class:`Loader`)."""
    with gc_paused():
        return Loader(include_dirs, sink, cache, jobs, names=names).load(roots)


__all__ = ["Program", "ParsedFile", "Loader", "load_program", "IDLError", "display_path", "gc_paused",
           "fork_map", "Handoff"]
