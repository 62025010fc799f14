"""From a checked :class:`~thriftgen.idl.loader.Program` to plain view objects.

Every decision about the generated code is taken here: which files exist,
Python names (escaped keywords, see :mod:`thriftgen.codegen.naming`), resolved
types, type hints, ``thrift_spec`` tuples, default values and constants, imports
and how each name is spelled where it is used. The templates only lay the
resulting text out. Code whose length depends on the IDL is pre-rendered with
:mod:`thriftgen.codegen.pyexpr` at the indentation it will have, so it is
already in the shape black gives it.

Problems the generator cannot represent (a bad ``namespace py``, two files of
one package defining the same name, a value that does not fit its type, ...)
are reported to the :class:`~thriftgen.diagnostics.DiagnosticSink` with the
IDL location; :func:`thriftgen.codegen.builders.build_view` raises ``IDLError`` at the end
if any.
"""

from __future__ import annotations

import os
import uuid as uuid_mod
from dataclasses import dataclass, field
from typing import Optional, Union

from thriftgen import __version__
from thriftgen.codegen import naming
from thriftgen.codegen.literals import (bytes_literal, comment_text, docstring, float_literal,
                                        int_literal, str_literal)
from thriftgen.codegen.options import GenOptions
from thriftgen.codegen.pyexpr import (Atom, Expr, assign, assign_tuple, call, def_line, dict_,
                                      fits, kwarg, layout, list_, seq, set_, subscript, tuple_)
from thriftgen.diagnostics import DiagnosticSink
from thriftgen.idl import ast
from thriftgen.idl.loader import ParsedFile, Program, gc_paused

IND1 = "    "
IND2 = IND1 * 2
IND3 = IND1 * 3

TYPING_NAMES = ("Any", "ClassVar", "Dict", "FrozenSet", "List", "Mapping", "Optional", "Set", "Tuple",
                "Union")
BUILTIN_NAMES = ("Exception", "bool", "bytes", "float", "frozenset", "int", "object", "str")
#: What FileNames may spell differently when a scope shadows it (plus the package's own
#: definitions, see Builder._shadowable).
_SHADOWABLE = frozenset(TYPING_NAMES + BUILTIN_NAMES + ("uuid",))
#: Names bound inside a generated ``process_x`` method.
PROCESS_LOCALS = frozenset(["self", "seqid", "iprot", "oprot", "args", "result", "ex"])

_TTYPE = {
    "bool": "BOOL", "i8": "BYTE", "i16": "I16", "i32": "I32", "i64": "I64", "double": "DOUBLE",
    "string": "STRING", "binary": "STRING", "uuid": "UUID", "list": "LIST", "set": "SET",
    "map": "MAP", "struct": "STRUCT", "enum": "I32",
}
_BASE_KIND = {"byte": "i8", "slist": "string"}
_INT_KINDS = ("i8", "i16", "i32", "i64")
_INT_RANGE = {"i8": 8, "i16": 16, "i32": 32, "i64": 64}
#: Bound on container nesting inside one const value (the grammar caps literal
#: nesting at 64; references are followed in a loop, not counted here).
MAX_CONST_NESTING = 200
_IMMUTABLE_KINDS = ("bool", "i8", "i16", "i32", "i64", "double", "string", "binary", "uuid", "enum")


def _type_key(t: object) -> Optional[tuple]:
    """What identifies a type reference as written (annotations do not change what
    it resolves to); None for anything unexpected (resolved without caching)."""
    cls = t.__class__
    if cls is ast.BaseType or cls is ast.NamedType:
        return (cls, t.name)  # type: ignore[attr-defined]
    if cls is ast.ListType or cls is ast.SetType:
        elem = _type_key(t.elem)  # type: ignore[attr-defined]
        return None if elem is None else (cls, elem)
    if cls is ast.MapType:
        key, value = _type_key(t.key), _type_key(t.value)  # type: ignore[attr-defined]
        return None if key is None or value is None else (cls, key, value)
    return None


_NONE = Atom("None")


class _Skip(Exception):
    """A definition that cannot be generated (the error is already reported)."""


# --------------------------------------------------------------------------- view objects


@dataclass
class Sym:
    """A generated module-level name: where it lives and what it is called."""

    module: str  # dotted package, e.g. "store.catalog"
    name: str  # Python name
    kind: str  # struct | enum | typedef | const | service
    file: str  # defining IDL file (real path)
    definition: object = field(repr=False, compare=False, default=None)


@dataclass(frozen=True)
class TypeInfo:
    """A resolved IDL type (typedefs followed)."""

    kind: str  # bool i8 i16 i32 i64 double string binary uuid list set map struct enum
    elem: Optional["TypeInfo"] = None
    key: Optional["TypeInfo"] = None
    value: Optional["TypeInfo"] = None
    sym: Optional[Sym] = field(default=None, compare=False)

    @property
    def ttype(self) -> str:
        return _TTYPE[self.kind]


@dataclass
class EnumView:
    name: str
    doc: str
    members: list  # list[tuple[python name, int literal]]


@dataclass
class FieldView:
    id: int
    thrift_name: str
    name: str
    type: TypeInfo
    required: bool
    optional: bool
    annotation: str  # "name: hint" (class body)
    default: Optional[str] = None  # module-level source of an immutable __init__ default
    fresh_default: bool = False  # __init__ builds a new container/struct value


@dataclass
class StructView:
    name: str
    kind: str  # struct | union | exception
    doc: str  # docstring block at class-body indent ('' if none)
    bases: str  # "" or "(Exception)"
    class_attrs: list  # rendered lines at class-body indent
    slots: str
    annotations: list
    init_def: str
    init_body: list  # rendered statements at method-body indent
    validate_body: list
    fields: list  # list[FieldView]
    spec: str  # module-level ``Cls.thrift_spec = (...)`` statement
    is_exception: bool
    spell: dict  # how the class body spells Any, object, bool, str, int
    serdes: bool = True  # read()/write() methods (off with -thrift no_default_serdes)


@dataclass
class TypedefView:
    name: str
    statement: str


@dataclass
class ConstView:
    name: str
    doc: str  # '# ...' comment lines ('' if none)
    statement: str


@dataclass
class FunctionView:
    name: str  # Python name
    wire_name: str
    oneway: bool
    void: bool
    doc: str  # docstring at method-body indent
    iface_def: str
    send_def: str
    send_call: str  # "self.send_x(a, b)" at method-body indent
    send_body: str
    recv_def: str
    throws: list  # list[tuple[attr, exception class spelling]]
    process_def: str
    read_args: str  # statement reading ``args`` from ``iprot``, at method-body indent
    args_cls: str
    result_cls: str
    handler_call: str  # at try-body indent (12 spaces)
    recv_call: str  # the remaining statements, pre-rendered (wire names can be long)
    missing_result: str
    reply: str
    reply_error: str
    oneway_error: str
    async_def: str  # ``async def`` of the AsyncClient method
    async_call: str  # its body (after the docstring), pre-rendered


@dataclass
class ServiceView:
    name: str
    file_name: str  # module file stem
    doc: str
    source: str
    base: Optional[str]  # spelling of the base service module, or None
    functions: list
    structs: list  # args/result StructViews
    fix_specs: str
    imports: list
    all_names: str
    process_map: str  # ``_tg_methods = {...}`` at class-body indent
    bind: str  # module-level ``_tg.bind_functions(...)``: the message-level function table


@dataclass
class TTypesView:
    imports: list
    enums: list
    structs: list
    typedefs: list
    local_aliases: list  # every "_tg_X = X" line ...
    fix_specs: str
    all_names: str
    #: ... split by when it may be written: aliases of enums right after the enums
    #: (a field default such as ``Color: Color = _tg_Color.GREEN`` is evaluated when its
    #: class is created), the others after the classes
    enum_aliases: list = field(default_factory=list)
    class_aliases: list = field(default_factory=list)
    fast_codec: str = ""  # module-level fast codec section (see codegen.fastcodec)


@dataclass
class ConstantsView:
    imports: list
    consts: list
    all_names: str


@dataclass
class ModuleView:
    package: str
    sources: list  # IDL file basenames
    ttypes: TTypesView
    constants: ConstantsView
    services: list
    init_all: str
    template_set: str = "py"  # folder of templates/ that lays the module out


