"""``thriftgen check``: parse and semantically check IDL files (and what they include)."""

from __future__ import annotations

from typing import List, Optional

import typer

from thriftgen import cliapp
from thriftgen.cliapp import CACHE_DIR_OPT, INCLUDE_OPT, NO_CACHE_OPT, app, load_and_check, report, use_color


@app.command("check")
def check_cmd(
    idls: Optional[List[str]] = typer.Argument(
        None, metavar="IDL...",
        help="Root IDL files. None: those of the jobs configured in pyproject.toml "
             "(tool.thriftgen) or thriftgen.toml."),
    include: List[str] = INCLUDE_OPT,
    cache_dir: Optional[str] = CACHE_DIR_OPT,
    no_cache: bool = NO_CACHE_OPT,
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only print errors."),
    werror: bool = typer.Option(False, "--werror", help="Treat warnings as errors."),
    config: Optional[str] = typer.Option(
        None, "--config", metavar="FILE",
        help="Configuration file (pyproject.toml or thriftgen.toml) instead of searching."),
    job_names: List[str] = typer.Option(
        [], "--job", metavar="NAME", help="Check only this configured job (repeatable)."),
) -> None:
    """Parse and semantically check IDL files (and everything they include)."""
    if not idls:
        _check_configured(include, cache_dir, no_cache, quiet, werror, config, job_names)
        return
    if config or job_names:
        typer.echo("thriftgen: error: --config and --job select configured jobs; they cannot "
                   "be combined with IDL arguments", err=True)
        raise typer.Exit(1)
    _check_one(idls, include, cache_dir, no_cache, quiet, werror, record=True)


def _check_configured(include: List[str], cache_dir: Optional[str], no_cache: bool, quiet: bool,
                      werror: bool, config: Optional[str], job_names: List[str]) -> None:
    """``thriftgen check`` without IDL arguments: every configured job's roots."""
    from thriftgen.config import NoConfigError, configured_jobs
    from thriftgen.runtime.errors import ThriftgenError

    try:
        _, jobs, _ = configured_jobs(config, job_names)
    except ThriftgenError as e:
        typer.echo(f"thriftgen: error: {e}", err=True)
        raise typer.Exit(2 if isinstance(e, NoConfigError) else 1)  # 2: usage error
    failed = False
    for job in jobs:
        try:
            _check_one(job.roots, job.include_dirs + list(include), cache_dir, no_cache, quiet,
                       werror)
        except typer.Exit as e:
            failed = failed or bool(e.exit_code)
    if failed:
        raise typer.Exit(1)


def _check_one(idls: List[str], include: List[str], cache_dir: Optional[str], no_cache: bool,
               quiet: bool, werror: bool, record: bool = False) -> None:
    """Check one set of roots. ``record``: remember the verdict of a program that
    loaded, so the same command on unchanged files is answered before this module
    is even imported (:func:`thriftgen.gencache.record_check`)."""
    from thriftgen.diagnostics import DiagnosticSink, IDLError

    sink = DiagnosticSink()
    try:
        program = load_and_check(idls, include, cache_dir, no_cache, sink)
    except IDLError:
        report(sink, quiet)
        errors = sink.error_count + sink.suppressed
        typer.echo(f"thriftgen: {errors} error(s)", err=True)
        raise typer.Exit(1)
    text = report(sink, quiet)
    warnings = sum(1 for d in sink.diagnostics if d.severity == "warning")
    code = 0
    if werror and warnings:
        verdict = f"thriftgen: {warnings} warning(s) treated as errors"
        code = 1
    elif not quiet:
        # No definition count: on a warm cache that would unpickle every AST.
        verdict = f"ok: {len(program.files)} file(s), {warnings} warning(s)"
    else:
        verdict = ""
    if verdict:
        typer.echo(verdict, err=True)
        text += verdict + "\n"
    if record and cliapp.FULL_ARGV is not None and not use_color():
        from thriftgen.gencache import program_inputs, record_check

        try:
            record_check(cliapp.FULL_ARGV, program_inputs(program, idls, include), text, code)
        except OSError:
            pass  # the record is an optimisation: an unwritable cache changes nothing
    if code:
        raise typer.Exit(code)
