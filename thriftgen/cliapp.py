"""The command line's shared parts: the typer application every command registers
on, the options several commands take, and how diagnostics are printed.

The command modules (:mod:`thriftgen.commands`) import this module;
:mod:`thriftgen.cli` imports them and runs the application, so nothing here
imports a command. Heavy modules (the parser, the checker) are imported when a
command runs, not when the application is built: ``thriftgen --help`` stays quick.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, List, Optional

import typer

from thriftgen import __version__

if TYPE_CHECKING:
    from thriftgen.diagnostics import DiagnosticSink

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Thrift IDL toolchain: check, trim, audit and generate Python code.",
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: importing rich for it would double --help's time
)

#: Subcommands; anything else on the command line is handed to the generator.
SUBCOMMANDS = {"check", "trim", "gen", "call", "audit"}


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"thriftgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Thrift IDL toolchain: check, trim, audit and generate Python code."""


def use_color(stream=None) -> bool:
    stream = stream or sys.stderr
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def report(sink: "DiagnosticSink", quiet: bool = False) -> str:
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
                   no_cache: bool, sink: "DiagnosticSink"):
    """Parse, resolve and check; raises IDLError with every diagnostic on failure."""
    from thriftgen.idl.frontend import load_checked_program

    return load_checked_program(idls, include_dirs, sink, make_cache(cache_dir, no_cache))


INCLUDE_OPT = typer.Option([], "-I", "--include", help="Add a directory to the include search path (repeatable).")
CACHE_DIR_OPT = typer.Option(None, "--cache-dir", help="Parse cache directory (default: the user cache dir).")
NO_CACHE_OPT = typer.Option(False, "--no-cache", help="Do not read or write the parse cache.")


#: The arguments of the running command (``gen`` implied), for the generation cache.
ARGV: Optional[List[str]] = None
#: All arguments of the running command as typed (``check ...`` included).
FULL_ARGV: Optional[List[str]] = None
