"""Compile a class's ``thrift_spec`` into specialised codec functions.

Spec contract (Apache ``thrift --gen py`` layout)
-------------------------------------------------
``cls.thrift_spec`` is a tuple; ``None`` entries are ignored, every other
entry is ``(field_id, ttype, attr_name, type_args, default)`` and fields are
written in the order of the entries (a tuple indexed by id, or -- for classes
with negative ids, ``_tg_spec_by_declaration = True`` -- in declaration
order; decoding dispatches on the id found on the wire, never on the index).
``type_args``: ``'UTF8'`` (``str``) / ``'BINARY'`` (``bytes``) for STRING;
``[Cls, spec]`` or ``(Cls, spec)`` for STRUCT (``Cls.thrift_spec`` is used);
``(elem_ttype, elem_args, immutable)`` for LIST/SET;
``(key_ttype, key_args, val_ttype, val_args, immutable)`` for MAP; ``None``
for scalars, or an ``enum.IntEnum`` class for an I32 holding an enum (known
wire values decode to members, unknown ones stay ``int``).  The
``immutable`` flags are ignored: decoding always builds ``list`` / ``set`` /
``dict`` (encoding accepts any sized iterable / mapping with ``items()``).  UUID values are
``uuid.UUID``.  Decoding builds ``obj = cls()`` and sets the fields present on
the wire; ``None`` means "not set" and is not written.  ``_tg_is_union =
True`` makes encoding (and decoding) reject more than one set field.

Beyond what Apache's pure-Python code checks, a container whose element
types on the wire differ from the spec (and is not empty) is rejected with
``ProtocolError(kind='bad_type')`` -- Apache's C codec does the same -- while
a *field* with an unexpected wire type is skipped, as Apache does.

Implementation
--------------
For every (class, protocol, direction, utf-8 mode) the first use generates
Python source specialised for that class -- field headers folded into
precomputed ``bytes`` / ``struct.Struct`` calls, the expected field order
tried first (straight-line), nested classes called directly -- and compiles
it with ``exec``.  The functions are cached on the class
(``_tg_plan_binary`` / ``_tg_plan_compact`` in the class ``__dict__``, so a
subclass never inherits its parent's plan; a plan is rebuilt when
``thrift_spec`` is replaced).

Generated function shapes::

    enc(obj, out: bytearray) -> None            # appends obj's encoding
    dec(buf: bytes, pos: int, depth: int) -> (obj, end)

Each generated function has a single ``try``/``except``; the handler maps
the failing line (``traceback.tb_lineno``) to a field path using a table
built at generation time, so the fast path carries no bookkeeping at all.
The generated source is kept as ``fn._tg_source`` for inspection.
"""

import keyword
import threading

from . import _wire as W
from .skip import bskip as _bskip, cskip_field as _cskip_field
from .errors import SpecError
from .ttype import TType

PLAN_ATTR = {"binary": "_tg_plan_binary", "compact": "_tg_plan_compact"}
# plan layout: [thrift_spec, enc, enc_lax, dec, dec_lax]
ENC, ENC_LAX, DEC, DEC_LAX = 1, 2, 3, 4

_lock = threading.RLock()
_building: set = set()
_fixups: list = []
_session: list = []
_fallback_plans: dict = {}

_BOOL, _BYTE, _DOUBLE, _I16, _I32, _I64 = 2, 3, 4, 6, 8, 10
_STRING, _STRUCT, _MAP, _SET, _LIST, _UUID = 11, 12, 13, 14, 15, 16
_VALID_TTYPES = frozenset((2, 3, 4, 6, 8, 10, 11, 12, 13, 14, 15, 16))

# binary fixed-width element formats for bulk (un)packing
_BULK_FMT = {_BYTE: "b", _I16: "h", _I32: "i", _I64: "q", _DOUBLE: "d"}
_BIN_SINGLE = {_BYTE: W.S_B, _I16: W.S_H, _I32: W.S_I, _I64: W.S_Q, _DOUBLE: W.S_D}


# ---------------------------------------------------------------------------
# plan cache


def _plan_for(cls, proto, spec):
    attr = PLAN_ATTR[proto]
    plan = cls.__dict__.get(attr)
    if plan is None:
        plan = _fallback_plans.get((cls, proto))
    if plan is None or plan[0] is not spec:
        plan = [spec, None, None, None, None]
        try:
            type.__setattr__(cls, attr, plan)
        except (TypeError, AttributeError):
            _fallback_plans[(cls, proto)] = plan
    return plan


def lookup(cls, proto, slot):
    """Cached function or None (lock-free fast path used by the API)."""
    plan = cls.__dict__.get(PLAN_ATTR[proto])
    if plan is None:
        plan = _fallback_plans.get((cls, proto))
        if plan is None:
            return None
    if plan[0] is not getattr(cls, "thrift_spec", None):
        return None
    return plan[slot]


def get_function(cls, proto, slot):
    """Return the compiled codec function, building it if needed."""
    fn = lookup(cls, proto, slot)
    if fn is not None:
        return fn
    with _lock:
        fn = _build(cls, proto, slot)
    if fn is None:  # pragma: no cover - only for cycles, resolved above
        raise SpecError("could not build a codec for %r" % (cls,))
    return fn


def _spec_of(cls):
    if not isinstance(cls, type):
        raise SpecError("expected a generated class, got %r" % (cls,))
    spec = getattr(cls, "thrift_spec", None)
    if not isinstance(spec, (tuple, list)):
        raise SpecError("%s has no thrift_spec tuple" % cls.__name__)
    return spec


def _build(cls, proto, slot):
    spec = _spec_of(cls)
    plan = _plan_for(cls, proto, spec)
    if plan[slot] is not None:
        return plan[slot]
    key = (cls, proto, slot)
    if key in _building:
        return None  # cycle: the caller registers a fix-up
    outermost = not _building
    _building.add(key)
    ok = False
    try:
        fn = _GENERATORS[proto, slot](cls, spec, proto, slot)
        plan[slot] = fn
        _session.append((plan, slot))
        ok = True
    finally:
        _building.discard(key)
        if outermost:
            fixups = list(_fixups)
            del _fixups[:]
            session = list(_session)
            del _session[:]
            if ok:
                for ns, name, c, p, s in fixups:
                    ns[name] = _plan_for(c, p, _spec_of(c))[s]
            else:
                for p, s in session:
                    p[s] = None
    return fn