@dataclass
class GenerationView:
    modules: list  # list[ModuleView]
    namespace_packages: list  # dotted parent packages that only need an empty __init__
    version: str = __version__

    def module(self, package: str) -> ModuleView:
        for m in self.modules:
            if m.package == package:
                return m
        raise KeyError(package)


# --------------------------------------------------------------------------- naming per file


def const_comment(doc: str, indent: str = "") -> str:
    """A constant's doc comment as ``#`` lines (constants have no docstring)."""
    if not doc:
        return ""
    return "\n".join(indent + ("# " + comment_text(ln) if ln.strip() else "#")
                     for ln in doc.strip().splitlines())


class FileNames:
    """How code in one generated file spells names, and the imports that needs.

    A typing/builtin name or a class of this module is written bare unless a
    module-level definition of the file or a name of the enclosing class scope
    (``shadow``) would hide it; then a private alias that IDL names can never
    take is used instead (``_tg_typing.Optional``, ``_tg_builtins.str``,
    ``_tg_Money`` ...).
    """

    def __init__(self, builder: "Builder", package: str, kind: str, module_level: set):
        self.b = builder
        self.package = package
        self.kind = kind  # ttypes | constants | service
        self.module_level = set(module_level)
        self.typing_bare: set = set()
        self.typing_alias = False
        self.builtins_alias = False
        self.uuid_bare = False
        self.uuid_alias = False
        self.enum_module = False
        self.own_bare: set = set()  # names imported from .ttypes
        self.own_alias = False  # from . import ttypes as _tg_ttypes
        self.external: set = set()  # packages whose ttypes are imported
        self.local_aliases: set = set()  # _tg_X = X (ttypes only)
        self.service_base: Optional[str] = None  # dotted module of the base service
        self.hints: dict = {}  # the Builder's per-file cache of type spellings (see Builder.hint)
        self.shadowable: Optional[frozenset] = None  # see Builder._shadowable

    def typing(self, name: str, shadow: frozenset = frozenset()) -> str:
        if name in self.module_level or name in shadow:
            self.typing_alias = True
            return f"_tg_typing.{name}"
        self.typing_bare.add(name)
        return name

    def builtin(self, name: str, shadow: frozenset = frozenset()) -> str:
        if name in self.module_level or name in shadow:
            self.builtins_alias = True
            return f"_tg_builtins.{name}"
        return name

    def uuid_cls(self, shadow: frozenset = frozenset()) -> str:
        if "uuid" in self.module_level or "uuid" in shadow:
            self.uuid_alias = True
            return "_tg_uuid.UUID"
        self.uuid_bare = True
        return "uuid.UUID"

    def ref(self, sym: Sym, shadow: frozenset = frozenset()) -> str:
        """Spelling of a class (struct/enum) ``sym``."""
        if sym.module == self.package:
            if self.kind == "ttypes":
                if sym.name in shadow:
                    self.local_aliases.add(sym.name)
                    return f"_tg_{sym.name}"
                return sym.name
            if sym.name in shadow or sym.name in self.module_level:
                self.own_alias = True
                return f"_tg_ttypes.{sym.name}"
            self.own_bare.add(sym.name)
            return sym.name
        self.external.add(sym.module)
        return f"{self.b.module_alias[sym.module]}.{sym.name}"

    def snapshot(self) -> dict:
        """What this file imports so far (see :meth:`restore`)."""
        return {k: set(v) if isinstance(v, set) else v for k, v in vars(self).items()}

    def restore(self, snapshot: dict) -> None:
        """Forget what was asked for since :meth:`snapshot` (a definition left out)."""
        for k, v in snapshot.items():
            setattr(self, k, set(v) if isinstance(v, set) else v)

    def import_lines(self) -> list:
        """The import statements, in a fixed order."""
        lines = ["from __future__ import annotations", ""]
        if self.b.has_ambiguous_names(self.package):
            # IDL names ruff calls ambiguous (l, O, I) are kept as the IDL spells them.
            lines.insert(0, "# ruff: noqa: E741")
        plain = []
        if self.builtins_alias:
            plain.append("import builtins as _tg_builtins")
        if self.enum_module:
            plain.append("import enum")
        if self.typing_alias:
            plain.append("import typing as _tg_typing")
        if self.uuid_bare:
            plain.append("import uuid")
        if self.uuid_alias:
            plain.append("import uuid as _tg_uuid")
        if self.typing_bare:
            plain.append(import_from("typing", sorted(self.typing_bare)))
        lines.extend(plain)
        if plain:
            lines.append("")
        third = []
        for pkg in sorted(self.external):
            third.append(f"import {pkg}.ttypes as {self.b.module_alias[pkg]}")
        if self.service_base is not None:
            third.append(f"import {self.service_base} as {self.b.base_service_alias}")
        third.append(runtime_import(self.b.RUNTIME_MODULE))
        lines.extend(third)
        local = []
        if self.own_alias:
            local.append("from . import ttypes as _tg_ttypes")
        if self.own_bare:
            local.append(import_from(".ttypes", sorted(self.own_bare)))
        if local:
            lines.append("")
            lines.extend(local)
        if self.b.REQUIRE_API_AT_IMPORT:
            lines += ["", f"_tg.require_api({api_requirement()}, __name__)"]
        return lines


def runtime_import(module: str) -> str:
    """How a generated module imports its runtime (``_tg``)."""
    return f"from thriftgen.runtime import {module} as _tg"


def api_requirement() -> str:
    """``runtime API level, "thriftgen version"``, as generated code records them (see
    :mod:`thriftgen.runtime._api`): the level of the runtime this tool depends on."""
    from thriftgen import __version__
    from thriftgen.runtime._api import API_LEVEL

    return f'{API_LEVEL}, "{__version__}"'


def import_from(module: str, names: list) -> str:
    """``from module import a, b`` as black writes it (exploded when too long)."""
    text = f"from {module} import {', '.join(names)}"
    if len(text) <= 88:
        return text
    return "\n".join([f"from {module} import ("] + [f"    {n}," for n in names] + [")"])


# --------------------------------------------------------------------------- the builder


