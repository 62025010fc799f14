"""The fast codec section at the end of each generated ``ttypes.py``.

The runtime compiler (:mod:`thriftgen.runtime._compiler`) writes the code:
this module only describes the module's structs to it -- their specs with
:class:`~thriftgen.runtime._compiler.StructRef` /
:class:`~thriftgen.runtime._compiler.EnumRef` where the generated module
names a class, and which fields start with a non-``None`` value -- and wraps
the result:

* ``# fmt: off`` / ``# fmt: on``: the section is already final, black leaves
  it alone (so ``no_fmt`` output equals formatted output);
* ``if not typing.TYPE_CHECKING:``: mypy skips the untyped functions (the
  generated classes' types are unaffected);
* every name it defines starts with a prefix no module-level IDL name uses.

Per class and protocol it installs ``encode``/``decode``/``size`` functions
(see :func:`thriftgen.runtime._aot._install`).

Only ``-thrift fast_codec=aot`` emits the section.  By default (``jit``, and
``no_fast_codec``) it is left out and the runtime compiles the same functions
from ``thrift_spec`` on first use.  Measured on bench/codegen.py's 1k-struct
synthetic IDL (Apache's output: 8.0 MB): the classes and specs take 3.1 MB
(the whole JIT output, 0.39x Apache's), the section 8.0 MB more -- decoders
4.5, encoders 1.85, size functions 1.35, constants and installs 0.3 -- so no
emission with a function per class and kind fits the 0.5x-Apache output goal
(4.0 MB).  Its error-context tables (another 2.5 MB) are not emitted: the
runtime rebuilds one when an error needs it (``_aot._wrap``).  What the
section buys: no compile at the first use of a class (first encode+decode
~0.02 ms instead of ~17-24 ms), at ~4x the pyc size and ~2x the cold import
time of the module (23.5 vs 12.7 ms).
"""

from __future__ import annotations

from thriftgen.runtime._compiler import AotClass, EnumRef, StructRef, emit_module
from thriftgen.runtime.ttype import TType

#: Protocols with generated functions.  Generated code is the JIT's, so the
#: two run at the same speed once warm; generating saves only the first call's
#: compile.  Compact functions would be ~60% of the section (measured on a
#: 1k-struct IDL) for the less used protocol: compact stays JIT-compiled.
PROTOCOLS = ("binary",)


def fast_codec_section(structs: list, names) -> str:
    """The section's text for the ``StructView``s of one ttypes module.

    ``names`` is the module's ``FileNames`` (it spells class references and
    knows the module-level names).
    """
    module_level = set(names.module_level)
    prefix = _prefix(module_level)
    classes = [_describe(s, names) for s in structs]
    body = emit_module(classes, PROTOCOLS, prefix, shadowed=module_level)
    # TYPE_CHECKING joins the module's typing import (imports stay at the top).
    type_checking = names.typing("TYPE_CHECKING", frozenset(module_level))
    lines = [
        "# fmt: off",
        "# Fast codec: generated encode/decode/size functions (thriftgen.runtime._aot).",
        f"if not {type_checking}:",
    ]
    lines += [f"    {line}" if line else "" for line in body]
    lines.append("# fmt: on")
    return "\n".join(lines)


def _prefix(module_level: set) -> str:
    """``_tgc_``, unless an IDL name of the module already starts with it."""
    prefix, n = "_tgc_", 0
    while any(name.startswith(prefix) for name in module_level):
        prefix = f"_tgc{n}_"
        n += 1
    return prefix


def _describe(s, names) -> AotClass:
    fields = sorted(s.fields, key=lambda f: f.id)
    spec = [(f.id, _ttype(f.type), f.name, _type_args(f.type, names), None) for f in fields]
    if s.is_exception or any(f.fresh_default for f in fields):
        defaults = None  # the decoder runs __init__ (exception state, fresh containers)
    else:
        defaults = {f.name: f.default for f in fields if f.default is not None}
    return AotClass(s.name, spec, union=s.kind == "union", defaults=defaults)


def _ttype(ti) -> int:
    return int(getattr(TType, ti.ttype))


def _type_args(ti, names):
    k = ti.kind
    if k == "string":
        return "UTF8"
    if k == "binary":
        return "BINARY"
    if k == "enum":
        return EnumRef(names.ref(ti.sym))
    if k == "struct":
        return [StructRef(names.ref(ti.sym), ti.sym.name, ti.sym.module == names.package), None]
    if k in ("list", "set"):
        return (_ttype(ti.elem), _type_args(ti.elem, names), False)
    if k == "map":
        return (_ttype(ti.key), _type_args(ti.key, names), _ttype(ti.value),
                _type_args(ti.value, names), False)
    return None
