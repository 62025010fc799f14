"""IDL trimming: keep what the root services (or selected methods) need.

Library use (the CLI and the generator's ``-thrift trim_idl`` share it)::

    options, _ = resolve_options([idl], methods=["Svc.get.*"])
    result = trim_program(program, options, sink)   # new Program, stats, warnings
    write_trimmed(result, "out/")                     # original text, cut by span

See :mod:`thriftgen.trim.reachability` for what is kept and
:mod:`thriftgen.trim.writer` for how the text is cut and laid out.

Naming the "trim everything" mode: by default consts, enums and typedefs survive
in every file that survives, as with thriftgo, because application code uses
them directly. Removing the unreferenced ones too is ``--all`` for
``thriftgen trim`` and ``-thrift trim_idl=all`` for the generator: it is the
same switch (``trim_idl`` already means "trim"; ``=all`` widens what may go),
reads as a plain word, does not clash with thriftgo/kitex flags, and is
``all: true`` in a config file. ``TrimOptions.trim_all`` carries it.
"""

from thriftgen.trim.config import TrimConfigError, load_trim_config, resolve_options
from thriftgen.trim.reachability import FileTrim, TrimOptions, TrimResult, trim_program
from thriftgen.trim.report import KINDS, TrimStats, format_summary, format_text
from thriftgen.trim.writer import (Layout, TrimWriteError, plan_layout, render_file,
                                   render_trimmed, write_trimmed)

__all__ = ["TrimOptions", "TrimResult", "FileTrim", "TrimStats", "KINDS", "trim_program",
           "load_trim_config", "resolve_options", "TrimConfigError", "format_text", "format_summary",
           "plan_layout", "Layout", "render_file", "render_trimmed", "write_trimmed",
           "TrimWriteError"]
