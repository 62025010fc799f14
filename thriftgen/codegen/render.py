"""Lays the view model out as files with the Jinja templates.

Templates live in the top-level ``templates/`` folder of the source tree; a
wheel ships the same folder as ``thriftgen/_templates`` (see pyproject), and
that location wins when it exists.

:func:`render_program` is the pipeline behind ``codegen.generate``: it plans
names once, then builds and renders one module at a time, so only one module's
view is alive at once, and with ``jobs != 1`` forked workers take whole modules.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import pickle
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import jinja2

from thriftgen.codegen.literals import comment_text
from thriftgen.codegen.viewmodel import Builder, GenerationView, ModuleView
from thriftgen.idl.loader import Handoff, gc_paused
from thriftgen.runtime.errors import ThriftgenError

_PACKAGE_DIR = Path(__file__).resolve().parents[1]


def template_dir() -> Path:
    for candidate in (_PACKAGE_DIR / "_templates", _PACKAGE_DIR.parent / "templates"):
        if (candidate / "py" / "ttypes.py.j2").is_file():
            return candidate
    raise ThriftgenError("thriftgen templates not found (looked for thriftgen/_templates and "
                         "templates/ beside the package)")


_ENV_OPTIONS = dict(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
                    trim_blocks=True, lstrip_blocks=True)


class SealedBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates kept in the user's sealed cache (part ``jinja``), as
    bytecode is: compiling the templates is ~25 ms of every run. Jinja checks the
    source checksum and its own version in the entry; the key adds the
    environment's options, and the seal (:mod:`thriftgen.cachedir`) that this
    user's thriftgen wrote it. ``THRIFTGEN_NO_CACHE`` turns it off."""

    _PART = "jinja"

    def __init__(self, store) -> None:
        self.store = store

    def _key(self, bucket) -> str:
        return hashlib.sha256(f"{bucket.key}\0{sorted(_ENV_OPTIONS.items())!r}".encode()).hexdigest()

    def load_bytecode(self, bucket) -> None:
        data = self.store.read(self._PART, self._key(bucket))
        if data is not None:
            try:
                bucket.bytecode_from_string(data)
            except Exception:  # an entry Jinja cannot read: compile afresh
                bucket.reset()

    def dump_bytecode(self, bucket) -> None:
        self.store.write(self._PART, self._key(bucket), bucket.bytecode_to_string())


def _bytecode_cache() -> Optional[SealedBytecodeCache]:
    if os.environ.get("THRIFTGEN_NO_CACHE"):
        return None
    try:
        from thriftgen.cachedir import open_store

        store = open_store(warn=False)
    except Exception:  # a cache never fails a run
        return None
    return SealedBytecodeCache(store) if store is not None else None


@functools.lru_cache(maxsize=4)
def environment(root: Optional[str] = None) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(root or str(template_dir())),
                              bytecode_cache=_bytecode_cache(), **_ENV_OPTIONS)


def _sources(module: ModuleView, only: Optional[str] = None) -> str:
    return comment_text(only if only else ", ".join(module.sources))


def _templates(env: jinja2.Environment, template_set: str = "py") -> tuple:
    return tuple(env.get_template(f"{template_set}/{name}.py.j2")
                 for name in ("__init__", "ttypes", "constants", "service"))


def namespace_package_file(env: jinja2.Environment, view: GenerationView, package: str) -> tuple:
    """``(path, text)`` of the empty ``__init__.py`` of a parent package."""
    return (package.replace(".", "/") + "/__init__.py",
            _templates(env)[0].render(view=view, module=None,
                                      sources="thriftgen (namespace package)"))


def render_module(env: jinja2.Environment, view: GenerationView, module: ModuleView) -> dict:
    """``{relative posix path: text}`` of one module (package)."""
    init_t, ttypes_t, consts_t, service_t = _templates(env, module.template_set)
    base = module.package.replace(".", "/")
    sources = _sources(module)
    out = {f"{base}/__init__.py": init_t.render(view=view, module=module, sources=sources),
           f"{base}/ttypes.py": ttypes_t.render(view=view, t=module.ttypes, sources=sources),
           f"{base}/constants.py": consts_t.render(view=view, c=module.constants, sources=sources)}
    for svc in module.services:
        out[f"{base}/{svc.file_name}.py"] = service_t.render(
            view=view, s=svc, sources=_sources(module, svc.source))
    return out


def render(view: GenerationView, template_root: Optional[str] = None) -> dict:
    """``{relative posix path: text}`` for every generated file, in a stable order."""
    env = environment(template_root)
    with gc_paused():
        out: dict = dict(namespace_package_file(env, view, p) for p in view.namespace_packages)
        for module in view.modules:
            out.update(render_module(env, view, module))
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- the pipeline

#: Below this estimated size (see _weight) forking costs more than it saves.
PARALLEL_MIN_WEIGHT = 20_000

