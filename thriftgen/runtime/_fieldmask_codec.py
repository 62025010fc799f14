"""Masked encoders and decoders, compiled per (mask node, protocol, kind).

Each inner node of a :class:`~thriftgen.runtime.fieldmask.FieldMask` gets
Python source specialised for it, written with the line emitters of
:mod:`thriftgen.runtime._compiler` (so selected values are read and written
by exactly the code the unmasked codec uses) and cached on the mask:

* struct node, encode: straight-line over the class's fields; a fully
  selected field is written inline as the unmasked codec writes it (nested
  structs through their class's fast codec), a field with a sub-mask calls the
  node's function, a dropped one costs nothing;
* struct node, decode: the fields tried in spec order by exact header, then
  the general loop for anything else; a dropped field is skipped by its spec
  type (fixed widths and strings arithmetically, the rest through
  :mod:`thriftgen.runtime.skip`), never built;
* list/set/map nodes: the container header carries the exact number of
  elements written; dropped elements/entries are skipped on decode (trailing
  unselected list elements in one :mod:`skip` call).

Function shapes: ``enc(value, out)``, ``dec(buf, pos, depth) -> (value, end)``
where ``depth`` is the nesting budget of the enclosing struct (containers do
not consume it, as in the unmasked codec).
"""

import bisect
import threading

from . import _compiler as C
from . import _wire as W
from ._codec_helpers import DEC, DEC_LAX, ENC, ENC_LAX
from .errors import ProtocolError
from ._fieldmask_tree import ALL, DROP, _prune_value, _struct_cls, _zero, class_meta
from .skip import _bskip_seq, _bskip_struct, _cskip_seq, _cskip_struct, _skip_varints, bskip, cskip

_BOOL, _BYTE, _DOUBLE, _I16, _I32, _I64 = 2, 3, 4, 6, 8, 10
_STRING, _STRUCT, _MAP, _SET, _LIST, _UUID = 11, 12, 13, 14, 15, 16
_CT = W.TTYPE_TO_CT
_ZERO = object()  # a masked-out required field written as its zero value
_UNROLL = 16

_ENC_SLOT = {("binary", True): ENC, ("binary", False): ENC_LAX,
             ("compact", True): ENC, ("compact", False): ENC_LAX}
_DEC_SLOT = {("binary", True): DEC, ("binary", False): DEC_LAX,
             ("compact", True): DEC, ("compact", False): DEC_LAX}


def _info(name, fields=()):
    return C._ClassInfo(name, name, False, list(fields))


def _gen(proto, kind, info, slot, cls):
    target = C._JitTarget(cls, proto, slot)
    if kind == "enc":
        return (C._BinEnc if proto == "binary" else C._CmpEnc)(info, proto, slot, target)
    return (C._BinDec if proto == "binary" else C._CmpDec)(info, proto, slot, target)


def _compile(g):
    with C._lock:
        return g.compile()


# --------------------------------------------------------------------------- value functions

# Whole-value functions depend only on the spec type: shared by every mask.
# Keyed by the identity of the spec's type args (kept alive in the entry).
_shared_fns: dict = {}
_shared_lock = threading.Lock()


def _shared(key, targs, build):
    hit = _shared_fns.get(key)
    if hit is not None and hit[0] is targs:
        return hit[1]
    with _shared_lock:
        hit = _shared_fns.get(key)
        if hit is not None and hit[0] is targs:
            return hit[1]
        fn = build()
        _shared_fns[key] = (targs, fn)
        return fn


def full_encoder(mask, proto, slot, ttype, targs):
    """``enc(v, out)`` writing a whole value of a spec type (no mask)."""
    if ttype == _STRUCT:
        return C.get_function(_struct_cls(targs), proto, slot)

    def build():
        g = _gen(proto, "enc", _info("value"), slot, object)
        g.line(0, "def encode(v, out):")
        g.line(1, "try:")
        g.write(2, ttype, targs, "v", ())
        g.line(1, "except Exception as ex:")
        g.line(2, "raise _wrap(ex, _CTX, locals(), True)")
        return _compile(g)

    return _shared(("fe", proto, slot, ttype, id(targs)), targs, build)


def full_decoder(mask, proto, slot, ttype, targs):
    """``dec(buf, pos, depth) -> (v, end)`` reading a whole value of a spec type."""
    if ttype == _STRUCT:
        return C.get_function(_struct_cls(targs), proto, slot)

    def build():
        g = _gen(proto, "dec", _info("value"), slot, object)
        g.line(0, "def decode(buf, pos, depth):")
        g.line(1, "d1 = depth")
        g.line(1, "n = len(buf)")
        g.line(1, "try:")
        g.read(2, ttype, targs, "x", ())
        g.line(1, "except Exception as ex:")
        g.line(2, "raise _wrap(ex, _CTX, locals())")
        g.line(1, "return x, pos")
        return _compile(g)

    return _shared(("fd", proto, slot, ttype, id(targs)), targs, build)


