"""What codec functions call at run time: struct packers, varint and zigzag
helpers, error constructors, error-path rendering, :func:`_install`.

The bottom of the codec modules, standard library only: the JIT compiler
(:mod:`._compiler`) binds these into the namespace of the functions it
``exec``s, and :mod:`._aot` re-exports them (with the JIT entry points) for
modules generated with ``fast_codec=aot``. It imports neither.

Error paths: each generated function has one ``try``; its handler calls
:func:`_wrap` with a table mapping *line offsets from the ``def`` line* to
path contexts, so the same table works in an ``exec``'d JIT source and at
any position inside a generated file.
"""

import functools
import struct
import uuid as _uuid_mod

from . import _wire as W
from .skip import bskip as _bskip, cskip_field as _cskipf  # noqa: F401 (generated code calls them)

# plan layout, per class and protocol (see _compiler):
# [thrift_spec, enc, enc_lax, dec, dec_lax, size, rest]
ENC, ENC_LAX, DEC, DEC_LAX, SIZE, REST = 1, 2, 3, 4, 5, 6
PLAN_ATTR = {"binary": "_tg_plan_binary", "compact": "_tg_plan_compact"}
PLAN_SIZE = 7

# ---------------------------------------------------------------------------
# helpers referenced by generated code (names as the generated source spells them)

_new = object.__new__
# a chain of unpacks past the end of the input (see _compiler.read_struct_chain)
_chain_miss = (struct.error, IndexError)
_I8 = W.I8
_ZZ1 = W.ZZ1
_UUID = _uuid_mod.UUID
_u_h = W.S_H.unpack_from
_u_i = W.S_I.unpack_from
_u_I = W.S_UI.unpack_from
_u_q = W.S_Q.unpack_from
_u_d = W.S_D.unpack_from
_u_dle = W.S_DLE.unpack_from
_unpack_from = W.unpack_from
_pack = W.pack
_join = b"".join
_L4 = tuple(W.S_I.pack(k) for k in range(256))  # binary length prefixes of short strings
_p_b = W.S_B.pack
_p_h = W.S_H.pack
_p_i = W.S_I.pack
_p_q = W.S_Q.pack
_p_d = W.S_D.pack
_p_dle = W.S_DLE.pack
_p_bhb = W.S_BHB.pack
_p_bhh = W.S_BHH.pack
_p_bhi = W.S_BHI.pack
_p_bhq = W.S_BHQ.pack
_p_bhd = W.S_BHD.pack
_p_bhbi = W.S_BHBI.pack
_p_bhbbi = W.S_BHBBI.pack
_p_bi = W.S_BI.pack
_p_bbi = W.S_BBI.pack
_rv16 = W.rv16
_rv32 = W.rv32
_rv64 = W.rv64
_rsize = W.rsize
_rzz16 = W.rzz16
_wvar = W.wvar
_wv16 = W.wv16
_wv32 = W.wv32
_wv64 = W.wv64
_wfh = W.wfh
_err_length = W.err_length
_err_truncated = W.err_truncated
_err_count = W.err_count
_err_elem_type = W.err_elem_type
_err_map_types = W.err_map_types
_err_depth = W.err_depth
_err_union = W.err_union


def _uuid_bytes(value):
    raw = value.bytes
    if len(raw) != 16:
        raise ValueError("uuid value must have 16 bytes")
    return raw


def _ulen(s):
    """UTF-8 length of str ``s``."""
    return len(s) if s.isascii() else len(s.encode())


def _vlen(n):
    """Bytes of unsigned varint ``n`` (0 <= n)."""
    return 1 if n < 128 else (n.bit_length() + 6) // 7


def _zlen16(v):
    z = (v << 1) ^ (v >> 15)
    if z < 0 or z >> 16:
        W.err_range(v, 16)
    return 1 if z < 128 else (z.bit_length() + 6) // 7


def _zlen32(v):
    z = (v << 1) ^ (v >> 31)
    if z < 0 or z >> 32:
        W.err_range(v, 32)
    return 1 if z < 128 else (z.bit_length() + 6) // 7


def _zlen64(v):
    z = (v << 1) ^ (v >> 63)
    if z < 0 or z >> 64:
        W.err_range(v, 64)
    return 1 if z < 128 else (z.bit_length() + 6) // 7


_BULK_TABLE_SIZE = 65
_bulk_cache: dict = {}


def _bulk_tables(fmt):
    """(unpack_from, pack) of ``fmt % k`` for k < _BULK_TABLE_SIZE (shared)."""
    tabs = _bulk_cache.get(fmt)
    if tabs is None:
        structs = [struct.Struct(fmt % k) for k in range(_BULK_TABLE_SIZE)]
        tabs = (tuple(x.unpack_from for x in structs), tuple(x.pack for x in structs))
        _bulk_cache[fmt] = tabs
    return tabs


@functools.lru_cache(maxsize=None)
def _unpacker(fmt):
    """``unpack_from`` of a fused run of field heads (shared per format)."""
    return struct.Struct(fmt).unpack_from


@functools.lru_cache(maxsize=None)
def _packer(fmt):
    """``pack`` of a fused run of field heads (shared per format)."""
    return struct.Struct(fmt).pack


class _StringRuns(dict):
    """``table[k]``: ``unpack_from`` of a k-byte string body followed by
    ``suffix`` (the next string's length, ...): one call instead of a slice
    and an unpack per string in a sequence or map of strings.

    Built on first use of each length; lengths up to _STRING_RUN_CACHE are
    kept, longer ones are built per call (an input cannot grow the table
    beyond that). A length with the top bit set was a negative i32."""

    __slots__ = ("fmt",)

    def __init__(self, suffix):
        super().__init__()
        self.fmt = ">%ds" + suffix

    def __missing__(self, k):
        if k > W.MAX_I32:
            W.err_length(k, 0)
        fn = struct.Struct(self.fmt % k).unpack_from
        if k < _STRING_RUN_CACHE:
            self[k] = fn
        return fn


