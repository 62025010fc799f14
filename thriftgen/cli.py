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
        command()(args, prog_name="thriftgen")
    except KeyboardInterrupt:  # pragma: no cover
        typer.echo("thriftgen: interrupted", err=True)
        sys.exit(130)


_COMMAND = None


def command():
    """The click command of ``app``, built once, with :func:`plain_coercion` applied."""
    global _COMMAND
    if _COMMAND is None:
        import typer.main

        _COMMAND = typer.main.get_command(app)
        plain_coercion(_COMMAND)
    return _COMMAND


class _PlainValue:
    """Coerces what click already parsed into a ``str`` / ``List[str]`` parameter.

    typer (0.29) gives every parameter a pydantic TypeAdapter on first use, and
    importing pydantic and building the adapters took 0.1 s of every run, more than
    parsing a small IDL. For plain strings, lists of strings and flags that
    conversion is the identity (a list for a list); anything else goes to typer's
    own coercion, so behaviour is the same (tests/test_cli_coercion.py).
    """

    __slots__ = ("kind",)

    def __init__(self, kind: type):
        self.kind = kind  # str, bool or list

    def coerce(self, value, param, ctx):
        if self.kind is list:
            if value is None:
                return ()
            if isinstance(value, (list, tuple)) and all(type(v) is str for v in value):
                return list(value)
        elif value is None or type(value) is self.kind:
            return value
        param._runtime_param = None  # typer's own, built now
        return param.get_runtime_param().coerce(value, param=param, ctx=ctx)


def plain_coercion(group) -> None:
    """Give the ``str``, ``List[str]`` and ``bool`` parameters of ``group`` and its
    subcommands the cheap coercion of :class:`_PlainValue` (typer's for the rest)."""
    names = group.context_settings.get("help_option_names", ["--help"])
    for cmd in (group, *getattr(group, "commands", {}).values()):
        # The help option is made (and kept) on first use: make it now to reach it.
        ctx = cmd.context_class(cmd, help_option_names=names)
        helper = cmd.get_help_option(ctx)
        for param in [*cmd.params, *([helper] if helper is not None else [])]:
            desc = getattr(param, "type_descriptor", None)
            if desc is None or not hasattr(param, "_runtime_param"):
                continue  # another typer: its own coercion throughout
            if desc.annotation is str or desc.annotation is bool:
                param._runtime_param = _PlainValue(desc.annotation)
            elif desc.annotation == List[str] and (param.multiple or param.nargs == -1):
                param._runtime_param = _PlainValue(list)


def _normalized(name: str, args: list) -> list:
    """``args`` with Apache's and Kitex's spellings understood or refused by name
    (:mod:`thriftgen.argv`); a usage error ends the run with exit code 2."""
    from thriftgen.argv import CommandShape, UsageError, normalize

    click_command = command().commands[name]
    shape = CommandShape.of(click_command)
    shape.options.update({"-h": False, "--help": False})
    try:
        return normalize(name, args, shape, SUBCOMMANDS - {"gen"})
    except UsageError as e:
        typer.echo(f"thriftgen: error: {e}", err=True)
        typer.echo("Try 'thriftgen --help' for the options.", err=True)
        sys.exit(2)


# The subcommands register themselves on ``app`` (check first: --help lists them so).
from thriftgen.commands import check, gen, trim, call, audit  # noqa: E402,F401,I001