def node_encoder(mask, node, proto, slot):
    if node is ALL:
        raise AssertionError("ALL has no node encoder")
    builders = {"struct": struct_encoder, "list": seq_encoder, "set": seq_encoder,
                "map": map_encoder}
    return mask._memo(("ne", id(node), proto, slot),
                      lambda: builders[node.kind](mask, node, proto, slot))


def node_decoder(mask, node, proto, slot):
    builders = {"struct": struct_decoder, "list": seq_decoder, "set": seq_decoder,
                "map": map_decoder}
    return mask._memo(("nd", id(node), proto, slot),
                      lambda: builders[node.kind](mask, node, proto, slot))


def _enc_fn(mask, m, proto, slot, ttype, targs):
    """Value encoder for child mask ``m`` (None for DROP)."""
    if m is DROP:
        return None
    if m is ALL:
        return full_encoder(mask, proto, slot, ttype, targs)
    return node_encoder(mask, m, proto, slot)


def _dec_fn(mask, m, proto, slot, ttype, targs):
    if m is DROP:
        return None
    if m is ALL:
        return full_decoder(mask, proto, slot, ttype, targs)
    return node_decoder(mask, m, proto, slot)


def _zero_bytes(mask, proto, slot, ttype, targs):
    fn = full_encoder(mask, proto, slot, ttype, targs)
    out = bytearray()
    fn(_zero(ttype, targs), out)
    return bytes(out)


# --------------------------------------------------------------------------- structs


def _fields(cls):
    return C._fields_of(cls, C._spec_of(cls))


def _effective(node, f, meta, zero_required, decoding):
    m = node.picks.get(f.fid, node.rest)
    if m is DROP and f.fid in meta.required:
        return ALL if decoding or not zero_required else _ZERO
    return m


def struct_encoder(mask, node, proto, slot):
    cls = node.cls
    meta = class_meta(cls)
    fields = _fields(cls)
    g = _gen(proto, "enc", _info(cls.__name__, fields), slot, cls)
    g.info.qualname = cls.__qualname__ + ".<masked>"
    L = g.line
    binary = proto == "binary"
    L(0, "def encode(obj, out):")
    L(1, "try:")
    if not binary:
        L(2, "lf = 0")
    for f in fields:
        m = _effective(node, f, meta, mask.zero_required, False)
        if m is DROP:
            continue
        ctx = (("f", f.seg),)
        t, a, fid = f.ttype, f.targs, f.fid
        if m is _ZERO:
            value = _zero_bytes(mask, proto, slot, t, a)
            if binary:
                if t == _BOOL:
                    value = b"\x00"
                L(2, "out += %s" % g.const(W.S_BH.pack(t, fid) + value, "_z"))
            else:
                if t == _BOOL:
                    L(2, "_wfh(out, 2, %d, lf)" % fid)
                else:
                    L(2, "_wfh(out, %d, %d, lf)" % (_CT[t], fid))
                    L(2, "out += %s" % g.const(value, "_z"))
                L(2, "lf = %d" % fid)
            continue
        L(2, "v = obj.%s" % f.attr, ctx)
        L(2, "if v is not None:")
        if m is ALL:
            if binary:
                g.write_field(3, f)
            else:
                if t == _BOOL:
                    L(3, "_wfh(out, 1 if v else 2, %d, lf)" % fid, ctx)
                else:
                    L(3, "_wfh(out, %d, %d, lf)" % (_CT[t], fid))
                    g.write(3, t, a, "v", ctx)
                L(3, "lf = %d" % fid)
            continue
        fn = g.const(node_encoder(mask, m, proto, slot), "_m")
        if binary:
            L(3, "out += %s" % g.const(W.S_BH.pack(t, fid), "_h"))
        else:
            L(3, "_wfh(out, %d, %d, lf)" % (_CT[t], fid))
            L(3, "lf = %d" % fid)
        L(3, "%s(v, out)" % fn, ctx)
    L(2, "out.append(0)")
    L(1, "except Exception as ex:")
    L(2, "raise _wrap(ex, _CTX, locals(), True)")
    return _compile(g)


_INLINE_LEVELS = 2  # nesting levels of typed skipping emitted inline


