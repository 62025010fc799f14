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

Importing a slim module builds none of its classes: the class statements,
typedefs and aliases sit under ``if TYPE_CHECKING:`` (type checkers and
readers see ordinary classes), and the ``else:`` branch hands a table of
them to :func:`thriftgen.runtime.slim.lazy`, whose module ``__getattr__``
builds each name from its class body on first access (measured: class
creation was the floor of the import time, ~19 us a class).

:class:`SlimShaping` reuses every decision of the default
:class:`~thriftgen.codegen.viewmodel.Builder` (names, escaping, imports,
type hints, values, errors) and only shapes the classes differently. It is a
mixin: :func:`thriftgen.codegen.builders.builder_class` gives
``slim_builder_class(Builder)`` (or of a subclass of ``Builder``) when
``options.template == "slim"``, so every place that builds views gets slim
output from the same call.
"""

from __future__ import annotations

import dataclasses
import io
import re
import tokenize
from dataclasses import dataclass
from typing import Optional

from thriftgen.codegen import naming
from thriftgen.codegen.literals import docstring, str_literal
from thriftgen.codegen.pyexpr import (LINE_LENGTH, Atom, Expr, assign, call, dict_, layout, list_,
                                      seq, tuple_)
from thriftgen.codegen.viewmodel import (_IMMUTABLE_KINDS, IND1, IND2, ConstView, EnumView,
                                         FileNames, ServiceView, TTypesView, TypeInfo, _Skip,
                                         api_requirement, const_comment, import_from,
                                         runtime_import)
from thriftgen.idl import ast

#: ``_tg_spec`` codes of the base types.
TYPE_CODES = {"bool": "t", "i8": "b", "i16": "h", "i32": "i", "i64": "q", "double": "d",
              "string": "s", "binary": "y", "uuid": "u"}


# Classes sit one level deep (under ``if TYPE_CHECKING:``): their statements at IND1,
# their bodies at IND2.


@dataclass
class SlimStructView:
    name: str
    kind: str  # struct | union | exception
    doc: str  # one-line docstring at class-body indent ('' if none)
    base: str  # runtime base class spelling, e.g. "_tg.SerdesStruct"
    fields: list  # "name: hint = default" statements at class-body indent
    spec: str  # the ``_tg_spec = "..."`` statement at class-body indent


@dataclass
class SlimTypedefView:
    name: str
    statement: str  # ``Name = value`` at IND1
    value: str  # the value expression, flat


@dataclass
class SlimTTypesView:
    imports: list
    all_names: str
    type_checking: str  # spelling of TYPE_CHECKING
    enums: list  # EnumView (one-line docs)
    early_aliases: list  # ``_tg_E = E`` for enums, needed by class-level defaults (IND1)
    structs: list  # SlimStructView
    typedefs: list  # SlimTypedefView
    late_aliases: list  # ``_tg_S = S`` for structs (type hints only; IND1)
    lazy: str  # the lazy hooks at IND1 ('' when the module defines nothing)
    runtime_import: str = ""  # the runtime's import at IND1, for type checkers only


@dataclass
class SlimConstantsView:
    imports: list
    all_names: str
    consts: list  # ConstView: values that build nothing, assigned at import
    type_checking: str  # spelling of TYPE_CHECKING ('' without lazy constants)
    lazy_imports: list  # ``from .ttypes import ...`` at IND1 (for type checkers)
    lazy_consts: list  # ConstView at IND1: values naming classes, built on first access
    lazy: str  # the lazy hooks at IND1 ('' if none)
    runtime_import: str = ""  # the runtime's import at IND1, for type checkers only


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
    type_checking: str  # spelling of TYPE_CHECKING
    iface_base: str  # "" or "(_tg_base.Iface)"
    functions: list  # SlimFunctionView
    structs: list  # SlimStructView (args/result)
    client_bases: str
    async_base: str
    processor_base: str
    lazy: str  # the lazy hooks at IND1, with the function table
    runtime_import: str = ""  # the runtime's import at IND1, for type checkers only


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


def _typing_import(lines: list) -> Optional[tuple]:
    """``(first line, end, names)`` of the ``from typing import`` statement, or None."""
    for i, line in enumerate(lines):
        if line.startswith("from typing import "):
            if line.endswith("("):  # exploded: one name a line up to ")"
                end = lines.index(")", i) + 1
                return i, end, [n.strip().rstrip(",") for n in lines[i + 1:end - 1]]
            return i, i + 1, line[len("from typing import "):].split(", ")
    return None


def prune_typing(imports: list, used: str) -> list:
    """``imports`` without the ``typing`` names that ``used`` (every data-dependent
    text of the module) does not mention: the default builder's views ask for names
    (``Any`` of ``ClassVar[Any]``, ...) that the slim shapes drop. ``TYPE_CHECKING``
    is the slim templates' own and stays."""
    lines = "\n".join(imports).split("\n")
    found = _typing_import(lines)
    if found is None:
        return imports
    i, end, names = found
    kept = [n for n in names if n == "TYPE_CHECKING" or re.search(rf"\b{re.escape(n)}\b", used)]
    if kept == names:
        return imports
    if kept:
        return lines[:i] + import_from("typing", kept).split("\n") + lines[end:]
    rest = lines[:i] + lines[end:]
    if rest[i - 1] == "" and (i == len(rest) or rest[i] == ""):  # an emptied group
        del rest[i - 1]
    return rest