# ---------------------------------------------------------------------------
# spec parsing


class _Field:
    __slots__ = ("fid", "ttype", "attr", "targs", "seg", "pos")

    def __init__(self, fid, ttype, attr, targs, pos):
        self.fid = fid
        self.ttype = ttype
        self.attr = attr
        self.targs = targs
        self.seg = "." + attr
        self.pos = pos


def _fields_of(cls, spec):
    fields = []
    seen = set()
    for entry in spec:
        if entry is None:
            continue
        if not isinstance(entry, (tuple, list)) or len(entry) < 4:
            raise SpecError("%s.thrift_spec: bad entry %r" % (cls.__name__, entry))
        fid, ttype, attr, targs = entry[0], entry[1], entry[2], entry[3]
        if not isinstance(fid, int) or not -32768 <= fid <= 32767:
            raise SpecError("%s.thrift_spec: bad field id %r" % (cls.__name__, fid))
        if fid in seen:
            raise SpecError("%s.thrift_spec: duplicate field id %d" % (cls.__name__, fid))
        if not isinstance(attr, str) or not attr.isidentifier() or keyword.iskeyword(attr):
            raise SpecError("%s.thrift_spec: bad attribute name %r" % (cls.__name__, attr))
        _check_type(cls, ttype, targs)
        seen.add(fid)
        fields.append(_Field(fid, ttype, attr, targs, len(fields) + 1))
    return fields


def _check_type(cls, ttype, targs):
    if ttype not in _VALID_TTYPES:
        raise SpecError("%s.thrift_spec: unsupported type %r" % (cls.__name__, ttype))
    if ttype == _STRUCT:
        _struct_class(cls, targs)
    elif ttype in (_LIST, _SET):
        if not isinstance(targs, (tuple, list)) or len(targs) < 2:
            raise SpecError("%s.thrift_spec: bad list/set args %r" % (cls.__name__, targs))
        _check_type(cls, targs[0], targs[1])
    elif ttype == _MAP:
        if not isinstance(targs, (tuple, list)) or len(targs) < 4:
            raise SpecError("%s.thrift_spec: bad map args %r" % (cls.__name__, targs))
        _check_type(cls, targs[0], targs[1])
        _check_type(cls, targs[2], targs[3])


def _struct_class(owner, targs):
    klass = targs[0] if isinstance(targs, (tuple, list)) and targs else targs
    if not isinstance(klass, type) or not isinstance(getattr(klass, "thrift_spec", None), (tuple, list)):
        raise SpecError("%s.thrift_spec: bad struct args %r" % (owner.__name__, targs))
    return klass


def _is_binary(targs):
    return targs == "BINARY"


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


def _is_union(cls):
    return bool(getattr(cls, "_tg_is_union", False))


# ---------------------------------------------------------------------------
# source builder


class _Gen:
    def __init__(self, cls, proto, slot):
        self.cls = cls
        self.proto = proto
        self.slot = slot
        self.lax = slot in (ENC_LAX, DEC_LAX)
        self.lines = []
        self.ctxmap = {}
        self.counter = 0
        self.ns = {
            "_cls": cls,
            "_wrap": W.wrap,
            "__builtins__": __builtins__,
        }
        self._const_names = {}
        self._struct_names = {}

    def line(self, ind, text, ctx=None):
        self.lines.append("    " * ind + text)
        if ctx:
            self.ctxmap[len(self.lines)] = ctx

    def var(self, prefix):
        self.counter += 1
        return "%s%d" % (prefix, self.counter)

    def const(self, value, prefix="_k"):
        key = (type(value), value) if isinstance(value, (bytes, int, str, tuple)) else id(value)
        name = self._const_names.get(key)
        if name is None:
            self.counter += 1
            name = "%s%d" % (prefix, self.counter)
            self._const_names[key] = name
            self.ns[name] = value
        return name

    def helper(self, name, value):
        self.ns[name] = value
        return name

    def struct_fn(self, owner, targs):
        """Name bound (now or by a fix-up) to the nested class's function."""
        klass = _struct_class(owner, targs)
        name = self._struct_names.get(klass)
        if name is None:
            self.counter += 1
            name = "_s%d" % self.counter
            self._struct_names[klass] = name
            fn = _build(klass, self.proto, self.slot)
            if fn is None:
                _fixups.append((self.ns, name, klass, self.proto, self.slot))
            else:
                self.ns[name] = fn
        return name

    def compile(self, fname):
        source = "\n".join(self.lines) + "\n"
        self.ns["_CTX"] = self.ctxmap
        filename = "<thriftgen %s %s %s>" % (self.proto, fname, self.cls.__qualname__)
        code = compile(source, filename, "exec")
        exec(code, self.ns)
        fn = self.ns[fname]
        fn.__qualname__ = "%s.%s" % (self.cls.__qualname__, fname)
        fn._tg_source = source
        return fn

    def seq_len(self, ind, src, ln, ctx, is_set):
        """Emit ``ln = len(src)``; iterables without a length are materialised."""
        L = self.line
        L(ind, "try:")
        L(ind + 1, "%s = len(%s)" % (ln, src), ctx)
        L(ind, "except TypeError:")
        L(ind + 1, "%s = %s(%s)" % (src, "set" if is_set else "list", src), ctx)
        L(ind + 1, "%s = len(%s)" % (ln, src), ctx)

    def bulk_unpack(self, fmt, ln):
        """Expression unpacking ``ln`` items of ``fmt`` ('>%di' style) at pos."""
        tab = self.const(_bulk_tables(fmt)[0], "_bu")
        f = self.const(fmt, "_fmt")
        return "(%s[%s](buf, pos) if %s < %d else _unpack_from(%s %% %s, buf, pos))" % (
            tab, ln, ln, _BULK_TABLE_SIZE, f, ln)

    def bulk_pack(self, fmt, ln, src):
        tab = self.const(_bulk_tables(fmt)[1], "_bp")
        f = self.const(fmt, "_fmt")
        return "(%s[%s](*%s) if %s < %d else _pack(%s %% %s, *%s))" % (
            tab, ln, src, ln, _BULK_TABLE_SIZE, f, ln, src)

    def uuid_class(self):
        import uuid

        return self.helper("_UUID", uuid.UUID)