def _skip_bin(g, ind, t, a, level=0, hdr=0):
    """Emit code skipping a binary value of spec type ``t`` at ``pos + hdr``
    (``hdr``: bytes of a field header not yet added to ``pos``).

    Typed: the spec says what comes, so fixed widths and strings are skipped
    arithmetically and containers/structs loop over their known layout
    (``_INLINE_LEVELS`` deep); the wire is still checked (element types,
    counts, lengths) and anything unexpected (fields out of order, unknown
    fields) goes through :mod:`thriftgen.runtime.skip`."""
    L = g.line
    w = W.BIN_WIDTH.get(t)
    if w is not None:
        L(ind, "pos += %d" % (w + hdr))
        return
    if t == _STRING:
        # The length is read unsigned, so pos only grows: a length past the end
        # makes the next read (there always is one: the struct's stop byte) fail.
        L(ind, "pos += %d + _u_I(buf, %s)[0]" % (4 + hdr, "pos + %d" % hdr if hdr else "pos"))
        return
    if hdr:
        L(ind, "pos += %d" % hdr)
    inline = level < _INLINE_LEVELS
    if t in (_LIST, _SET):
        et, ea = a[0], a[1]
        ew = W.BIN_WIDTH.get(et)
        if ew is None and not inline:
            L(ind, "pos = %s(buf, pos, %d, d1)" % (g.const(bskip, "_sk"), t))
            return
        ln = g.var("l")
        L(ind, "%s = _u_i(buf, pos + 1)[0]" % ln)
        L(ind, "if %s and buf[pos] != %d:" % (ln, et))
        L(ind + 1, "_err_elem_type(buf[pos], %d)" % et)
        L(ind, "pos += 5")
        L(ind, "if %s < 0:" % ln)
        L(ind + 1, "_err_count(%s, 1, n - pos)" % ln)
        if ew is not None:
            L(ind, "pos += %s * %d" % (ln, ew))
            return
        L(ind, "if %s * %d > n - pos:" % (ln, W.BIN_MIN_WIDTH[et]))
        L(ind + 1, "_err_count(%s, %d, n - pos)" % (ln, W.BIN_MIN_WIDTH[et]))
        L(ind, "for _ in range(%s):" % ln)
        _skip_bin(g, ind + 1, et, ea, level + 1)
        return
    if t == _MAP:
        kt, ka, vt, va = a[0], a[1], a[2], a[3]
        kw, vw = W.BIN_WIDTH.get(kt), W.BIN_WIDTH.get(vt)
        fixed = kw is not None and vw is not None
        if not fixed and not inline:
            L(ind, "pos = %s(buf, pos, 13, d1)" % g.const(bskip, "_sk"))
            return
        ln = g.var("l")
        L(ind, "%s = _u_i(buf, pos + 2)[0]" % ln)
        L(ind, "if %s and (buf[pos] != %d or buf[pos + 1] != %d):" % (ln, kt, vt))
        L(ind + 1, "_err_map_types(buf[pos], buf[pos + 1], %d, %d)" % (kt, vt))
        L(ind, "pos += 6")
        L(ind, "if %s < 0:" % ln)
        L(ind + 1, "_err_count(%s, 1, n - pos)" % ln)
        if fixed:
            L(ind, "pos += %s * %d" % (ln, kw + vw))
            return
        mw = W.BIN_MIN_WIDTH[kt] + W.BIN_MIN_WIDTH[vt]
        L(ind, "if %s * %d > n - pos:" % (ln, mw))
        L(ind + 1, "_err_count(%s, %d, n - pos)" % (ln, mw))
        L(ind, "for _ in range(%s):" % ln)
        _skip_bin(g, ind + 1, kt, ka, level + 1)
        _skip_bin(g, ind + 1, vt, va, level + 1)
        return
    if t == _STRUCT and inline:
        for run in _skip_runs(_fields(_struct_cls(a))):
            if len(run) > 1 or run[0].ttype == _STRING:
                _skip_run_bin(g, ind, run)
                continue
            f = run[0]
            L(ind, "if buf.startswith(%s, pos):" % g.const(W.S_BH.pack(f.ttype, f.fid), "_h"))
            _skip_bin(g, ind + 1, f.ttype, f.targs, level + 1, hdr=3)
        L(ind, "if buf[pos]:")
        L(ind + 1, "pos = %s(buf, pos, d1 - 1, n)" % g.const(_bskip_struct, "_sks"))
        L(ind, "else:")
        L(ind + 1, "pos += 1")
        return
    L(ind, "pos = %s(buf, pos, %d, d1)" % (g.const(bskip, "_sk"), t))


def _skip_runs(fields):
    """Fields grouped into runs a single unpack can check: fixed-width fields
    ending with at most one string (whose length the unpack reads)."""
    run = []
    for f in fields:
        if f.ttype in W.BIN_WIDTH or f.ttype == _STRING:
            run.append(f)
            if f.ttype == _STRING:
                yield run
                run = []
            continue
        if run:
            yield run
            run = []
        yield [f]
    if run:
        yield run


def _skip_run_bin(g, ind, run):
    """Skip a run of fields in canonical order with one unpack of their headers
    (values are pad bytes; a closing string's length is read), field by field
    when the headers differ (absent fields, another order)."""
    L = g.line
    fmt = ">" + "".join("bh" + ("I" if f.ttype == _STRING else "%dx" % W.BIN_WIDTH[f.ttype])
                        for f in run)
    width = C.struct.calcsize(fmt)
    names, checks = [], []
    for f in run:
        t, fi = g.var("t"), g.var("f")
        names += [t, fi]
        checks.append("%s == %d and %s == %d" % (t, f.ttype, fi, f.fid))
    ln = g.var("l") if run[-1].ttype == _STRING else None
    if ln:
        names.append(ln)
    fast = C.fused_try(g, ind, fmt, names, checks)
    L(fast, "pos += %d%s" % (width, " + " + ln if ln else ""))
    L(fast, "break")
    for f in run:
        L(ind + 1, "if buf.startswith(%s, pos):" % g.const(W.S_BH.pack(f.ttype, f.fid), "_h"))
        _skip_bin(g, ind + 2, f.ttype, f.targs, _INLINE_LEVELS, hdr=3)
    L(ind + 1, "break")


