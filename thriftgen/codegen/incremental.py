"""Runs one generation job, doing only what changed since the job last ran.

:func:`run_job` is what ``thriftgen`` (with or without configured jobs) and the
build-system plugins call:

1. **Nothing changed** (the job entry of :mod:`thriftgen.gencache` is fresh:
   every input file hashes as recorded and every output is as written): no
   parsing, no writing; the result comes from the entry.
2. **Some IDL files changed** and the job does not trim: the program is loaded
   (unchanged files come from the parse cache), and only the packages that
   contain a changed file, or include one directly or transitively, are
   built, rendered and formatted. The other packages' files are kept as they
   are on disk. This needs the same set of packages and the same set of
   generated packages as the previous run (Python package aliases and
   namespace ``__init__`` files depend on those); otherwise, and for trimming
   jobs (what survives trimming depends on the whole program), everything is
   generated again.
3. Either way black runs only on texts it has not formatted before
   (:class:`~thriftgen.gencache.FormatCache`), and the writer touches only
   files whose bytes change.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import posixpath
import time
from typing import Optional

from thriftgen.codegen.builders import builder_class
from thriftgen.codegen.viewmodel import Builder
from thriftgen.codegen.writer import MANIFEST, plan, write_output
from thriftgen.config import Job
from thriftgen.diagnostics import DiagnosticSink, format_diagnostic
from thriftgen.progress import QUIET, Progress
from thriftgen.gencache import (FormatCache, GenCache, file_digest, output_stats, outputs_match,
                                program_inputs)

TRIM_KEYS = {"methods": "methods", "all": "trim_all", "preserve": "preserve",
             "preserved_structs": "preserved_structs", "preserved_files": "preserved_files",
             "disable_preserve_comment": "disable_preserve_comment", "strict": "strict"}


class JobResult:
    """What a job did. ``files``: every generated path (relative to ``outdir``);
    ``written`` / ``unchanged`` / ``removed`` as the writer reports them (with
    ``check``: what a run would write / remove); ``inputs``: every file read (IDL,
    trim settings); ``cached``: answered from the
    generation cache without parsing; ``regenerated``: the packages built this
    time (None: all of them); ``warnings``: formatted diagnostics of the run
    (replayed from the cache on a hit); ``trim``: the trim report, or None without
    trimming: ``{"summary": one or two lines, "table": per file, "json": counts
    and removed names}``; ``out_bytes``: the size of every generated file together."""

    def __init__(self, job: Job, files: list, written: list, unchanged: list, removed: list,
                 cached: bool = False, regenerated: Optional[list] = None,
                 warnings: Optional[list] = None, trim: Optional[dict] = None, key: str = "",
                 inputs: Optional[dict] = None, out_bytes: int = 0):
        self.job = job
        self.inputs = sorted(p for p, digest in (inputs or {}).items() if digest is not None)
        self.key = key  # the job's generation-cache key ('' with the cache off)
        self.outdir = job.outdir
        self.files = sorted(files)
        self.written = sorted(written)
        self.unchanged = sorted(unchanged)
        self.removed = sorted(removed)
        self.cached = cached
        self.regenerated = regenerated
        self.warnings = list(warnings or [])
        self.trim = trim
        self.out_bytes = out_bytes

    @property
    def changed(self) -> list:
        return sorted(self.written + self.removed)

    def paths(self) -> list:
        """Absolute paths of every generated file."""
        return [os.path.join(self.outdir, *rel.split("/")) for rel in self.files]


def cache_enabled(no_cache: bool = False) -> bool:
    return not (no_cache or os.environ.get("THRIFTGEN_NO_CACHE"))


def run_job(job: Job, *, check: bool = False, cache_dir: Optional[str] = None,
            no_cache: bool = False, sink: Optional[DiagnosticSink] = None,
            fmt_jobs: int = 1, progress: Progress = QUIET) -> JobResult:
    """Generate ``job`` into its output directory (``check``: write nothing).

    Raises ``IDLError`` (diagnostics in ``sink``) for bad IDL, ``ThriftgenError``
    for a bad option or an output that cannot be written.
    """
    sink = sink if sink is not None else DiagnosticSink()
    options = job.gen_options()
    use_cache = cache_enabled(no_cache)
    gen = GenCache(cache_dir) if use_cache else None
    key = gen.job_key(job.spec()) if gen else ""
    if gen is not None:
        entry = gen.fresh_job(key)
        if entry is not None:
            files = entry["files_out"]
            return JobResult(job, files, [], files, [], cached=True,
                             warnings=entry["warnings"], trim=entry.get("trim"),
                             key=key, inputs=entry["inputs"],
                             out_bytes=sum(size for rel, (_, size, _) in entry["outputs"].items()
                                           if rel != MANIFEST))
    prev = gen.load_job(key) if gen else None

    from thriftgen.idl.frontend import load_checked_program
    from thriftgen.trim.frontend import load_trimmed_program

    trimming = options.trim_idl or bool(job.methods)
    trim_opts, inputs = _trim_options(job, options) if trimming else (None, {})
    parse_cache = None
    if use_cache:
        from thriftgen.idl.cache import ParseCache

        parse_cache = ParseCache(cache_dir)
    trim = None
    progress.stage(f"reading {', '.join(os.path.basename(r) for r in job.roots[:3])}"
                   f"{' ...' if len(job.roots) > 3 else ''} and what it includes")
    if trimming:
        from thriftgen.trim import format_summary, format_text

        # Parses in full only what trimming may keep (see load_trimmed_program): every
        # file is still read, hashed and recorded below, so any edit is noticed.
        result = load_trimmed_program(job.roots, job.include_dirs, trim_opts, sink, parse_cache)
        full, program = result.original, result.program
        trim = {"summary": format_summary(result.stats), "table": format_text(result.stats),
                "json": result.stats.to_json()}
    else:
        full = program = load_checked_program(job.roots, job.include_dirs, sink, parse_cache)
    inputs.update(_program_inputs(full, job))
    file_hashes = {pf.path: pf.content_hash for pf in full}
    graph = {pf.path: sorted(set(pf.includes.values())) for pf in full}

    fmt_cache = FormatCache(cache_dir) if use_cache and not options.no_fmt else None
    previous = None if trimming or prev is None else _Previous(prev, job.outdir, file_hashes, graph)
    progress.stage(f"generating code for {len(program.files)} IDL files")
    texts, packages, shared, regenerated, all_packages = _generate(
        program, options, sink, job.recursive, previous, fmt_cache, fmt_jobs, progress)
    warnings = [format_diagnostic(d, sink.sources, False) for d in sink.sorted()]

    progress.stage(f"writing {len(texts)} files")
    if check:
        res = plan(texts, job.outdir)
        record = not res.changed
    else:
        res = write_output(texts, job.outdir)
        record = True
    if record and gen is not None:
        _record(gen, key, job, texts, {
            "inputs": inputs, "files": file_hashes, "graph": graph, "packages": packages,
            "all_packages": all_packages, "shared": shared, "warnings": warnings,
            "trim": trim})
    out_bytes = sum(len(t) if t.isascii() else len(t.encode("utf-8")) for t in texts.values())
    return JobResult(job, list(texts), res.written, res.unchanged, res.removed,
                     regenerated=regenerated, warnings=warnings, trim=trim,
                     key=key, inputs=inputs, out_bytes=out_bytes)


def _record(gen: GenCache, key: str, job: Job, texts: dict, state: dict) -> None:
    started = time.time_ns()  # before the outputs' stats: see gencache.outputs_match
    digests = {rel: hashlib.sha256(text.encode("utf-8")).hexdigest() for rel, text in texts.items()}
    manifest = file_digest(os.path.join(job.outdir, MANIFEST))
    if manifest is not None:
        digests[MANIFEST] = manifest
    outputs = output_stats(job.outdir, digests)
    if len(outputs) != len(digests):
        return  # something vanished under us: no entry rather than a wrong one
    gen.store_job(key, dict(state, cwd=os.getcwd(), outdir=job.outdir, files_out=sorted(texts),
                            outputs=outputs, recorded_ns=started))


def _trim_options(job: Job, options) -> tuple:
    """``(TrimOptions, input files)``: the settings files (and the candidates that
    were absent) decide the options as much as the flags do."""
    from thriftgen.trim.config import CONFIG_NAME, resolve_options

    opts, files_read = resolve_options(job.roots, methods=job.methods or None,
                                       trim_all=True if options.trim_all else None,
                                       pyproject_search_from=job.base_dir)
    changes = {}
    for key, value in job.trim.items():
        if (key == "methods" and job.methods) or (key == "all" and options.trim_all):
            continue  # the command line / job key wins over the trim table
        changes[TRIM_KEYS[key]] = value
    opts = dataclasses.replace(opts, **changes)
    inputs = {os.path.abspath(f): file_digest(f) for f in files_read}
    beside = os.path.join(os.path.dirname(os.path.abspath(job.roots[0])), CONFIG_NAME)
    inputs.setdefault(beside, file_digest(beside))
    d = os.path.abspath(job.base_dir)
    while True:  # find_pyproject's walk: the first pyproject.toml upwards decides
        cand = os.path.join(d, "pyproject.toml")
        inputs.setdefault(cand, file_digest(cand))
        if inputs[cand] is not None or os.path.dirname(d) == d:
            break
        d = os.path.dirname(d)
    return opts, inputs


def _program_inputs(program, job: Job) -> dict:
    return program_inputs(program, job.roots, job.include_dirs)


# --------------------------------------------------------------------------- generation


class _Fallback(Exception):
    """Partial regeneration cannot be trusted this time: generate everything."""


class _Previous:
    """The previous run of the same job, and what changed since."""

    def __init__(self, entry: dict, outdir: str, file_hashes: dict, graph: dict):
        self.entry = entry
        self.outdir = outdir
        self.file_hashes = file_hashes
        self.graph = graph

    def select(self, builder: Builder, wanted: set) -> Optional[set]:
        """The packages to build, or None for all of them."""
        e = self.entry
        packages = e.get("packages") or {}
        if (sorted(builder.modules) != e.get("all_packages") or set(wanted) != set(packages)
                or e.get("outdir") != self.outdir):
            return None
        dirty = {p for p, h in self.file_hashes.items()
                 if e["files"].get(p) != h or e["graph"].get(p) != self.graph[p]}
        includers: dict = {}
        for p, targets in self.graph.items():
            for t in targets:
                includers.setdefault(t, []).append(p)
        stack = list(dirty)
        while stack:
            for p in includers.get(stack.pop(), ()):
                if p not in dirty:
                    dirty.add(p)
                    stack.append(p)
        selected = {builder.file_module[p] for p in dirty if p in builder.file_module}
        outputs = e["outputs"]
        for pkg in wanted:
            info = packages[pkg]
            if sorted(pf.path for pf in builder.modules[pkg]) != info["files"]:
                selected.add(pkg)
            elif not self._on_disk(info["outputs"], outputs):
                selected.add(pkg)  # edited or deleted by hand: write it again
        if not self._on_disk(e["shared"], outputs):
            return None
        return selected & set(wanted)

    def _on_disk(self, rels: list, outputs: dict) -> bool:
        recorded = {rel: outputs[rel] for rel in rels if rel in outputs}
        if len(recorded) != len(rels):
            return False
        return outputs_match(self.outdir, recorded, self.entry["recorded_ns"])[0]

    def read(self, rel: str) -> str:
        path = os.path.join(self.outdir, *rel.split("/"))
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            raise _Fallback() from None
        if hashlib.sha256(data).hexdigest() != self.entry["outputs"][rel][0]:
            raise _Fallback()
        return data.decode("utf-8")


class _JobBuilder(Builder):
    """The view-model builder, limited to the packages ``previous`` selects."""

    def __init__(self, program, options, sink, recursive: bool, previous: Optional[_Previous]):
        super().__init__(program, options, sink, recursive)
        self.previous = previous
        self.selected: Optional[set] = None
        self.all_wanted: set = set()

    def _wanted_modules(self) -> set:
        wanted = super()._wanted_modules()
        self.all_wanted = set(wanted)
        if self.previous is not None:
            self.selected = self.previous.select(self, wanted)
        return wanted if self.selected is None else wanted & self.selected


def _generate(program, options, sink: DiagnosticSink, recursive: bool,
              previous: Optional[_Previous], fmt_cache: Optional[FormatCache],
              fmt_jobs: int, progress: Progress = QUIET) -> tuple:
    """``(texts, {package: files and outputs}, shared outputs, regenerated packages or
    None for all, every package of the program)``."""
    try:
        return _generate_once(program, options, sink, recursive, previous, fmt_cache, fmt_jobs,
                              progress)
    except _Fallback:
        return _generate_once(program, options, sink, recursive, None, fmt_cache, fmt_jobs,
                              progress)


def _generate_once(program, options, sink, recursive, previous, fmt_cache, fmt_jobs,
                   progress: Progress = QUIET) -> tuple:
    from thriftgen.codegen.render import render_program

    # What codegen.generate does, with a builder that may leave packages out.
    builder = builder_class(options, _JobBuilder)(program, options, sink, recursive, previous)
    texts, view = render_program(builder, fmt_jobs)
    base_of = {m.package: m.package.replace(".", "/") for m in view.modules}
    owner = {}
    for rel in texts:
        owner[rel] = next((pkg for pkg, base in base_of.items()
                           if posixpath.dirname(rel) == base), None)
    partial = builder.selected is not None
    if partial:
        texts = {rel: t for rel, t in texts.items() if owner[rel] is not None}
    if not options.no_fmt:
        progress.stage(f"checking the layout of {len(texts)} files with black")
        texts = format_texts(texts, fmt_cache, fmt_jobs, sink)
    packages = {pkg: {"files": sorted(pf.path for pf in builder.modules[pkg]),
                      "outputs": sorted(rel for rel, o in owner.items() if o == pkg)}
                for pkg in base_of}
    if not partial:
        shared = sorted(rel for rel, o in owner.items() if o is None)
        return texts, packages, shared, None, sorted(builder.modules)
    e = previous.entry
    for pkg, info in e["packages"].items():
        if pkg not in packages:
            packages[pkg] = info
            for rel in info["outputs"]:
                texts[rel] = previous.read(rel)
    shared = list(e["shared"])
    for rel in shared:
        texts[rel] = previous.read(rel)
    dirs = {posixpath.dirname(rel) for rel in texts}
    if any(rel[:-3] in dirs for rel in texts if rel.endswith(".py")):
        raise _Fallback()  # a module now collides with a package: let the full run report it
    return (dict(sorted(texts.items())), packages, shared, sorted(builder.selected),
            sorted(builder.modules))


def format_texts(texts: dict, cache: Optional[FormatCache], jobs: int = 1,
                 sink: Optional[DiagnosticSink] = None) -> dict:
    """:func:`thriftgen.codegen.fmt.format_files` over the ``.py`` texts black has not
    seen before; the others come from the cache (black's cost, once per distinct file)."""
    from thriftgen.codegen.fmt import format_files

    out = dict(texts)
    todo = {}
    for rel, text in texts.items():
        if not rel.endswith(".py"):
            continue
        hit = cache.get(text) if cache is not None else None
        if hit is None:
            todo[rel] = text
        else:
            out[rel] = hit
    if todo:
        formatted = format_files(todo, jobs, sink)
        for rel, text in todo.items():
            out[rel] = formatted[rel]
            if cache is not None:
                cache.put(text, formatted[rel])
    return out


__all__ = ["run_job", "JobResult", "format_texts", "cache_enabled"]
