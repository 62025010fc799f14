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
One generator per (protocol, function kind) writes Python source
specialised for a class -- field headers folded into precomputed ``bytes`` /
``struct.Struct`` calls, the expected field order tried first
(straight-line), nested classes called directly.  Binary straight-line code
works on *runs*: consecutive fields up to and including the first one of
variable width, whose headers, fixed-width values and the last field's
length (or element types and count) one precompiled ``struct`` call reads or
writes when all are present -- field by field otherwise; the elements of a
list/set of small "leaf" structs (no struct inside) are read and written
inline, without a call per element.  It runs in two modes that
share every line of it:

* JIT (:func:`get_function`): for every (class, protocol, kind, utf-8 mode)
  the first use generates the source and compiles it with ``exec``.  The
  functions are cached on the class (``_tg_plan_binary`` /
  ``_tg_plan_compact`` in the class ``__dict__``, so a subclass never
  inherits its parent's plan; a plan is rebuilt when ``thrift_spec`` is
  replaced).
* Ahead of time (:func:`emit_module`): the same source for a set of classes
  *described* at code-generation time (:class:`StructRef` / :class:`EnumRef`
  stand in for classes), as module-level text for a generated ``ttypes.py``:
  constants become module-level definitions instead of ``exec`` namespace
  bindings, helpers are imported from :mod:`._aot`.  Decoders emitted this
  way hold only the canonical-order fast path and hand anything else
  (out-of-order, unknown or repeated fields) to the JIT's general loop; their
  error-context tables are not emitted but rebuilt when an error needs one
  (:func:`aot_context`).

Generated function shapes::

    enc(obj, out: bytearray) -> None            # appends obj's encoding
    dec(buf: bytes, pos: int, depth: int) -> (obj, end)
    size(obj) -> int                            # exact encoded length
    rest(obj, buf, pos, depth, last) -> (obj, end)   # general decode loop