_BULK_TABLE_SIZE = 17
_bulk_cache: dict = {}


def _bulk_tables(fmt):
    """(unpack_from, pack) of ``fmt % k`` for k < _BULK_TABLE_SIZE."""
    tabs = _bulk_cache.get(fmt)
    if tabs is None:
        structs = [W.struct.Struct(fmt % k) for k in range(_BULK_TABLE_SIZE)]
        tabs = (tuple(x.unpack_from for x in structs), tuple(x.pack for x in structs))
        _bulk_cache[fmt] = tabs
    return tabs


def _errors_arg(lax):
    return "'utf-8', 'surrogateescape'" if lax else ""


# ---------------------------------------------------------------------------
# binary decoder


class _BinDec(_Gen):
    def read(self, ind, t, a, dst, ctx, hdr=0):
        """Emit code reading a value of type ``t`` at ``pos + hdr`` into ``dst``.

        ``hdr`` is the size of a field header not yet added to ``pos``.
        """
        L = self.line

        def at(k):
            k += hdr
            return "pos + %d" % k if k else "pos"

        if t == _BOOL:
            L(ind, "%s = buf[%s] != 0" % (dst, at(0)), ctx)
            L(ind, "pos += %d" % (1 + hdr))
        elif t == _BYTE:
            L(ind, "%s = _I8[buf[%s]]" % (dst, at(0)), ctx)
            L(ind, "pos += %d" % (1 + hdr))
        elif t in (_I16, _I32, _I64, _DOUBLE):
            name = {_I16: "_u_h", _I32: "_u_i", _I64: "_u_q", _DOUBLE: "_u_d"}[t]
            emap = _enum_map(a) if t == _I32 else None
            if emap is not None:
                em = self.const(emap, "_em")
                x = self.var("x")
                L(ind, "%s = %s(buf, %s)[0]" % (x, name, at(0)), ctx)
                L(ind, "%s = %s.get(%s, %s)" % (dst, em, x, x), ctx)
            else:
                L(ind, "%s = %s(buf, %s)[0]" % (dst, name, at(0)), ctx)
            L(ind, "pos += %d" % (W.BIN_WIDTH[t] + hdr))
        elif t == _STRING:
            ln = self.var("l")
            e = self.var("e")
            L(ind, "%s = _u_i(buf, %s)[0]" % (ln, at(0)), ctx)
            L(ind, "pos += %d" % (4 + hdr))
            L(ind, "%s = pos + %s" % (e, ln))
            L(ind, "if %s < 0 or %s > n:" % (ln, e))
            L(ind + 1, "_err_length(%s, n - pos)" % ln, ctx)
            if _is_binary(a):
                L(ind, "%s = buf[pos:%s]" % (dst, e), ctx)
            else:
                L(ind, "%s = buf[pos:%s].decode(%s)" % (dst, e, _errors_arg(self.lax)), ctx)
            L(ind, "pos = %s" % e)
        elif t in (_LIST, _SET):
            self.read_seq(ind, t, a, dst, ctx, hdr)
        elif t == _MAP:
            self.read_map(ind, a, dst, ctx, hdr)
        else:
            if hdr:
                L(ind, "pos += %d" % hdr)
            if t == _UUID:
                U = self.uuid_class()
                e = self.var("e")
                L(ind, "%s = pos + 16" % e)
                L(ind, "if %s > n:" % e)
                L(ind + 1, "_err_truncated(16, n - pos)", ctx)
                L(ind, "%s = %s(bytes=buf[pos:%s])" % (dst, U, e), ctx)
                L(ind, "pos = %s" % e)
            elif t == _STRUCT:
                fn = self.struct_fn(self.cls, a)
                L(ind, "%s, pos = %s(buf, pos, d1)" % (dst, fn), ctx)
            else:  # pragma: no cover - rejected by _check_type
                raise SpecError("unsupported type %r" % t)

    def read_seq(self, ind, t, a, dst, ctx, hdr=0):
        L = self.line
        et, ea = a[0], a[1]
        is_set = t == _SET
        ln = self.var("l")
        p0 = "pos + %d" % hdr if hdr else "pos"
        L(ind, "%s = _u_i(buf, pos + %d)[0]" % (ln, 1 + hdr), ctx)
        L(ind, "if %s and buf[%s] != %d:" % (ln, p0, et))
        L(ind + 1, "_err_elem_type(buf[%s], %d)" % (p0, et), ctx)
        L(ind, "pos += %d" % (5 + hdr))
        L(ind, "if %s > 0:" % ln)
        mw = W.BIN_MIN_WIDTH[et]
        if mw == 1:
            L(ind + 1, "if %s > n - pos:" % ln)
        else:
            L(ind + 1, "if %s * %d > n - pos:" % (ln, mw))
        L(ind + 2, "_err_count(%s, %d, n - pos)" % (ln, mw), ctx)
        wrap = "set" if is_set else "list"
        i = ind + 1
        emap = _enum_map(ea) if et == _I32 else None
        if et == _BOOL:
            L(i, "%s = %s([_b != 0 for _b in buf[pos:pos + %s]])" % (dst, wrap, ln), ctx)
            L(i, "pos += %s" % ln)
        elif et in _BULK_FMT:
            expr = self.bulk_unpack(">%d" + _BULK_FMT[et], ln)
            w = W.BIN_WIDTH[et]
            if emap is not None:
                em = self.const(emap, "_em")
                L(i, "%s = %s([%s.get(_x, _x) for _x in %s])" % (dst, wrap, em, expr), ctx)
            else:
                L(i, "%s = %s(%s)" % (dst, wrap, expr), ctx)
            L(i, "pos += %s * %d" % (ln, w))
        else:
            acc = self.var("c")
            add = self.var("a")
            idx = self.var("i")
            x = self.var("x")
            L(i, "%s = %s()" % (acc, wrap))
            L(i, "%s = %s.%s" % (add, acc, "add" if is_set else "append"))
            L(i, "for %s in range(%s):" % (idx, ln))
            self.read(i + 1, et, ea, x, ctx + (("i", idx),))
            L(i + 1, "%s(%s)" % (add, x), ctx + (("i", idx),))
            L(i, "%s = %s" % (dst, acc))
        L(ind, "elif %s == 0:" % ln)
        L(ind + 1, "%s = %s()" % (dst, wrap))
        L(ind, "else:")
        L(ind + 1, "_err_count(%s, 1, n - pos)" % ln, ctx)

    def read_map(self, ind, a, dst, ctx, hdr=0):
        L = self.line
        kt, ka, vt, va = a[0], a[1], a[2], a[3]
        ln = self.var("l")
        p0 = "pos + %d" % hdr if hdr else "pos"
        L(ind, "%s = _u_i(buf, pos + %d)[0]" % (ln, 2 + hdr), ctx)
        L(ind, "if %s and (buf[%s] != %d or buf[pos + %d] != %d):" % (ln, p0, kt, 1 + hdr, vt), ctx)
        L(ind + 1, "_err_map_types(buf[%s], buf[pos + %d], %d, %d)" % (p0, 1 + hdr, kt, vt), ctx)
        L(ind, "pos += %d" % (6 + hdr))
        L(ind, "if %s > 0:" % ln)
        mw = W.BIN_MIN_WIDTH[kt] + W.BIN_MIN_WIDTH[vt]
        L(ind + 1, "if %s * %d > n - pos:" % (ln, mw))
        L(ind + 2, "_err_count(%s, %d, n - pos)" % (ln, mw), ctx)
        m = self.var("m")
        idx = self.var("i")
        k = self.var("k")
        L(ind + 1, "%s = {}" % m)
        L(ind + 1, "for %s in range(%s):" % (idx, ln))
        self.read(ind + 2, kt, ka, k, ctx + (("mk", idx),))
        self.read(ind + 2, vt, va, "%s[%s]" % (m, k), ctx + (("mv", k),))
        L(ind + 1, "%s = %s" % (dst, m))
        L(ind, "elif %s == 0:" % ln)
        L(ind + 1, "%s = {}" % dst)
        L(ind, "else:")
        L(ind + 1, "_err_count(%s, 1, n - pos)" % ln, ctx)