def _skip_cmp(g, ind, t, a, level=0):
    """Compact counterpart of :func:`_skip_bin` (value context)."""
    L = g.line
    w = {_BOOL: 1, _BYTE: 1, _DOUBLE: 8, _UUID: 16}.get(t)
    if w is not None:
        L(ind, "pos += %d" % w)
        return
    if t in (_I16, _I32, _I64):
        L(ind, "if buf[pos] < 128:")
        L(ind + 1, "pos += 1")
        L(ind, "else:")
        L(ind + 1, "pos = %s(buf, pos, %d, d1)" % (g.const(cskip, "_sk"), t))
        return
    if t == _STRING:
        ln = g.var("l")
        L(ind, "%s = buf[pos]" % ln)
        L(ind, "if %s < 128:" % ln)
        L(ind + 1, "pos += 1 + %s" % ln)
        L(ind, "else:")
        L(ind + 1, "%s, pos = _rsize(buf, pos)" % ln)
        L(ind + 1, "pos += %s" % ln)
        return
    inline = level < _INLINE_LEVELS
    if t in (_LIST, _SET):
        et, ea = a[0], a[1]
        ew = {_BOOL: 1, _BYTE: 1, _DOUBLE: 8, _UUID: 16}.get(et)
        varint = et in (_I16, _I32, _I64)
        if ew is None and not varint and not inline:
            L(ind, "pos = %s(buf, pos, %d, d1)" % (g.const(cskip, "_sk"), t))
            return
        h, ln = g.var("h"), g.var("l")
        ok = ("(%s & 15 == 1 or %s & 15 == 2)" % (h, h) if et == _BOOL
              else "%s & 15 == %d" % (h, _CT[et]))
        L(ind, "%s = buf[pos]" % h)
        L(ind, "pos += 1")
        L(ind, "%s = %s >> 4" % (ln, h))
        L(ind, "if %s == 15:" % ln)
        L(ind + 1, "%s, pos = _rsize(buf, pos)" % ln)
        L(ind, "if %s and not %s:" % (ln, ok))
        L(ind + 1, "_err_elem_type(%s & 15, %d)" % (h, _CT[et]))
        if ew is not None:
            L(ind, "pos += %s * %d" % (ln, ew))
            return
        L(ind, "if %s > n - pos:" % ln)
        L(ind + 1, "_err_count(%s, 1, n - pos)" % ln)
        if varint:
            L(ind, "pos = %s(buf, pos, %s, n)" % (g.const(_skip_varints, "_sv"), ln))
            return
        L(ind, "for _ in range(%s):" % ln)
        _skip_cmp(g, ind + 1, et, ea, level + 1)
        return
    if t == _MAP and inline:
        kt, ka, vt, va = a[0], a[1], a[2], a[3]
        ln, h = g.var("l"), g.var("h")
        L(ind, "%s = buf[pos]" % ln)
        L(ind, "if %s < 128:" % ln)
        L(ind + 1, "pos += 1")
        L(ind, "else:")
        L(ind + 1, "%s, pos = _rsize(buf, pos)" % ln)
        L(ind, "if %s:" % ln)
        L(ind + 1, "%s = buf[pos]" % h)
        L(ind + 1, "pos += 1")
        kok = ("(%s >> 4 == 1 or %s >> 4 == 2)" % (h, h) if kt == _BOOL
               else "%s >> 4 == %d" % (h, _CT[kt]))
        vok = ("(%s & 15 == 1 or %s & 15 == 2)" % (h, h) if vt == _BOOL
               else "%s & 15 == %d" % (h, _CT[vt]))
        L(ind + 1, "if not (%s and %s):" % (kok, vok))
        L(ind + 2, "_err_map_types(%s >> 4, %s & 15, %d, %d)" % (h, h, _CT[kt], _CT[vt]))
        L(ind + 1, "if %s * 2 > n - pos:" % ln)
        L(ind + 2, "_err_count(%s, 2, n - pos)" % ln)
        L(ind + 1, "for _ in range(%s):" % ln)
        _skip_cmp(g, ind + 2, kt, ka, level + 1)
        _skip_cmp(g, ind + 2, vt, va, level + 1)
        return
    fields = _fields(_struct_cls(a)) if t == _STRUCT else None
    fids = [f.fid for f in fields or ()]
    if (t == _STRUCT and inline and fids and fids[0] >= 1
            and all(x < y for x, y in zip(fids, fids[1:]))):
        ls, b = g.var("ls"), g.var("b")
        L(ind, "%s = 0" % ls)
        L(ind, "%s = buf[pos]" % b)
        for f in fields:
            key = f.fid << 4
            if f.ttype == _BOOL:
                L(ind, "if %s == %d - %s or %s == %d - %s:" % (b, key | 1, ls, b, key | 2, ls))
                L(ind + 1, "pos += 1")
            else:
                L(ind, "if %s == %d - %s:" % (b, key | _CT[f.ttype], ls))
                L(ind + 1, "pos += 1")
                _skip_cmp(g, ind + 1, f.ttype, f.targs, level + 1)
            L(ind + 1, "%s = %d" % (ls, key))
            L(ind + 1, "%s = buf[pos]" % b)
        L(ind, "if %s:" % b)
        L(ind + 1, "pos = %s(buf, pos, d1 - 1, n)" % g.const(_cskip_struct, "_sks"))
        L(ind, "else:")
        L(ind + 1, "pos += 1")
        return
    L(ind, "pos = %s(buf, pos, %d, d1)" % (g.const(cskip, "_sk"), t))


