"""The view of ``-thrift template=slim`` output (rendered by ``templates/slim/``).

Slim modules hold only what users touch; the shared behaviour lives in
:mod:`thriftgen.runtime.slim`. Per struct that is a class deriving from a
runtime base, one annotated line per field carrying its default (the
``__slots__``, the constructor and, for type checkers, the signature all
come from these lines), and a compact type string ``_tg_spec`` from which the
runtime builds ``thrift_spec`` on first use (grammar in
:mod:`thriftgen.runtime.slim`). Per service: the ``Iface``, the args/result
classes, empty ``Client`` / ``AsyncClient`` / ``Processor`` classes and the
function table. Docstrings keep the first line of the IDL doc.

:class:`SlimShaping` reuses every decision of the default
:class:`~thriftgen.codegen.viewmodel.Builder` (names, escaping, imports,
type hints, values, errors) and only shapes the classes differently. It is a
mixin: ``Builder(program, options, ...)`` with ``options.template == "slim"``
makes an instance of ``slim_builder_class(Builder)`` (see ``Builder.__new__``),
so every place that builds views - or a subclass of ``Builder`` - gets slim
output from the same call.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from thriftgen.codegen import naming
from thriftgen.codegen.literals import docstring, str_literal
from thriftgen.codegen.pyexpr import Atom, assign, call, layout, list_, seq
from thriftgen.codegen.viewmodel import (_IMMUTABLE_KINDS, IND1, IND2, EnumView,
                                         FileNames, ServiceView, TTypesView, TypeInfo, _Skip)
from thriftgen.idl import ast

#: ``_tg_spec`` codes of the base types.
TYPE_CODES = {"bool": "t", "i8": "b", "i16": "h", "i32": "i", "i64": "q", "double": "d",
              "string": "s", "binary": "y", "uuid": "u"}


@dataclass
class SlimStructView:
    name: str
    kind: str  # struct | union | exception
    doc: str  # one-line docstring at class-body indent ('' if none)
    base: str  # runtime base class spelling, e.g. "_tg.SerdesStruct"
    fields: list  # "name: hint = default" statements at class-body indent
    spec: str  # the ``_tg_spec = "..."`` statement at class-body indent


@dataclass
class SlimTTypesView:
    imports: list
    all_names: str
    enums: list  # EnumView (one-line docs)
    early_aliases: list  # ``_tg_E = E`` for enums, needed by class-level defaults
    structs: list  # SlimStructView
    typedefs: list
    late_aliases: list  # ``_tg_S = S`` for structs (type hints only)


@dataclass
class SlimFunctionView:
    iface_def: str
    doc: str  # one-line docstring at method-body indent


@dataclass
class SlimServiceView:
    name: str
    file_name: str
    source: str  # IDL basename (header comment)
    doc: str
    imports: list
    all_names: str
    iface_base: str  # "" or "(_tg_base.Iface)"
    functions: list  # SlimFunctionView
    structs: list  # SlimStructView (args/result)
    client_bases: str
    async_base: str
    processor_base: str
    bind: str


def first_line(doc: Optional[str]) -> str:
    """The one-line summary of an IDL doc: its first sentence (or first paragraph)."""
    paragraph = []
    for line in (doc or "").splitlines():
        if line.strip():
            paragraph.append(line.strip())
        elif paragraph:
            break
    text = " ".join(paragraph)
    end = text.find(". ")
    return text[:end + 1] if end >= 0 else text


_SLIM_CLASSES: dict = {}


def slim_builder_class(builder_cls: type) -> type:
    """``builder_cls`` (``Builder`` or a subclass) with :class:`SlimShaping` mixed in."""
    if issubclass(builder_cls, SlimShaping):
        return builder_cls
    cls = _SLIM_CLASSES.get(builder_cls)
    if cls is None:
        cls = _SLIM_CLASSES[builder_cls] = type(f"Slim{builder_cls.__name__}",
                                                (SlimShaping, builder_cls), {})
    return cls


class SlimShaping:
    """Mixed into a :class:`Builder`: slim structs and services (see the module doc)."""

    RUNTIME_MODULE = "slim"

    def __init__(self, program, options, *args, **kwargs):
        # Slim output has no generated codec: the runtime compiles one on first use.
        super().__init__(program, dataclasses.replace(options, no_fast_codec=True),  # type: ignore[call-arg]
                         *args, **kwargs)

    def module_view(self, package: str):
        module = super().module_view(package)
        module.template_set = "slim"
        return module

    # -- types ------------------------------------------------------------------------

    def type_code(self, ti: TypeInfo, names: FileNames) -> str:
        """``_tg_spec`` code of a resolved type; class names spelled as at module level."""
        code = TYPE_CODES.get(ti.kind)
        if code is not None:
            return code
        if ti.kind == "list":
            return "L" + self.type_code(ti.elem, names)
        if ti.kind == "set":
            return "S" + self.type_code(ti.elem, names)
        if ti.kind == "map":
            return "M" + self.type_code(ti.key, names) + self.type_code(ti.value, names)
        return f"<{names.ref(ti.sym)}>"  # struct or enum

    # -- definitions -----------------------------------------------------------------

    def enum_view(self, pf, d: ast.Enum, sym) -> EnumView:
        view = super().enum_view(pf, d, sym)
        view.doc = docstring(first_line(d.doc), IND1)
        return view

    def struct_view(self, path: str, name: str, kind: str, fields: list, doc: Optional[str],
                    names: FileNames, struct_key: object) -> SlimStructView:
        pynames = self.field_names(struct_key)
        resolved = []
        for f in fields:
            problem = naming.rejection(f.name, "field name")
            if problem:
                self.error(problem, f)
                raise _Skip()
            resolved.append((f, self.resolve(path, f.type)))
        # Class-level defaults are evaluated in the class body, after the earlier
        # fields' defaults: those names shadow module-level ones there.
        scope = frozenset(pynames.values()) | naming.STRUCT_RESERVED | {"__init__", "_tg_spec"}
        is_union = kind == ast.UNION
        lines, tokens = [], []
        for f, ti in resolved:
            pyname = pynames[f.name]
            hint = self.optional_hint(ti, names, scope)
            default = Atom("None")
            if f.default is not None and not is_union:
                try:
                    if ti.kind in _IMMUTABLE_KINDS:
                        default = self.value(f.default, ti, path, names, scope)
                    else:
                        # A fresh value per instance; the lambda body sees module globals
                        # only, and runs after every class of the module exists.
                        default = call("_tg.fresh", [seq("lambda: ", self.value(
                            f.default, ti, path, names))])
                except _Skip:
                    pass  # reported; the field gets no default
            lines.append(layout(seq(f"{pyname}: ", hint, " = ", default), IND1,
                                assignment=True))
            tokens.append(("!" if f.requiredness == ast.REQUIRED else "")
                          + str(f.id) + self.type_code(ti, names))
        flags = ("|" if is_union else "")
        if any(f.id < 0 for f, _ in resolved):
            flags += "#"
        if (names.package, name) in self.no_c_codec:
            flags += "~"
        is_exc = kind == ast.EXCEPTION
        serdes = not self.options.no_default_serdes
        base = ("_tg.SerdesError" if serdes else "_tg.Error") if is_exc else (
            "_tg.SerdesStruct" if serdes else "_tg.Struct")
        return SlimStructView(
            name=name, kind=kind, doc=docstring(first_line(doc), IND1), base=base,
            fields=lines, spec=assign("_tg_spec", str_literal(flags + " ".join(tokens)), IND1))

    # -- modules ---------------------------------------------------------------------

    def ttypes_view(self, package: str, files: list) -> SlimTTypesView:
        full: TTypesView = super().ttypes_view(package, files)
        enum_names = {e.name for e in full.enums}
        early = [a for a in full.local_aliases if a.split(" = ", 1)[1] in enum_names]
        late = [a for a in full.local_aliases if a not in early]
        return SlimTTypesView(imports=full.imports, all_names=full.all_names, enums=full.enums,
                              early_aliases=early, structs=full.structs,
                              typedefs=full.typedefs, late_aliases=late)

    def service_view(self, package: str, pf, svc: ast.Service) -> SlimServiceView:
        full: ServiceView = super().service_view(package, pf, svc)
        functions = [SlimFunctionView(fv.iface_def, docstring(first_line(fn.doc), IND2))
                     for fv, fn in zip(full.functions, svc.functions)]
        table = [call("_tg.Function", [fv.wire_name, str_literal(fv.name), fv.args_cls]
                      + ([] if fv.oneway else [fv.result_cls])) for fv in full.functions]
        base = full.base
        return SlimServiceView(
            name=full.name, file_name=full.file_name, source=full.source, doc=docstring(first_line(svc.doc), IND1),
            imports=full.imports, all_names=full.all_names,
            iface_base=f"({base}.Iface)" if base else "",
            functions=functions, structs=full.structs,
            client_bases=f"{base}.Client, Iface" if base else "_tg.Client, Iface",
            async_base=f"{base}.AsyncClient" if base else "_tg.AsyncClient",
            processor_base=f"{base}.Processor" if base else "_tg.Processor",
            bind=layout(call("_tg.bind_service", [
                str_literal(svc.name), "Client", "AsyncClient", "Processor", list_(table)])))