Each generated function has a single ``try``/``except``; the handler maps
the failing line (offset from the ``def`` line) to a field path using a table
built at generation time, so the fast path carries no bookkeeping at all.
JIT functions keep their source as ``fn._tg_source`` for inspection.
"""

import keyword
import re
import struct
import threading

from . import _codec_helpers as A
from . import _wire as W
from ._codec_helpers import DEC, DEC_LAX, ENC, ENC_LAX, PLAN_ATTR, REST, SIZE
from .errors import SpecError

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
_BIN_SINGLE = {_BYTE: "b", _I16: "h", _I32: "i", _I64: "q", _DOUBLE: "d"}

_BULK_TABLE_SIZE = A._BULK_TABLE_SIZE
_uuid_bytes = A._uuid_bytes
_enum_map = A._enum_map


# ---------------------------------------------------------------------------
# plan cache


def _plan_for(cls, proto, spec):
    attr = PLAN_ATTR[proto]
    plan = cls.__dict__.get(attr)
    if plan is None:
        plan = _fallback_plans.get((cls, proto))
    if plan is None or plan[0] is not spec:
        # Slots past DEC_LAX are appended when first built (see _set_slot).
        plan = [spec, None, None, None, None]
        try:
            type.__setattr__(cls, attr, plan)
        except (TypeError, AttributeError):
            _fallback_plans[(cls, proto)] = plan
    return plan


def _slot(plan, slot):
    return plan[slot] if slot < len(plan) else None


def _set_slot(plan, slot, fn):
    while len(plan) <= slot:
        plan.append(None)
    plan[slot] = fn


def lookup(cls, proto, slot):
    """Cached function or None (lock-free fast path used by the API)."""
    plan = cls.__dict__.get(PLAN_ATTR[proto])
    if plan is None:
        plan = _fallback_plans.get((cls, proto))
        if plan is None:
            return None
    if plan[0] is not getattr(cls, "thrift_spec", None):
        return None
    return _slot(plan, slot)


def get_function(cls, proto, slot):
    """Return the codec function (generated ahead of time or compiled now)."""
    fn = lookup(cls, proto, slot)
    if fn is not None:
        return fn
    with _lock:
        fn = _build(cls, proto, slot)
    if fn is None:  # pragma: no cover - only for cycles, resolved above
        raise SpecError("could not build a codec for %r" % (cls,))
    return fn


def _resume_b(obj, buf, pos, depth):
    """Finish decoding ``obj`` (binary) with the general loop: fields that are
    out of order, unknown or repeated."""
    return get_function(obj.__class__, "binary", REST)(obj, buf, pos, depth, 0)


def _resume_c(obj, buf, pos, depth, last):
    """Compact counterpart of :func:`_resume_b` (``last``: last field id read)."""
    return get_function(obj.__class__, "compact", REST)(obj, buf, pos, depth, last)


#: what JIT-compiled code calls back into (generated modules get the same names
#: from :mod:`._aot`; ``_function``: a nested class's function, which
#: :func:`get_function` takes from its plan when it has one); names AOT source may
#: take from :mod:`._aot`
_JIT_ENTRY_POINTS = {"_resume_b": _resume_b, "_resume_c": _resume_c, "_function": get_function}
assert set(_JIT_ENTRY_POINTS) == A.JIT_ENTRIES
_AOT_NAMES = A.HELPERS | A.JIT_ENTRIES


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
    if _slot(plan, slot) is not None:
        return plan[slot]
    key = (cls, proto, slot)
    if key in _building:
        return None  # cycle: the caller registers a fix-up
    outermost = not _building
    _building.add(key)
    ok = False
    try:
        info = _ClassInfo(cls.__name__, cls.__qualname__, _is_union(cls), _fields_of(cls, spec))
        fn = _generate(info, proto, slot, _JitTarget(cls, proto, slot))
        _set_slot(plan, slot, fn)
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


class StructRef:
    """Ahead-of-time stand-in for a struct class in a described spec.

    ``expr``: how the generated module spells the class; ``local``: the
    class is defined in that module (its functions are called by name)."""

    __slots__ = ("expr", "name", "local")

    def __init__(self, expr, name, local):
        self.expr = expr
        self.name = name
        self.local = local


class EnumRef:
    """Ahead-of-time stand-in for an enum class (``expr``: its spelling)."""

    __slots__ = ("expr",)

    def __init__(self, expr):
        self.expr = expr


class _Field:
    __slots__ = ("fid", "ttype", "attr", "targs", "seg", "pos", "default")

    def __init__(self, fid, ttype, attr, targs, pos, default=None):
        self.fid = fid
        self.ttype = ttype
        self.attr = attr
        self.targs = targs
        self.seg = "." + attr
        self.pos = pos
        self.default = default


class _ClassInfo:
    """What a generator needs to know about one class.

    ``defaults``: ahead of time only -- when every field's initial value is
    known (``None`` or an immutable constant, given as source text in
    ``_Field.default``), decoders create the object with ``object.__new__``
    and assign every field instead of running ``__init__``."""

    __slots__ = ("name", "qualname", "union", "fields", "defaults")

    def __init__(self, name, qualname, union, fields, defaults=False):
        self.name = name
        self.qualname = qualname
        self.union = union
        self.fields = fields
        self.defaults = defaults


def _fields_of(cls, spec, defaults=None):
    fields = []
    seen = set()
    owner = cls.__name__ if isinstance(cls, type) else str(cls)
    for entry in spec:
        if entry is None:
            continue
        if not isinstance(entry, (tuple, list)) or len(entry) < 4:
            raise SpecError("%s.thrift_spec: bad entry %r" % (owner, entry))
        fid, ttype, attr, targs = entry[0], entry[1], entry[2], entry[3]
        if not isinstance(fid, int) or not -32768 <= fid <= 32767:
            raise SpecError("%s.thrift_spec: bad field id %r" % (owner, fid))
        if fid in seen:
            raise SpecError("%s.thrift_spec: duplicate field id %d" % (owner, fid))
        if not isinstance(attr, str) or not attr.isidentifier() or keyword.iskeyword(attr):
            raise SpecError("%s.thrift_spec: bad attribute name %r" % (owner, attr))
        _check_type(owner, ttype, targs)
        seen.add(fid)
        dflt = defaults.get(attr) if defaults else None
        fields.append(_Field(fid, ttype, attr, targs, len(fields) + 1, dflt))
    return fields


def _check_type(owner, ttype, targs):
    if ttype not in _VALID_TTYPES:
        raise SpecError("%s.thrift_spec: unsupported type %r" % (owner, ttype))
    if ttype == _STRUCT:
        _struct_class(owner, targs)
    elif ttype in (_LIST, _SET):
        if not isinstance(targs, (tuple, list)) or len(targs) < 2:
            raise SpecError("%s.thrift_spec: bad list/set args %r" % (owner, targs))
        _check_type(owner, targs[0], targs[1])
    elif ttype == _MAP:
        if not isinstance(targs, (tuple, list)) or len(targs) < 4:
            raise SpecError("%s.thrift_spec: bad map args %r" % (owner, targs))
        _check_type(owner, targs[0], targs[1])
        _check_type(owner, targs[2], targs[3])


def _struct_class(owner, targs):
    klass = targs[0] if isinstance(targs, (tuple, list)) and targs else targs
    if isinstance(klass, StructRef):
        return klass
    if not isinstance(klass, type) or not isinstance(getattr(klass, "thrift_spec", None), (tuple, list)):
        raise SpecError("%s.thrift_spec: bad struct args %r" % (owner, targs))
    return klass


#: most fields of a nested struct whose code is emitted inline in a container loop
_INLINE_FIELDS = 12


def _has_struct(ttype, targs):
    if ttype == _STRUCT:
        return True
    if ttype in (_LIST, _SET):
        return _has_struct(targs[0], targs[1])
    if ttype == _MAP:
        return _has_struct(targs[0], targs[1]) or _has_struct(targs[2], targs[3])
    return False


def _leaf_fields(fields, union):
    """``fields`` when a struct with them is emitted inline (elements of a list or
    set): not a union, few fields, none holding a struct (so inline code never
    needs a depth budget or a call of its own); else None."""
    if union or len(fields) > _INLINE_FIELDS or any(_has_struct(f.ttype, f.targs)
                                                    for f in fields):
        return None
    return fields


def _is_binary(targs):
    return targs == "BINARY"


def _is_union(cls):
    return bool(getattr(cls, "_tg_is_union", False))


# ---------------------------------------------------------------------------
# targets: where constants and nested functions live


class _JitTarget:
    """Binds everything in an ``exec`` namespace; one per generated function."""

    def __init__(self, cls, proto, slot):
        self.cls = cls
        self.proto = proto
        self.slot = slot
        self.ns = {k: getattr(A, k) for k in A.HELPERS}
        self.ns.update(_JIT_ENTRY_POINTS)
        self.ns["_cls"] = cls
        self.ns["__builtins__"] = __builtins__
        self._names = {}
        self._structs = {}
        self.counter = 0

    def const(self, value, prefix):
        key = (type(value), value) if isinstance(value, (bytes, int, str, tuple)) else id(value)
        name = self._names.get(key)
        if name is None:
            self.counter += 1
            name = "%s%d" % (prefix, self.counter)
            self._names[key] = name
            self.ns[name] = value
        return name

    def enum_map(self, targs):
        emap = _enum_map(targs)
        return None if emap is None else self.const(emap, "_em")

    def bulk(self, fmt, which):
        return self.const(A._bulk_tables(fmt)[which], "_bt")

    def unpacker(self, fmt):
        return self.const(A._unpacker(fmt), "_su")

    def inline_fields(self, owner, targs):
        klass = _struct_class(owner, targs)
        return _leaf_fields(_fields_of(klass, _spec_of(klass)), _is_union(klass))

    def inline_new(self, owner, targs):
        # a class of any origin: its __init__ may do more than assign fields
        return False

    def class_ref(self, owner, targs):
        return self.const(_struct_class(owner, targs), "_c")

    def string_runs(self, suffix):
        return self.const(A._string_runs(suffix), "_sr")

    def packer(self, fmt):
        return self.const(A._packer(fmt), "_sp")

    def struct_fn(self, owner, targs, slot):
        klass = _struct_class(owner, targs)
        name = self._structs.get(klass)
        if name is None:
            self.counter += 1
            name = "_s%d" % self.counter
            self._structs[klass] = name
            fn = _build(klass, self.proto, slot)
            if fn is None:
                _fixups.append((self.ns, name, klass, self.proto, slot))
            else:
                self.ns[name] = fn
        return name

    def finish(self, g):
        source = "\n".join(g.lines) + "\n"
        self.ns["_CTX"] = g.ctxmap
        filename = "<thriftgen %s %s %s>" % (self.proto, g.fname, g.info.qualname)
        exec(compile(source, filename, "exec"), self.ns)
        fn = self.ns[g.fname]
        fn.__qualname__ = "%s.%s" % (g.info.qualname, g.fname)
        fn._tg_source = source
        return fn


class _Expr:
    """Source text of a module-level constant (ahead-of-time mode)."""

    __slots__ = ("source",)

    def __init__(self, source):
        self.source = source


_AOT_KINDS = {ENC: "enc", DEC: "dec", SIZE: "size"}
_PROTO_LETTER = {"binary": "b", "compact": "c"}
_HELPER_RE = re.compile(r"(?<![\w.])_[A-Za-z_]\w*")
#: builtins generated code uses (renamed when the module shadows one)
_BUILTINS_USED = ("Exception", "TypeError", "bool", "bytes", "len", "list", "locals", "map",
                  "range", "set")


class _AotTarget:
    """Collects module-level text for a set of described classes."""

    def __init__(self, prefix, shadowed):
        self.prefix = prefix
        self.counter = 0
        self.consts = {}  # key -> name
        self.const_lines = []
        self.functions = []
        self.helpers = set()
        self.builtins = sorted(set(_BUILTINS_USED) & set(shadowed))
        self.classes = {}  # name -> AotClass of the module (emit_module)
        self._builtin_re = (re.compile(r"(?<![\w.])(%s)\b(?!=[^=])" % "|".join(self.builtins))
                            if self.builtins else None)
        # per generated function, set by begin()
        self.proto = None
        self.info = None
        self.class_const = None

    def fn_name(self, proto, slot, class_name):
        return "%s%s%s_%s" % (self.prefix, _PROTO_LETTER[proto], _AOT_KINDS[slot], class_name)

    def _rename(self, text, local=None, builtins=True):
        def repl(m):
            name = m.group(0)
            if local and name in local:
                return local[name]
            if name in _AOT_NAMES:
                self.helpers.add(name)
                return self.prefix + name[1:]
            return name

        text = _HELPER_RE.sub(repl, text)
        if builtins and self._builtin_re is not None:
            text = self._builtin_re.sub(lambda m: self.prefix + "bi_" + m.group(1), text)
        return text

    def _define(self, key, source, prefix="k", code=True):
        """Name of a module-level constant (``code``: ``source`` refers to helpers)."""
        name = self.consts.get(key)
        if name is None:
            self.counter += 1
            name = "%s%s%d" % (self.prefix, prefix, self.counter)
            self.consts[key] = name
            # constants name module-level things (classes, enums): no builtin renaming
            text = self._rename(source, builtins=False) if code else source
            self.const_lines.append("%s = %s" % (name, text))
        return name

    def const(self, value, prefix):
        if isinstance(value, _Expr):
            return self._define(("expr", value.source), value.source)
        return self._define((type(value), repr(value)), repr(value), code=False)

    def enum_map(self, targs):
        if isinstance(targs, EnumRef):
            return self._define(("enum", targs.expr), "_enum_map(%s)" % targs.expr, "em")
        return None

    def bulk(self, fmt, which):
        fn = "_bulk_unpackers" if which == 0 else "_bulk_packers"
        return self._define(("bulk", fmt, which), "%s(%r)" % (fn, fmt), "bt")

    def unpacker(self, fmt):
        return self._define(("unpacker", fmt), "_unpacker(%r)" % fmt, "su")

    def inline_fields(self, owner, targs):
        # only classes of the same module: their spec is known here, and
        # aot_context can tell the same from the classes (see _CtxTarget)
        ref = _struct_class(owner, targs)
        c = self.classes.get(ref.name) if ref.local else None
        return None if c is None else _leaf_fields(_fields_of(c.name, c.spec), c.union)

    def inline_new(self, owner, targs):
        # every field starts as None (no defaults, not an exception): the
        # inline code may skip __init__ and assign each field itself
        ref = _struct_class(owner, targs)
        c = self.classes.get(ref.name) if ref.local else None
        return c is not None and c.defaults == {}

    def class_ref(self, owner, targs):
        ref = _struct_class(owner, targs)
        return self._define(("cls", ref.expr), ref.expr, "cls")

    def string_runs(self, suffix):
        return self._define(("sruns", suffix), "_string_runs(%r)" % suffix, "sr")

    def packer(self, fmt):
        return self._define(("packer", fmt), "_packer(%r)" % fmt, "sp")

    def struct_fn(self, owner, targs, slot):
        ref = _struct_class(owner, targs)
        if ref.local:
            return self.fn_name(self.proto, slot, ref.name)
        return self._define(("fn", ref.expr, self.proto, slot),
                            "_function(%s, %r, %d)" % (ref.expr, self.proto, slot), "fn")

    def begin(self, info, proto, cls_expr):
        self.info = info
        self.proto = proto
        self.class_const = self._define(("cls", cls_expr), cls_expr, "cls")

    def finish(self, g):
        # No error-context table in the module (it was ~20% of the section): the
        # handler names the function instead, and _aot._wrap regenerates the table
        # from the class with the same generator (aot_context) when an error occurs.
        ctx = "(%s, %r, %d, %d)" % (self.class_const, g.proto, g.slot,
                                    1 if self.info.defaults else 0)
        g.lines[0] = g.lines[0].replace("def %s(" % g.fname, "def %s(" % g.aot_name, 1)
        self.functions.append(self._rename("\n".join(g.lines),
                                           {"_cls": self.class_const, "_CTX": ctx}))
        return g.aot_name


class _CtxTarget(_AotTarget):
    """Runs a generator again for a generated class only to get the error-context
    table of its ahead-of-time function (see :func:`aot_context`): names as the
    emission saw them, nothing compiled, nested classes left alone."""

    def __init__(self):
        super().__init__("_", ())
        self.module = None

    def enum_map(self, targs):
        # the emission had an EnumRef (always a table) wherever the spec has an enum
        return "_em" if isinstance(targs, type) else None

    def struct_fn(self, owner, targs, slot):
        _struct_class(owner, targs)
        return "_s"

    def inline_fields(self, owner, targs):
        # as the emission decided: a class of the same module, spec in id order
        klass = _struct_class(owner, targs)
        if klass.__module__ != self.module:
            return None
        spec = sorted((e for e in _spec_of(klass) if e is not None), key=lambda e: e[0])
        return _leaf_fields(_fields_of(klass, spec), _is_union(klass))

    def inline_new(self, owner, targs):
        # as the emission decided (AotClass.defaults == {}), told from the
        # generated class: not an exception, every __init__ default None
        klass = _struct_class(owner, targs)
        init = klass.__dict__.get("__init__")
        return (not issubclass(klass, BaseException) and init is not None
                and all(d is None for d in (getattr(init, "__defaults__", None) or ())))

    def class_ref(self, owner, targs):
        return "_c"

    def finish(self, g):
        return g.ctxmap


def aot_context(cls, proto, slot, fast_defaults):
    """The error-context table (line offset -> path context) of ``cls``'s ahead-of-time
    ``slot`` function for ``proto``: the generator that emitted it runs again on the
    class's ``thrift_spec`` (fields in id order, as emitted) and gives the same lines.
    ``fast_defaults``: the emitted decoder assigned every field (``_ClassInfo.defaults``)."""
    spec = sorted((e for e in _spec_of(cls) if e is not None), key=lambda e: e[0])
    info = _ClassInfo(cls.__name__, cls.__name__, _is_union(cls), _fields_of(cls, spec),
                      defaults=bool(fast_defaults))
    target = _CtxTarget()
    target.module = cls.__module__
    target.begin(info, proto, cls.__name__)
    return _generate(info, proto, slot, target, "fast" if slot == DEC else "full")


# ---------------------------------------------------------------------------
# source builder


class _Gen:
    def __init__(self, info, proto, slot, target, variant="full"):
        self.info = info
        self.proto = proto
        self.slot = slot
        self.lax = slot in (ENC_LAX, DEC_LAX)
        self.target = target
        self.aot = isinstance(target, _AotTarget)
        self.variant = variant  # full | fast (ahead of time) | rest
        self.lines = []
        self.ctxmap = {}
        self.counter = 0
        self.fresh = set()  # locals made by _new whose absent fields must be set
        self.fname = {ENC: "encode", ENC_LAX: "encode", DEC: "decode", DEC_LAX: "decode",
                      SIZE: "size", REST: "rest"}[slot]
        self.aot_name = target.fn_name(proto, slot, info.name) if self.aot else None

    def line(self, ind, text, ctx=None):
        self.lines.append("    " * ind + text)
        if ctx:
            self.ctxmap[len(self.lines) - 1] = ctx

    def var(self, prefix):
        self.counter += 1
        return "%s%d" % (prefix, self.counter)

    def const(self, value, prefix="_k"):
        return self.target.const(value, prefix)

    def enum_map(self, targs):
        return self.target.enum_map(targs)

    def struct_fn(self, targs, slot=None):
        """Name of the nested class's function (same kind as this one)."""
        if slot is None:
            slot = DEC if self.slot == REST else self.slot
        return self.target.struct_fn(self.info.name, targs, slot)

    def union_name(self):
        return self.const(self.info.name, "_un")

    def compile(self):
        return self.target.finish(self)

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
        tab = self.target.bulk(fmt, 0)
        f = self.const(fmt, "_fmt")
        return "(%s[%s](buf, pos) if %s < %d else _unpack_from(%s %% %s, buf, pos))" % (
            tab, ln, ln, _BULK_TABLE_SIZE, f, ln)

    def bulk_pack(self, fmt, ln, src, head=""):
        """Expression packing ``ln`` items of ``src`` with ``fmt``; ``head``: the
        leading arguments of a header that ``fmt`` starts with ('>bi%di')."""
        tab = self.target.bulk(fmt, 1)
        f = self.const(fmt, "_fmt")
        return "(%s[%s](%s*%s) if %s < %d else _pack(%s %% %s, %s*%s))" % (
            tab, ln, head, src, ln, _BULK_TABLE_SIZE, f, ln, head, src)

    def new_object(self, ind):
        """``obj = ...``: ``__init__`` unless every field gets assigned below."""
        if self.variant == "fast" and self.info.defaults:
            self.line(ind, "obj = _new(_cls)")
        else:
            self.line(ind, "obj = _cls()")

    def read_string_body(self, ind, a, dst, ctx, ln):
        """The bytes of a string whose (non-negative) length ``ln`` was read;
        ``pos`` is at its first byte."""
        L = self.line
        e = self.var("e")
        L(ind, "%s = pos + %s" % (e, ln))
        L(ind, "if %s > n:" % e)
        L(ind + 1, "_err_length(%s, n - pos)" % ln, ctx)
        if _is_binary(a):
            L(ind, "%s = buf[pos:%s]" % (dst, e), ctx)
        else:
            L(ind, "%s = buf[pos:%s].decode(%s)" % (dst, e, _errors_arg(self.lax)), ctx)
        L(ind, "pos = %s" % e)

    def default_else(self, ind, f, obj="obj"):
        """For an object made by ``_new``: the field's initial value when absent."""
        if obj in self.fresh or (obj == "obj" and self.variant == "fast" and self.info.defaults):
            self.line(ind, "else:")
            value = "None" if f.default is None else self.const(_Expr(f.default), "_d")
            self.line(ind + 1, "%s.%s = %s" % (obj, f.attr, value))