_IMMUTABLE = (bool, int, float, str, bytes)


def _pruner(node):
    return lambda value: _prune_value(value, node, False)


def _plain_defaults(cls, fields):
    """``{attr: initial value}`` of ``fields`` when every one is None or an
    immutable scalar (so decoding may skip ``__init__``), else None."""
    try:
        sample = cls()
    except Exception:
        return None
    out = {}
    for f in fields:
        value = getattr(sample, f.attr, None)
        if value is not None and type(value) not in _IMMUTABLE and not isinstance(value, int):
            return None
        out[f.attr] = value
    return out


def struct_decoder(mask, node, proto, slot):
    cls = node.cls
    meta = class_meta(cls)
    fields = _fields(cls)
    g = _gen(proto, "dec", _info(cls.__name__, fields), slot, cls)
    g.info.qualname = cls.__qualname__ + ".<masked>"
    L = g.line
    binary = proto == "binary"
    masks = {f.fid: _effective(node, f, meta, False, True) for f in fields}
    kept = [f for f in fields if masks[f.fid] is not DROP]
    L(0, "def decode(buf, pos, depth):")
    L(1, "if depth <= 0:")
    L(2, "_err_depth()")
    L(1, "d1 = depth - 1")
    defaults = _plain_defaults(cls, [f for f in fields if masks[f.fid] is not DROP])
    if defaults is None:  # some default is built fresh per instance: run __init__
        L(1, "obj = _cls()")
        for f in fields:
            m = masks[f.fid]
            if m is DROP:
                L(1, "obj.%s = None" % f.attr)
            elif m is not ALL:  # a default the wire may not replace gets the sub-mask too
                prune = g.const(_pruner(m), "_pr")
                L(1, "if obj.%s is not None:" % f.attr)
                L(2, "obj.%s = %s(obj.%s)" % (f.attr, prune, f.attr))
    else:  # one assignment per field, no __init__
        L(1, "obj = %s(_cls)" % g.const(cls.__new__, "_new"))
        for f in fields:
            value = defaults.get(f.attr)
            L(1, "obj.%s = %s" % (f.attr, "None" if value is None else g.const(value, "_d")))
    L(1, "n = len(buf)")
    L(1, "try:")

    def read(ind, f, hdr=0):
        """Emit the read of kept field ``f``'s value (its header consumed, or
        ``hdr`` bytes of it still to add to pos)."""
        m = masks[f.fid]
        ctx = (("f", f.seg),)
        if m is ALL:
            if binary:
                g.read(ind, f.ttype, f.targs, "obj." + f.attr, ctx, hdr=hdr)
            else:
                g.read(ind, f.ttype, f.targs, "obj." + f.attr, ctx)
        else:
            fn = g.const(node_decoder(mask, m, proto, slot), "_m")
            if hdr:
                L(ind, "pos += %d" % hdr)
            L(ind, "obj.%s, pos = %s(buf, pos, d1)" % (f.attr, fn), ctx)

    if binary:
        # consecutive dropped fields of fixed width or strings: skipped by runs
        groups, dropped = [], []
        for f in fields:
            if masks[f.fid] is DROP:
                dropped.append(f)
                continue
            if dropped:
                groups += list(_skip_runs(dropped))
                dropped = []
            groups.append(f)
        if dropped:
            groups += list(_skip_runs(dropped))
        for item in groups:
            if isinstance(item, list) and (len(item) > 1 or item[0].ttype == _STRING):
                _skip_run_bin(g, 2, item)
                continue
            f = item[0] if isinstance(item, list) else item
            L(2, "if buf.startswith(%s, pos):" % g.const(W.S_BH.pack(f.ttype, f.fid), "_h"))
            if masks[f.fid] is DROP:
                _skip_bin(g, 3, f.ttype, f.targs, hdr=3)
            else:
                read(3, f, hdr=3)
        L(2, "if buf[pos] == 0:")
        L(3, "return obj, pos + 1")
        C.binary_field_loop(L)

        def body(ind, f):
            L(ind, "if t == %d:" % f.ttype)
            read(ind + 1, f)
            L(ind + 1, "continue")

        C._dispatch(g, 3, sorted(kept, key=lambda f: f.fid), body)
        L(3, "pos = _bskip(buf, pos, t, d1)")
    else:
        fids = [f.fid for f in fields]
        straight = bool(fields) and fids[0] >= 1 and all(x < y for x, y in zip(fids, fids[1:]))
        if straight:
            L(2, "ls = 0")
            L(2, "b = buf[pos]")
            for f in fields:
                key = f.fid << 4
                dropped = masks[f.fid] is DROP
                if f.ttype == _BOOL:
                    L(2, "if b == %d - ls or b == %d - ls:" % (key | 1, key | 2))
                    if not dropped:
                        if masks[f.fid] is ALL:
                            L(3, "obj.%s = b + ls == %d" % (f.attr, key | 1))
                    L(3, "pos += 1")
                else:
                    L(2, "if b == %d - ls:" % (key | _CT[f.ttype]))
                    L(3, "pos += 1")
                    if dropped:
                        _skip_cmp(g, 3, f.ttype, f.targs)
                    else:
                        read(3, f)
                L(3, "ls = %d" % key)
                L(3, "b = buf[pos]")
            L(2, "if not b & 15:")
            L(3, "return obj, pos + 1")
            L(2, "last = ls >> 4")
        else:
            L(2, "last = 0")
        C.compact_field_loop(L)

        def body(ind, f):
            if f.ttype == _BOOL:
                L(ind, "if ct == 1 or ct == 2:")
                L(ind + 1, "obj.%s = ct == 1" % f.attr)
            else:
                L(ind, "if ct == %d:" % _CT[f.ttype])
                read(ind + 1, f)
            L(ind + 1, "continue")

        C._dispatch(g, 3, sorted(kept, key=lambda f: f.fid), body)
        L(3, "pos = _cskipf(buf, pos, ct, d1)")
    L(1, "except Exception as ex:")
    L(2, "raise _wrap(ex, _CTX, locals())")
    L(1, "return obj, pos")
    return _compile(g)