def _gen_binary_decoder(cls, spec, proto, slot):
    g = _BinDec(cls, proto, slot)
    fields = _fields_of(cls, spec)
    union = _is_union(cls)
    ns = g.ns
    ns.update(
        _I8=W.I8,
        _u_h=W.S_H.unpack_from,
        _u_i=W.S_I.unpack_from,
        _u_q=W.S_Q.unpack_from,
        _u_d=W.S_D.unpack_from,
        _unpack_from=W.unpack_from,
        _err_length=W.err_length,
        _err_truncated=W.err_truncated,
        _err_count=W.err_count,
        _err_elem_type=W.err_elem_type,
        _err_map_types=W.err_map_types,
        _err_depth=W.err_depth,
        _err_union=W.err_union,
        _bskip=_bskip,
    )
    L = g.line
    L(0, "def decode(buf, pos, depth):")
    L(1, "if depth <= 0:")
    L(2, "_err_depth()")
    L(1, "d1 = depth - 1")
    L(1, "obj = _cls()")
    L(1, "n = len(buf)")
    if union:
        L(1, "seen = None")
    L(1, "try:")
    if not union:
        # straight-line: fields in spec order, each tried once by exact header
        for f in fields:
            hdr = g.const(W.S_BH.pack(f.ttype, f.fid), "_h")
            L(2, "if buf.startswith(%s, pos):" % hdr)
            g.read(3, f.ttype, f.targs, "obj." + f.attr, (("f", f.seg),), hdr=3)
        L(2, "if buf[pos] == 0:")
        L(3, "return obj, pos + 1")
    L(2, "while True:")
    L(3, "t = buf[pos]")
    L(3, "if t == 0:")
    L(4, "pos += 1")
    L(4, "break")
    L(3, "fid = _u_h(buf, pos + 1)[0]")
    L(3, "pos += 3")

    def body(ind, f):
        L(ind, "if t == %d:" % f.ttype)
        ctx = (("f", f.seg),)
        g.read(ind + 1, f.ttype, f.targs, "obj." + f.attr, ctx)
        if union:
            L(ind + 1, "if seen is not None and seen != %d:" % f.fid)
            L(ind + 2, "_err_union(%r)" % cls.__name__, ctx)
            L(ind + 1, "seen = %d" % f.fid)
        L(ind + 1, "continue")

    _dispatch(g, 3, sorted(fields, key=lambda f: f.fid), body)
    names = g.const({f.fid: f.seg for f in fields}, "_names")
    L(3, "pos = _bskip(buf, pos, t, d1)", (("u", g.ns[names]),))
    L(1, "except Exception as ex:")
    L(2, "raise _wrap(ex, _CTX, locals())")
    L(1, "return obj, pos")
    return g.compile("decode")


def _dispatch(g, ind, fields, body):
    """Emit an if-tree on ``fid`` calling ``body(ind, field)`` at the leaves."""
    if not fields:
        return
    if len(fields) <= 6:
        for k, f in enumerate(fields):
            g.line(ind, "%s fid == %d:" % ("if" if k == 0 else "elif", f.fid))
            body(ind + 1, f)
        return
    mid = len(fields) // 2
    g.line(ind, "if fid < %d:" % fields[mid].fid)
    _dispatch(g, ind + 1, fields[:mid], body)
    g.line(ind, "else:")
    _dispatch(g, ind + 1, fields[mid:], body)


# ---------------------------------------------------------------------------
# binary encoder