def _errors_arg(lax):
    return "'utf-8', 'surrogateescape'" if lax else ""


def _generate(info, proto, slot, target, variant=None):
    if variant is None:
        variant = "rest" if slot == REST else "full"
    gen = _GENERATORS[proto, _KIND[slot]]
    return gen(info, proto, slot, target, variant)


# ---------------------------------------------------------------------------
# binary decoder

_BIN_UNPACK = {_I16: "_u_h", _I32: "_u_i", _I64: "_u_q", _DOUBLE: "_u_d"}


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
        elif t in _BIN_UNPACK:
            name = _BIN_UNPACK[t]
            em = self.enum_map(a) if t == _I32 else None
            if em is not None:
                x = self.var("x")
                L(ind, "%s = %s(buf, %s)[0]" % (x, name, at(0)), ctx)
                L(ind, "%s = %s.get(%s, %s)" % (dst, em, x, x), ctx)
            else:
                L(ind, "%s = %s(buf, %s)[0]" % (dst, name, at(0)), ctx)
            L(ind, "pos += %d" % (W.BIN_WIDTH[t] + hdr))
        elif t == _STRING:
            # the length is read unsigned: a negative one is caught by ``> n``
            ln = self.var("l")
            L(ind, "%s = _u_I(buf, %s)[0]" % (ln, at(0)), ctx)
            L(ind, "pos += %d" % (4 + hdr))
            self.read_string_body(ind, a, dst, ctx, ln)
        elif t in (_LIST, _SET):
            self.read_seq(ind, t, a, dst, ctx, hdr)
        elif t == _MAP:
            self.read_map(ind, a, dst, ctx, hdr)
        else:
            if hdr:
                L(ind, "pos += %d" % hdr)
            if t == _UUID:
                e = self.var("e")
                L(ind, "%s = pos + 16" % e)
                L(ind, "if %s > n:" % e)
                L(ind + 1, "_err_truncated(16, n - pos)", ctx)
                L(ind, "%s = _UUID(bytes=buf[pos:%s])" % (dst, e), ctx)
                L(ind, "pos = %s" % e)
            elif t == _STRUCT:
                fn = self.struct_fn(a)
                L(ind, "%s, pos = %s(buf, pos, d1)" % (dst, fn), ctx)
            else:  # pragma: no cover - rejected by _check_type
                raise SpecError("unsupported type %r" % t)

    def read_seq(self, ind, t, a, dst, ctx, hdr=0):
        L = self.line
        et = a[0]
        ln, got = self.var("l"), self.var("t")
        p0 = "pos + %d" % hdr if hdr else "pos"
        L(ind, "%s, %s = %s(buf, %s)" % (got, ln, self.target.unpacker(">Bi"), p0), ctx)
        L(ind, "if %s and %s != %d:" % (ln, got, et))
        L(ind + 1, "_err_elem_type(%s, %d)" % (got, et), ctx)
        L(ind, "pos += %d" % (5 + hdr))
        self.read_seq_body(ind, t, a, dst, ctx, ln)

    def read_seq_body(self, ind, t, a, dst, ctx, ln):
        """The elements of a list/set whose header (count ``ln``) was read and checked."""
        L = self.line
        et, ea = a[0], a[1]
        is_set = t == _SET
        L(ind, "if %s > 0:" % ln)
        mw = W.BIN_MIN_WIDTH[et]
        if mw == 1:
            L(ind + 1, "if %s > n - pos:" % ln)
        else:
            L(ind + 1, "if %s * %d > n - pos:" % (ln, mw))
        L(ind + 2, "_err_count(%s, %d, n - pos)" % (ln, mw), ctx)
        wrap = "set" if is_set else "list"
        i = ind + 1
        em = self.enum_map(ea) if et == _I32 else None
        if et == _BOOL:
            L(i, "%s = %s([_b != 0 for _b in buf[pos:pos + %s]])" % (dst, wrap, ln), ctx)
            L(i, "pos += %s" % ln)
        elif et in _BULK_FMT:
            expr = self.bulk_unpack(">%d" + _BULK_FMT[et], ln)
            w = W.BIN_WIDTH[et]
            if em is not None:
                L(i, "%s = %s([%s.get(_x, _x) for _x in %s])" % (dst, wrap, em, expr), ctx)
            else:
                L(i, "%s = %s(%s)" % (dst, wrap, expr), ctx)
            L(i, "pos += %s * %d" % (ln, w))
        elif et == _STRING:
            self.read_strings(i, ea, dst, ctx, ln, wrap)
        else:
            acc = self.var("c")
            idx = self.var("i")
            x = self.var("x")
            L(i, "%s = %s()" % (acc, wrap))
            # acc.append(x), not a bound method kept in a local: 3.11+ runs
            # the method call form faster
            add = "%s.%s" % (acc, "add" if is_set else "append")
            inline = (self.target.inline_fields(self.info.name, ea)
                      if et == _STRUCT and not self.lax else None)
            if inline is not None:  # the element's fields read here, no call per element
                L(i, "if d1 <= 0:")
                L(i + 1, "_err_depth()", ctx)
            L(i, "for %s in range(%s):" % (idx, ln))
            if inline is not None:
                self.read_struct_chain(i + 1, ea, inline, x, ["%s(%s)" % (add, x), "continue"],
                                       ctx + (("i", idx),))
                # not all there in canonical order: the element's own decoder
                # (its dispatch loop), not straight-line code retried inline
                L(i + 1, "%s, pos = %s(buf, pos, d1)" % (x, self.struct_fn(ea)),
                  ctx + (("i", idx),))
            else:
                self.read(i + 1, et, ea, x, ctx + (("i", idx),))
            L(i + 1, "%s(%s)" % (add, x), ctx + (("i", idx),))
            L(i, "%s = %s" % (dst, acc))
        L(ind, "elif %s == 0:" % ln)
        L(ind + 1, "%s = %s()" % (dst, wrap))
        L(ind, "else:")
        L(ind + 1, "_err_count(%s, 1, n - pos)" % ln, ctx)

    def string_value(self, a, raw):
        """The value of string bytes ``raw`` (str, or bytes for binary)."""
        return raw if _is_binary(a) else "%s.decode(%s)" % (raw, _errors_arg(self.lax))

    def read_strings(self, ind, ea, dst, ctx, ln, wrap):
        """``ln`` (> 0) strings: each body is read with the next one's length by
        one call (see _aot._StringRuns); the last body alone."""
        L = self.line
        acc, idx, lk, lk2, raw, x = (self.var(p) for p in ("c", "i", "l", "l", "s", "x"))
        ci = ctx + (("i", idx),)
        add = "%s.%s" % (acc, "add" if wrap == "set" else "append")
        L(ind, "%s = %s()" % (acc, wrap))
        L(ind, "%s = _u_I(buf, pos)[0]" % lk, ctx)
        L(ind, "pos += 4")
        L(ind, "for %s in range(%s - 1):" % (idx, ln))
        L(ind + 1, "%s, %s = %s[%s](buf, pos)" % (raw, lk2, self.target.string_runs("I"), lk), ci)
        L(ind + 1, "%s(%s)" % (add, self.string_value(ea, raw)), ci)
        L(ind + 1, "pos += %s + 4" % lk)
        L(ind + 1, "%s = %s" % (lk, lk2))
        L(ind, "%s = %s - 1" % (idx, ln))
        self.read_string_body(ind, ea, x, ci, lk)
        L(ind, "%s(%s)" % (add, x), ci)
        L(ind, "%s = %s" % (dst, acc))

    def read_string_map(self, ind, ka, va, m, k, idx, ctx, ln):
        """``ln`` (> 0) entries of a string -> string map, as read_strings: a
        key's body and the value's length by one call, the value's body and
        the next key's length by another."""
        L = self.line
        runs = self.target.string_runs("I")
        lk, lv, raw = self.var("l"), self.var("l"), self.var("s")
        ck, cv = ctx + (("mk", idx),), ctx + (("mv", k),)
        L(ind, "%s = _u_I(buf, pos)[0]" % lk, ctx)
        L(ind, "pos += 4")
        L(ind, "for %s in range(%s - 1):" % (idx, ln))
        L(ind + 1, "%s, %s = %s[%s](buf, pos)" % (raw, lv, runs, lk), ck)
        L(ind + 1, "%s = %s" % (k, self.string_value(ka, raw)), ck)
        L(ind + 1, "pos += %s + 4" % lk)
        L(ind + 1, "%s, %s = %s[%s](buf, pos)" % (raw, lk, runs, lv), cv)
        L(ind + 1, "%s[%s] = %s" % (m, k, self.string_value(va, raw)), cv)
        L(ind + 1, "pos += %s + 4" % lv)
        L(ind, "%s = %s - 1" % (idx, ln))
        L(ind, "%s, %s = %s[%s](buf, pos)" % (raw, lv, runs, lk), ck)
        L(ind, "%s = %s" % (k, self.string_value(ka, raw)), ck)
        L(ind, "pos += %s + 4" % lk)
        self.read_string_body(ind, va, "%s[%s]" % (m, k), cv, lv)

    def read_struct_chain(self, ind, targs, fields, x, done, ctx):
        """A nested struct read into local ``x`` by one chain of unpacks when
        every field is there in canonical order, then the lines ``done`` (which
        leave the enclosing loop: ``continue``/``break``); otherwise nothing is
        consumed and the code after it runs.

        Only for fixed-width and string fields. Each string's body is read
        with the heads that follow it (an _aot._StringRuns table keyed by its
        length); the last unpack also reads the STOP byte unless a string ends
        the struct. Values are assigned once every header matched. Reading past
        the end of the input is a mismatch (the field-by-field path then names
        the field in its error); a negative length or bad UTF-8 is the field's
        error, as on that path."""
        if not _chainable(fields):
            return
        L = self.line
        parts, part = [], []  # fields up to and including each string, then the rest
        for f in fields:
            part.append(f)
            if f.ttype == _STRING:
                parts.append(part)
                part = []
        if part:
            parts.append(part)
        L(ind, "try:")
        i = ind + 1
        width, lengths = 0, []  # the chain's offset: pos + width + string lengths
        values = {}  # field -> local holding its value
        pending = pending_len = None  # the string whose body the next unpack reads, its length

        def offset(*extra):
            return " + ".join(["pos"] + ([str(width)] if width else []) + lengths + list(extra))

        for k, part in enumerate(parts):
            stop = k == len(parts) - 1 and part[-1].ttype != _STRING
            fmt = "".join("bh" + _HEAD_FMT[f.ttype] for f in part) + ("B" if stop else "")
            names, checks = [], []
            if pending is not None:
                values[pending] = self.var("s")
                names.append(values[pending])
            for f in part:
                t, fi, v = self.var("t"), self.var("f"), self.var("v")
                names += [t, fi, v]
                checks.append("%s == %d and %s == %d" % (t, f.ttype, fi, f.fid))
                values[f] = v
            if stop:
                z = self.var("z")
                names.append(z)
                checks.append("%s == 0" % z)
            if pending is None:
                call = "%s(buf, %s)" % (self.target.unpacker(">" + fmt), offset())
                cx = ctx
            else:  # the table rejects a negative length: that string's error
                call = "%s[%s](buf, %s)" % (self.target.string_runs(fmt), pending_len, offset())
                lengths.append(pending_len)
                cx = ctx + (("f", pending.seg),)
            L(i, "%s = %s" % (", ".join(names), call), cx)
            L(i, "if %s:" % " and ".join(checks))
            i += 1
            width += struct.calcsize(">" + fmt)
            pending = part[-1] if part[-1].ttype == _STRING else None
            pending_len = values[pending] if pending is not None else None
        if pending is not None:  # a string ends the struct: its body, then STOP
            end = self.var("e")
            L(i, "%s = %s" % (end, offset(pending_len)))
            L(i, "if buf[%s] == 0:" % end, ctx)
            i += 1
            values[pending] = "buf[%s - %s:%s]" % (end, pending_len, end)
            new_pos = "%s + 1" % end
        else:
            new_pos = offset()
        cref = self.target.class_ref(self.info.name, targs)
        if self.target.inline_new(self.info.name, targs):
            L(i, "%s = _new(%s)" % (x, cref), ctx)
        else:
            L(i, "%s = %s()" % (x, cref), ctx)
        for f in fields:
            v = (self.string_value(f.targs, values[f]) if f.ttype == _STRING
                 else _unpacked_value(self, f, values[f]))
            L(i, "%s.%s = %s" % (x, f.attr, v), ctx + (("f", f.seg),))
        L(i, "pos = %s" % new_pos)
        for line in done:
            L(i, line, ctx)
        L(ind, "except _chain_miss:")
        L(ind + 1, "pass")

    def read_map(self, ind, a, dst, ctx, hdr=0):
        L = self.line
        kt, vt = a[0], a[2]
        ln, gk, gv = self.var("l"), self.var("t"), self.var("t")
        p0 = "pos + %d" % hdr if hdr else "pos"
        L(ind, "%s, %s, %s = %s(buf, %s)" % (gk, gv, ln, self.target.unpacker(">BBi"), p0), ctx)
        L(ind, "if %s and (%s != %d or %s != %d):" % (ln, gk, kt, gv, vt), ctx)
        L(ind + 1, "_err_map_types(%s, %s, %d, %d)" % (gk, gv, kt, vt), ctx)
        L(ind, "pos += %d" % (6 + hdr))
        self.read_map_body(ind, a, dst, ctx, ln)

    def read_map_body(self, ind, a, dst, ctx, ln):
        """The entries of a map whose header (count ``ln``) was read and checked."""
        L = self.line
        kt, ka, vt, va = a[0], a[1], a[2], a[3]
        L(ind, "if %s > 0:" % ln)
        mw = W.BIN_MIN_WIDTH[kt] + W.BIN_MIN_WIDTH[vt]
        L(ind + 1, "if %s * %d > n - pos:" % (ln, mw))
        L(ind + 2, "_err_count(%s, %d, n - pos)" % (ln, mw), ctx)
        m = self.var("m")
        idx = self.var("i")
        k = self.var("k")
        L(ind + 1, "%s = {}" % m)
        if kt == vt == _STRING:
            self.read_string_map(ind + 1, ka, va, m, k, idx, ctx, ln)
        else:
            L(ind + 1, "for %s in range(%s):" % (idx, ln))
            self.read(ind + 2, kt, ka, k, ctx + (("mk", idx),))
            self.read(ind + 2, vt, va, "%s[%s]" % (m, k), ctx + (("mv", k),))
        L(ind + 1, "%s = %s" % (dst, m))
        L(ind, "elif %s == 0:" % ln)
        L(ind + 1, "%s = {}" % dst)
        L(ind, "else:")
        L(ind + 1, "_err_count(%s, 1, n - pos)" % ln, ctx)