# --------------------------------------------------------------------------- lists and sets


def _seq_header(g, ind, et, count):
    L = g.line
    if g.proto == "binary":
        L(ind, "out += _p_bi(%d, %s)" % (et, count))
    else:
        ct = _CT[et]
        L(ind, "if %s < 15:" % count)
        L(ind + 1, "out.append(%s << 4 | %d)" % (count, ct))
        L(ind, "else:")
        L(ind + 1, "out.append(%d)" % (0xF0 | ct))
        L(ind + 1, "_wvar(out, %s)" % count)


def _write_elem(g, mask, ind, m, et, ea, src, slot):
    if m is ALL:
        g.write(ind, et, ea, src, ())
    else:
        g.line(ind, "%s(%s, out)" % (g.const(node_encoder(mask, m, g.proto, slot), "_m"), src))


def seq_encoder(mask, node, proto, slot):
    et, ea = node.targs[0], node.targs[1]
    g = _gen(proto, "enc", _info("list"), slot, object)
    L = g.line
    L(0, "def encode(v, out):")
    L(1, "try:")
    g.seq_len(2, "v", "l", (), node.kind == "set")
    bis = g.const(bisect.bisect_left, "_bis")
    picks = sorted((i, m) for i, m in node.picks.items())
    if node.rest is DROP:
        kept = [(i, m) for i, m in picks if m is not DROP]
        idx = g.const(tuple(i for i, _ in kept), "_ix")
        L(2, "c = %s(%s, l)" % (bis, idx))
        _seq_header(g, 2, et, "c")
        if len(kept) <= _UNROLL:
            for i, m in kept:
                L(2, "if l > %d:" % i)
                L(3, "x = v[%d]" % i)
                _write_elem(g, mask, 3, m, et, ea, "x", slot)
        else:
            pairs = g.const(tuple((i, _enc_fn(mask, m, proto, slot, et, ea)) for i, m in kept),
                            "_pr")
            L(2, "for i, f in %s:" % pairs)
            L(3, "if i >= l:")
            L(4, "break")
            L(3, "f(v[i], out)")
    else:
        drops = g.const(tuple(i for i, m in picks if m is DROP), "_dr")
        L(2, "c = l - %s(%s, l)" % (bis, drops))
        _seq_header(g, 2, et, "c")
        if not picks:
            L(2, "for x in v:")
            _write_elem(g, mask, 3, node.rest, et, ea, "x", slot)
        else:
            fns = g.const({i: _enc_fn(mask, m, proto, slot, et, ea) for i, m in picks}, "_fn")
            rest = g.const(_enc_fn(mask, node.rest, proto, slot, et, ea), "_rf")
            L(2, "for i, x in enumerate(v):")
            L(3, "f = %s.get(i, %s)" % (fns, rest))
            L(3, "if f is not None:")
            L(4, "f(x, out)")
    L(1, "except Exception as ex:")
    L(2, "raise _wrap(ex, _CTX, locals(), True)")
    return _compile(g)