class _BinEnc(_Gen):
    def enc_arg(self):
        return "'utf-8', 'surrogateescape'" if self.lax else ""

    def write(self, ind, t, a, src, ctx):
        """Emit code appending value ``src`` (a local name) of type ``t``."""
        L = self.line
        if t == _BOOL:
            L(ind, "out.append(1 if %s else 0)" % src, ctx)
        elif t in _BIN_SINGLE:
            p = {_BYTE: "_p_b", _I16: "_p_h", _I32: "_p_i", _I64: "_p_q", _DOUBLE: "_p_d"}[t]
            L(ind, "out += %s(%s)" % (p, src), ctx)
        elif t == _STRING:
            if _is_binary(a):
                L(ind, "out += _p_i(len(%s))" % src, ctx)
                L(ind, "out += %s" % src, ctx)
            else:
                b = self.var("b")
                L(ind, "%s = %s.encode(%s)" % (b, src, self.enc_arg()), ctx)
                L(ind, "out += _p_i(len(%s))" % b, ctx)
                L(ind, "out += %s" % b)
        elif t == _UUID:
            L(ind, "out += _uuid_bytes(%s)" % src, ctx)
        elif t == _STRUCT:
            fn = self.struct_fn(self.cls, a)
            L(ind, "%s(%s, out)" % (fn, src), ctx)
        elif t in (_LIST, _SET):
            ln = self.var("l")
            self.seq_len(ind, src, ln, ctx, t == _SET)
            L(ind, "out += _p_bi(%d, %s)" % (a[0], ln), ctx)
            self.write_elems(ind, t, a, src, ln, ctx)
        elif t == _MAP:
            L(ind, "out += _p_bbi(%d, %d, len(%s))" % (a[0], a[2], src), ctx)
            self.write_items(ind, a, src, ctx)
        else:  # pragma: no cover
            raise SpecError("unsupported type %r" % t)

    def write_elems(self, ind, t, a, src, ln, ctx):
        L = self.line
        et, ea = a[0], a[1]
        if et == _BOOL:
            L(ind, "out += bytes(map(bool, %s))" % src, ctx)
        elif et in _BULK_FMT:
            single = _BIN_SINGLE[et].pack
            expr = self.bulk_pack(">%d" + _BULK_FMT[et], ln, src)
            L(ind, "out += %s" % expr, ctx + (("eb", src, single),))
        else:
            x = self.var("x")
            tag = ("es", x) if t == _SET else ("ei", x, src)
            L(ind, "for %s in %s:" % (x, src), ctx)
            self.write(ind + 1, et, ea, x, ctx + (tag,))

    def write_items(self, ind, a, src, ctx):
        L = self.line
        k = self.var("k")
        x = self.var("x")
        L(ind, "for %s, %s in %s.items():" % (k, x, src), ctx)
        self.write(ind + 1, a[0], a[1], k, ctx + (("ek", k),))
        self.write(ind + 1, a[2], a[3], x, ctx + (("mv", k),))

    def write_field(self, ind, f):
        L = self.line
        t, a, fid = f.ttype, f.targs, f.fid
        ctx = (("f", f.seg),)
        if t == _BOOL:
            ht = self.const(W.S_BHB.pack(t, fid, 1), "_ht")
            hf = self.const(W.S_BHB.pack(t, fid, 0), "_hf")
            L(ind, "out += %s if v else %s" % (ht, hf), ctx)
        elif t in _BIN_SINGLE:
            p = {_BYTE: "_p_bhb", _I16: "_p_bhh", _I32: "_p_bhi", _I64: "_p_bhq", _DOUBLE: "_p_bhd"}[t]
            L(ind, "out += %s(%d, %d, v)" % (p, t, fid), ctx)
        elif t == _STRING:
            if _is_binary(a):
                L(ind, "out += _p_bhi(11, %d, len(v))" % fid, ctx)
                L(ind, "out += v", ctx)
            else:
                L(ind, "b = v.encode(%s)" % self.enc_arg(), ctx)
                L(ind, "out += _p_bhi(11, %d, len(b))" % fid, ctx)
                L(ind, "out += b")
        elif t in (_LIST, _SET):
            self.seq_len(ind, "v", "l", ctx, t == _SET)
            L(ind, "out += _p_bhbi(%d, %d, %d, l)" % (t, fid, a[0]), ctx)
            self.write_elems(ind, t, a, "v", "l", ctx)
        elif t == _MAP:
            L(ind, "out += _p_bhbbi(13, %d, %d, %d, len(v))" % (fid, a[0], a[2]), ctx)
            self.write_items(ind, a, "v", ctx)
        else:  # struct, uuid
            hdr = self.const(W.S_BH.pack(t, fid), "_h")
            L(ind, "out += %s" % hdr)
            self.write(ind, t, a, "v", ctx)


def _uuid_bytes(value):
    raw = value.bytes
    if len(raw) != 16:
        raise ValueError("uuid value must have 16 bytes")
    return raw


def _gen_binary_encoder(cls, spec, proto, slot):
    g = _BinEnc(cls, proto, slot)
    fields = _fields_of(cls, spec)
    union = _is_union(cls)
    g.ns.update(
        _p_b=W.S_B.pack,
        _p_h=W.S_H.pack,
        _p_i=W.S_I.pack,
        _p_q=W.S_Q.pack,
        _p_d=W.S_D.pack,
        _p_bhb=W.S_BHB.pack,
        _p_bhh=W.S_BHH.pack,
        _p_bhi=W.S_BHI.pack,
        _p_bhq=W.S_BHQ.pack,
        _p_bhd=W.S_BHD.pack,
        _p_bhbi=W.S_BHBI.pack,
        _p_bhbbi=W.S_BHBBI.pack,
        _p_bi=W.S_BI.pack,
        _p_bbi=W.S_BBI.pack,
        _pack=W.pack,
        _uuid_bytes=_uuid_bytes,
        _err_union=W.err_union,
    )
    L = g.line
    L(0, "def encode(obj, out):")
    L(1, "try:")
    if union:
        L(2, "c = 0")
    for f in fields:
        ctx = (("f", f.seg),)
        L(2, "v = obj.%s" % f.attr, ctx)
        L(2, "if v is not None:")
        if union:
            L(3, "c += 1")
        g.write_field(3, f)
    if union:
        L(2, "if c > 1:")
        L(3, "_err_union(%r)" % cls.__name__)
    L(2, "out.append(0)")
    L(1, "except Exception as ex:")
    L(2, "raise _wrap(ex, _CTX, locals(), True)")
    return g.compile("encode")


# ---------------------------------------------------------------------------
# compact decoder

_CT = W.TTYPE_TO_CT
_VARINT_READERS = {_I16: "_rv16", _I32: "_rv32", _I64: "_rv64"}