def _gen_binary_decoder(info, proto, slot, target, variant):
    g = _BinDec(info, proto, slot, target, variant)
    fields = info.fields
    union = info.union
    L = g.line
    if variant == "rest":
        L(0, "def rest(obj, buf, pos, depth, last):")
        _rest_prologue(g)
    else:
        L(0, "def decode(buf, pos, depth%s):" % ("=64" if g.aot else ""))
        L(1, "if depth <= 0:")
        L(2, "_err_depth()")
        L(1, "d1 = depth - 1")
        g.new_object(1)
        L(1, "n = len(buf)")
        if union and variant == "full":
            L(1, "seen = None")
        L(1, "try:")
        # straight-line: fields in spec order, each tried once by exact header
        # (a union takes at most one of them)
        if union:
            if variant != "full":
                for k, f in enumerate(fields):
                    hdr = g.const(W.S_BH.pack(f.ttype, f.fid), "_h")
                    L(2, "%s buf.startswith(%s, pos):" % ("elif" if k else "if", hdr))
                    g.read(3, f.ttype, f.targs, "obj." + f.attr, (("f", f.seg),), hdr=3)
        elif variant == "full":
            _bin_canonical(g, fields)
        else:
            for run in _head_runs(fields):
                _bin_run(g, run)
        if variant == "fast":
            L(2, "if buf[pos] == 0:")
            L(3, "return obj, pos + 1")
            L(1, "except Exception as ex:")
            L(2, "raise _wrap(ex, _CTX, locals())")
            L(1, "return _resume_b(obj, buf, pos, depth)")
            return g.compile()
    if not union:
        _bin_dispatch_loop(g, fields)
        L(1, "except Exception as ex:")
        L(2, "raise _wrap(ex, _CTX, locals())")
        L(1, "return obj, pos")
        return g.compile()
    binary_field_loop(L)

    def body(ind, f):
        L(ind, "if t == %d:" % f.ttype)
        ctx = (("f", f.seg),)
        g.read(ind + 1, f.ttype, f.targs, "obj." + f.attr, ctx)
        if union:
            L(ind + 1, "if seen is not None and seen != %d:" % f.fid)
            L(ind + 2, "_err_union(%s)" % g.union_name(), ctx)
            L(ind + 1, "seen = %d" % f.fid)
        L(ind + 1, "continue")

    _dispatch(g, 3, sorted(fields, key=lambda f: f.fid), body)
    names = {f.fid: f.seg for f in fields}
    L(3, "pos = _bskip(buf, pos, t, d1)", (("u", names),))
    L(1, "except Exception as ex:")
    L(2, "raise _wrap(ex, _CTX, locals())")
    L(1, "return obj, pos")
    return g.compile()