def seq_decoder(mask, node, proto, slot):
    et, ea = node.targs[0], node.targs[1]
    is_set = node.kind == "set"
    g = _gen(proto, "dec", _info("list"), slot, object)
    L = g.line
    binary = proto == "binary"
    L(0, "def decode(buf, pos, depth):")
    L(1, "d1 = depth")
    L(1, "n = len(buf)")
    L(1, "try:")
    if binary:
        mw = W.BIN_MIN_WIDTH[et]
        L(2, "l = _u_i(buf, pos + 1)[0]")
        L(2, "if l and buf[pos] != %d:" % et)
        L(3, "_err_elem_type(buf[pos], %d)" % et)
        L(2, "pos += 5")
        L(2, "if l < 0:")
        L(3, "_err_count(l, 1, n - pos)")
        skip1 = g.const(bskip, "_sk")
        skipn = g.const(_bskip_seq, "_ss")
    else:
        mw = W.CMP_MIN_WIDTH[et]
        ok = "(h & 15 == 1 or h & 15 == 2)" if et == _BOOL else "h & 15 == %d" % _CT[et]
        L(2, "h = buf[pos]")
        L(2, "pos += 1")
        L(2, "l = h >> 4")
        L(2, "if l == 15:")
        L(3, "l, pos = _rsize(buf, pos)")
        L(2, "if l and not %s:" % ok)
        L(3, "_err_elem_type(h & 15, %d)" % _CT[et])
        skip1 = g.const(cskip, "_sk")
        skipn = g.const(_cskip_seq, "_ss")
    L(2, "if l * %d > n - pos:" % mw)
    L(3, "_err_count(l, %d, n - pos)" % mw)
    L(2, "c = %s()" % ("set" if is_set else "list"))
    L(2, "add = c.%s" % ("add" if is_set else "append"))
    picks = sorted(node.picks.items())
    if node.rest is DROP:
        fns = {i: _dec_fn(mask, m, proto, slot, et, ea) for i, m in picks if m is not DROP}
        top = max(fns) + 1 if fns else 0
        fc = g.const(fns, "_fn")
        L(2, "k = l if l < %d else %d" % (top, top))
        L(2, "for i in range(k):")
        L(3, "f = %s.get(i)" % fc)
        L(3, "if f is None:")
        L(4, "pos = %s(buf, pos, %d, d1)" % (skip1, et))
        L(3, "else:")
        L(4, "x, pos = f(buf, pos, d1)")
        L(4, "add(x)")
        L(2, "if l > k:")
        L(3, "pos = %s(buf, pos, %d, l - k, d1, n)" % (skipn, et))
    else:
        rest = g.const(_dec_fn(mask, node.rest, proto, slot, et, ea), "_rf")
        if not picks:
            L(2, "for i in range(l):")
            L(3, "x, pos = %s(buf, pos, d1)" % rest)
            L(3, "add(x)")
        else:
            fc = g.const({i: _dec_fn(mask, m, proto, slot, et, ea) for i, m in picks}, "_fn")
            L(2, "for i in range(l):")
            L(3, "f = %s.get(i, %s)" % (fc, rest))
            L(3, "if f is None:")
            L(4, "pos = %s(buf, pos, %d, d1)" % (skip1, et))
            L(3, "else:")
            L(4, "x, pos = f(buf, pos, d1)")
            L(4, "add(x)")
    L(1, "except Exception as ex:")
    L(2, "raise _wrap(ex, _CTX, locals())")
    L(1, "return c, pos")
    return _compile(g)


# --------------------------------------------------------------------------- maps


def map_encoder(mask, node, proto, slot):
    kt, ka, vt, va = node.targs[0], node.targs[1], node.targs[2], node.targs[3]
    g = _gen(proto, "enc", _info("map"), slot, object)
    L = g.line
    binary = proto == "binary"

    def header(ind, count):
        if binary:
            L(ind, "out += _p_bbi(%d, %d, %s)" % (kt, vt, count))
        else:
            L(ind, "if %s:" % count)
            L(ind + 1, "_wvar(out, %s)" % count)
            L(ind + 1, "out.append(%d)" % ((_CT[kt] << 4) | _CT[vt]))
            L(ind, "else:")
            L(ind + 1, "out.append(0)")

    L(0, "def encode(v, out):")
    L(1, "try:")
    if not node.picks:
        if node.rest is DROP:
            header(2, "0")
        else:
            L(2, "c = len(v)")
            header(2, "c")
            L(2, "for k, x in v.items():")
            g.write(3, kt, ka, "k", ())
            _write_elem(g, mask, 3, node.rest, vt, va, "x", slot)
    else:
        fns = g.const({k: _enc_fn(mask, m, proto, slot, vt, va) for k, m in node.picks.items()},
                      "_fn")
        rest = g.const(_enc_fn(mask, node.rest, proto, slot, vt, va), "_rf")
        L(2, "sel = []")
        L(2, "for k, x in v.items():")
        L(3, "f = %s.get(k, %s)" % (fns, rest))
        L(3, "if f is not None:")
        L(4, "sel.append((k, x, f))")
        L(2, "c = len(sel)")
        header(2, "c")
        L(2, "for k, x, f in sel:")
        g.write(3, kt, ka, "k", ())
        L(3, "f(x, out)")
    L(1, "except Exception as ex:")
    L(2, "raise _wrap(ex, _CTX, locals(), True)")
    return _compile(g)


