"""Big regular expressions compiled once per machine, not once per run.

The skeleton scanner's patterns are ~95 kB of regex source; ``re.compile`` turns
that into SRE code in pure Python, ~0.1 s of every trimming run. The SRE code
depends only on the pattern text and the interpreter, so, like bytecode, it is
kept: :func:`compile_cached` stores what ``re``'s compiler hands to
``_sre.compile`` (flags, code words, group tables) in the user's sealed cache
(:mod:`thriftgen.cachedir`, part ``re``), keyed by the pattern and the exact
interpreter build, and rebuilds the pattern object from it in a millisecond.

Safety: an entry is used only when its seal verifies (written by this user's
thriftgen); ``_sre.compile`` validates the code again; any failure (another
interpreter's internals, a missing or unsafe cache, ``THRIFTGEN_NO_CACHE``)
falls back to ``re.compile``. The cache holds no input-dependent data, so
``--no-cache`` (the parse cache) does not turn it off; ``THRIFTGEN_NO_CACHE`` does.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import re
import sys

_PART = "re"


def _interpreter_tag() -> str:
    import _sre

    return f"{sys.implementation.cache_tag}\0{sys.version}\0{getattr(_sre, 'MAGIC', '')}"


def _sre_modules():
    """re's parser and compiler modules (``re._parser`` from 3.11, ``sre_*`` before)."""
    try:
        from re import _compiler, _parser  # type: ignore[attr-defined]
    except ImportError:  # Python 3.10
        import sre_compile as _compiler  # type: ignore[no-redef]
        import sre_parse as _parser  # type: ignore[no-redef]
    return _parser, _compiler


def _sre_args(pattern: str, flags: int) -> tuple:
    """What ``re``'s compiler passes to ``_sre.compile`` after the pattern itself."""
    parser, compiler = _sre_modules()
    parsed = parser.parse(pattern, flags)
    code = compiler._code(parsed, flags)
    groupindex = dict(parsed.state.groupdict)
    indexgroup = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    # plain ints and strs (flags may be a RegexFlag): what marshal stores
    return (int(flags | parsed.state.flags), [int(c) for c in code], int(parsed.state.groups - 1),
            {str(k): int(v) for k, v in groupindex.items()}, tuple(indexgroup))


def _from_args(pattern: str, args: tuple) -> re.Pattern:
    import _sre

    return _sre.compile(pattern, *args)


def _store():
    if os.environ.get("THRIFTGEN_NO_CACHE"):
        return None
    try:
        from thriftgen.cachedir import open_store

        return open_store(warn=False)
    except Exception:  # a cache never fails a run
        return None


def compile_cached(pattern: str, flags: int = 0) -> re.Pattern:
    """``re.compile(pattern, flags)``, from the cache when it holds this pattern."""
    key = hashlib.sha256(f"{_interpreter_tag()}\0{flags}\0{pattern}".encode()).hexdigest()
    store = _store()
    if store is not None:
        data = store.read(_PART, key)
        if data is not None:
            try:
                return _from_args(pattern, marshal.loads(data))
            except Exception:  # another build's internals: compile it afresh
                pass
    try:
        args = _sre_args(pattern, flags)
        compiled = _from_args(pattern, args)
    except Exception:  # re's internals moved: the public way still works
        return re.compile(pattern, flags)
    if store is not None:
        try:
            store.write(_PART, key, marshal.dumps(args))
        except ValueError:  # pragma: no cover - an unmarshallable table: no entry
            pass
    return compiled


__all__ = ["compile_cached"]
