"""Which view-model builder a set of options takes: the default
:class:`~thriftgen.codegen.viewmodel.Builder`, or, for ``-thrift template=slim``,
that class with the slim shaping of :mod:`thriftgen.codegen.slim` mixed in.

It sits above both modules so that neither imports the other's user.
"""

from __future__ import annotations

from thriftgen.codegen.options import GenOptions
from thriftgen.codegen.viewmodel import Builder, GenerationView
from thriftgen.diagnostics import DiagnosticSink
from thriftgen.idl.loader import Program


def builder_class(options: GenOptions, base: type = Builder) -> type:
    """``base``, or ``base`` shaped for slim output when ``options`` ask for it."""
    if getattr(options, "template", "default") == "slim":
        from thriftgen.codegen.slim import slim_builder_class

        return slim_builder_class(base)
    return base


def make_builder(program: Program, options: GenOptions, sink: DiagnosticSink,
                 recursive: bool = False) -> Builder:
    return builder_class(options)(program, options, sink, recursive)


def build_view(program: Program, options: GenOptions, sink: DiagnosticSink,
               recursive: bool = False) -> GenerationView:
    """The view of everything to generate; raises IDLError on problems."""
    view = make_builder(program, options, sink, recursive).build()
    sink.check()
    return view