def with_type_checking(imports: list, module_level: set) -> tuple:
    """``imports`` plus ``from typing import TYPE_CHECKING``; and how to spell it.

    Type checkers recognise the bare name whatever it is imported from; a module
    defining an IDL name ``TYPE_CHECKING`` uses the runtime's constant instead.
    """
    if "TYPE_CHECKING" in module_level:
        return imports, "_tg.TYPE_CHECKING"
    lines = "\n".join(imports).split("\n")
    found = _typing_import(lines)
    if found is not None:
        i, end, names = found
        merged = import_from("typing", sorted(set(names) | {"TYPE_CHECKING"}))
        return lines[:i] + merged.split("\n") + lines[end:], "TYPE_CHECKING"
    # No typing import: it goes last in the standard-library block (lines[1] is the
    # blank line after ``from __future__``), which exists only if it has other lines.
    end = lines.index("", 2) if lines[2].startswith(("import builtins", "import enum",
                                                      "import typing", "import uuid")) else 2
    tail = [] if end > 2 else [""]
    return (lines[:end] + ["from typing import TYPE_CHECKING"] + tail + lines[end:],
            "TYPE_CHECKING")


def names_in(expr: str) -> set:
    """The names (not attributes, not string contents) a Python expression reads."""
    out, prev = set(), None
    for tok in tokenize.generate_tokens(io.StringIO(expr).readline):
        if tok.type == tokenize.NAME and not (prev is not None and prev.string == "."):
            out.add(tok.string)
        if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
            prev = tok
    return out


def indented_import(module: str, names: list, indent: str) -> list:
    """``from module import a, b`` at ``indent`` as black writes it."""
    text = f"{indent}from {module} import {', '.join(names)}"
    if len(text) <= LINE_LENGTH:
        return [text]
    return ([f"{indent}from {module} import ("] + [f"{indent}{IND1}{n}," for n in names]
            + [f"{indent})"])


def nested_statement(statement: str, indent: str = IND1) -> str:
    """``statement`` (laid out at ``indent``: IND1 in an ``if`` block, IND2 in a class
    in one) as black writes it there.

    :func:`~thriftgen.codegen.pyexpr.layout` never splits an annotation; a long one
    can need it (``x: Dict[\n    ...\n] = {``). Those rare statements - a line still
    too long - go through black itself.
    """
    if all(len(line) <= LINE_LENGTH for line in statement.split("\n")) and statement.isascii():
        return statement
    from thriftgen.codegen.fmt import format_source

    head = "if TYPE_CHECKING:\n" if indent == IND1 else "if TYPE_CHECKING:\n\n    class C:\n"
    block = format_source(head + statement + "\n", "<statement>")
    return block[len(head):].rstrip("\n")


def lazy_call(table: list, service: Optional[list] = None) -> str:
    """The module's lazy hooks, for the ``else:`` of ``if TYPE_CHECKING``:
    ``_TG_LAZY = ({name: bases or "=expr"}[, service, functions])`` and a
    ``__getattr__`` / ``__dir__`` that hand it to
    :func:`thriftgen.runtime.slim.attach` on first use, so importing the module
    does not import the runtime (which checks the API level then)."""
    items: list = [dict_([(str_literal(k), str_literal(v)) for k, v in table])]
    if service is not None:
        items += service
    hooks = [f"{IND1}def {name}({params}):\n"
             f"{IND2}from thriftgen.runtime.slim import attach\n\n"
             f"{IND2}return attach(globals(), _TG_LAZY, ({api_requirement()})).{method}"
             for name, params, method in (("__getattr__", "name", "getattr(name)"),
                                          ("__dir__", "", "dir()"))]
    return "\n\n".join([assign("_TG_LAZY", tuple_(items), IND1)] + hooks)


