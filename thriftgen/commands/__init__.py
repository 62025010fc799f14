"""The subcommands of the ``thriftgen`` command line, one module each.

They import the pipeline (parser, checker, trimmer, generator) when they run, so
building the command line (``thriftgen --help``) stays quick.
"""
