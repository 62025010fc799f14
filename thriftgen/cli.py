"""Command line: ``thriftgen [gen flags] IDL...`` plus ``check``, ``trim`` and ``call``.

The generator is the default command so that Kitex-style invocations
(``thriftgen -thrift trim_idl idl.thrift``) work as users type them; the other
jobs are subcommands. Every user-facing failure ends as a diagnostic on stderr
and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

import typer

from thriftgen import __version__
from thriftgen.diagnostics import DiagnosticSink, IDLError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Thrift IDL toolchain: check, trim and generate Python code.",
    pretty_exceptions_enable=False,
)

#: Subcommands; anything else on the command line is handed to the generator.
SUBCOMMANDS = {"check", "trim", "gen", "call"}


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"thriftgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Thrift IDL toolchain: check, trim and generate Python code."""


def use_color(stream=None) -> bool:
    stream = stream or sys.stderr
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def report(sink: DiagnosticSink, quiet: bool = False) -> str:
    """Print collected diagnostics (warnings too, unless quiet) to stderr; the text."""
    diags = sink.sorted()
    if quiet:
        diags = [d for d in diags if d.severity == "error"]
    if not diags:
        return ""
    from thriftgen.diagnostics import format_diagnostic

    color = use_color()
    text = "\n".join(format_diagnostic(d, sink.sources, color) for d in diags)
    typer.echo(text, err=True)
    return text + "\n"


def make_cache(cache_dir: Optional[str], no_cache: bool):
    if no_cache or os.environ.get("THRIFTGEN_NO_CACHE"):
        return None
    from thriftgen.idl.cache import ParseCache

    return ParseCache(cache_dir)


def load_and_check(idls: List[str], include_dirs: List[str], cache_dir: Optional[str],
                   no_cache: bool, sink: DiagnosticSink):
    """Parse, resolve and check; raises IDLError with every diagnostic on failure."""
    from thriftgen.idl.frontend import load_checked_program

    return load_checked_program(idls, include_dirs, sink, make_cache(cache_dir, no_cache))


INCLUDE_OPT = typer.Option([], "-I", "--include", help="Add a directory to the include search path (repeatable).")
CACHE_DIR_OPT = typer.Option(None, "--cache-dir", help="Parse cache directory (default: the user cache dir).")
NO_CACHE_OPT = typer.Option(False, "--no-cache", help="Do not read or write the parse cache.")


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
    if record and FULL_ARGV is not None and not use_color():
        from thriftgen.gencache import program_inputs, record_check

        try:
            record_check(FULL_ARGV, program_inputs(program, idls, include), text, code)
        except OSError:
            pass  # the record is an optimisation: an unwritable cache changes nothing
    if code:
        raise typer.Exit(code)


#: The arguments of the running command (``gen`` implied), for the generation cache.
ARGV: Optional[List[str]] = None
#: All arguments of the running command as typed (``check ...`` included).
FULL_ARGV: Optional[List[str]] = None


def main(argv: Optional[List[str]] = None) -> None:
    global ARGV, FULL_ARGV
    args = list(sys.argv[1:] if argv is None else argv)
    FULL_ARGV = list(args)
    if args and args[0] in ("-version", "-help"):
        args[0] = "-" + args[0]  # Apache's spellings of --version / --help
    # No arguments at all: run the configured jobs (``gen`` explains when there are none).
    if not args or (args[0] not in SUBCOMMANDS and args[0] not in ("--version", "-h", "--help")):
        args.insert(0, "gen")
    if args[0] in SUBCOMMANDS:
        args[1:] = _normalized(args[0], args[1:])
    ARGV = args[1:] if args[0] == "gen" else None
    try:
        app(args, prog_name="thriftgen")
    except KeyboardInterrupt:  # pragma: no cover
        typer.echo("thriftgen: interrupted", err=True)
        sys.exit(130)


def _normalized(command: str, args: list) -> list:
    """``args`` with Apache's and Kitex's spellings understood or refused by name
    (:mod:`thriftgen.argv`); a usage error ends the run with exit code 2."""
    import typer.main

    from thriftgen.argv import CommandShape, UsageError, normalize

    click_command = typer.main.get_command(app).commands[command]
    shape = CommandShape.of(click_command)
    shape.options.update({"-h": False, "--help": False})
    try:
        return normalize(command, args, shape, SUBCOMMANDS - {"gen"})
    except UsageError as e:
        typer.echo(f"thriftgen: error: {e}", err=True)
        typer.echo("Try 'thriftgen --help' for the options.", err=True)
        sys.exit(2)


# Subcommands defined in other modules register themselves on ``app``.
def _register_optional_commands() -> None:
    import importlib

    for mod in ("thriftgen.codegen.command", "thriftgen.trim.command", "thriftgen.call.command"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod and not mod.startswith(str(e.name)):
                raise


_register_optional_commands()