def defer_runtime(imports: list, type_checking: str, needed: bool = True) -> tuple:
    """``imports`` without the runtime's and that import at IND1 for the
    ``if TYPE_CHECKING`` block, when the module can do without it at run time
    (not when its TYPE_CHECKING is spelled through the runtime). ``needed=False``:
    nothing in the block names ``_tg`` either, so the import goes altogether."""
    lines = "\n".join(imports).split("\n")
    line = runtime_import(SlimShaping.RUNTIME_MODULE)
    if type_checking not in ("TYPE_CHECKING", "") or line not in lines:
        return imports, ""
    i = lines.index(line)
    del lines[i]
    if lines[i - 1] == "" and (i == len(lines) or lines[i] == ""):  # an emptied group
        del lines[i - 1]
    # "" (no TYPE_CHECKING block): the module defines nothing the runtime builds
    return lines, IND1 + line if type_checking and needed else ""


def field_line(target: str, default: Expr, indent: str) -> str:
    """``name: hint = default`` at ``indent`` as black lays it out.

    Beyond :func:`~thriftgen.codegen.pyexpr.layout`: a ``_tg.fresh(...)`` default
    after a hint with brackets goes into parentheses of its own when the line up
    to ``_tg.fresh(`` would be too long (black's preference for splitting right
    after ``=``; ``_prefer_split_rhs_oop_over_rhs``).
    """
    flat = default.flat()
    if len(indent) + len(target) + len(flat) > LINE_LENGTH and "(" in flat \
            and "[" in target and len(indent) + len(target) + 1 <= LINE_LENGTH - 1 \
            and len(indent) + len(target) + flat.index("(") + 1 > LINE_LENGTH \
            and target.isascii() and flat.isascii():
        return "\n".join([indent + target + "(", layout(default, indent + IND1), indent + ")"])
    return nested_statement(layout(seq(target, default), indent, assignment=True), indent)


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
    REQUIRE_API_AT_IMPORT = False

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
        view.doc = docstring(first_line(d.doc), IND2)
        return view

    def typedef_view(self, pf, d: object, sym, names: FileNames) -> SlimTypedefView:
        if isinstance(d, ast.Senum):
            value: Expr = Atom(names.builtin("str"))
        else:
            ti = self.resolve(pf.path, d.type)  # type: ignore[attr-defined]
            value = Atom(names.ref(ti.sym)) if ti.sym is not None else self.hint(ti, names)
        return SlimTypedefView(sym.name, assign(sym.name, value, IND1), value.flat())

    def struct_view(self, path: str, name: str, kind: str, fields: list, doc: Optional[str],
                    names: FileNames, struct_key: object) -> SlimStructView:
        pynames = self.field_names(struct_key)
        resolved = self.resolved_fields(path, fields)
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
            lines.append(field_line(seq(f"{pyname}: ", hint, " = ").flat(), default, IND2))
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
            name=name, kind=kind, doc=docstring(first_line(doc), IND2), base=base,
            fields=lines, spec=assign("_tg_spec", str_literal(flags + " ".join(tokens)), IND2))

    # -- modules ---------------------------------------------------------------------

    def constants_view(self, package: str, files: list) -> SlimConstantsView:
        """Constants whose values name a class (an enum member, a struct) are built on
        first access: importing the module then builds no class of ``ttypes``."""
        const_names = self._module_level(files, ("const",))
        names = FileNames(self, package, "constants", const_names)
        eager, lazy, all_names = [], [], []
        lazy_names: set = set()
        for d, sym, value, hint in self.resolved_consts(files, names):
            flat = value.flat()
            read = names_in(flat)
            deferred = bool(read & (names.own_bare | lazy_names)) or any(
                n.startswith("_tg") for n in read)
            indent = IND1 if deferred else ""
            statement = assign(f"{sym.name}: {hint.flat()}", value, indent)
            if deferred:
                statement = nested_statement(statement)
            view = ConstView(sym.name, const_comment(d.doc, indent), statement)
            if deferred:
                lazy.append((view, flat))
                lazy_names.add(sym.name)
            else:
                eager.append(view)
            all_names.append(sym.name)
        # Eager values never read a class of ttypes (hints are strings): its names are
        # imported for type checkers only, and lazily at run time.
        used = "\n".join(v.statement for v, _ in lazy)
        own = sorted(n for n in names.own_bare if re.search(rf"\b{re.escape(n)}\b", used))
        if names.own_bare:
            names.own_bare = set()
            names.own_alias = True
        imports, type_checking = names.import_lines(), ""
        if own:  # used by the lazy table below, which ruff and pyright cannot read
            imports = [line.replace("from . import ttypes as _tg_ttypes",
                                    "from . import ttypes as _tg_ttypes  # noqa: F401  "
                                    "# pyright: ignore[reportUnusedImport]")
                       for line in imports]
        table = [(n, "=_tg_ttypes." + n) for n in own] + [(v.name, "=" + f) for v, f in lazy]
        if table:
            imports, type_checking = with_type_checking(imports, const_names)
        imports, runtime_import = defer_runtime(
            imports, type_checking, needed=any("_tg." in v.statement for v, _ in lazy))
        return SlimConstantsView(
            imports=imports, all_names=assign("__all__", list_([str_literal(n)
                                                                for n in all_names])),
            consts=eager, type_checking=type_checking,
            lazy_imports=indented_import(".ttypes", own, IND1) if own else [],
            lazy_consts=[v for v, _ in lazy], lazy=lazy_call(table) if table else "",
            runtime_import=runtime_import)

    def ttypes_view(self, package: str, files: list) -> SlimTTypesView:
        full: TTypesView = super().ttypes_view(package, files)
        enum_names = {e.name for e in full.enums}
        aliases = [a.split(" = ", 1) for a in full.local_aliases]  # "_tg_X = X"
        early = [a for a in aliases if a[1] in enum_names]
        late = [a for a in aliases if a[1] not in enum_names]
        table = ([(e.name, "enum.IntEnum") for e in full.enums]
                 + [(a, "=" + v) for a, v in early]
                 + [(s.name, s.base) for s in full.structs]
                 + [(td.name, "=" + td.value) for td in full.typedefs]
                 + [(a, "=" + v) for a, v in late])
        imports, type_checking = full.imports, ""
        if table:
            imports, type_checking = with_type_checking(
                imports, self._module_level(files, ("struct", "enum", "typedef")))
        imports, runtime_import = defer_runtime(
            imports, type_checking,
            needed=bool(full.structs) or any("_tg." in v for _, v in table))
        return SlimTTypesView(
            imports=imports, all_names=full.all_names, type_checking=type_checking,
            enums=full.enums, early_aliases=[f"{IND1}{a} = {v}" for a, v in early],
            structs=full.structs, typedefs=full.typedefs,
            late_aliases=[f"{IND1}{a} = {v}" for a, v in late],
            lazy=lazy_call(table) if table else "", runtime_import=runtime_import)

    def service_view(self, package: str, pf, svc: ast.Service) -> SlimServiceView:
        full: ServiceView = super().service_view(package, pf, svc)
        functions = [SlimFunctionView(fv.iface_def, docstring(first_line(fn.doc), IND2))
                     for fv, fn in zip(full.functions, svc.functions)]
        # (wire name, method name, args class[, result class]): the lazy module makes
        # the thriftgen.runtime.service.Function objects when it binds the clients.
        function_table = [tuple_([fv.wire_name, str_literal(fv.name), str_literal(fv.args_cls)]
                                 + ([] if fv.oneway else [str_literal(fv.result_cls)]))
                          for fv in full.functions]
        base = full.base
        client_bases = f"{base}.Client, Iface" if base else "_tg.Client, Iface"
        async_base = f"{base}.AsyncClient" if base else "_tg.AsyncClient"
        processor_base = f"{base}.Processor" if base else "_tg.Processor"
        table = ([(st.name, st.base) for st in full.structs]
                 + [("Client", client_bases), ("AsyncClient", async_base),
                    ("Processor", processor_base)])
        module_level = {name for name, _ in table} | {"Iface"}
        imports, type_checking = with_type_checking(full.imports, module_level)
        imports, runtime_import = defer_runtime(
            imports, type_checking,
            needed=bool(full.structs) or any("_tg." in v for _, v in table))
        imports = prune_typing(imports, repr((functions, full.structs, base, full.all_names)))
        return SlimServiceView(
            name=full.name, file_name=full.file_name, source=full.source,
            doc=docstring(first_line(svc.doc), IND1),
            imports=imports, all_names=full.all_names, type_checking=type_checking,
            iface_base=f"({base}.Iface)" if base else "",
            functions=functions, structs=full.structs,
            client_bases=client_bases, async_base=async_base, processor_base=processor_base,
            lazy=lazy_call(table, [str_literal(svc.name), list_(function_table)]),
            runtime_import=runtime_import)