def map_decoder(mask, node, proto, slot):
    kt, ka, vt, va = node.targs[0], node.targs[1], node.targs[2], node.targs[3]
    g = _gen(proto, "dec", _info("map"), slot, object)
    L = g.line
    binary = proto == "binary"
    L(0, "def decode(buf, pos, depth):")
    L(1, "d1 = depth")
    L(1, "n = len(buf)")
    L(1, "try:")
    if binary:
        mw = W.BIN_MIN_WIDTH[kt] + W.BIN_MIN_WIDTH[vt]
        L(2, "l = _u_i(buf, pos + 2)[0]")
        L(2, "if l and (buf[pos] != %d or buf[pos + 1] != %d):" % (kt, vt))
        L(3, "_err_map_types(buf[pos], buf[pos + 1], %d, %d)" % (kt, vt))
        L(2, "pos += 6")
        L(2, "if l < 0:")
        L(3, "_err_count(l, 1, n - pos)")
        skip1 = g.const(bskip, "_sk")
    else:
        mw = W.CMP_MIN_WIDTH[kt] + W.CMP_MIN_WIDTH[vt]
        L(2, "l = buf[pos]")
        L(2, "if l < 128:")
        L(3, "pos += 1")
        L(2, "else:")
        L(3, "l, pos = _rsize(buf, pos)")
        L(2, "if l:")
        L(3, "h = buf[pos]")
        L(3, "pos += 1")
        kok = "(h >> 4 == 1 or h >> 4 == 2)" if kt == _BOOL else "h >> 4 == %d" % _CT[kt]
        vok = "(h & 15 == 1 or h & 15 == 2)" if vt == _BOOL else "h & 15 == %d" % _CT[vt]
        L(3, "if not (%s and %s):" % (kok, vok))
        L(4, "_err_map_types(h >> 4, h & 15, %d, %d)" % (_CT[kt], _CT[vt]))
        skip1 = g.const(cskip, "_sk")
    L(2, "if l * %d > n - pos:" % mw)
    L(3, "_err_count(l, %d, n - pos)" % mw)
    key = g.const(full_decoder(mask, proto, slot, kt, ka), "_kf")
    fns = g.const({k: _dec_fn(mask, m, proto, slot, vt, va) for k, m in node.picks.items()},
                  "_fn")
    rest = g.const(_dec_fn(mask, node.rest, proto, slot, vt, va), "_rf")
    L(2, "m = {}")
    L(2, "for _ in range(l):")
    L(3, "k, pos = %s(buf, pos, d1)" % key)
    L(3, "f = %s.get(k, %s)" % (fns, rest))
    L(3, "if f is None:")
    L(4, "pos = %s(buf, pos, %d, d1)" % (skip1, vt))
    L(3, "else:")
    L(4, "m[k], pos = f(buf, pos, d1)")
    L(1, "except Exception as ex:")
    L(2, "raise _wrap(ex, _CTX, locals())")
    L(1, "return m, pos")
    return _compile(g)


# --------------------------------------------------------------------------- entry points


def _check_mask(mask, cls):
    # ``mask`` is a FieldMask: only its own methods call in here
    if not issubclass(cls, mask.cls):
        raise TypeError("the mask is for %s, not %s" % (mask.cls.__name__, cls.__name__))


def _slot(table, protocol, strict_utf8):
    try:
        return table[protocol, bool(strict_utf8)]
    except (KeyError, TypeError):
        raise ValueError("unknown protocol %r (expected 'binary' or 'compact')"
                         % (protocol,)) from None


def entry_encoder(mask, cls, protocol, strict_utf8):
    """``encode(obj) -> bytes`` for instances of ``cls`` (what serialize calls)."""
    _check_mask(mask, cls)
    fn = node_encoder(mask, mask.root, protocol, _slot(_ENC_SLOT, protocol, strict_utf8))
    name = cls.__name__

    def encode(obj):
        out = bytearray()
        try:
            fn(obj, out)
        except ProtocolError as ex:
            ex._add_path(name)
            raise
        except Exception as ex:
            pe = W.convert_exception(ex, True)
            pe._add_path(name)
            raise pe from ex
        return bytes(out)

    return encode


def entry_decoder(mask, cls, protocol, strict_utf8):
    """``decode(buf, offset, max_depth) -> (obj, end)`` for ``cls``."""
    if cls is not mask.cls:
        _check_mask(mask, cls)
        raise TypeError("the mask is for %s, not %s (decoding builds %s objects)"
                        % (mask.cls.__name__, cls.__name__, mask.cls.__name__))
    fn = node_decoder(mask, mask.root, protocol, _slot(_DEC_SLOT, protocol, strict_utf8))
    name = cls.__name__

    def decode(buf, offset, max_depth):
        try:
            return fn(buf, offset, max_depth)
        except ProtocolError as ex:
            ex._add_path(name)
            raise
        except Exception as ex:
            pe = W.convert_exception(ex, False)
            pe._add_path(name)
            raise pe from ex

    return decode