# Fused field heads (binary fast path): the header of each field, a fixed-width
# field's value and a variable one's length/header are read by one precompiled
# struct call per run of fields, the headers compared as small ints.  A run
# ends after its first variable-width field.
_HEAD_FMT = {_BOOL: "B", _BYTE: "b", _I16: "h", _I32: "i", _I64: "q", _DOUBLE: "d",
             _UUID: "16s", _STRING: "I", _LIST: "Bi", _SET: "Bi", _MAP: "BBi", _STRUCT: ""}
_HEAD_ITEMS = {_LIST: 2, _SET: 2, _MAP: 3, _STRUCT: 0}
# ... and written (encoding): '?' packs any value's truth, lengths and counts as
# Apache writes them (signed)
_PACK_HEAD = {**_HEAD_FMT, _BOOL: "?", _STRING: "i", _LIST: "bi", _SET: "bi", _MAP: "bbi"}


def _head_runs(fields):
    run = []
    for f in fields:
        run.append(f)
        if f.ttype not in W.BIN_WIDTH:
            yield run
            run = []
    if run:
        yield run


def head_check(g, ind, fmt, names, checks):
    """Emit the unpack of a run's heads into ``names`` (guarded by the bytes
    left: an exception raised at the end of a sparse message would cost far
    more than the test) and the test of their headers; returns the name of the
    flag, whose ``if`` is emitted last."""
    L = g.line
    ok = g.var("ok")
    L(ind, "%s = pos + %d <= n" % (ok, struct.calcsize(fmt)))
    L(ind, "if %s:" % ok)
    L(ind + 1, "%s = %s(buf, pos)" % (", ".join(names), g.target.unpacker(fmt)))
    L(ind + 1, "%s = %s" % (ok, " and ".join(checks)))
    L(ind, "if %s:" % ok)
    return ok


def fused_try(g, ind, fmt, names, checks):
    """Emit ``while True:`` and, inside, the guarded unpack of a run's heads into
    ``names`` and the test of their headers; returns the indentation of the
    fast path, which the caller ends with ``break``. The code after it, one
    level in from ``while``, is the fallback (also ended by ``break``): no flag
    is set or tested on the fast path."""
    L = g.line
    L(ind, "while True:")
    L(ind + 1, "if pos + %d <= n:" % struct.calcsize(fmt))
    L(ind + 2, "%s = %s(buf, pos)" % (", ".join(names), g.target.unpacker(fmt)))
    L(ind + 2, "if %s:" % " and ".join(checks))
    return ind + 3


def _chainable(fields):
    """Fields a chain of unpacks can read (see _BinDec.read_struct_chain)."""
    return bool(fields) and all(f.ttype in W.BIN_WIDTH or f.ttype == _STRING for f in fields)


def _bin_struct_field(g, ind, f, obj="obj", ctx0=()):
    """A struct field of the straight-line path: a leaf struct of fixed-width and
    string fields is read in place by a chain (no call) when it is canonical."""
    inline = g.target.inline_fields(g.info.name, f.targs) if not g.lax else None
    if inline is None or not _chainable(inline):
        _bin_field(g, ind, f, obj, ctx0)
        return
    g.line(ind, "if buf.startswith(%s, pos):" % g.const(W.S_BH.pack(f.ttype, f.fid), "_h"))
    _bin_chained_struct(g, ind + 1, f, inline, obj, ctx0)
    g.default_else(ind, f, obj)


def _bin_chained_struct(g, ind, f, inline, obj, ctx0):
    """Struct field ``f`` whose header matched (``pos`` still at it): by one chain
    of unpacks when its leaf ``inline`` fields are all there, else by its decoder."""
    L = g.line
    ctx = ctx0 + (("f", f.seg),)
    dst = "%s.%s" % (obj, f.attr)
    L(ind, "pos += 3")
    L(ind, "if d1 <= 0:")
    L(ind + 1, "_err_depth()", ctx)
    L(ind, "while True:")
    x = g.var("x")
    g.read_struct_chain(ind + 1, f.targs, inline, x, ["%s = %s" % (dst, x), "break"], ctx)
    L(ind + 1, "%s, pos = %s(buf, pos, d1)" % (dst, g.struct_fn(f.targs)), ctx)
    L(ind + 1, "break")


def _bin_field(g, ind, f, obj="obj", ctx0=()):
    """One field of the straight-line path, tried alone by its exact header."""
    hdr = g.const(W.S_BH.pack(f.ttype, f.fid), "_h")
    g.line(ind, "if buf.startswith(%s, pos):" % hdr)
    g.read(ind + 1, f.ttype, f.targs, "%s.%s" % (obj, f.attr), ctx0 + (("f", f.seg),), hdr=3)
    g.default_else(ind, f, obj)


def _unpacked_value(g, f, v):
    """The value of fixed-width field ``f`` from what its unpack put in ``v``."""
    em = g.enum_map(f.targs) if f.ttype == _I32 else None
    if f.ttype == _BOOL:
        return "%s != 0" % v
    if f.ttype == _UUID:
        return "_UUID(bytes=%s)" % v
    if em is not None:
        return "%s.get(%s, %s)" % (em, v, v)
    return v


def _bin_run_values(g, ind, run, heads, obj, ctx0):
    """Assign the fixed-width values a run's unpack read."""
    for f, fhead in zip(run, heads):
        if f.ttype in W.BIN_WIDTH:
            (v,) = fhead
            g.line(ind, "%s.%s = %s" % (obj, f.attr, _unpacked_value(g, f, v)),
                   ctx0 + (("f", f.seg),))


def _run_heads(g, run):
    """``(fmt, width, names, checks, heads)`` of a run's fused unpack: the struct
    format, its size, the locals it unpacks into, the header tests, and per field
    the locals of its value or head."""
    fmt = ">" + "".join("bh" + _HEAD_FMT[f.ttype] for f in run)
    names, checks, heads = [], [], []
    for f in run:
        t, fi = g.var("t"), g.var("f")
        names += [t, fi]
        checks.append("%s == %d and %s == %d" % (t, f.ttype, fi, f.fid))
        head = [g.var("v") for _ in range(_HEAD_ITEMS.get(f.ttype, 1))]
        names += head
        heads.append(head)
    return fmt, struct.calcsize(fmt), names, checks, heads


def _bin_run_tail(g, ind, t, a, dst, ctx, head):
    """What follows a run's unpack for its last field when that is a container or
    a struct: the element types checked and the body read (``head``: its locals)."""
    L = g.line
    if t in (_LIST, _SET):
        et, ln = head
        L(ind, "if %s and %s != %d:" % (ln, et, a[0]))
        L(ind + 1, "_err_elem_type(%s, %d)" % (et, a[0]), ctx)
        g.read_seq_body(ind, t, a, dst, ctx, ln)
    elif t == _MAP:
        kt, vt, ln = head
        L(ind, "if %s and (%s != %d or %s != %d):" % (ln, kt, a[0], vt, a[2]))
        L(ind + 1, "_err_map_types(%s, %s, %d, %d)" % (kt, vt, a[0], a[2]), ctx)
        g.read_map_body(ind, a, dst, ctx, ln)
    else:
        L(ind, "%s, pos = %s(buf, pos, d1)" % (dst, g.struct_fn(a)), ctx)


