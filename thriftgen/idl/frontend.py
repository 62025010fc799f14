"""The front end as one call: load (parse, resolve includes) and check.

Check results are cached per program fingerprint (every file's content and
include mapping), so an unchanged IDL set is neither re-parsed nor re-checked:
the ASTs stay pickled until a later stage (trim, codegen) touches them.

:func:`thriftgen.trim.frontend.load_trimmed_program` is the front end of
trimmed generation (the trim stage's, built on this one).
"""

from __future__ import annotations

from typing import Optional, Sequence

from thriftgen.diagnostics import DiagnosticSink
from thriftgen.idl.checker import check_program
from thriftgen.idl.loader import Program, gc_paused, load_program


def load_checked_program(roots: Sequence[str], include_dirs: Sequence[str] = (),
                         sink: Optional[DiagnosticSink] = None, cache=None,
                         names: Optional[dict] = None) -> Program:
    """Parse, resolve and check ``roots``; raises IDLError with every diagnostic.
    ``names``: display names of files (see :class:`~thriftgen.idl.loader.Loader`)."""
    sink = sink if sink is not None else DiagnosticSink()
    with gc_paused():  # see gc_paused: the AST is built and walked, never cyclic garbage
        return _load_checked(roots, include_dirs, sink, cache, names=names)


def _load_checked(roots, include_dirs, sink: DiagnosticSink, cache, jobs=None,
                  names=None) -> Program:
    program = load_program(roots, include_dirs, sink, cache, jobs, names=names)
    key = cache.program_key(program.fingerprint()) if cache is not None else None
    cached = cache.get_check(key) if key is not None else None
    if cached is not None:
        sink.extend(cached)
    else:
        local = DiagnosticSink(sources=sink.sources)
        check_program(program, local)
        sink.extend(local.diagnostics)
        if key is not None and not local.suppressed:
            cache.put_check(key, local.diagnostics)
    sink.check()
    return program