_STRING_RUN_CACHE = 4096


@functools.lru_cache(maxsize=None)
def _string_runs(suffix):
    """The shared :class:`_StringRuns` table of ``suffix``."""
    return _StringRuns(suffix)


def _bulk_unpackers(fmt):
    return _bulk_tables(fmt)[0]


def _bulk_packers(fmt):
    return _bulk_tables(fmt)[1]


def _enum_map(targs):
    """Enum value -> member dict for an I32 whose type_args is an enum class."""
    if targs is None or not isinstance(targs, type):
        return None
    members = getattr(targs, "__members__", None)
    if not members:
        return None
    out = {}
    for member in members.values():
        try:
            out.setdefault(int(member), member)
        except (TypeError, ValueError):
            return None
    return out


# ---------------------------------------------------------------------------
# error paths

#: format of a bulk-packed element, by the name the context entry gives
_BULK_PACKERS = {
    "b": W.S_B.pack, "h": W.S_H.pack, "i": W.S_I.pack, "q": W.S_Q.pack,
    "d": W.S_D.pack, "<d": W.S_DLE.pack,
}


def _render(ctx, loc):
    """Path segments of a line context (outermost first)."""
    segs = []
    for item in ctx:
        tag = item[0]
        try:
            if tag == "f":  # a known field
                segs.append(item[1])
            elif tag == "u":  # field read by the shared skip line
                fid = loc.get("fid")
                name = item[1].get(fid)
                segs.append(name if name else ".<field %s>" % (fid,))
            elif tag == "i":  # decoded element index
                segs.append("[%d]" % loc[item[1]])
            elif tag == "mk":  # decoding the key of map entry #i
                segs.append("[<key #%d>]" % loc[item[1]])
            elif tag == "mv":  # value of key k
                segs.append("[%s]" % W._short_repr(loc[item[1]]))
            elif tag == "ei":  # encoding element x of sequence v
                x = loc[item[1]]
                idx = "?"
                for i, y in enumerate(loc[item[2]]):
                    if y is x:
                        idx = str(i)
                        break
                segs.append("[%s]" % idx)
            elif tag == "es":  # encoding set element x
                segs.append("{%s}" % W._short_repr(loc[item[1]]))
            elif tag == "ek":  # encoding map key k
                segs.append("[<key %s>]" % W._short_repr(loc[item[1]]))
            elif tag == "eb":  # bulk-packed sequence: find the first bad element
                packer = _BULK_PACKERS[item[2]]
                idx = "?"
                for i, y in enumerate(loc[item[1]]):
                    try:
                        packer(y)
                    except Exception:
                        idx = str(i)
                        break
                segs.append("[%s]" % idx)
        except Exception:
            segs.append("[?]")
    return segs


@functools.lru_cache(maxsize=64)
def _parse_ctx(text):
    import ast

    return ast.literal_eval(text)


def _wrap(ex, ctxmap, loc, encoding=False):
    """Called from a codec function's exception handler: ``ex`` as a
    ProtocolError carrying the path of the line that failed (``ctxmap`` is
    keyed by line offset from the function's ``def`` line).

    ``ctxmap`` may also be the table as text (modules of earlier versions);
    ahead-of-time functions pass a key instead, which :func:`._aot._wrap` turns
    into the table before calling this."""
    pe = W.convert_exception(ex, encoding)
    tb = ex.__traceback__
    if tb is not None:
        if ctxmap.__class__ is str:
            ctxmap = _parse_ctx(ctxmap)
        ctx = ctxmap.get(tb.tb_lineno - tb.tb_frame.f_code.co_firstlineno)
        if ctx:
            pe._add_path(*_render(ctx, loc))
    return pe


# ---------------------------------------------------------------------------
# generated code support


def _install(cls, proto, enc, dec, size):
    """Attach generated functions to ``cls``: the ``_tg_*`` hooks that
    :func:`thriftgen.runtime.serialize` / ``deserialize`` prefer, and the
    plan slots every other entry point (and the JIT, for nested classes) uses."""

    def encode(obj, _enc=enc):
        out = bytearray()
        _enc(obj, out)
        return bytes(out)

    plan = [None] * PLAN_SIZE
    plan[0] = cls.thrift_spec
    plan[ENC] = enc
    plan[DEC] = dec
    plan[SIZE] = size
    setattr(cls, PLAN_ATTR[proto], plan)
    setattr(cls, "_tg_encode_" + proto, encode)
    setattr(cls, "_tg_decode_" + proto, dec)
    setattr(cls, "_tg_size_" + proto, size)


#: names generated code may import from here (and :mod:`._aot` re-exports)
HELPERS = frozenset(k for k in list(globals()) if k.startswith("_") and not k.startswith("__")
                    and k not in ("_bulk_cache", "_uuid_mod", "_render",
                                  "_BULK_TABLE_SIZE", "_BULK_PACKERS", "_bulk_tables",
                                  "_parse_ctx", "_aot_ctx", "_StringRuns",
                                  "_STRING_RUN_CACHE"))

#: what :mod:`._aot` adds for generated modules: entry points into the JIT
#: (:mod:`._compiler`), which this module does not import
JIT_ENTRIES = frozenset({"_resume_b", "_resume_c", "_function"})