def _bin_run(g, run, ind=2, obj="obj", ctx0=()):
    """A run of fields in canonical order: one unpack when all are present,
    field by field otherwise (absent optional fields, other orders).

    Runs ending with a fixed-width field or a string take the flag-free form
    (:func:`fused_try`). Runs ending with a container leave its head (element
    types and count) in the same locals either way and test a flag before its
    body, which is emitted once."""
    L = g.line
    if len(run) == 1 and run[0].ttype == _STRUCT:  # nothing to fuse
        _bin_struct_field(g, ind, run[0], obj, ctx0)
        return
    fmt, width, names, checks, heads = _run_heads(g, run)
    last, head = run[-1], heads[-1]
    t, a = last.ttype, last.targs
    ctx = ctx0 + (("f", last.seg),)
    dst = "%s.%s" % (obj, last.attr)
    if t in W.BIN_WIDTH or t == _STRING:
        fast = fused_try(g, ind, fmt, names, checks)
        _bin_run_values(g, fast, run, heads, obj, ctx0)
        L(fast, "pos += %d" % width)
        if t == _STRING:
            g.read_string_body(fast, a, dst, ctx, head[0])
        L(fast, "break")
        for f in run:
            _bin_field(g, ind + 1, f, obj, ctx0)
        L(ind + 1, "break")
        return
    ok = head_check(g, ind, fmt, names, checks)
    _bin_run_values(g, ind + 1, run, heads, obj, ctx0)
    L(ind + 1, "pos += %d" % width)
    L(ind, "else:")
    for f in run[:-1]:
        _bin_field(g, ind + 1, f, obj, ctx0)
    hdr = g.const(W.S_BH.pack(t, last.fid), "_h")
    L(ind + 1, "if buf.startswith(%s, pos):" % hdr)
    L(ind + 2, "%s = True" % ok)
    if t in (_LIST, _SET):
        L(ind + 2, "%s = buf[pos + 3]" % head[0], ctx)
        L(ind + 2, "%s = _u_i(buf, pos + 4)[0]" % head[1], ctx)
    elif t == _MAP:
        L(ind + 2, "%s = buf[pos + 3]" % head[0], ctx)
        L(ind + 2, "%s = buf[pos + 4]" % head[1], ctx)
        L(ind + 2, "%s = _u_i(buf, pos + 5)[0]" % head[2], ctx)
    L(ind + 2, "pos += %d" % (3 + struct.calcsize(">" + _HEAD_FMT[t])))
    g.default_else(ind + 1, last, obj)
    L(ind, "if %s:" % ok)
    _bin_run_tail(g, ind + 1, t, a, dst, ctx, head)


def _bin_canonical(g, fields):
    """The canonical-order block of a (non-union) decoder: each run of fields read
    by one unpack, in ``while True:``; the first run whose headers do not match
    (an absent optional field, another order, an unknown field) leaves the block
    for the dispatch loop (:func:`_bin_dispatch_loop`), which reads the rest
    field by field; nothing is retried. All there: STOP, and return."""
    L = g.line
    L(2, "while True:")
    for run in _head_runs(fields):
        _bin_run_or_leave(g, run, 3)
    L(3, "if buf[pos] == 0:")
    L(4, "return obj, pos + 1")
    L(3, "break")


def _bin_run_or_leave(g, run, ind, obj="obj", ctx0=()):
    """One run of the canonical block: its values when every header matches,
    else ``break`` (nothing of the run consumed)."""
    L = g.line
    last = run[-1]
    t, a = last.ttype, last.targs
    ctx = ctx0 + (("f", last.seg),)
    dst = "%s.%s" % (obj, last.attr)
    if len(run) == 1 and t == _STRUCT:
        L(ind, "if not buf.startswith(%s, pos):" % g.const(W.S_BH.pack(t, last.fid), "_h"))
        L(ind + 1, "break")
        inline = g.target.inline_fields(g.info.name, a) if not g.lax else None
        if inline is None or not _chainable(inline):
            g.read(ind, t, a, dst, ctx, hdr=3)
            return
        _bin_chained_struct(g, ind, last, inline, obj, ctx0)
        return
    fmt, width, names, checks, heads = _run_heads(g, run)
    head = heads[-1]
    L(ind, "if pos + %d > n:" % width)
    L(ind + 1, "break")
    L(ind, "%s = %s(buf, pos)" % (", ".join(names), g.target.unpacker(fmt)))
    L(ind, "if not (%s):" % " and ".join(checks))
    L(ind + 1, "break")
    _bin_run_values(g, ind, run, heads, obj, ctx0)
    L(ind, "pos += %d" % width)
    if t == _STRING:
        g.read_string_body(ind, a, dst, ctx, head[0])
    elif t not in W.BIN_WIDTH:
        _bin_run_tail(g, ind, t, a, dst, ctx, head)


def _bin_dispatch_loop(g, fields):
    """The field loop of a (non-union) decoder, after the canonical block or on
    its own (``rest``): each field header (type and id, 3 bytes) is looked up in
    a per-struct table giving the field's number, and an if-tree on it reads
    the value; a header not in the table (STOP, an unknown field, a known id
    with another wire type) takes the slow branch, which skips unknown fields."""
    L = g.line
    order = sorted(fields, key=lambda f: f.fid)
    number = {f.fid: k for k, f in enumerate(order, 1)}
    table = {W.S_BH.pack(f.ttype, f.fid): number[f.fid] for f in order}
    L(2, "while True:")
    L(3, "k = %s.get(buf[pos:pos + 3])" % g.const(table, "_hd"))
    L(3, "if k is None:")
    L(4, "t = buf[pos]")
    L(4, "if t == 0:")
    L(5, "pos += 1")
    L(5, "break")
    L(4, "fid = _u_h(buf, pos + 1)[0]")
    L(4, "pos = _bskip(buf, pos + 3, t, d1)", (("u", {f.fid: f.seg for f in fields}),))
    L(4, "continue")
    if not order:
        return
    L(3, "pos += 3")

    def body(ind, f):
        g.read(ind, f.ttype, f.targs, "obj." + f.attr, (("f", f.seg),))

    _dispatch(g, 3, order, body, "k", lambda f: number[f.fid])


def _rest_prologue(g):
    """Start of the general loop that finishes a partly decoded ``obj``."""
    L = g.line
    L(1, "d1 = depth - 1")
    L(1, "n = len(buf)")
    if g.info.union:
        L(1, "seen = None")
        for f in g.info.fields:
            L(1, "if obj.%s is not None:" % f.attr)
            L(2, "seen = %d" % f.fid)
    L(1, "try:")