class _CmpDec(_Gen):
    def read(self, ind, t, a, dst, ctx):
        L = self.line
        if t == _BOOL:  # container element
            L(ind, "%s = buf[pos] == 1" % dst, ctx)
            L(ind, "pos += 1")
        elif t == _BYTE:
            L(ind, "%s = _I8[buf[pos]]" % dst, ctx)
            L(ind, "pos += 1")
        elif t in _VARINT_READERS:
            z = self.var("z")
            L(ind, "%s = buf[pos]" % z, ctx)
            L(ind, "if %s < 128:" % z)
            L(ind + 1, "pos += 1")
            L(ind, "else:")
            L(ind + 1, "%s, pos = %s(buf, pos)" % (z, _VARINT_READERS[t]), ctx)
            emap = _enum_map(a) if t == _I32 else None
            if emap is not None:
                em = self.const(emap, "_em")
                L(ind, "%s = (%s >> 1) ^ -(%s & 1)" % (z, z, z))
                L(ind, "%s = %s.get(%s, %s)" % (dst, em, z, z), ctx)
            else:
                L(ind, "%s = (%s >> 1) ^ -(%s & 1)" % (dst, z, z), ctx)
        elif t == _DOUBLE:
            L(ind, "%s = _u_dle(buf, pos)[0]" % dst, ctx)
            L(ind, "pos += 8")
        elif t == _STRING:
            ln = self.var("l")
            e = self.var("e")
            L(ind, "%s = buf[pos]" % ln, ctx)
            L(ind, "if %s < 128:" % ln)
            L(ind + 1, "pos += 1")
            L(ind, "else:")
            L(ind + 1, "%s, pos = _rsize(buf, pos)" % ln, ctx)
            L(ind, "%s = pos + %s" % (e, ln))
            L(ind, "if %s > n:" % e)
            L(ind + 1, "_err_length(%s, n - pos)" % ln, ctx)
            if _is_binary(a):
                L(ind, "%s = buf[pos:%s]" % (dst, e), ctx)
            else:
                L(ind, "%s = buf[pos:%s].decode(%s)" % (dst, e, _errors_arg(self.lax)), ctx)
            L(ind, "pos = %s" % e)
        elif t == _UUID:
            U = self.uuid_class()
            e = self.var("e")
            L(ind, "%s = pos + 16" % e)
            L(ind, "if %s > n:" % e)
            L(ind + 1, "_err_truncated(16, n - pos)", ctx)
            L(ind, "%s = %s(bytes=buf[pos:%s])" % (dst, U, e), ctx)
            L(ind, "pos = %s" % e)
        elif t == _STRUCT:
            fn = self.struct_fn(self.cls, a)
            L(ind, "%s, pos = %s(buf, pos, d1)" % (dst, fn), ctx)
        elif t in (_LIST, _SET):
            self.read_seq(ind, t, a, dst, ctx)
        elif t == _MAP:
            self.read_map(ind, a, dst, ctx)
        else:  # pragma: no cover
            raise SpecError("unsupported type %r" % t)

    def _type_ok(self, expr, t):
        ct = _CT[t]
        if t == _BOOL:
            return "(%s == 1 or %s == 2)" % (expr, expr)
        return "%s == %d" % (expr, ct)

    def read_seq(self, ind, t, a, dst, ctx):
        L = self.line
        et, ea = a[0], a[1]
        is_set = t == _SET
        wrap = "set" if is_set else "list"
        hb = self.var("h")
        ln = self.var("l")
        L(ind, "%s = buf[pos]" % hb, ctx)
        L(ind, "pos += 1")
        L(ind, "%s = %s >> 4" % (ln, hb))
        L(ind, "if %s == 15:" % ln)
        L(ind + 1, "%s, pos = _rsize(buf, pos)" % ln, ctx)
        L(ind, "if %s:" % ln)
        i = ind + 1
        L(i, "if not %s:" % self._type_ok("%s & 15" % hb, et))
        L(i + 1, "_err_elem_type(%s & 15, %d)" % (hb, _CT[et]), ctx)
        mw = W.CMP_MIN_WIDTH[et]
        if mw == 1:
            L(i, "if %s > n - pos:" % ln)
        else:
            L(i, "if %s * %d > n - pos:" % (ln, mw))
        L(i + 1, "_err_count(%s, %d, n - pos)" % (ln, mw), ctx)
        emap = _enum_map(ea) if et == _I32 else None
        if et == _BOOL:
            L(i, "%s = %s([_b == 1 for _b in buf[pos:pos + %s]])" % (dst, wrap, ln), ctx)
            L(i, "pos += %s" % ln)
        elif et == _BYTE:
            L(i, "%s = %s(%s)" % (dst, wrap, self.bulk_unpack("%db", ln)), ctx)
            L(i, "pos += %s" % ln)
        elif et == _DOUBLE:
            L(i, "%s = %s(%s)" % (dst, wrap, self.bulk_unpack("<%dd", ln)), ctx)
            L(i, "pos += %s * 8" % ln)
        elif et in _VARINT_READERS and emap is None:
            # fast path: every element is a one-byte varint
            seg = self.var("s")
            L(i, "%s = buf[pos:pos + %s]" % (seg, ln))
            L(i, "if %s.isascii():" % seg)
            L(i + 1, "%s = %s(map(_ZZ1.__getitem__, %s))" % (dst, wrap, seg))
            L(i + 1, "pos += %s" % ln)
            L(i, "else:")
            self._loop(i + 1, t, et, ea, ln, dst, ctx)
        else:
            self._loop(i, t, et, ea, ln, dst, ctx)
        L(ind, "else:")
        L(ind + 1, "%s = %s()" % (dst, wrap))

    def _loop(self, i, t, et, ea, ln, dst, ctx):
        L = self.line
        is_set = t == _SET
        acc = self.var("c")
        add = self.var("a")
        idx = self.var("i")
        x = self.var("x")
        L(i, "%s = %s()" % (acc, "set" if is_set else "list"))
        L(i, "%s = %s.%s" % (add, acc, "add" if is_set else "append"))
        L(i, "for %s in range(%s):" % (idx, ln))
        self.read(i + 1, et, ea, x, ctx + (("i", idx),))
        L(i + 1, "%s(%s)" % (add, x), ctx + (("i", idx),))
        L(i, "%s = %s" % (dst, acc))

    def read_map(self, ind, a, dst, ctx):
        L = self.line
        kt, ka, vt, va = a[0], a[1], a[2], a[3]
        ln = self.var("l")
        kv = self.var("h")
        L(ind, "%s = buf[pos]" % ln, ctx)
        L(ind, "if %s < 128:" % ln)
        L(ind + 1, "pos += 1")
        L(ind, "else:")
        L(ind + 1, "%s, pos = _rsize(buf, pos)" % ln, ctx)
        L(ind, "if %s:" % ln)
        i = ind + 1
        L(i, "%s = buf[pos]" % kv, ctx)
        L(i, "pos += 1")
        L(i, "if not (%s and %s):" % (self._type_ok("%s >> 4" % kv, kt), self._type_ok("%s & 15" % kv, vt)))
        L(i + 1, "_err_map_types(%s >> 4, %s & 15, %d, %d)" % (kv, kv, _CT[kt], _CT[vt]), ctx)
        mw = W.CMP_MIN_WIDTH[kt] + W.CMP_MIN_WIDTH[vt]
        L(i, "if %s * %d > n - pos:" % (ln, mw))
        L(i + 1, "_err_count(%s, %d, n - pos)" % (ln, mw), ctx)
        m = self.var("m")
        idx = self.var("i")
        k = self.var("k")
        L(i, "%s = {}" % m)
        L(i, "for %s in range(%s):" % (idx, ln))
        self.read(i + 1, kt, ka, k, ctx + (("mk", idx),))
        self.read(i + 1, vt, va, "%s[%s]" % (m, k), ctx + (("mv", k),))
        L(i, "%s = %s" % (dst, m))
        L(ind, "else:")
        L(ind + 1, "%s = {}" % dst)


