"""``thriftgen trim IDL... [-I DIR]... [-m PATTERN]... [-o OUTDIR]``.

Writes the trimmed IDL tree and prints what was removed. ``-o`` defaults to
``trimmed_idl``, the directory thriftgo's trimmer uses, so a bare
``thriftgen trim svc.thrift`` is safe: it never writes next to the sources, and
writing over an input file is refused whatever ``-o`` says.
"""

from __future__ import annotations

import json
import os
from typing import List, Optional

import typer

from thriftgen.cliapp import CACHE_DIR_OPT, INCLUDE_OPT, NO_CACHE_OPT, app, load_and_check, report

DEFAULT_OUTDIR = "trimmed_idl"


def _fail(message: str) -> None:
    typer.echo(f"thriftgen: error: {message}", err=True)
    raise typer.Exit(1)


def _stale_files(outdir: str, written: list) -> list:
    """.thrift files under ``outdir`` that this run did not write."""
    fresh = {os.path.realpath(w) for w in written}
    stale = []
    for d, _, names in os.walk(outdir):
        for n in sorted(names):
            p = os.path.join(d, n)
            if n.endswith(".thrift") and os.path.realpath(p) not in fresh:
                stale.append(p)
    return sorted(stale)


@app.command("trim")
def trim_cmd(
    idls: List[str] = typer.Argument(..., metavar="IDL...", help="Root IDL files."),
    include: List[str] = INCLUDE_OPT,
    method: List[str] = typer.Option(
        [], "-m", "--method", metavar="PATTERN",
        help="Keep only matching methods (repeatable). A regular expression that must "
             "match all of 'Service.method' (or of 'method' when it has no '.').",
    ),
    outdir: str = typer.Option(DEFAULT_OUTDIR, "-o", "--out", metavar="OUTDIR",
                               help="Directory for the trimmed IDL tree."),
    trim_config: Optional[str] = typer.Option(
        None, "--trim-config", metavar="FILE",
        help="Settings file (instead of trim_config.yaml beside the IDL)."),
    trim_all: bool = typer.Option(
        False, "--all",
        help="Also remove consts, enums and typedefs nothing refers to (kept by default)."),
    no_preserve: bool = typer.Option(
        False, "--no-preserve",
        help="Ignore @preserve comments, preserved_structs and preserved_files."),
    strict: bool = typer.Option(
        False, "--strict", help="A pattern or preserve entry matching nothing is an error."),
    report_format: str = typer.Option("text", "--report", metavar="text|json",
                                      help="Report format (json goes to stdout)."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No report, no warnings."),
    cache_dir: Optional[str] = CACHE_DIR_OPT,
    no_cache: bool = NO_CACHE_OPT,
) -> None:
    """Remove what the root services (or the selected methods) do not need."""
    from thriftgen.diagnostics import DiagnosticSink, IDLError
    from thriftgen.trim.config import TrimConfigError, resolve_options
    from thriftgen.trim.reachability import trim_program
    from thriftgen.trim.report import format_text
    from thriftgen.trim.writer import TrimWriteError, plan_layout, write_trimmed

    if report_format not in ("text", "json"):
        _fail(f"--report must be 'text' or 'json', not '{report_format}'")
    try:
        options, config_files = resolve_options(
            idls, methods=method, trim_all=True if trim_all else None,
            preserve=False if no_preserve else None, strict=True if strict else None,
            config_file=trim_config)
    except TrimConfigError as e:
        _fail(str(e))
    sink = DiagnosticSink()
    try:
        program = load_and_check(idls, include, cache_dir, no_cache, sink)
        result = trim_program(program, options, sink)
    except IDLError:
        report(sink, quiet)
        raise typer.Exit(1)
    report(sink, quiet)
    try:
        layout = plan_layout(result)
        written = write_trimmed(result, outdir, layout)
    except (TrimWriteError, OSError) as e:
        _fail(str(e))
    stale = _stale_files(outdir, written)
    inc_flags = " ".join(f"-I {os.path.normpath(os.path.join(outdir, d))}"
                         for d in layout.include_dirs)
    if report_format == "json":
        data = result.stats.to_json()
        data["written"] = written
        data["include_dirs"] = [os.path.normpath(os.path.join(outdir, d))
                                for d in layout.include_dirs]
        data["config_files"] = config_files
        data["stale_files"] = stale
        data["warnings"] = [d.message for d in result.diagnostics]
        typer.echo(json.dumps(data, indent=2))
    elif not quiet:
        typer.echo(format_text(result.stats), err=True)
        for f in stale:
            typer.echo(f"thriftgen: warning: {f} was not written by this run (left from an "
                       f"earlier one?); it may shadow an include", err=True)
        for f in config_files:
            typer.echo(f"using trim config: {f}", err=True)
        typer.echo(f"wrote {len(written)} file(s) to {outdir}"
                   + (f" (include with {inc_flags})" if inc_flags else ""), err=True)