def _dispatch(g, ind, fields, body, var="fid", key=None):
    """Emit an if-tree on ``var`` (``key(field)``: its value for a field, the field
    id by default; ``fields`` sorted by it) calling ``body(ind, field)`` at the leaves."""
    if not fields:
        return
    key = key or (lambda f: f.fid)
    if len(fields) <= 6:
        for k, f in enumerate(fields):
            g.line(ind, "%s %s == %d:" % ("if" if k == 0 else "elif", var, key(f)))
            body(ind + 1, f)
        return
    mid = len(fields) // 2
    g.line(ind, "if %s < %d:" % (var, key(fields[mid])))
    _dispatch(g, ind + 1, fields[:mid], body, var, key)
    g.line(ind, "else:")
    _dispatch(g, ind + 1, fields[mid:], body, var, key)


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
            L(ind, "out += _p_%s(%s)" % (_BIN_SINGLE[t], src), ctx)
        elif t == _STRING:
            # short lengths come from a table of their encodings (measured: -18%
            # on a list of short strings against one pack call each)
            n = self.var("n")
            if _is_binary(a):
                b = src
            else:
                b = self.var("b")
                L(ind, "%s = %s.encode(%s)" % (b, src, self.enc_arg()), ctx)
            L(ind, "%s = len(%s)" % (n, b), ctx)
            L(ind, "out += _L4[%s] if %s < 256 else _p_i(%s)" % (n, n, n), ctx)
            L(ind, "out += %s" % b, ctx)
        elif t == _UUID:
            L(ind, "out += _uuid_bytes(%s)" % src, ctx)
        elif t == _STRUCT:
            fn = self.struct_fn(a)
            L(ind, "%s(%s, out)" % (fn, src), ctx)
        elif t in (_LIST, _SET):
            ln = self.var("l")
            self.seq_len(ind, src, ln, ctx, t == _SET)
            if a[0] in _BULK_FMT:  # header and elements in one pack
                expr = self.bulk_pack(">bi%d" + _BULK_FMT[a[0]], ln, src, "%d, %s, " % (a[0], ln))
                L(ind, "out += %s" % expr, ctx + (("eb", src, _BIN_SINGLE[a[0]]),))
                return
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
            expr = self.bulk_pack(">%d" + _BULK_FMT[et], ln, src)
            L(ind, "out += %s" % expr, ctx + (("eb", src, _BIN_SINGLE[et]),))
        else:
            x = self.var("x")
            tag = ("es", x) if t == _SET else ("ei", x, src)
            L(ind, "for %s in %s:" % (x, src), ctx)
            inline = self.target.inline_fields(self.info.name, ea) if et == _STRUCT else None
            if inline is not None:  # no call per element (measured: -8% on a list of structs)
                self.write_struct(ind + 1, inline, x, ctx + (tag,))
            else:
                self.write(ind + 1, et, ea, x, ctx + (tag,))

    def write_items(self, ind, a, src, ctx):
        L = self.line
        k = self.var("k")
        x = self.var("x")
        L(ind, "for %s, %s in %s.items():" % (k, x, src), ctx)
        if a[0] == _STRING and a[2] == _STRING:  # one append per entry (measured: -6%)
            parts = []
            for var, targs, tag in ((k, a[1], ("ek", k)), (x, a[3], ("mv", k))):
                if not _is_binary(targs):
                    b = self.var("b")
                    L(ind + 1, "%s = %s.encode(%s)" % (b, var, self.enc_arg()), ctx + (tag,))
                    var = b
                parts.append((var, tag))
            lens = []
            for var, tag in parts:
                n = self.var("n")
                L(ind + 1, "%s = len(%s)" % (n, var), ctx + (tag,))
                lens.append("_L4[%s] if %s < 256 else _p_i(%s)" % (n, n, n))
            L(ind + 1, "out += _join((%s, %s, %s, %s))"
              % (lens[0], parts[0][0], lens[1], parts[1][0]), ctx + (parts[1][1],))
            return
        self.write(ind + 1, a[0], a[1], k, ctx + (("ek", k),))
        self.write(ind + 1, a[2], a[3], x, ctx + (("mv", k),))

    def write_field(self, ind, f, v="v", ctx0=()):
        """Emit code writing field ``f`` (header and value) from local ``v``;
        ``ctx0``: the path context of the object holding the field."""
        L = self.line
        t, a, fid = f.ttype, f.targs, f.fid
        ctx = ctx0 + (("f", f.seg),)
        if t == _BOOL:
            ht = self.const(W.S_BHB.pack(t, fid, 1), "_ht")
            hf = self.const(W.S_BHB.pack(t, fid, 0), "_hf")
            L(ind, "out += %s if %s else %s" % (ht, v, hf), ctx)
        elif t in _BIN_SINGLE:
            L(ind, "out += _p_bh%s(%d, %d, %s)" % (_BIN_SINGLE[t], t, fid, v), ctx)
        elif t == _STRING:
            if _is_binary(a):
                L(ind, "out += _p_bhi(11, %d, len(%s))" % (fid, v), ctx)
                L(ind, "out += %s" % v, ctx)
            else:
                L(ind, "b = %s.encode(%s)" % (v, self.enc_arg()), ctx)
                L(ind, "out += _p_bhi(11, %d, len(b))" % fid, ctx)
                L(ind, "out += b")
        elif t in (_LIST, _SET):
            self.seq_len(ind, v, "sz", ctx, t == _SET)
            if a[0] in _BULK_FMT:  # field header, list header and elements in one pack
                expr = self.bulk_pack(">bhbi%d" + _BULK_FMT[a[0]], "sz", v,
                                      "%d, %d, %d, sz, " % (t, fid, a[0]))
                L(ind, "out += %s" % expr, ctx + (("eb", v, _BIN_SINGLE[a[0]]),))
                return
            L(ind, "out += _p_bhbi(%d, %d, %d, sz)" % (t, fid, a[0]), ctx)
            self.write_elems(ind, t, a, v, "sz", ctx)
        elif t == _MAP:
            L(ind, "out += _p_bhbbi(13, %d, %d, %d, len(%s))" % (fid, a[0], a[2], v), ctx)
            self.write_items(ind, a, v, ctx)
        else:  # struct, uuid
            hdr = self.const(W.S_BH.pack(t, fid), "_h")
            L(ind, "out += %s" % hdr)
            self.write(ind, t, a, v, ctx)

    def write_run(self, run, ind=2, obj="obj", ctx0=()):
        """Fields in canonical order written by one ``pack`` of their headers,
        fixed-width values and the last field's length/header when all are set;
        field by field otherwise.  A failing fused pack is retried field by
        field so that the error names the field.  A variable-width last
        field's body (bytes, elements) is emitted once, after."""
        L = self.line
        vs = [self.var("v") for _ in run]
        for f, v in zip(run, vs):
            L(ind, "%s = %s.%s" % (v, obj, f.attr), ctx0 + (("f", f.seg),))
        last, lv = run[-1], vs[-1]
        t, a = last.ttype, last.targs
        variable = t not in W.BIN_WIDTH
        lctx = ctx0 + (("f", last.seg),)
        fmt, args = ">", []
        for f, v in zip(run, vs):
            fmt += "bh" + _PACK_HEAD[f.ttype]
            args += [str(f.ttype), str(f.fid)]
            if f.ttype == _UUID:
                args.append("_uuid_bytes(%s)" % v)
            elif f.ttype in W.BIN_WIDTH:
                args.append(v)
        L(ind, "if %s:" % " and ".join("%s is not None" % v for v in vs))
        self.run_head(ind + 1, last, lv, lctx)
        args += self.head_args(last, lv)
        L(ind + 1, "try:")
        L(ind + 2, "out += %s(%s)" % (self.target.packer(fmt), ", ".join(args)))
        L(ind + 1, "except Exception:")
        for f, v in zip(run, vs):
            if f.ttype in W.BIN_WIDTH:
                self.write_field(ind + 2, f, v, ctx0)
        L(ind + 2, "raise")
        L(ind, "else:")
        for f, v in zip(run[:-1] if variable else run, vs):
            L(ind + 1, "if %s is not None:" % v)
            self.write_field(ind + 2, f, v, ctx0)
        if not variable:
            return
        L(ind + 1, "if %s is not None:" % lv)
        self.run_head(ind + 2, last, lv, lctx)
        fmt = ">bh" + _PACK_HEAD[t]
        packed = ", ".join([str(t), str(last.fid)] + self.head_args(last, lv))
        L(ind + 2, "out += %s(%s)" % (self.target.packer(fmt), packed), lctx)
        L(ind, "if %s is not None:" % lv)
        if t == _STRING:
            L(ind + 1, "out += %s" % (lv if _is_binary(a) else "b"), lctx)
        elif t in (_LIST, _SET):
            self.write_elems(ind + 1, t, a, lv, "sz", lctx)
        elif t == _MAP:
            self.write_items(ind + 1, a, lv, lctx)
        else:
            self.write(ind + 1, t, a, lv, lctx)

    def write_struct(self, ind, fields, obj="obj", ctx0=()):
        """The fields of a (non-union) struct held by local ``obj``, then its stop."""
        L = self.line
        for run in _head_runs(fields):
            if len(run) > 1:
                self.write_run(run, ind, obj, ctx0)
                continue
            f = run[0]
            v = "v" if obj == "obj" else self.var("v")
            L(ind, "%s = %s.%s" % (v, obj, f.attr), ctx0 + (("f", f.seg),))
            L(ind, "if %s is not None:" % v)
            self.write_field(ind + 1, f, v, ctx0)
        L(ind, "out.append(0)")

    def run_head(self, ind, f, v, ctx):
        """What the head of variable-width field ``f`` needs computed first."""
        if f.ttype == _STRING and not _is_binary(f.targs):
            self.line(ind, "b = %s.encode(%s)" % (v, self.enc_arg()), ctx)
        elif f.ttype in (_LIST, _SET):
            self.seq_len(ind, v, "sz", ctx, f.ttype == _SET)

    @staticmethod
    def head_args(f, v):
        """Pack arguments of a variable-width field's head after its header."""
        t, a = f.ttype, f.targs
        if t == _STRING:
            return ["len(%s)" % (v if _is_binary(a) else "b")]
        if t in (_LIST, _SET):
            return [str(a[0]), "sz"]
        if t == _MAP:
            return [str(a[0]), str(a[2]), "len(%s)" % v]
        return []


def _gen_binary_encoder(info, proto, slot, target, variant):
    g = _BinEnc(info, proto, slot, target)
    union = info.union
    L = g.line
    L(0, "def encode(obj, out):")
    L(1, "try:")
    if union:
        L(2, "c = 0")
        for f in info.fields:
            L(2, "v = obj.%s" % f.attr, (("f", f.seg),))
            L(2, "if v is not None:")
            L(3, "c += 1")
            g.write_field(3, f)
        L(2, "if c > 1:")
        L(3, "_err_union(%s)" % g.union_name())
        L(2, "out.append(0)")
    else:
        g.write_struct(2, info.fields)
    L(1, "except Exception as ex:")
    L(2, "raise _wrap(ex, _CTX, locals(), True)")
    return g.compile()


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
            em = self.enum_map(a) if t == _I32 else None
            if em is not None:
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
            self.read_string_body(ind, a, dst, ctx, ln)
        elif t == _UUID:
            e = self.var("e")
            L(ind, "%s = pos + 16" % e)
            L(ind, "if %s > n:" % e)
            L(ind + 1, "_err_truncated(16, n - pos)", ctx)
            L(ind, "%s = _UUID(bytes=buf[pos:%s])" % (dst, e), ctx)
            L(ind, "pos = %s" % e)
        elif t == _STRUCT:
            fn = self.struct_fn(a)
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
        em = self.enum_map(ea) if et == _I32 else None
        if et == _BOOL:
            L(i, "%s = %s([_b == 1 for _b in buf[pos:pos + %s]])" % (dst, wrap, ln), ctx)
            L(i, "pos += %s" % ln)
        elif et == _BYTE:
            L(i, "%s = %s(%s)" % (dst, wrap, self.bulk_unpack("%db", ln)), ctx)
            L(i, "pos += %s" % ln)
        elif et == _DOUBLE:
            L(i, "%s = %s(%s)" % (dst, wrap, self.bulk_unpack("<%dd", ln)), ctx)
            L(i, "pos += %s * 8" % ln)
        elif et in _VARINT_READERS and em is None:
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


def binary_field_loop(L):
    """The head of a binary decoder's general field loop (inside ``try:``): reads
    one field header into ``t`` (wire type) and ``fid``."""
    L(2, "while True:")
    L(3, "t = buf[pos]")
    L(3, "if t == 0:")
    L(4, "pos += 1")
    L(4, "break")
    L(3, "fid = _u_h(buf, pos + 1)[0]")
    L(3, "pos += 3")


def compact_field_loop(L):
    """The head of a compact decoder's general field loop (inside ``try:``): reads
    one field header into ``ct`` (type id) and ``fid`` (delta or long form)."""
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