def _cmp_ns(g):
    g.ns.update(
        _I8=W.I8,
        _ZZ1=W.ZZ1,
        _u_dle=W.S_DLE.unpack_from,
        _unpack_from=W.unpack_from,
        _rv16=W.rv16,
        _rv32=W.rv32,
        _rv64=W.rv64,
        _rsize=W.rsize,
        _rzz16=W.rzz16,
        _err_length=W.err_length,
        _err_truncated=W.err_truncated,
        _err_count=W.err_count,
        _err_elem_type=W.err_elem_type,
        _err_map_types=W.err_map_types,
        _err_depth=W.err_depth,
        _err_union=W.err_union,
        _cskipf=_cskip_field,
    )


def _gen_compact_decoder(cls, spec, proto, slot):
    g = _CmpDec(cls, proto, slot)
    _cmp_ns(g)
    fields = _fields_of(cls, spec)
    union = _is_union(cls)
    L = g.line
    L(0, "def decode(buf, pos, depth):")
    L(1, "if depth <= 0:")
    L(2, "_err_depth()")
    L(1, "d1 = depth - 1")
    L(1, "obj = _cls()")
    L(1, "n = len(buf)")
    if union:
        L(1, "seen = None")
    L(1, "try:")
    fids = [f.fid for f in fields]
    straight = (
        not union
        and fields
        and fids[0] >= 1
        and all(a < b for a, b in zip(fids, fids[1:]))
    )
    if straight:
        # ``ls`` = (fid of the last field read) << 4; a short-form header of
        # field F with type id C is then the byte ((F << 4) | C) - ls.
        L(2, "ls = 0")
        L(2, "b = buf[pos]")
        for f in fields:
            ctx = (("f", f.seg),)
            key = f.fid << 4
            if f.ttype == _BOOL:
                L(2, "if b == %d - ls or b == %d - ls:" % (key | 1, key | 2))
                L(3, "obj.%s = b + ls == %d" % (f.attr, key | 1))
                L(3, "pos += 1")
                L(3, "ls = %d" % key)
                L(3, "b = buf[pos]")
                continue
            L(2, "if b == %d - ls:" % (key | _CT[f.ttype]))
            L(3, "pos += 1")
            L(3, "ls = %d" % key)
            g.read(3, f.ttype, f.targs, "obj." + f.attr, ctx)
            L(3, "b = buf[pos]")
        L(2, "if not b & 15:")
        L(3, "return obj, pos + 1")
        L(2, "last = ls >> 4")
    else:
        L(2, "last = 0")
    L(2, "while True:")
    L(3, "b = buf[pos]")
    L(3, "pos += 1")
    L(3, "ct = b & 15")
    L(3, "if not ct:")
    L(4, "break")
    L(3, "if b > 15:")
    L(4, "fid = last + (b >> 4)")
    L(3, "else:")
    L(4, "fid, pos = _rzz16(buf, pos)")
    L(3, "last = fid")

    def body(ind, f):
        ctx = (("f", f.seg),)
        if f.ttype == _BOOL:
            L(ind, "if ct == 1 or ct == 2:")
            L(ind + 1, "obj.%s = ct == 1" % f.attr)
        else:
            L(ind, "if ct == %d:" % _CT[f.ttype])
            g.read(ind + 1, f.ttype, f.targs, "obj." + f.attr, ctx)
        if union:
            L(ind + 1, "if seen is not None and seen != %d:" % f.fid)
            L(ind + 2, "_err_union(%r)" % cls.__name__, ctx)
            L(ind + 1, "seen = %d" % f.fid)
        L(ind + 1, "continue")

    _dispatch(g, 3, sorted(fields, key=lambda f: f.fid), body)
    names = g.const({f.fid: f.seg for f in fields}, "_names")
    L(3, "if ct > 2:")
    L(4, "pos = _cskipf(buf, pos, ct, d1)", (("u", g.ns[names]),))
    L(1, "except Exception as ex:")
    L(2, "raise _wrap(ex, _CTX, locals())")
    L(1, "return obj, pos")
    return g.compile("decode")


# ---------------------------------------------------------------------------
# compact encoder

_ZZ_SHIFT = {_I16: 15, _I32: 31, _I64: 63}
_ZZ_WRITER = {_I16: "_wv16", _I32: "_wv32", _I64: "_wv64"}
_HEADER_TABLE_MAX = 40