class Builder:
    #: ``thriftgen.runtime.<this>`` is what generated modules import as ``_tg``.
    RUNTIME_MODULE = "service"
    #: default modules import the runtime, so they check its API level at import;
    #: slim modules do it on first use (``attach``)
    REQUIRE_API_AT_IMPORT = True

    def __init__(self, program: Program, options: GenOptions, sink: DiagnosticSink,
                 recursive: bool = False):
        self._const_ends: dict = {}  # id(const) -> end of its chain (_const_chain_end)
        self._ambiguous: dict = {}  # package -> has_ambiguous_names
        self.program = program
        self.options = options
        self.sink = sink
        self.recursive = recursive
        self.file_module: dict = {}  # real path -> dotted package
        self.modules: dict = {}  # dotted package -> list[ParsedFile]
        self.symbols: dict = {}  # (real path, thrift name) -> Sym
        self.module_alias: dict = {}  # dotted package -> _tg_ alias
        # id(node) -> (node, {thrift name: python name}) for fields and enum values
        self.pynames: dict = {}
        self.no_c_codec: set = set()  # (module, class name) whose specs Apache's C codec cannot use
        self.by_declaration: set = set()
        self.base_service_alias = "_tg_base"  # see _assign_aliases
        self._resolved: dict = {}  # (path, _type_key) -> TypeInfo, see resolve
        self._interned: dict = {}  # see _type_info
        self._package_names: Optional[dict] = None  # see shadowable

    # -- errors ----------------------------------------------------------------

    def has_ambiguous_names(self, package: str) -> bool:
        """Whether an IDL field, argument or constant of ``package`` is named ``l``,
        ``O`` or ``I`` (names that generated code keeps and ruff's E741 flags)."""
        memo = self._ambiguous
        if package not in memo:
            names: list = []
            for pf in self.modules.get(package, []):
                for d in pf.document.definitions:
                    if isinstance(d, ast.Struct):
                        names += [f.name for f in d.fields]
                    elif isinstance(d, ast.Service):
                        for fn in d.functions:
                            names += [f.name for f in fn.args] + [f.name for f in fn.throws]
                    elif isinstance(d, ast.Const):
                        names.append(d.name)
            memo[package] = any(n in ("l", "O", "I") for n in names)
        return memo[package]

    def error(self, message: str, node: object = None) -> None:
        loc = getattr(node, "loc", None)
        if loc is not None and loc.line == 0:
            loc = None
        self.sink.error(message, loc)

    # -- planning ----------------------------------------------------------------

    def plan(self) -> None:
        prefix = self.options.package_prefix
        for pf in self.program:
            ns = pf.document.namespace("py")
            node = next((h for h in pf.document.namespaces if h.name == ns), None)
            if not ns:
                ns = pf.alias
            problem = naming.module_path_error(ns)
            if problem:
                self.error(f"cannot generate Python for {pf.display}: namespace py {problem}", node)
                continue
            package = f"{prefix}.{ns}" if prefix else ns
            problem = naming.shadowing_error(package)
            if problem:
                where = f"namespace py {ns}" if node is not None else (
                    f"its package '{ns}' (named after the file: it has no 'namespace py')")
                self.error(f"cannot generate Python for {pf.display}: {where}: {problem}; "
                           f"choose another name, or put every package under one with "
                           f"-thrift package_prefix=PKG", node)
                continue
            self.file_module[pf.path] = package
            self.modules.setdefault(package, []).append(pf)
        self._check_module_cycles()
        for package, files in self.modules.items():
            self._plan_symbols(package, files)
        self._assign_aliases()

    def _check_module_cycles(self) -> None:
        edges: dict = {}
        for pf in self.program:
            src = self.file_module.get(pf.path)
            for target in pf.includes.values():
                dst = self.file_module.get(target)
                if src and dst and src != dst:
                    edges.setdefault(src, set()).add(dst)
        state: dict = {}

        def visit(m: str, stack: list) -> None:
            state[m] = 1
            stack.append(m)
            for n in sorted(edges.get(m, ())):
                if state.get(n) == 1:
                    cycle = " -> ".join(stack[stack.index(n):] + [n])
                    self.error(f"files sharing a 'namespace py' include each other through "
                               f"another namespace, which would be an import cycle: {cycle}")
                elif n not in state:
                    visit(n, stack)
            stack.pop()
            state[m] = 2

        for m in sorted(edges):
            if m not in state:
                visit(m, [])

    def _plan_symbols(self, package: str, files: list) -> None:
        seen: dict = {}  # python name -> (display, thrift name)
        service_files: dict = {}
        for pf in files:
            for d in pf.document.definitions:
                problem = naming.rejection(d.name, f"{ast.definition_kind(d)} name")
                if problem:
                    self.error(problem, d)
                    continue
                pyname = naming.escape(d.name)
                kind = ("struct" if isinstance(d, ast.Struct) else "enum" if isinstance(d, ast.Enum)
                        else "const" if isinstance(d, ast.Const) else "service"
                        if isinstance(d, ast.Service) else "typedef")
                if isinstance(d, ast.Service):
                    if pyname in ("ttypes", "constants"):
                        self.error(f"service '{d.name}' would overwrite the generated module "
                                   f"{pyname}.py; rename the service", d)
                        continue
                    other = service_files.get(pyname.lower())
                    if other:
                        self.error(f"service '{d.name}' and service '{other}' of package "
                                   f"'{package}' need the same file name", d)
                        continue
                    service_files[pyname.lower()] = d.name
                prev = seen.get(pyname)
                if prev is not None:
                    if prev[0] != pf.display:
                        self.error(f"'{d.name}' is defined in both {prev[0]} and {pf.display}, "
                                   f"which share 'namespace py {package}'; they cannot be "
                                   f"merged into one Python package", d)
                    else:
                        self.error(f"'{d.name}' is defined twice", d)
                    continue
                seen[pyname] = (pf.display, d.name)
                self.symbols[(pf.path, d.name)] = Sym(package, pyname, kind, pf.path, d)

    def _assign_aliases(self) -> None:
        """``_tg_<suffix>`` per package: the shortest unique tail of its dotted path."""
        packages = sorted(self.modules)
        for pkg in packages:
            parts = pkg.split(".")
            for n in range(1, len(parts) + 1):
                tail = parts[-n:]
                clash = [p for p in packages if p != pkg and p.split(".")[-n:] == tail]
                if not clash:
                    break
            self.module_alias[pkg] = "_tg_" + "_".join(tail)
        # The base service module's alias must not be a package's (a 'base' package).
        while self.base_service_alias in self.module_alias.values():
            self.base_service_alias += "_"

    # -- types ---------------------------------------------------------------------

    def resolve(self, path: str, t: object) -> TypeInfo:
        # Many fields share a type: resolve each (file, type) once. Failures are not
        # cached (each use reports its error, as before).
        cls = t.__class__
        if cls is ast.BaseType or cls is ast.NamedType:  # most references: a flat key
            key: Optional[tuple] = (path, cls, t.name)  # type: ignore[attr-defined]
        else:
            key = _type_key(t)
            if key is None:
                return self._resolve(path, t)
            key = (path, key)
        ti = self._resolved.get(key)
        if ti is None:
            ti = self._resolved[key] = self._resolve(path, t)
        return ti

    def _type_info(self, kind: str, elem: Optional[TypeInfo] = None, key: Optional[TypeInfo] = None,
                   value: Optional[TypeInfo] = None, sym: Optional[Sym] = None) -> TypeInfo:
        """The one TypeInfo of that shape (so caches below can key on its identity); the
        parts are themselves interned, and the table keeps them all alive."""
        ident = (kind, id(elem), id(key), id(value), id(sym))
        ti = self._interned.get(ident)
        if ti is None:
            ti = self._interned[ident] = TypeInfo(kind, elem, key, value, sym)
        return ti

    def _resolve(self, path: str, t: object) -> TypeInfo:
        found_path, resolved = self.program.resolve_type(path, t)
        if isinstance(resolved, ast.BaseType):
            return self._type_info(_BASE_KIND.get(resolved.name, resolved.name))
        if isinstance(resolved, ast.ListType):
            return self._type_info("list", elem=self.resolve(found_path, resolved.elem))
        if isinstance(resolved, ast.SetType):
            return self._type_info("set", elem=self.resolve(found_path, resolved.elem))
        if isinstance(resolved, ast.MapType):
            return self._type_info("map", key=self.resolve(found_path, resolved.key),
                                   value=self.resolve(found_path, resolved.value))
        if isinstance(resolved, ast.Senum):
            return self._type_info("string")
        if isinstance(resolved, (ast.Struct, ast.Enum)):
            sym = self.symbols.get((found_path, resolved.name))
            if sym is None:
                raise _Skip()
            return self._type_info("struct" if isinstance(resolved, ast.Struct) else "enum",
                                   sym=sym)
        name = getattr(t, "name", "?")
        what = "a service" if isinstance(resolved, ast.Service) else "undefined"
        self.error(f"type '{name}' is {what}", t)
        raise _Skip()

    # hint, optional_hint and spec_args are asked again and again for the same few
    # types: their Exprs (immutable, with memoized text) are cached per generated file,
    # keyed by the TypeInfo's identity (the entry keeps it alive) and by the part of the
    # shadowing scope that can change a spelling (see _shadowable). A cached answer skips
    # the FileNames calls of the first one, whose effects (imports, aliases) are already
    # recorded on that same FileNames.

    def _shadowable(self, names: FileNames) -> frozenset:
        """Names whose shadowing can change how ``names`` spells a type or value: the
        typing and builtin names, ``uuid`` and the package's own definitions (see
        FileNames.typing / builtin / uuid_cls / ref)."""
        found = names.shadowable
        if found is None:
            if self._package_names is None:
                by_package: dict = {}
                for sym in self.symbols.values():
                    by_package.setdefault(sym.module, set()).add(sym.name)
                self._package_names = by_package
            found = names.shadowable = _SHADOWABLE | frozenset(
                self._package_names.get(names.package, ()))
        return found

    def hint(self, ti: TypeInfo, names: FileNames, shadow: frozenset = frozenset(),
             frozen: bool = False) -> Expr:
        if shadow:
            shadow = shadow & self._shadowable(names)
        key = (id(ti), shadow, frozen)
        hit = names.hints.get(key)
        if hit is not None and hit[0] is ti:
            return hit[1]
        expr = self._hint(ti, names, shadow, frozen)
        names.hints[key] = (ti, expr)
        return expr

    def _hint(self, ti: TypeInfo, names: FileNames, shadow: frozenset, frozen: bool) -> Expr:
        k = ti.kind
        if k == "bool":
            return Atom(names.builtin("bool", shadow))
        if k in _INT_KINDS:
            return Atom(names.builtin("int", shadow))
        if k == "double":
            return Atom(names.builtin("float", shadow))
        if k == "string":
            return Atom(names.builtin("str", shadow))
        if k == "binary":
            return Atom(names.builtin("bytes", shadow))
        if k == "uuid":
            return Atom(names.uuid_cls(shadow))
        # Set elements and map keys must be hashable: there lists are tuples, sets
        # frozensets and maps read-only mappings (the decoders build them so too).
        if k == "list":
            if frozen:
                return subscript(names.typing("Tuple", shadow),
                                 [self.hint(ti.elem, names, shadow, True), "..."])
            return subscript(names.typing("List", shadow), [self.hint(ti.elem, names, shadow)])
        if k == "set":
            return subscript(names.typing("FrozenSet" if frozen else "Set", shadow),
                             [self.hint(ti.elem, names, shadow, True)])
        if k == "map":
            return subscript(names.typing("Mapping" if frozen else "Dict", shadow),
                             [self.hint(ti.key, names, shadow, True),
                              self.hint(ti.value, names, shadow, frozen)])
        if k == "struct":
            return Atom(names.ref(ti.sym, shadow))
        # enum: Apache's C codec and unknown wire values give plain ints
        return subscript(names.typing("Union", shadow),
                         [names.ref(ti.sym, shadow), names.builtin("int", shadow)])

    def optional_hint(self, ti: TypeInfo, names: FileNames, shadow: frozenset) -> Expr:
        if shadow:
            shadow = shadow & self._shadowable(names)
        key = (id(ti), shadow, None)
        hit = names.hints.get(key)
        if hit is not None and hit[0] is ti:
            return hit[1]
        expr = self._optional_hint(ti, names, shadow)
        names.hints[key] = (ti, expr)
        return expr

    def _optional_hint(self, ti: TypeInfo, names: FileNames, shadow: frozenset) -> Expr:
        if ti.kind == "enum":
            return subscript(names.typing("Union", shadow), [
                names.ref(ti.sym, shadow), names.builtin("int", shadow), "None"])
        return subscript(names.typing("Optional", shadow), [self.hint(ti, names, shadow)])

    def spec_args(self, ti: TypeInfo, names: FileNames) -> Expr:
        key = (id(ti), "spec")
        hit = names.hints.get(key)
        if hit is not None and hit[0] is ti:
            return hit[1]
        expr = self._spec_args(ti, names)
        names.hints[key] = (ti, expr)
        return expr

    def _spec_args(self, ti: TypeInfo, names: FileNames) -> Expr:
        k = ti.kind
        if k == "string":
            return Atom('"UTF8"')
        if k == "binary":
            return Atom('"BINARY"')
        if k == "enum":
            return Atom(names.ref(ti.sym))
        if k == "struct":
            return list_([names.ref(ti.sym), "None"])
        if k in ("list", "set"):
            return tuple_([f"_tg.TType.{ti.elem.ttype}", self.spec_args(ti.elem, names), "False"])
        if k == "map":
            return tuple_([f"_tg.TType.{ti.key.ttype}", self.spec_args(ti.key, names),
                           f"_tg.TType.{ti.value.ttype}", self.spec_args(ti.value, names),
                           "False"])
        return Atom("None")

    # -- values ----------------------------------------------------------------------

    def value(self, cv: object, ti: TypeInfo, path: str, names: FileNames,
              shadow: frozenset = frozenset(), depth: int = 0, frozen: bool = False) -> Expr:
        """The Python expression for IDL const value ``cv`` of type ``ti``."""
        if depth > MAX_CONST_NESTING:  # the grammar caps nesting well below: a cycle
            self.error("constant refers to itself", cv)
            raise _Skip()
        if isinstance(cv, ast.ConstRef):
            cv, path = self._const_chain_end(cv, path, ti)
        if isinstance(cv, ast.ConstRef):
            found = self.lookup_const(path, cv.name, ti)
            if found is None:
                self.error(f"'{cv.name}' is not a constant or enum value", cv)
                raise _Skip()
            pf, enum, member = found
            if ti.kind == "enum" and self.symbols.get((pf.path, enum.name)) is ti.sym:
                return Atom(f"{names.ref(ti.sym, shadow)}.{self.enum_member(pf.path, enum, member)}")
            if ti.kind in _INT_KINDS or ti.kind == "enum":
                return self.value(ast.ConstInt(member.value, cv.loc), ti, path, names, shadow)
            self._bad_value(cv, ti)
        k = ti.kind
        if k == "bool" and isinstance(cv, ast.ConstInt):
            return Atom("True" if cv.value else "False")
        if k in _INT_KINDS and isinstance(cv, ast.ConstInt):
            bits = _INT_RANGE[k]
            if not -(1 << (bits - 1)) <= cv.value < (1 << (bits - 1)):
                self.error(f"{cv.value} does not fit in {k}", cv)
                raise _Skip()
            return Atom(int_literal(cv.value))
        if k == "enum" and isinstance(cv, ast.ConstInt):
            enum = ti.sym.definition
            for m in enum.values:
                if m.value == cv.value:
                    return Atom(f"{names.ref(ti.sym, shadow)}.{self.enum_member(ti.sym.file, enum, m)}")
            return Atom(int_literal(cv.value))
        if k == "double" and isinstance(cv, (ast.ConstInt, ast.ConstDouble)):
            return Atom(float_literal(float(cv.value)))
        if k == "string" and isinstance(cv, ast.ConstString):
            return Atom(str_literal(cv.value))
        if k == "binary" and isinstance(cv, ast.ConstString):
            return Atom(bytes_literal(cv.value.encode("utf-8", "surrogatepass")))
        if k == "uuid" and isinstance(cv, ast.ConstString):
            try:
                canonical = str(uuid_mod.UUID(cv.value))
            except ValueError:
                self.error(f"'{cv.value}' is not a valid uuid", cv)
                raise _Skip() from None
            return call(names.uuid_cls(shadow), [str_literal(canonical)])
        if k in ("list", "set"):
            if isinstance(cv, ast.ConstList) or (isinstance(cv, ast.ConstMap) and not cv.items):
                items = [self.value(i, ti.elem, path, names, shadow, depth + 1,
                                    frozen=frozen or k == "set")
                         for i in getattr(cv, "items", [])]
                if k == "list":
                    return tuple_(items) if frozen else list_(items)
                if frozen:
                    return call(names.builtin("frozenset", shadow), [set_(items)] if items else [])
                return set_(items)
        if k == "map":
            if isinstance(cv, ast.ConstMap) or (isinstance(cv, ast.ConstList) and not cv.items):
                mapping = dict_([(self.value(kv[0], ti.key, path, names, shadow, depth + 1, True),
                                  self.value(kv[1], ti.value, path, names, shadow, depth + 1,
                                             frozen))
                                 for kv in getattr(cv, "items", [])])
                return call("_tg.FrozenDict", [mapping]) if frozen else mapping
        if k == "struct" and isinstance(cv, ast.ConstMap) and frozen:
            self.sink.warning(f"a '{ti.sym.name}' struct cannot be a set element or map key in "
                              f"Python (structs are mutable, so unhashable); value dropped",
                              getattr(cv, "loc", None))
            raise _Skip()
        if k == "struct" and isinstance(cv, ast.ConstMap):
            struct = ti.sym.definition
            fields = {f.name: f for f in struct.fields}
            pynames = self.field_names(struct)
            args = []
            for key, val in cv.items:
                if not isinstance(key, ast.ConstString) or key.value not in fields:
                    what = key.value if isinstance(key, ast.ConstString) else "a non-string key"
                    self.error(f"'{struct.name}' has no field {what!r}", key)
                    raise _Skip()
                f = fields[key.value]
                fti = self.resolve(ti.sym.file, f.type)
                args.append(kwarg(pynames[f.name], self.value(val, fti, path, names, shadow,
                                                              depth + 1)))
            return call(names.ref(ti.sym, shadow), args)
        self._bad_value(cv, ti)

    def _const_chain_end(self, cv: ast.ConstRef, path: str, ti: TypeInfo) -> tuple:
        """``(value, path)`` where a chain of constants naming constants ends: a literal,
        or a reference that is not to a constant (an enum member, or unresolved). Long
        chains are followed in a loop, and every constant passed remembers its end, so
        generating N chained constants takes O(N), not O(N^2), and no recursion."""
        ends = self._const_ends
        passed = []
        seen = set()
        while isinstance(cv, ast.ConstRef):
            found = self.lookup_const(path, cv.name, ti)
            if found is None or len(found) != 2:
                break
            pf, const = found
            end = ends.get(id(const))
            if end is not None:
                cv, path = end
                break
            if id(const) in seen:  # the checker rules cycles out; never loop on one
                self.error("constant refers to itself", cv)
                raise _Skip()
            seen.add(id(const))
            passed.append(const)
            cv, path = const.value, pf.path
        for const in passed:
            ends[id(const)] = (cv, path)
        return cv, path

    def lookup_const(self, path: str, name: str, ti: TypeInfo) -> Optional[tuple]:
        """Like the checker: ``CONST``, ``Enum.M``, ``alias.CONST``, ``alias.Enum.M`` (aliases
        may contain dots); failing that, ``Anything.M`` where ``M`` is a member of the expected
        enum (Apache resolves it so; the checker warns)."""
        pf = self.program.files[path]
        parts = name.split(".")

        def find(owner: ParsedFile, rest: list) -> Optional[tuple]:
            d = owner.symbols.get(rest[0])
            if len(rest) == 1 and isinstance(d, ast.Const):
                return owner, d
            if len(rest) == 2 and isinstance(d, ast.Enum):
                for v in d.values:
                    if v.name == rest[1]:
                        return owner, d, v
            return None

        if len(parts) <= 2:
            hit = find(pf, parts)
            if hit:
                return hit
        for i in range(1, len(parts)):
            target = pf.includes.get(".".join(parts[:i]))
            if target in self.program.files and len(parts) - i <= 2:
                hit = find(self.program.files[target], parts[i:])
                if hit:
                    return hit
        if ti.kind == "enum" and len(parts) > 1:
            enum = ti.sym.definition
            for v in enum.values:
                if v.name == parts[-1]:
                    return self.program.files[ti.sym.file], enum, v
        return None

    def _bad_value(self, cv: object, ti: TypeInfo) -> None:
        what = {ast.ConstInt: "an integer", ast.ConstDouble: "a double",
                ast.ConstString: "a string", ast.ConstList: "a list", ast.ConstMap: "a map",
                ast.ConstRef: "an enum value"}.get(type(cv), "this value")
        target = ti.sym.name if ti.sym is not None else ti.kind
        self.error(f"{what} cannot be a value of type {target}", cv)
        raise _Skip()

    def enum_member(self, path: str, enum: ast.Enum, member: ast.EnumValue) -> str:
        return self.enum_names(enum)[member.name]

    def enum_names(self, enum: ast.Enum) -> dict:
        cached = self.pynames.get(id(enum))
        if cached is None or cached[0] is not enum:
            names = [v.name for v in enum.values]
            cached = (enum, dict(zip(names, naming.assign_names(names, naming.ENUM_RESERVED))))
            self.pynames[id(enum)] = cached
        return cached[1]

    def field_names(self, struct: object, reserved: frozenset = naming.STRUCT_RESERVED) -> dict:
        """thrift field name -> Python attribute name, for a struct (or args/result)."""
        cached = self.pynames.get(id(struct))
        if cached is None or cached[0] is not struct:
            if getattr(struct, "kind", None) == ast.EXCEPTION:
                reserved = naming.EXCEPTION_RESERVED
            names = [f.name for f in struct.fields]
            cached = (struct, dict(zip(names, naming.assign_names(names, reserved))))
            self.pynames[id(struct)] = cached
        return cached[1]

    # -- field masks (-thrift with_field_mask) --------------------------------------------

    def field_mask_alias(self) -> str:
        """How ttypes modules import ``thriftgen.runtime.fieldmask`` (never a package alias)."""
        alias = "_tg_fieldmask"
        while alias in self.module_alias.values():
            alias += "_"
        return alias

    def add_name_tables(self, view: object, d: ast.Struct) -> None:
        """Class-body tables the runtime reads where ``thrift_spec`` says too little:
        ``_tg_required`` (attribute names; slim classes build theirs from their spec)
        and ``_tg_idl_names`` (IDL name -> attribute, where keyword escaping renamed a
        field: ``from`` -> ``from_``). Field masks and the JSON mapping
        (:mod:`thriftgen.runtime.jsonmap`) use them; absent when empty."""
        pynames = self.field_names(d)
        slim = self.RUNTIME_MODULE == "slim"
        body = IND2 if slim else IND1  # slim classes sit under ``if TYPE_CHECKING:``
        lines = []
        required = [pynames[f.name] for f in d.fields if f.requiredness == ast.REQUIRED]
        if required and not slim:
            lines.append(assign("_tg_required", tuple_([str_literal(n) for n in required]), body))
        renamed = [(str_literal(f.name), str_literal(pynames[f.name]))
                   for f in d.fields if pynames[f.name] != f.name]
        if renamed:
            lines.append(assign("_tg_idl_names", dict_(renamed), body))
        self._class_lines(view, lines)

    def add_field_mask(self, view: object, d: ast.Struct) -> None:
        """``Cls.field_mask(*paths, black=False)`` for ``with_field_mask``, unless an IDL
        field is called ``field_mask`` (options never rename fields)."""
        pynames = self.field_names(d)
        body = IND2 if self.RUNTIME_MODULE == "slim" else IND1
        if "field_mask" not in pynames.values():  # else the IDL field keeps the name
            self._class_lines(view, [f"{body}field_mask = {self.field_mask_alias()}"
                                     ".field_mask_method"])

    @staticmethod
    def _class_lines(view: object, lines: list) -> None:
        if not lines:
            return
        if isinstance(view, StructView):
            view.class_attrs.extend(lines)
        else:  # slim: rendered by templates/slim/macros.j2
            existing = getattr(view, "class_lines", None) or []
            view.class_lines = existing + lines  # type: ignore[attr-defined]

    # -- structs ------------------------------------------------------------------------

    def resolved_fields(self, path: str, fields: list) -> list:
        """``[(field, TypeInfo)]``; a field name Python cannot take is an error that
        skips the struct (_Skip)."""
        resolved = []
        for f in fields:
            problem = naming.rejection(f.name, "field name")
            if problem:
                self.error(problem, f)
                raise _Skip()
            resolved.append((f, self.resolve(path, f.type)))
        return resolved

    def struct_view(self, path: str, name: str, kind: str, fields: list, doc: Optional[str],
                    names: FileNames, struct_key: object) -> StructView:
        # The hot path of a big generation: text is assembled from cached per-type
        # spellings, and an Expr tree is only built for a piece that layout may have to
        # split (one that does not fit on its own line; see the ``fits`` checks).
        pynames = self.field_names(struct_key)
        resolved = self.resolved_fields(path, fields)
        by_decl = any(f.id < 0 for f in fields)
        member_names = frozenset(pynames.values()) | naming.STRUCT_RESERVED | {"__init__"}
        scope = member_names
        # What of the scope can change a spelling: usually nothing (see _shadowable).
        scope_hits = scope & self._shadowable(names)
        init_shadow = frozenset(pynames.values()) | {"self"}
        is_union = kind == ast.UNION
        is_exc = kind == ast.EXCEPTION

        field_views = []
        annotations = []
        params: list = ["self"]
        body = []
        defaults = []  # per field: its __init__ default Expr, or None
        for f, ti in resolved:
            pyname = pynames[f.name]
            hint = self.optional_hint(ti, names, scope_hits)
            head = f"{pyname}: {hint.flat()}"
            annotations.append(IND1 + head if fits(IND1, head)
                               else layout(hint, IND1, head=f"{pyname}: "))
            default = None if is_union else f.default
            default_expr = None
            immutable = ti.kind in _IMMUTABLE_KINDS
            if default is not None:
                try:
                    default_expr = self.value(default, ti, path, names,
                                              scope if immutable else init_shadow)
                except _Skip:
                    default_expr = None  # reported; generate the field without a default
            defaults.append(default_expr)
            param: Union[str, Expr]
            if default_expr is None:
                param = head + " = None"
                if not fits(IND2, param + ","):
                    param = seq(f"{pyname}: ", hint, " = None")
            elif immutable:
                param = f"{head} = {default_expr.flat()}"
                if not fits(IND2, param + ","):
                    param = seq(f"{pyname}: ", hint, " = ", default_expr)
            else:
                param = head + " = _tg.DEFAULT"
                if not fits(IND2, param + ","):
                    param = seq(f"{pyname}: ", hint, " = _tg.DEFAULT")
                body.append(f"{IND2}if {pyname} is _tg.DEFAULT:")
                body.append(assign(pyname, default_expr, IND3))
            # A parameter is laid out as one atom unless it alone overflows its line
            # (def_line explodes the list one parameter per line at IND2).
            params.append(param)
            body.append(f"{IND2}self.{pyname} = {pyname}")
            fv = FieldView(f.id, f.name, pyname, ti, f.requiredness == ast.REQUIRED,
                           f.requiredness == ast.OPTIONAL, annotations[-1].strip())
            fv.fresh_default = default_expr is not None and not immutable
            field_views.append(fv)
        if not fields:
            body.append(f"{IND2}pass")

        validate = []
        for fv in field_views:
            if fv.required:
                validate.append(f"{IND2}if self.{fv.name} is None:")
                text = f"raise _tg.missing_required(self, {str_literal(fv.name)})"
                validate.append(IND3 + text if fits(IND3, text) else
                                layout(call("_tg.missing_required",
                                            ["self", str_literal(fv.name)]), IND3, head="raise "))
        if is_union:
            validate.append(f"{IND2}_tg.check_union(self)")
        if not validate:
            validate.append(f"{IND2}pass")

        class_attrs = []
        if is_union:
            class_attrs.append(f"{IND1}_tg_is_union = True")
        if by_decl:
            class_attrs.append(f"{IND1}_tg_spec_by_declaration = True")
        if (names.package, name) in self.no_c_codec:
            class_attrs.append(f"{IND1}_tg_no_c_codec = True")

        spec_entries: list = []
        literals = [str_literal(fv.name) for fv in field_views]  # spec entries and __slots__
        for fv, (f, ti), default_expr, literal in zip(field_views, resolved, defaults, literals):
            default = None if is_union else f.default
            dflt: Expr = _NONE
            if default is not None and ti.kind in _IMMUTABLE_KINDS:
                if default_expr is not None and not scope_hits:
                    dflt = default_expr  # what the call below would build: nothing shadowed
                    fv.default = dflt.flat()
                else:
                    try:
                        dflt = self.value(default, ti, path, names)
                        fv.default = dflt.flat()
                    except _Skip:
                        pass
            args = self.spec_args(ti, names)
            entry = (f"({int_literal(f.id)}, _tg.TType.{ti.ttype}, {literal}, "
                     f"{args.flat()}, {dflt.flat()})")
            if fits(IND1, entry + ","):
                spec_entries.append((f.id, entry))
            else:  # the entry itself must be split
                spec_entries.append((f.id, tuple_([int_literal(f.id), f"_tg.TType.{ti.ttype}",
                                                   literal, args, dflt])))
        if by_decl:
            # Negative (auto-assigned) ids cannot index a tuple: list the entries,
            # in id order (the order Apache writes fields in).
            items = [e for _, e in sorted(spec_entries, key=lambda x: x[0])]
        else:
            top = max((i for i, _ in spec_entries), default=0)
            slots_by_id = dict(spec_entries)
            items = [slots_by_id.get(i, "None") for i in range(top + 1)]
            if not spec_entries:
                items = []
        spec = assign_tuple(f"{name}.thrift_spec", items)

        doc_text = doc or ""
        field_docs = [(pynames[f.name], f.doc) for f, _ in resolved if f.doc]
        if field_docs:
            lines = [doc_text, ""] if doc_text else []
            lines.append("Attributes:")
            for fname, fdoc in field_docs:
                fdoc_lines = fdoc.strip().splitlines() or [""]
                lines.append(f"- {fname}: {fdoc_lines[0]}")
                lines.extend(f"  {ln}" for ln in fdoc_lines[1:])
            doc_text = "\n".join(lines)

        return StructView(
            name=name, kind=kind, doc=docstring(doc_text, IND1),
            bases=f"({names.builtin('Exception')})" if is_exc else "",
            class_attrs=class_attrs,
            slots=assign_tuple("__slots__", literals, IND1),
            annotations=[f"{IND1}thrift_spec: {names.typing('ClassVar', scope)}"
                         f"[{names.typing('Any', scope)}]"] + annotations,
            init_def=def_line("__init__", params, "None", IND1),
            init_body=body, validate_body=validate, fields=field_views, spec=spec,
            is_exception=is_exc, serdes=not self.options.no_default_serdes,
            spell={"Any": names.typing("Any", scope), "object": names.builtin("object", scope),
                   "bool": names.builtin("bool", scope), "str": names.builtin("str", scope),
                   "int": names.builtin("int", scope),
                   "Exception": names.builtin("Exception", frozenset(["self"]))})

    def _compute_c_codec(self) -> None:
        """Which structs Apache's C codec cannot handle (its specs index by field id)."""
        if not any(isinstance(s.definition, ast.Struct) and any(f.id < 0 for f in s.definition.fields)
                   for s in self.symbols.values()):
            return  # nothing to spread (the usual case): skip resolving every field
        graph: dict = {}
        for (path, _), sym in self.symbols.items():
            d = sym.definition
            if not isinstance(d, ast.Struct):
                continue
            key = (sym.module, sym.name)
            refs = set()
            for f in d.fields:
                try:
                    ti = self.resolve(path, f.type)
                except _Skip:
                    continue
                stack = [ti]
                while stack:
                    t = stack.pop()
                    if t.kind == "struct":
                        refs.add((t.sym.module, t.sym.name))
                    stack.extend(x for x in (t.elem, t.key, t.value) if x is not None)
            graph[key] = refs
            if any(f.id < 0 for f in d.fields):
                self.no_c_codec.add(key)
                self.by_declaration.add(key)
        changed = True
        while changed:
            changed = False
            for key, refs in graph.items():
                if key not in self.no_c_codec and refs & self.no_c_codec:
                    self.no_c_codec.add(key)
                    changed = True

    # -- modules --------------------------------------------------------------------------

    def build(self) -> GenerationView:
        with gc_paused():  # a big view is a large acyclic build: see gc_paused
            return self.finish([self.module_view(pkg) for pkg in self.prepare()])

    def prepare(self) -> list:
        """Plan every name; the packages to generate, in order ([] after a planning
        error). ``module_view`` of each may then run in any order or process (the
        render pipeline streams them, see :mod:`thriftgen.codegen.render`)."""
        self.plan()
        if self.sink.has_errors:
            return []
        # Silence resolution errors here; they are reported where the type is used.
        quiet = DiagnosticSink()
        loud, self.sink = self.sink, quiet
        self._compute_c_codec()
        self.sink = loud
        wanted = self._wanted_modules()
        return [pkg for pkg in self.modules if pkg in wanted]

    def finish(self, modules: list) -> GenerationView:
        """The whole view of ``modules``; only their ``package`` and ``services[].file_name``
        are read, so stand-ins of already rendered modules do."""
        packages = {m.package for m in modules}
        parents = set()
        for pkg in packages:
            parts = pkg.split(".")
            for n in range(1, len(parts)):
                parents.add(".".join(parts[:n]))
        self._check_paths(modules)
        return GenerationView(modules, sorted(parents - packages))

    def _wanted_modules(self) -> set:
        """Modules to write: every one with ``-r``; otherwise the roots' and what they import."""
        if self.recursive:
            return set(self.modules)
        wanted = set()
        stack = [self.file_module[r] for r in self.program.roots if r in self.file_module]
        deps = self._module_deps()
        while stack:
            m = stack.pop()
            if m in wanted:
                continue
            wanted.add(m)
            stack.extend(deps.get(m, ()))
        return wanted

    def _module_deps(self) -> dict:
        """package -> packages its generated code imports (types, enums, bases)."""
        deps: dict = {}
        for pf in self.program:
            src = self.file_module.get(pf.path)
            if src is None:
                continue
            for d in pf.document.definitions:
                for target in self._definition_refs(pf, d):
                    if target != src:
                        deps.setdefault(src, set()).add(target)
        return deps

    def _definition_refs(self, pf: ParsedFile, d: object) -> set:
        out = set()

        def add_type(t: object) -> None:
            for sub in ast.walk_type(t):
                if isinstance(sub, ast.NamedType):
                    found = self.program.lookup(pf.path, sub.name)
                    if found is not None:
                        out.add(self.file_module.get(found[0].path))
                        if isinstance(found[1], ast.Typedef):
                            # follow the chain: the generated code names the target
                            try:
                                ti = self.resolve(found[0].path, found[1].type)
                            except _Skip:
                                continue
                            add_ti(ti)

        def add_ti(ti: TypeInfo) -> None:
            stack = [ti]
            while stack:
                t = stack.pop()
                if t.sym is not None:
                    out.add(t.sym.module)
                stack.extend(x for x in (t.elem, t.key, t.value) if x is not None)

        def add_value(v: object, depth: int = 0) -> None:
            if depth > 50 or v is None:
                return
            if isinstance(v, ast.ConstRef):
                found = self.program.lookup_const(pf.path, v.name)
                if found is not None:
                    out.add(self.file_module.get(found[0].path))
            elif isinstance(v, ast.ConstList):
                for i in v.items:
                    add_value(i, depth + 1)
            elif isinstance(v, ast.ConstMap):
                for k, i in v.items:
                    add_value(k, depth + 1)
                    add_value(i, depth + 1)

        if isinstance(d, ast.Struct):
            for f in d.fields:
                add_type(f.type)
                add_value(f.default)
        elif isinstance(d, (ast.Typedef, ast.Const)):
            add_type(d.type)
            if isinstance(d, ast.Const):
                add_value(d.value)
        elif isinstance(d, ast.Service):
            if d.extends:
                found = self.program.lookup(pf.path, d.extends)
                if found is not None:
                    out.add(self.file_module.get(found[0].path))
            for fn in d.functions:
                if fn.return_type is not None:
                    add_type(fn.return_type)
                for f in list(fn.args) + list(fn.throws):
                    add_type(f.type)
                    add_value(f.default)
        out.discard(None)
        return out

    def _check_paths(self, modules: list) -> None:
        files = set()
        for m in modules:
            base = m.package.replace(".", "/")
            for stem in ["__init__", "ttypes", "constants"] + [s.file_name for s in m.services]:
                files.add(f"{base}/{stem}")
        for m in modules:
            base = m.package.replace(".", "/")
            if base in files:
                self.error(f"package '{m.package}' collides with the generated module "
                           f"{base}.py; change a 'namespace py'")

    def module_view(self, package: str) -> ModuleView:
        # The type caches serve one module at a time (its files' own references): kept
        # across modules they would only add to the peak memory of a big run.
        self._resolved = {}
        self._interned = {}
        files = self.modules[package]
        sources = [os.path.basename(pf.path) for pf in files]
        ttypes = self.ttypes_view(package, files)
        constants = self.constants_view(package, files)
        services = []
        for pf in files:
            for d in pf.document.definitions:
                if isinstance(d, ast.Service) and (pf.path, d.name) in self.symbols:
                    try:
                        services.append(self.service_view(package, pf, d))
                    except _Skip:
                        pass
        all_names = ["ttypes", "constants"] + [s.file_name for s in services]
        return ModuleView(package, sources, ttypes, constants, services,
                          assign("__all__", list_([str_literal(n) for n in all_names])))

    def _module_level(self, files: list, kinds: tuple) -> set:
        out = set()
        for pf in files:
            for d in pf.document.definitions:
                sym = self.symbols.get((pf.path, d.name))
                if sym is not None and sym.kind in kinds:
                    out.add(sym.name)
        return out

    def ttypes_view(self, package: str, files: list) -> TTypesView:
        names = FileNames(self, package, "ttypes",
                          self._module_level(files, ("struct", "enum", "typedef")))
        enums, structs, typedefs, all_names, classes = [], [], [], [], []
        for pf in files:
            for d in pf.document.definitions:
                sym = self.symbols.get((pf.path, d.name))
                if sym is None:
                    continue
                try:
                    if isinstance(d, ast.Enum):
                        enums.append(self.enum_view(pf, d, sym))
                        all_names.append(sym.name)
                    elif isinstance(d, ast.Struct):
                        structs.append(self.struct_view(pf.path, sym.name, d.kind, d.fields,
                                                        d.doc, names, d))
                        self.add_name_tables(structs[-1], d)
                        if self.options.with_field_mask:
                            self.add_field_mask(structs[-1], d)
                        all_names.append(sym.name)
                        classes.append(sym.name)
                    elif isinstance(d, (ast.Typedef, ast.Senum)):
                        typedefs.append(self.typedef_view(pf, d, sym, names))
                        all_names.append(sym.name)
                except _Skip:
                    continue
        names.enum_module = bool(enums)
        fast_codec = ""
        # -thrift fast_codec=aot only: by default the runtime compiles the same code on first
        # use (the section is ~3x the rest of the module; see codegen.fastcodec).
        if structs and self.options.fast_codec == "aot" and not self.options.no_fast_codec:
            from thriftgen.codegen.fastcodec import fast_codec_section
            fast_codec = fast_codec_section(structs, names)
        imports = names.import_lines()
        if self.options.with_field_mask and structs:
            runtime = next(i for i, line in enumerate(imports)
                           if line.startswith("from thriftgen.runtime import "))
            imports.insert(runtime + 1, "from thriftgen.runtime import fieldmask as "
                           + self.field_mask_alias())
        return TTypesView(
            imports=imports, enums=enums, structs=structs, typedefs=typedefs,
            local_aliases=[f"_tg_{n} = {n}" for n in sorted(names.local_aliases)],
            enum_aliases=[f"_tg_{n} = {n}" for n in sorted(names.local_aliases)
                          if any(e.name == n for e in enums)],
            class_aliases=[f"_tg_{n} = {n}" for n in sorted(names.local_aliases)
                           if not any(e.name == n for e in enums)],
            fix_specs=layout(call("_tg.fix_specs", [list_(classes)])) if classes else "",
            all_names=assign("__all__", list_([str_literal(n) for n in all_names])),
            fast_codec=fast_codec)

    def enum_view(self, pf: ParsedFile, d: ast.Enum, sym: Sym) -> EnumView:
        for v in d.values:
            problem = naming.rejection(v.name, "enum value name")
            if problem is None and v.name.startswith("_") and v.name.endswith("_"):
                problem = f"enum value name '{v.name}' is reserved by Python's enum module"
            if problem:
                self.error(problem, v)
                raise _Skip()
        pynames = self.enum_names(d)
        members = [(pynames[v.name], int_literal(v.value)) for v in d.values]
        doc = d.doc or ""
        value_docs = [(pynames[v.name], v.doc) for v in d.values if v.doc]
        if value_docs:
            lines = [doc, ""] if doc else []
            lines.append("Values:")
            for vname, vdoc in value_docs:
                vlines = vdoc.strip().splitlines() or [""]
                lines.append(f"- {vname}: {vlines[0]}")
                lines.extend(f"  {ln}" for ln in vlines[1:])
            doc = "\n".join(lines)
        return EnumView(sym.name, docstring(doc, IND1), members)

    def typedef_view(self, pf: ParsedFile, d: object, sym: Sym, names: FileNames) -> TypedefView:
        if isinstance(d, ast.Senum):
            value: Expr = Atom(names.builtin("str"))
        else:
            ti = self.resolve(pf.path, d.type)
            value = Atom(names.ref(ti.sym)) if ti.sym is not None else self.hint(ti, names)
        return TypedefView(sym.name, assign(sym.name, value))

    def resolved_consts(self, files: list, names: FileNames):
        """``(definition, symbol, value, hint)`` of each constant of ``files`` to
        generate, in order (one whose type or value cannot be generated is left out)."""
        for pf in files:
            for d in pf.document.definitions:
                sym = self.symbols.get((pf.path, d.name))
                if sym is None or not isinstance(d, ast.Const):
                    continue
                before = names.snapshot()
                try:
                    ti = self.resolve(pf.path, d.type)
                    value = self.value(d.value, ti, pf.path, names)
                    hint = self.hint(ti, names)
                except _Skip:
                    names.restore(before)  # what it began to import is not needed
                    continue
                yield d, sym, value, hint

    def constants_view(self, package: str, files: list) -> ConstantsView:
        const_names = self._module_level(files, ("const",))
        names = FileNames(self, package, "constants", const_names)
        consts, all_names = [], []
        for d, sym, value, hint in self.resolved_consts(files, names):
            doc = const_comment(d.doc)
            consts.append(ConstView(sym.name, doc, assign(f"{sym.name}: {hint.flat()}", value)))
            all_names.append(sym.name)
        return ConstantsView(names.import_lines(), consts,
                             assign("__all__", list_([str_literal(n) for n in all_names])))

    # -- services ---------------------------------------------------------------------------

    def _service_chain(self, pf: ParsedFile, svc: ast.Service) -> list:
        """The ancestors of ``svc`` (nearest first) as (ParsedFile, Service)."""
        chain = []
        cur_pf, cur = pf, svc
        seen = {(pf.path, svc.name)}
        while cur.extends:
            found = self.program.lookup(cur_pf.path, cur.extends)
            if found is None or not isinstance(found[1], ast.Service):
                self.error(f"base service '{cur.extends}' is undefined", cur)
                raise _Skip()
            cur_pf, cur = found
            if (cur_pf.path, cur.name) in seen:
                self.error(f"service '{svc.name}' extends itself", svc)
                raise _Skip()
            seen.add((cur_pf.path, cur.name))
            chain.append((cur_pf, cur))
        return chain

    def service_view(self, package: str, pf: ParsedFile, svc: ast.Service) -> ServiceView:
        sym = self.symbols[(pf.path, svc.name)]
        chain = self._service_chain(pf, svc)
        all_fn_names = [f.name for f in svc.functions]
        for _, anc in chain:
            all_fn_names.extend(f.name for f in anc.functions)
        for fn in svc.functions:
            problem = naming.rejection(fn.name, "function name")
            if problem:
                self.error(problem, fn)
                raise _Skip()
        reserved = set(naming.SERVICE_RESERVED)
        for n in all_fn_names:
            reserved.update({f"send_{n}", f"recv_{n}", f"process_{n}"})
        fn_py = dict(zip([f.name for f in svc.functions],
                         naming.assign_names([f.name for f in svc.functions], reserved)))

        module_level = {"Iface", "Client", "AsyncClient", "Processor"}
        for fn in svc.functions:
            module_level.update({f"{fn.name}_args", f"{fn.name}_result"})
        names = FileNames(self, package, "service", module_level)
        base = None
        if chain:
            base_pf, base_svc = chain[0]
            base_sym = self.symbols.get((base_pf.path, base_svc.name))
            if base_sym is None:
                raise _Skip()
            names.service_base = f"{base_sym.module}.{base_sym.name}"
            base = self.base_service_alias

        functions, structs, classes, table = [], [], [], []
        for fn in svc.functions:
            args_cls, result_cls = f"{fn.name}_args", f"{fn.name}_result"
            args_struct = _Synthetic(fn.args)
            structs.append(self.struct_view(pf.path, args_cls, ast.STRUCT, fn.args, None, names,
                                            args_struct))
            classes.append(args_cls)
            arg_names = self.field_names(args_struct)
            ret_ti = self.resolve(pf.path, fn.return_type) if fn.return_type is not None else None
            throws = []
            if not fn.oneway:
                success = [] if ret_ti is None else [
                    ast.Field(0, "success", fn.return_type, ast.OPTIONAL, loc=fn.loc)]
                result_struct = _Synthetic(success + list(fn.throws))
                structs.append(self.struct_view(pf.path, result_cls, ast.STRUCT,
                                                result_struct.fields, None, names, result_struct))
                classes.append(result_cls)
                res_names = self.field_names(result_struct)
                for t in fn.throws:
                    tti = self.resolve(pf.path, t.type)
                    if tti.kind != "struct" or tti.sym.definition.kind != ast.EXCEPTION:
                        self.error(f"'{t.name}' in throws of '{fn.name}' is not an exception", t)
                        raise _Skip()
                    throws.append((res_names[t.name], names.ref(tti.sym, PROCESS_LOCALS)))
            table.append(call("_tg.Function", [str_literal(fn.name), str_literal(fn_py[fn.name]),
                                               args_cls] + ([] if fn.oneway else [result_cls])))
            functions.append(self.function_view(fn, fn_py[fn.name], args_cls, result_cls,
                                                [arg_names[a.name] for a in fn.args],
                                                [self.resolve(pf.path, a.type) for a in fn.args],
                                                ret_ti, throws, names))
        if functions:
            process_map = assign("_tg_methods", dict_(
                [(f.wire_name, str_literal(f"process_{f.name}")) for f in functions]), IND1)
        else:
            str_ = names.builtin("str")
            process_map = f"{IND1}_tg_methods: {names.typing('Dict')}[{str_}, {str_}] = {{}}"
        return ServiceView(
            name=sym.name, file_name=sym.name, doc=docstring(svc.doc, IND1),
            source=os.path.basename(pf.path), base=base, functions=functions, structs=structs,
            fix_specs=layout(call("_tg.fix_specs", [list_(classes)])) if classes else "",
            imports=names.import_lines(),
            all_names=assign("__all__", list_([str_literal(n) for n in
                                               ["Iface", "Client", "AsyncClient", "Processor"]
                                               + classes])),
            process_map=process_map,
            bind=layout(call("_tg.bind_functions", [
                str_literal(svc.name), list_(["Processor", "AsyncClient"]), list_(table)])))

    def function_view(self, fn: ast.Function, pyname: str, args_cls: str, result_cls: str,
                      arg_names: list, arg_types: list, ret: Optional[TypeInfo], throws: list,
                      names: FileNames) -> FunctionView:
        scope = frozenset({pyname, "self"} | set(arg_names))
        params = [Atom("self")] + [seq(f"{n}: ", self.optional_hint(t, names, scope))
                                   for n, t in zip(arg_names, arg_types)]
        ret_hint = "None" if ret is None else self.hint(ret, names, scope).flat()
        void = ret is None
        wire = str_literal(fn.name)
        # A local annotated with the return hint: returning ``_tg_call``'s Any directly
        # would fail ``mypy --strict`` (no-any-return). ``_tg_value`` cannot clash with an
        # argument: IDL names may not start with ``_tg``.
        async_call = call("self._tg_call", [wire, call(args_cls, [kwarg(n, n) for n in arg_names])])
        if void or fn.oneway:
            async_body = layout(async_call, IND2, head="await ")
        else:
            async_body = "\n".join([layout(seq("await ", async_call), IND2, head=f"_tg_value: {ret_hint} = ",
                                           assignment=True),
                                    f"{IND2}return _tg_value"])
        send_call = layout(call(f"self.send_{pyname}", arg_names), IND2)
        send_body = layout(call("self._tg_send", [
            str_literal(fn.name), call(args_cls, [kwarg(n, n) for n in arg_names]),
            "True" if fn.oneway else "False"]), IND2)
        handler = call(f"self._handler.{pyname}", [f"args.{n}" for n in arg_names])
        if fn.oneway or void:
            handler_call = layout(handler, IND3)
        else:
            handler_call = assign("result.success", handler, IND3)
        return FunctionView(
            name=pyname, wire_name=str_literal(fn.name), oneway=fn.oneway, void=void,
            doc=docstring(fn.doc, IND2),
            iface_def=def_line(pyname, params, ret_hint, IND1),
            send_def=def_line(f"send_{pyname}", params, "None", IND1),
            send_call=send_call, send_body=send_body,
            recv_def=def_line(f"recv_{pyname}", [Atom("self")], ret_hint, IND1),
            throws=throws,
            process_def=def_line(f"process_{pyname}", [
                "self", f"seqid: {names.builtin('int', scope)}",
                f"iprot: {names.typing('Any', scope)}", f"oprot: {names.typing('Any', scope)}"],
                "None", IND1),
            # Without read()/write() (no_default_serdes) the runtime's generic path reads.
            read_args=(f"{IND2}args.read(iprot)" if not self.options.no_default_serdes
                       else f"{IND2}_tg.read_struct(args, iprot)"),
            args_cls=args_cls, result_cls=result_cls, handler_call=handler_call,
            recv_call=layout(call("self._tg_recv", [wire, "result"]), IND2),
            missing_result=layout(call("self._tg_missing_result", [wire]), IND2, head="raise "),
            reply=layout(call("self._tg_reply", ["oprot", wire, "seqid", "result"]), IND2),
            reply_error=layout(call("self._tg_reply_error", ["oprot", wire, "seqid", "ex"]), IND3),
            oneway_error=layout(call("self._tg_oneway_error", [wire, "ex"]), IND3),
            async_def=def_line(pyname, params, ret_hint, IND1, keyword="async def"),
            async_call=async_body)


class _Synthetic:
    """A field list standing in for a struct (function arguments and results)."""

    def __init__(self, fields: list):
        self.fields = fields
        self.kind = ast.STRUCT

