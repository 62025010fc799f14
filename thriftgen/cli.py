"""Command line: ``thriftgen [gen flags] IDL...`` plus ``check``, ``trim`` and ``call``.

The generator is the default command so that Kitex-style invocations
(``thriftgen -thrift trim_idl idl.thrift``) work as users type them; the other
jobs are subcommands. Every user-facing failure ends as a diagnostic on stderr
and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from thriftgen import cliapp
# what tests and tools import from here
from thriftgen.cliapp import SUBCOMMANDS, app, load_and_check, report, use_color  # noqa: F401


def main(argv: Optional[List[str]] = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    cliapp.FULL_ARGV = list(args)
    if args and args[0] in ("-version", "-help"):
        args[0] = "-" + args[0]  # Apache's spellings of --version / --help
    # No arguments at all: run the configured jobs (``gen`` explains when there are none).
    if not args or (args[0] not in SUBCOMMANDS and args[0] not in ("--version", "-h", "--help")):
        args.insert(0, "gen")
    if args[0] in SUBCOMMANDS:
        args[1:] = _normalized(args[0], args[1:])
    cliapp.ARGV = args[1:] if args[0] == "gen" else None
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


# The subcommands register themselves on ``app`` (check first: --help lists them so).
from thriftgen.commands import check, gen, trim, call  # noqa: E402,F401,I001
