"""Python code generation: Program -> view model -> Jinja templates -> (black) -> files.

Library use::

    files = generate(program, GenOptions(), sink)   # {relative path: text}
    write_output(files, "gen-py")                    # atomic, manifest-tracked

See :mod:`thriftgen.codegen.viewmodel` for every decision about the output,
:mod:`thriftgen.codegen.writer` for how it reaches the disk.
"""

from __future__ import annotations

from typing import Optional

from thriftgen.codegen.options import GenOptions, OptionError, parse_thrift_options
from thriftgen.diagnostics import DiagnosticSink


def generate(program, options: Optional[GenOptions] = None,
             sink: Optional[DiagnosticSink] = None, recursive: bool = False,
             jobs: int = 1) -> dict:
    """Every generated file as ``{relative posix path: text}`` (nothing is written).

    ``recursive``: also generate included files no generated module imports.
    ``jobs``: processes for building, rendering and black (0: by CPU count; see
    :mod:`.render` and :mod:`.fmt`).
    Raises ``IDLError`` (diagnostics in ``sink``) when the program cannot be
    generated.
    """
    from thriftgen.codegen.builders import make_builder
    from thriftgen.codegen.render import render_program

    options = options or GenOptions()
    sink = sink if sink is not None else DiagnosticSink()
    files, _ = render_program(make_builder(program, options, sink, recursive), jobs)
    if not options.no_fmt:
        from thriftgen.codegen.fmt import format_files

        files = format_files(files, jobs, sink)
    return files


def write_output(files: dict, outdir: str):
    from thriftgen.codegen.writer import write_output as _write

    return _write(files, outdir)


__all__ = ["generate", "write_output", "GenOptions", "OptionError", "parse_thrift_options"]