#: What forked workers inherit: (builder, env, handoff) of the running render_program.
_FORK_STATE: Optional[tuple] = None


def _weight(builder: Builder, package: str) -> int:
    """Rough cost of a module: definitions, fields and functions (for load balancing)."""
    total = 0
    for pf in builder.modules[package]:
        for d in pf.document.definitions:
            total += (1 + len(getattr(d, "fields", None) or ())
                      + 4 * len(getattr(d, "functions", None) or ()))
    return total


def _outline(module: ModuleView) -> SimpleNamespace:
    """What ``Builder.finish`` reads of a module, once its view is dropped."""
    return SimpleNamespace(package=module.package,
                           services=[SimpleNamespace(file_name=s.file_name) for s in module.services])


def _render_packages(builder: Builder, env: jinja2.Environment, packages: list) -> list:
    """``[(outline, files)]`` per package; each view is dropped once rendered."""
    stub = GenerationView([], [])  # what the templates read of the whole view: the version
    out = []
    for package in packages:
        module = builder.module_view(package)
        out.append((_outline(module), render_module(env, stub, module)))
        del module
    return out


def _forked_render(packages: list) -> str:
    """In a forked worker: its modules and the diagnostics they raised, pickled
    into a Handoff file (see :class:`~thriftgen.idl.loader.Handoff`)."""
    builder, env, handoff = _FORK_STATE
    sink = builder.sink
    before, suppressed = len(sink.diagnostics), sink.suppressed
    with gc_paused():
        done = _render_packages(builder, env, packages)
    result = (done, sink.diagnostics[before:], sink.suppressed - suppressed)
    return handoff.put(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))


def _split(weights: dict, bins: int) -> list:
    """Packages into ``bins`` lists of similar total weight (largest first, greedy)."""
    loads = [[0, i, []] for i in range(bins)]
    for package in sorted(weights, key=lambda p: -weights[p]):
        target = min(loads)
        target[0] += weights[package]
        target[2].append(package)
    return [b[2] for b in sorted(loads, key=lambda b: b[1])]


def worker_count(jobs: int) -> int:
    """Processes for ``jobs`` (0: by CPU count, at most 4); 1 where ``fork`` is missing."""
    if jobs == 0:
        jobs = min(os.cpu_count() or 1, 4)
    if jobs > 1 and "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, jobs)


def render_program(builder: Builder, jobs: int = 1,
                   template_root: Optional[str] = None) -> tuple:
    """``({relative posix path: text}, GenerationView)`` for everything ``builder``
    generates; the view's modules are outlines (package, service file names).

    Modules are built and rendered one at a time, each view dropped once rendered.
    ``jobs``: processes (0: by CPU count); with more than one and a big enough
    program, whole modules go to forked workers and this process takes a share too.
    Raises IDLError (diagnostics in the builder's sink).
    """
    env = environment(template_root)
    with gc_paused():
        packages = builder.prepare()
        weights = {p: _weight(builder, p) for p in packages}
        workers = min(worker_count(jobs), len(packages))
        if workers > 1 and sum(weights.values()) >= PARALLEL_MIN_WEIGHT:
            done = _render_parallel(builder, env, _split(weights, workers))
        else:
            done = _render_packages(builder, env, packages)
        view = builder.finish([outline for outline, _ in done])
        builder.sink.check()
        out: dict = dict(namespace_package_file(env, view, p) for p in view.namespace_packages)
        for _, files in done:
            out.update(files)
    return dict(sorted(out.items())), view


def _render_parallel(builder: Builder, env: jinja2.Environment, shares: list) -> list:
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    global _FORK_STATE
    mine, *theirs = shares
    done: list = []
    try:
        handoff = Handoff()
    except OSError:  # no temporary directory: render everything here
        return _ordered(builder, _render_packages(builder, env, [p for s in shares for p in s]))
    _FORK_STATE = (builder, env, handoff)
    try:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(len(theirs), mp_context=ctx) as pool:
            # One task per module: results come back one module's text at a time.
            futures = [pool.submit(_forked_render, [package])
                       for share in theirs for package in share]
            done = _render_packages(builder, env, mine)
            for future in futures:
                more, diagnostics, suppressed = pickle.loads(handoff.take(future.result()))
                done.extend(more)
                builder.sink.extend(diagnostics)
                builder.sink.suppressed += suppressed
    except (OSError, BrokenProcessPool):  # a worker could not start or died: finish here
        have = {outline.package for outline, _ in done}
        done.extend(_render_packages(builder, env, [p for s in shares for p in s if p not in have]))
    finally:
        _FORK_STATE = None
        handoff.close()
    return _ordered(builder, done)


def _ordered(builder: Builder, done: list) -> list:
    order = {p: i for i, p in enumerate(builder.modules)}
    return sorted(done, key=lambda d: order[d[0].package])
