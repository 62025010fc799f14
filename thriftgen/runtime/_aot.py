"""What modules generated with ``fast_codec=aot`` import: the codec helpers
(:mod:`._codec_helpers`, re-exported under the same names) and the entry
points into the JIT (:mod:`._compiler`) that such a module needs only off its
fast path: fields out of the canonical order (:func:`_resume_b` /
:func:`_resume_c`), a nested class without generated code (:func:`_function`),
and the error-context table of a failing line (:func:`_wrap`). Importing this
module compiles nothing and does not import the compiler; the compiler does
not import this module (it takes the helpers from :mod:`._codec_helpers`).

Generated modules import names from here under their own private names
(``from thriftgen.runtime._aot import _u_i as _tgc_u_i, ...``) and call
:func:`_install` once per class; what they may import is :data:`AOT_NAMES`.
"""

import functools

from . import _codec_helpers as _H
from ._codec_helpers import (  # re-exported: generated modules import these by name
    _I8 as _I8,
    _L4 as _L4,
    _UUID as _UUID,
    _ZZ1 as _ZZ1,
    _bskip as _bskip,
    _bulk_packers as _bulk_packers,
    _bulk_unpackers as _bulk_unpackers,
    _chain_miss as _chain_miss,
    _cskipf as _cskipf,
    _enum_map as _enum_map,
    _err_count as _err_count,
    _err_depth as _err_depth,
    _err_elem_type as _err_elem_type,
    _err_length as _err_length,
    _err_map_types as _err_map_types,
    _err_truncated as _err_truncated,
    _err_union as _err_union,
    _install as _install,
    _join as _join,
    _new as _new,
    _p_b as _p_b,
    _p_bbi as _p_bbi,
    _p_bhb as _p_bhb,
    _p_bhbbi as _p_bhbbi,
    _p_bhbi as _p_bhbi,
    _p_bhd as _p_bhd,
    _p_bhh as _p_bhh,
    _p_bhi as _p_bhi,
    _p_bhq as _p_bhq,
    _p_bi as _p_bi,
    _p_d as _p_d,
    _p_dle as _p_dle,
    _p_h as _p_h,
    _p_i as _p_i,
    _p_q as _p_q,
    _pack as _pack,
    _packer as _packer,
    _rsize as _rsize,
    _rv16 as _rv16,
    _rv32 as _rv32,
    _rv64 as _rv64,
    _rzz16 as _rzz16,
    _string_runs as _string_runs,
    _u_I as _u_I,
    _u_d as _u_d,
    _u_dle as _u_dle,
    _u_h as _u_h,
    _u_i as _u_i,
    _u_q as _u_q,
    _ulen as _ulen,
    _unpack_from as _unpack_from,
    _unpacker as _unpacker,
    _uuid_bytes as _uuid_bytes,
    _vlen as _vlen,
    _wfh as _wfh,
    _wv16 as _wv16,
    _wv32 as _wv32,
    _wv64 as _wv64,
    _wvar as _wvar,
    _zlen16 as _zlen16,
    _zlen32 as _zlen32,
    _zlen64 as _zlen64,
    ENC as ENC,
    ENC_LAX as ENC_LAX,
    DEC as DEC,
    DEC_LAX as DEC_LAX,
    SIZE as SIZE,
    REST as REST,
    PLAN_ATTR as PLAN_ATTR,
    PLAN_SIZE as PLAN_SIZE,
    HELPERS as HELPERS,
)

_compiler = None


def _jit():
    global _compiler
    if _compiler is None:
        from . import _compiler as mod

        _compiler = mod
    return _compiler


def _resume_b(obj, buf, pos, depth):
    """:func:`._compiler._resume_b`: fields out of order, unknown or repeated
    (the general loop, compiled on first need)."""
    return _jit()._resume_b(obj, buf, pos, depth)


def _resume_c(obj, buf, pos, depth, last):
    """:func:`._compiler._resume_c`."""
    return _jit()._resume_c(obj, buf, pos, depth, last)


def _function(cls, proto, slot):
    """A class's codec function: generated if its module has one (without
    importing the compiler), else JIT-compiled."""
    plan = cls.__dict__.get(PLAN_ATTR[proto])
    if plan is not None and plan[0] is getattr(cls, "thrift_spec", None) and plan[slot] is not None:
        return plan[slot]
    return _jit().get_function(cls, proto, slot)


@functools.lru_cache(maxsize=256)
def _aot_ctx(cls, proto, slot, fast_defaults):
    try:
        return _jit().aot_context(cls, proto, slot, fast_defaults)
    except Exception:  # a spec the generator rejects now: the error keeps no path
        return {}


def _wrap(ex, ctxmap, loc, encoding=False):
    """:func:`._codec_helpers._wrap` for generated functions, which pass
    ``(cls, proto, slot, fast_defaults)`` instead of the table: it is rebuilt
    by running the generator again (:func:`._compiler.aot_context`; only on
    errors, cached)."""
    if ctxmap.__class__ is tuple:
        ctxmap = _aot_ctx(*ctxmap)
    return _H._wrap(ex, ctxmap, loc, encoding)


#: every name a generated module may import from here
AOT_NAMES = HELPERS | _H.JIT_ENTRIES