def _gen_compact_decoder(info, proto, slot, target, variant):
    g = _CmpDec(info, proto, slot, target, variant)
    fields = info.fields
    union = info.union
    L = g.line
    fids = [f.fid for f in fields]
    straight = (
        not union
        and fields
        and fids[0] >= 1
        and all(a < b for a, b in zip(fids, fids[1:]))
    )
    if variant == "rest":
        L(0, "def rest(obj, buf, pos, depth, last):")
        _rest_prologue(g)
    else:
        L(0, "def decode(buf, pos, depth%s):" % ("=64" if g.aot else ""))
        L(1, "if depth <= 0:")
        L(2, "_err_depth()")
        if variant == "fast" and not straight:
            L(1, "obj = _cls()")
            L(1, "return _resume_c(obj, buf, pos, depth, 0)")
            return g.compile()
        L(1, "d1 = depth - 1")
        g.new_object(1)
        L(1, "n = len(buf)")
        if union:
            L(1, "seen = None")
        L(1, "try:")
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
                else:
                    L(2, "if b == %d - ls:" % (key | _CT[f.ttype]))
                    L(3, "pos += 1")
                    g.read(3, f.ttype, f.targs, "obj." + f.attr, ctx)
                L(3, "ls = %d" % key)
                L(3, "b = buf[pos]")
                g.default_else(2, f)
            L(2, "if not b & 15:")
            L(3, "return obj, pos + 1")
            if variant == "fast":
                L(1, "except Exception as ex:")
                L(2, "raise _wrap(ex, _CTX, locals())")
                L(1, "return _resume_c(obj, buf, pos, depth, ls >> 4)")
                return g.compile()
            L(2, "last = ls >> 4")
        else:
            L(2, "last = 0")
    compact_field_loop(L)

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
            L(ind + 2, "_err_union(%s)" % g.union_name(), ctx)
            L(ind + 1, "seen = %d" % f.fid)
        L(ind + 1, "continue")

    _dispatch(g, 3, sorted(fields, key=lambda f: f.fid), body)
    names = {f.fid: f.seg for f in fields}
    L(3, "if ct > 2:")
    L(4, "pos = _cskipf(buf, pos, ct, d1)", (("u", names),))
    L(1, "except Exception as ex:")
    L(2, "raise _wrap(ex, _CTX, locals())")
    L(1, "return obj, pos")
    return g.compile()


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
            fn = self.struct_fn(a)
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
            L(ind, "out += %s" % self.bulk_pack("%db", ln, src), ctx + (("eb", src, "b"),))
        elif et == _DOUBLE:
            L(ind, "out += %s" % self.bulk_pack("<%dd", ln, src), ctx + (("eb", src, "<d"),))
        else:
            x = self.var("x")
            tag = ("es", x) if t == _SET else ("ei", x, src)
            L(ind, "for %s in %s:" % (x, src), ctx)
            self.write(ind + 1, et, ea, x, ctx + (tag,))


def _gen_compact_encoder(info, proto, slot, target, variant):
    g = _CmpEnc(info, proto, slot, target)
    fields = info.fields
    union = info.union
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
        L(3, "_err_union(%s)" % g.union_name())
    L(2, "out.append(0)")
    L(1, "except Exception as ex:")
    L(2, "raise _wrap(ex, _CTX, locals(), True)")
    return g.compile()


# ---------------------------------------------------------------------------
# exact encoded size (both protocols)

_ZLEN = {_I16: "_zlen16", _I32: "_zlen32", _I64: "_zlen64"}


class _Size(_Gen):
    """``size(obj)``: what ``encode`` would append, counted without building it."""

    def fixed(self, t):
        """Encoded width of a value of type ``t`` when it does not vary, else None."""
        if self.proto == "binary":
            return W.BIN_WIDTH.get(t)
        return {_BOOL: 1, _BYTE: 1, _DOUBLE: 8, _UUID: 16}.get(t)

    def add(self, ind, t, a, src, acc, ctx):
        """Emit code adding the encoded size of value ``src`` to ``acc``."""
        L = self.line
        binary = self.proto == "binary"
        w = self.fixed(t)
        if w is not None:
            L(ind, "%s += %d" % (acc, w))
        elif t in _ZLEN:
            L(ind, "%s += %s(%s)" % (acc, _ZLEN[t], src), ctx)
        elif t == _STRING:
            ln = "len(%s)" % src if _is_binary(a) else "_ulen(%s)" % src
            if binary:
                L(ind, "%s += 4 + %s" % (acc, ln), ctx)
            else:
                v = self.var("l")
                L(ind, "%s = %s" % (v, ln), ctx)
                L(ind, "%s += %s + _vlen(%s)" % (acc, v, v))
        elif t == _STRUCT:
            L(ind, "%s += %s(%s)" % (acc, self.struct_fn(a), src), ctx)
        elif t in (_LIST, _SET):
            et, ea = a[0], a[1]
            ln = self.var("l")
            L(ind, "%s = len(%s)" % (ln, src), ctx)
            if binary:
                L(ind, "%s += 5" % acc)
            else:
                L(ind, "%s += 1 if %s < 15 else 1 + _vlen(%s)" % (acc, ln, ln))
            ew = self.fixed(et)
            if ew is not None:
                L(ind, "%s += %s * %d" % (acc, ln, ew))
            else:
                x = self.var("x")
                tag = ("es", x) if t == _SET else ("ei", x, src)
                L(ind, "for %s in %s:" % (x, src), ctx)
                self.add(ind + 1, et, ea, x, acc, ctx + (tag,))
        elif t == _MAP:
            kt, ka, vt, va = a[0], a[1], a[2], a[3]
            ln = self.var("l")
            L(ind, "%s = len(%s)" % (ln, src), ctx)
            if binary:
                L(ind, "%s += 6" % acc)
            else:
                L(ind, "%s += _vlen(%s) + 1 if %s else 1" % (acc, ln, ln))
            kw, vw = self.fixed(kt), self.fixed(vt)
            if kw is not None and vw is not None:
                L(ind, "%s += %s * %d" % (acc, ln, kw + vw))
            else:
                k = self.var("k")
                x = self.var("x")
                L(ind, "for %s, %s in %s.items():" % (k, x, src), ctx)
                self.add(ind + 1, kt, ka, k, acc, ctx + (("ek", k),))
                self.add(ind + 1, vt, va, x, acc, ctx + (("mv", k),))
        else:  # pragma: no cover
            raise SpecError("unsupported type %r" % t)


def _gen_size(info, proto, slot, target, variant):
    g = _Size(info, proto, slot, target)
    L = g.line
    binary = proto == "binary"
    L(0, "def size(obj):")
    L(1, "try:")
    L(2, "s = 1")
    if not binary:
        L(2, "lf = 0")
    for f in info.fields:
        ctx = (("f", f.seg),)
        L(2, "v = obj.%s" % f.attr, ctx)
        L(2, "if v is not None:")
        if binary:
            w = g.fixed(f.ttype)
            if w is not None:
                L(3, "s += %d" % (3 + w))
                continue
            L(3, "s += 3")
        else:
            # short header when the id delta is 1..15, else type byte + zigzag varint id
            long_form = 1 + A._vlen((f.fid << 1) ^ (f.fid >> 15))
            L(3, "s += 1 if 0 < %d - lf <= 15 else %d" % (f.fid, long_form))
            L(3, "lf = %d" % f.fid)
            if f.ttype == _BOOL:
                continue  # the value lives in the header
        g.add(3, f.ttype, f.targs, "v", "s", ctx)
    L(1, "except Exception as ex:")
    L(2, "raise _wrap(ex, _CTX, locals(), True)")
    L(1, "return s")
    return g.compile()


_KIND = {ENC: "enc", ENC_LAX: "enc", DEC: "dec", DEC_LAX: "dec", REST: "dec", SIZE: "size"}
_GENERATORS = {
    ("binary", "enc"): _gen_binary_encoder,
    ("binary", "dec"): _gen_binary_decoder,
    ("binary", "size"): _gen_size,
    ("compact", "enc"): _gen_compact_encoder,
    ("compact", "dec"): _gen_compact_decoder,
    ("compact", "size"): _gen_size,
}


# ---------------------------------------------------------------------------
# ahead-of-time emission


class AotClass:
    """A class described at code-generation time.

    ``name``: the class name in the generated module; ``spec``: its
    ``thrift_spec`` entries with :class:`StructRef` / :class:`EnumRef` in
    place of classes; ``defaults``: ``{attr: source of the initial value}``
    for fields whose ``__init__`` default is not ``None`` -- or ``None``
    when some field gets a fresh (mutable) value in ``__init__``, which the
    decoder must then run."""

    __slots__ = ("name", "spec", "union", "defaults")

    def __init__(self, name, spec, union=False, defaults=None):
        self.name = name
        self.spec = spec
        self.union = union
        self.defaults = defaults


#: (protocol, slots) emitted ahead of time
AOT_SLOTS = (ENC, DEC, SIZE)


def emit_module(classes, protocols=("binary",), prefix="_tgc_", shadowed=()):
    """Module-level source of the codec functions of ``classes`` (a list of
    :class:`AotClass`), for the end of a generated module.

    The text starts at column 0 and contains no blank-line-sensitive
    layout; the caller wraps it (see :mod:`thriftgen.codegen.fastcodec`).
    Every name it defines starts with ``prefix``; ``shadowed``: module-level
    names of the generated module (builtins among them are avoided).
    Returns ``(import_line, body_lines)``.
    """
    target = _AotTarget(prefix, shadowed)
    target.classes = {c.name: c for c in classes}
    installs = []
    for c in classes:
        info = _ClassInfo(c.name, c.name, c.union, _fields_of(c.name, c.spec, c.defaults),
                          defaults=c.defaults is not None and not c.union)
        for proto in protocols:
            target.begin(info, proto, c.name)
            fns = [_generate(info, proto, slot, target, "fast" if slot == DEC else "full")
                   for slot in AOT_SLOTS]
            installs.append(target._rename("_install(%s, %r, %s)" % (
                target.class_const, proto, ", ".join(fns)), builtins=False))
    names = sorted(target.helpers)
    imports = ["from thriftgen.runtime._aot import ("]
    imports += ["    %s as %s%s," % (n, prefix, n[1:]) for n in names]
    imports.append(")")
    if target.builtins:
        imports.append("import builtins as %sbuiltins" % prefix)
        imports += ["%sbi_%s = %sbuiltins.%s" % (prefix, b, prefix, b) for b in target.builtins]
    body = imports + target.const_lines + [""]
    for fn in target.functions:
        body.extend(fn.split("\n"))
        body.append("")
    body.extend(installs)
    return body