class _CmpEnc(_Gen):
    def enc_arg(self):
        return "'utf-8', 'surrogateescape'" if self.lax else ""

    def write(self, ind, t, a, src, ctx):
        L = self.line
        if t == _BOOL:  # container element
            L(ind, "out.append(1 if %s else 2)" % src, ctx)
        elif t == _BYTE:
            L(ind, "out += _p_b(%s)" % src, ctx)
        elif t in _ZZ_SHIFT:
            z = self.var("z")
            L(ind, "%s = (%s << 1) ^ (%s >> %d)" % (z, src, src, _ZZ_SHIFT[t]), ctx)
            L(ind, "if %s >> 7:" % z)
            L(ind + 1, "%s(out, %s)" % (_ZZ_WRITER[t], z), ctx)
            L(ind, "else:")
            L(ind + 1, "out.append(%s)" % z)
        elif t == _DOUBLE:
            L(ind, "out += _p_dle(%s)" % src, ctx)
        elif t == _STRING:
            if _is_binary(a):
                b = src
            else:
                b = self.var("b")
                L(ind, "%s = %s.encode(%s)" % (b, src, self.enc_arg()), ctx)
            ln = self.var("l")
            L(ind, "%s = len(%s)" % (ln, b), ctx)
            L(ind, "if %s < 128:" % ln)
            L(ind + 1, "out.append(%s)" % ln)
            L(ind, "else:")
            L(ind + 1, "_wvar(out, %s)" % ln)
            L(ind, "out += %s" % b, ctx)
        elif t == _UUID:
            L(ind, "out += _uuid_bytes(%s)" % src, ctx)
        elif t == _STRUCT:
            fn = self.struct_fn(self.cls, a)
            L(ind, "%s(%s, out)" % (fn, src), ctx)
        elif t in (_LIST, _SET):
            et = a[0]
            ct = _CT[et]
            ln = self.var("l")
            self.seq_len(ind, src, ln, ctx, t == _SET)
            L(ind, "if %s < 15:" % ln)
            L(ind + 1, "out.append(%s << 4 | %d)" % (ln, ct))
            L(ind, "else:")
            L(ind + 1, "out.append(%d)" % (0xF0 | ct))
            L(ind + 1, "_wvar(out, %s)" % ln)
            self.write_elems(ind, t, a, src, ln, ctx)
        elif t == _MAP:
            kt, vt = a[0], a[2]
            ln = self.var("l")
            L(ind, "%s = len(%s)" % (ln, src), ctx)
            L(ind, "if %s:" % ln)
            L(ind + 1, "_wvar(out, %s)" % ln)
            L(ind + 1, "out.append(%d)" % ((_CT[kt] << 4) | _CT[vt]))
            k = self.var("k")
            x = self.var("x")
            L(ind + 1, "for %s, %s in %s.items():" % (k, x, src), ctx)
            self.write(ind + 2, kt, a[1], k, ctx + (("ek", k),))
            self.write(ind + 2, vt, a[3], x, ctx + (("mv", k),))
            L(ind, "else:")
            L(ind + 1, "out.append(0)")
        else:  # pragma: no cover
            raise SpecError("unsupported type %r" % t)

    def write_elems(self, ind, t, a, src, ln, ctx):
        L = self.line
        et, ea = a[0], a[1]
        if et == _BOOL:
            L(ind, "out += bytes([1 if _x else 2 for _x in %s])" % src, ctx)
        elif et == _BYTE:
            L(ind, "out += %s" % self.bulk_pack("%db", ln, src), ctx + (("eb", src, W.S_B.pack),))
        elif et == _DOUBLE:
            L(ind, "out += %s" % self.bulk_pack("<%dd", ln, src), ctx + (("eb", src, W.S_DLE.pack),))
        else:
            x = self.var("x")
            tag = ("es", x) if t == _SET else ("ei", x, src)
            L(ind, "for %s in %s:" % (x, src), ctx)
            self.write(ind + 1, et, ea, x, ctx + (tag,))


def _gen_compact_encoder(cls, spec, proto, slot):
    g = _CmpEnc(cls, proto, slot)
    fields = _fields_of(cls, spec)
    union = _is_union(cls)
    g.ns.update(
        _p_b=W.S_B.pack,
        _p_dle=W.S_DLE.pack,
        _pack=W.pack,
        _wvar=W.wvar,
        _wv16=W.wv16,
        _wv32=W.wv32,
        _wv64=W.wv64,
        _wfh=W.wfh,
        _uuid_bytes=_uuid_bytes,
        _err_union=W.err_union,
    )
    use_table = len(fields) <= _HEADER_TABLE_MAX
    L = g.line
    L(0, "def encode(obj, out):")
    L(1, "try:")
    L(2, "lp = 0" if use_table else "lf = 0")
    if union:
        L(2, "c = 0")
    prev_fids = [0] + [f.fid for f in fields]
    for k, f in enumerate(fields):
        ctx = (("f", f.seg),)
        L(2, "v = obj.%s" % f.attr, ctx)
        L(2, "if v is not None:")
        if union:
            L(3, "c += 1")
        if f.ttype == _BOOL:
            if use_table:
                tt = g.const(tuple(W.compact_field_header(1, f.fid, p) for p in prev_fids[: k + 1]), "_ht")
                tf = g.const(tuple(W.compact_field_header(2, f.fid, p) for p in prev_fids[: k + 1]), "_hf")
                L(3, "out += (%s if v else %s)[lp]" % (tt, tf), ctx)
                L(3, "lp = %d" % f.pos)
            else:
                L(3, "_wfh(out, 1 if v else 2, %d, lf)" % f.fid, ctx)
                L(3, "lf = %d" % f.fid)
            continue
        ct = _CT[f.ttype]
        if use_table:
            tbl = g.const(tuple(W.compact_field_header(ct, f.fid, p) for p in prev_fids[: k + 1]), "_h")
            L(3, "out += %s[lp]" % tbl)
            L(3, "lp = %d" % f.pos)
        else:
            L(3, "_wfh(out, %d, %d, lf)" % (ct, f.fid))
            L(3, "lf = %d" % f.fid)
        g.write(3, f.ttype, f.targs, "v", ctx)
    if union:
        L(2, "if c > 1:")
        L(3, "_err_union(%r)" % cls.__name__)
    L(2, "out.append(0)")
    L(1, "except Exception as ex:")
    L(2, "raise _wrap(ex, _CTX, locals(), True)")
    return g.compile("encode")


_GENERATORS = {
    ("binary", ENC): _gen_binary_encoder,
    ("binary", ENC_LAX): _gen_binary_encoder,
    ("binary", DEC): _gen_binary_decoder,
    ("binary", DEC_LAX): _gen_binary_decoder,
    ("compact", ENC): _gen_compact_encoder,
    ("compact", ENC_LAX): _gen_compact_encoder,
    ("compact", DEC): _gen_compact_decoder,
    ("compact", DEC_LAX): _gen_compact_decoder,
}
