"""The generator command line, Kitex style (it is thriftgen's default command)::

    thriftgen [-o OUTDIR] [-I DIR]... [-thrift OPT[=VALUE][,OPT...]]... [-m PATTERN]...
              [-r] [--check] [-q|-v] IDL...

``-thrift`` is a single-dash long option, as in Kitex (click treats a single
dash followed by several letters as a long option name).
"""

from __future__ import annotations

import os
from typing import List, Optional

import typer

from thriftgen.cli import CACHE_DIR_OPT, NO_CACHE_OPT, app, load_and_check, report
from thriftgen.diagnostics import DiagnosticSink, IDLError
from thriftgen.runtime.errors import ThriftgenError

DEFAULT_OUTDIR = "gen-py"


def _fail(message: str) -> None:
    typer.echo(f"thriftgen: error: {message}", err=True)
    raise typer.Exit(1)


def _trim(program, idls: List[str], methods: List[str], trim_all: bool, sink: DiagnosticSink,
          quiet: bool):
    from thriftgen.trim import TrimConfigError, format_text, resolve_options, trim_program

    try:
        options, _ = resolve_options(idls, methods=methods, trim_all=True if trim_all else None)
    except TrimConfigError as e:
        _fail(str(e))
    result = trim_program(program, options, sink)
    if not quiet:
        typer.echo(format_text(result.stats), err=True)
    return result.program


@app.command(
    "gen",
    context_settings={"ignore_unknown_options": False, "allow_interspersed_args": True},
)
def gen_cmd(
    idls: List[str] = typer.Argument(..., metavar="IDL...", help="Root IDL files."),
    outdir: str = typer.Option(DEFAULT_OUTDIR, "-o", "--out", metavar="OUTDIR",
                               help="Output directory (default: gen-py, like Apache)."),
    include: List[str] = typer.Option([], "-I", "--include", metavar="DIR",
                                      help="Add a directory to the include search path."),
    thrift: List[str] = typer.Option(
        [], "-thrift", "--thrift", metavar="OPT[=VALUE][,OPT...]",
        help="Generator options, comma separated, repeatable: trim_idl[=all], no_fmt, "
             "package_prefix=PKG, template=default (reserved: template=slim, "
             "with_field_mask, no_default_serdes, no_fast_codec)."),
    method: List[str] = typer.Option(
        [], "-m", "--method", metavar="PATTERN",
        help="With trimming: keep only matching methods (regular expression on "
             "'Service.method' or 'method'; repeatable). Implies -thrift trim_idl."),
    recursive: bool = typer.Option(
        False, "-r", "--recursive",
        help="Also generate included files nothing generated imports (those the root "
             "needs are always generated)."),
    check: bool = typer.Option(
        False, "--check",
        help="Write nothing; exit 1 listing the files a run would change."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only print errors."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="List every file."),
    cache_dir: Optional[str] = CACHE_DIR_OPT,
    no_cache: bool = NO_CACHE_OPT,
) -> None:
    """Generate Python code (Apache `thrift --gen py` layout) from IDL files."""
    from thriftgen.codegen import generate
    from thriftgen.codegen.options import parse_thrift_options
    from thriftgen.codegen.writer import plan, write_output

    if quiet and verbose:
        _fail("-q and -v cannot be used together")
    try:
        options = parse_thrift_options(thrift)
    except ThriftgenError as e:
        _fail(str(e))
    sink = DiagnosticSink()
    try:
        program = load_and_check(idls, include, cache_dir, no_cache, sink)
        if options.trim_idl or method:
            program = _trim(program, idls, method, options.trim_all, sink, quiet)
        files = generate(program, options, sink, recursive=recursive, jobs=0)
    except IDLError:
        report(sink, quiet)
        raise typer.Exit(1)
    except ThriftgenError as e:
        report(sink, quiet)
        _fail(str(e))
    report(sink, quiet)

    try:
        if check:
            result = plan(files, outdir)
            changed = result.changed
            for rel in changed:
                state = "stale" if rel in result.removed else (
                    "new" if not os.path.exists(os.path.join(outdir, rel)) else "changed")
                typer.echo(f"{os.path.join(outdir, rel)} ({state})")
            if changed:
                if not quiet:
                    typer.echo(f"thriftgen: {len(changed)} file(s) would change", err=True)
                raise typer.Exit(1)
            if not quiet:
                typer.echo(f"thriftgen: {len(files)} file(s) up to date", err=True)
            return
        result = write_output(files, outdir)
    except (ThriftgenError, OSError) as e:
        _fail(str(e))
    if verbose:
        for rel in result.written:
            typer.echo(f"wrote {os.path.join(outdir, rel)}", err=True)
        for rel in result.removed:
            typer.echo(f"removed {os.path.join(outdir, rel)}", err=True)
    if not quiet:
        typer.echo(f"thriftgen: {len(result.written)} written, {len(result.unchanged)} unchanged, "
                   f"{len(result.removed)} removed in {outdir}", err=True)
