"""The ``thriftgen`` console script and ``python -m thriftgen``.

Answers what it can before the command line is imported: the version, and any
run the generation cache shows to be up to date (:mod:`thriftgen.gencache`,
standard library only); everything else goes to :func:`thriftgen.cli.main`.
"""

from __future__ import annotations

import sys


def main(argv: list | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
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
        sys.stdout.flush()
        sys.stderr.flush()
        sys.exit(run["exit"])
    from thriftgen.cli import main as cli_main

    cli_main(args)


if __name__ == "__main__":
    main()
