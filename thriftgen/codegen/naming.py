"""How IDL names become Python names (the escaping rule) and module paths.

The rule, applied the same way everywhere (fields, arguments, enum members,
functions, definitions):

1. A name that is a Python keyword (``keyword.kwlist`` of Python 3.9-3.13:
   ``from``, ``None``, ``async``, ...) or that clashes with a member the
   generator itself defines in that scope (``read``, ``write``, ``validate``,
   ``thrift_spec`` and ``self`` in structs; ``args``/``with_traceback``/
   ``add_note`` in exceptions; ``mro`` in enums; ``send_x``/``recv_x``/
   ``process_x`` and the base-class members in services) gets ``_`` appended.
2. If the result is taken by another name of the same scope, ``_`` is appended
   again until it is free; names are claimed in declaration order, names that
   need no escaping first. So ``from`` next to an IDL field ``from_`` becomes
   ``from__``; the outcome depends only on the IDL.
3. Soft keywords (``match``, ``case``, ``type``, ``_``) are *not* escaped: they
   are valid identifiers everywhere, and Apache's generator keeps them (a field
   named ``type`` stays ``obj.type``).
4. Rejected with an error instead: names starting with ``__`` (Python would
   mangle them inside the class body), names starting with ``_tg`` (reserved
   for generated helpers), enum members of the form ``_x_`` (reserved by
   ``enum``), and anything that is not an ASCII identifier.

Module paths (``namespace py a.b.c``): every component must be an ASCII
identifier and not a keyword, else the file is rejected; nothing else is
rewritten, so import paths stay exactly Apache's.
"""

from __future__ import annotations

import re
import sys
from typing import Iterable, Optional

from thriftgen.runtime.errors import ThriftgenError

#: Keywords of every Python from 3.9 on (fixed so output does not depend on the
#: Python running the generator).
PY_KEYWORDS = frozenset(
    """False None True and as assert async await break class continue def del
    elif else except finally for from global if import in is lambda nonlocal not
    or pass raise return try while with yield""".split()
)

#: Valid identifiers that only act as keywords in some positions; never escaped.
SOFT_KEYWORDS = frozenset(["match", "case", "type", "_"])

#: Members a generated struct/union defines itself (plus ``self``, the first
#: parameter of every method).
STRUCT_RESERVED = frozenset(["self", "read", "write", "validate", "thrift_spec"])
#: ... and what an exception inherits from ``BaseException``.
EXCEPTION_RESERVED = STRUCT_RESERVED | frozenset(["args", "with_traceback", "add_note"])
#: Enum members ``enum`` refuses.
ENUM_RESERVED = frozenset(["mro"])
#: Names a generated service Client/Processor defines or inherits.
SERVICE_RESERVED = frozenset(
    ["self", "process", "on_message_begin", "_handler", "_processMap", "_iprot", "_oprot", "_seqid"]
)

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class NamingError(ThriftgenError):
    """An IDL name that cannot be represented in Python."""


def rejection(name: str, what: str = "name") -> Optional[str]:
    """Why ``name`` cannot be used as a Python name at all (None if it can)."""
    if name in _ACCEPTED:  # asked for every field of every struct: mostly the same names
        return None
    problem = _rejection(name, what)
    if problem is None and len(_ACCEPTED) < _ACCEPTED_MAX:
        _ACCEPTED.add(name)
    return problem


#: Names rejection() accepted (whatever ``what`` was: it only words the message).
_ACCEPTED: set = set()
_ACCEPTED_MAX = 1 << 16


def _rejection(name: str, what: str) -> Optional[str]:
    if not _IDENT.match(name):
        return f"{what} '{name}' is not a valid Python identifier"
    if name.startswith("__"):
        return f"{what} '{name}' starts with '__' (Python would mangle it inside a class)"
    if name == "_tg" or name.startswith("_tg_"):
        return f"{what} '{name}' uses the '_tg' prefix reserved for generated code"
    return None


def needs_escape(name: str, reserved: Iterable[str] = ()) -> bool:
    return name in PY_KEYWORDS or name in reserved


def escape(name: str, reserved: Iterable[str] = ()) -> str:
    """``name`` with ``_`` appended while it is a keyword or reserved."""
    reserved = frozenset(reserved)
    while needs_escape(name, reserved):
        name += "_"
    return name


def assign_names(names: list[str], reserved: Iterable[str] = ()) -> list[str]:
    """Python names for ``names`` (one scope, declaration order), unique.

    Names that need no escaping keep themselves (they are claimed first), the
    others get ``_`` appended until neither keyword, reserved nor taken.
    """
    reserved = frozenset(reserved)
    taken: set[str] = set()
    result: list[Optional[str]] = [None] * len(names)
    for i, n in enumerate(names):
        if not needs_escape(n, reserved) and n not in taken:
            result[i] = n
            taken.add(n)
    for i, n in enumerate(names):
        if result[i] is not None:
            continue
        cand = n
        while needs_escape(cand, reserved) or cand in taken:
            cand += "_"
        result[i] = cand
        taken.add(cand)
    return [r for r in result if r is not None]


def shadowing_error(package: str) -> Optional[str]:
    """Why a generated package at ``package`` (dotted) would break imports, or None:
    its top-level name is the runtime's package or a standard library module, which a
    package of that name on ``sys.path`` hides from every importer."""
    top = package.split(".", 1)[0]
    if top == "thriftgen":
        return ("'thriftgen' would hide the thriftgen package itself, whose runtime "
                "(thriftgen.runtime) generated code imports")
    if top in sys.stdlib_module_names:
        return (f"'{top}' would hide the standard library's '{top}' module from every "
                f"importer once the output directory is on sys.path")
    return None


def module_path_error(path: str) -> Optional[str]:
    """Why ``path`` (dotted) cannot be a Python package path (None if it can)."""
    if not path:
        return "the Python module path is empty"
    for part in path.split("."):
        if not _IDENT.match(part):
            return f"'{part}' in '{path}' is not a valid Python identifier"
        if part in PY_KEYWORDS:
            return f"'{part}' in '{path}' is a Python keyword"
    return None
