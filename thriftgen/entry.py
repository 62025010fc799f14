"""The ``thriftgen`` console script and ``python -m thriftgen``.

Answers what it can before the command line is imported: the version, and any
run the generation cache shows to be up to date (:mod:`thriftgen.gencache`,
standard library only); everything else goes to :func:`thriftgen.cli.main`.

Run as a process (no ``argv`` given), a generator run is a bulk build of
long-lived, acyclic data (ASTs, views, texts) followed by the end of the
process, so it keeps the cyclic collector off and ends with :func:`_hard_exit`:
measured at 10k synthetic structs, the collections that follow re-enabling the
collector and the interpreter's teardown of the heap took 0.8 s of a 3.3 s run.
"""

from __future__ import annotations

import sys

#: Commands that keep the cyclic collector on: they wait on the network, and may
#: run for long, rather than build one big heap and exit.
GC_COMMANDS = frozenset({"call", "gateway"})


def main(argv: list | None = None) -> None:
    if argv is not None:
        return _run(list(argv))
    import gc

    args = sys.argv[1:]
    if not (args and args[0] in GC_COMMANDS):
        gc.disable()
    try:
        _run(args)
        code = 0
    except SystemExit as e:
        code = e.code
    _hard_exit(code)


def _run(args: list) -> None:
    if args in (["--version"], ["-version"]):
        from thriftgen import __version__

        sys.stdout.write(f"thriftgen {__version__}\n")
        return
    from thriftgen.gencache import up_to_date_run

    try:
        run = up_to_date_run(args)
    except Exception:  # the cache is an optimisation: never fail the command for it
        run = None
    if run is not None:
        if run["stdout"]:
            sys.stdout.write(run["stdout"])
        if run["stderr"]:
            sys.stderr.write(run["stderr"])
        sys.exit(run["exit"])
    from thriftgen.cli import main as cli_main

    cli_main(args)


def _hard_exit(code) -> None:
    """End the process as ``sys.exit(code)`` would, minus the teardown of the heap:
    output is flushed and ``atexit`` handlers run (temporary files, pools), then
    ``os._exit`` (as mypy does). A flush that fails (a closed pipe) exits 1."""
    import atexit
    import os

    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                code = code or 1
        os._exit(code)


if __name__ == "__main__":
    main()
