"""The field mask tree and what builds and applies it: class metadata, the path
parser, pruning and zero values (standard library only).

The bottom of the field mask modules: :mod:`.fieldmask` (the public
:class:`FieldMask`), :mod:`._fieldmask_codec` (masked encoders/decoders) and
:mod:`._fieldmask_wire` (the mask's own wire forms) import it, and it imports
none of them."""

import threading

from .errors import SpecError, ThriftgenError

_BOOL, _BYTE, _DOUBLE, _I16, _I32, _I64 = 2, 3, 4, 6, 8, 10
_STRING, _STRUCT, _MAP, _SET, _LIST, _UUID = 11, 12, 13, 14, 15, 16
_INT_TYPES = (_BYTE, _I16, _I32, _I64)
_TYPE_NAMES = {2: "bool", 3: "i8", 4: "double", 6: "i16", 8: "i32", 10: "i64", 11: "string",
               12: "struct", 13: "map", 14: "set", 15: "list", 16: "uuid"}


class FieldMaskError(ThriftgenError, ValueError):
    """A malformed field-mask path (or mask data that does not fit the class).

    ``path``: the path text; ``column``: 1-based column of the problem
    (``None`` when it is not about a position); ``reason``: the message
    without the location.
    """

    def __init__(self, reason, path=None, column=None):
        self.reason = reason
        self.path = path
        self.column = column
        if path is None:
            text = reason
        elif column is None:
            text = "field mask path %r: %s" % (path, reason)
        else:
            text = "field mask path %r, column %d: %s\n    %s\n    %s^" % (
                path, column, reason, path, " " * (column - 1))
        super().__init__(text)

    def __reduce__(self):
        return (type(self), (self.reason, self.path, self.column))


class _Leaf:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name

    def __reduce__(self):
        return self.name


#: Mask tree leaves: the whole subtree is kept / nothing of it is.
ALL = _Leaf("ALL")
DROP = _Leaf("DROP")


# --------------------------------------------------------------------------- class metadata


class _ClassMeta:
    """What masks need to know about a generated class, from its ``thrift_spec``."""

    __slots__ = ("cls", "spec", "fields", "by_attr", "by_name", "required", "names")

    def __init__(self, cls):
        spec = getattr(cls, "thrift_spec", None)
        if not isinstance(spec, (tuple, list)):
            raise SpecError("%r is not a generated struct class (no thrift_spec)" % (cls,))
        self.cls = cls
        self.spec = spec
        self.fields = {}  # fid -> (fid, ttype, attr, targs)
        self.by_attr = {}
        for entry in spec:
            if entry is None:
                continue
            f = (entry[0], entry[1], entry[2], entry[3])
            self.fields[f[0]] = f
            self.by_attr[f[2]] = f
        idl = getattr(cls, "_tg_idl_names", None) or {}
        attr_to_idl = {a: n for n, a in idl.items()}
        #: every accepted name -> field; IDL names first
        self.by_name = {}
        self.names = []  # IDL names, for suggestions
        for f in self.fields.values():
            name = attr_to_idl.get(f[2], f[2])
            self.names.append(name)
            self.by_name[name] = f
        for attr, f in self.by_attr.items():
            self.by_name.setdefault(attr, f)
        req = getattr(cls, "_tg_required", None) or ()
        self.required = frozenset(self.by_attr[a][0] for a in req if a in self.by_attr)

    def idl_name(self, fid):
        f = self.fields[fid]
        for name, g in self.by_name.items():
            if g is f:
                return name
        return f[2]


_meta_lock = threading.Lock()
_metas = {}


def class_meta(cls):
    """Cached :class:`_ClassMeta` of ``cls`` (rebuilt when its spec is replaced)."""
    m = _metas.get(cls)
    if m is not None and m.spec is getattr(cls, "thrift_spec", None):
        return m
    m = _ClassMeta(cls)
    with _meta_lock:
        _metas[cls] = m
    return m


def _struct_cls(targs):
    return targs[0] if isinstance(targs, (tuple, list)) else targs


def type_name(ttype, targs):
    """IDL-like spelling of a spec type, for messages."""
    if ttype == _STRUCT:
        return _struct_cls(targs).__name__
    if ttype == _STRING:
        return "binary" if targs == "BINARY" else "string"
    if ttype == _I32 and isinstance(targs, type):
        return targs.__name__
    if ttype in (_LIST, _SET):
        return "%s<%s>" % (_TYPE_NAMES[ttype], type_name(targs[0], targs[1]))
    if ttype == _MAP:
        return "map<%s,%s>" % (type_name(targs[0], targs[1]), type_name(targs[2], targs[3]))
    return _TYPE_NAMES.get(ttype, str(ttype))


def map_key_kind(targs):
    """'str', 'int' or None (only ``*``) for a map's key type."""
    kt, ka = targs[0], targs[1]
    if kt == _STRING and ka != "BINARY":
        return "str"
    if kt in _INT_TYPES:
        return "int"
    return None


# --------------------------------------------------------------------------- the tree


class Node:
    """An inner mask node (immutable once built).

    ``kind``: 'struct' | 'list' | 'set' | 'map'; ``ttype``/``targs``: the
    spec type it masks; ``picks``: ``{key: ALL | DROP | Node}`` (field id,
    index or map key); ``rest``: what applies to keys not in ``picks``.
    """

    __slots__ = ("kind", "ttype", "targs", "picks", "rest", "_hash")

    def __init__(self, kind, ttype, targs, picks, rest):
        self.kind = kind
        self.ttype = ttype
        self.targs = targs
        self.picks = picks
        self.rest = rest
        self._hash = None

    @property
    def cls(self):
        return _struct_cls(self.targs) if self.kind == "struct" else None

    def child(self, key):
        return self.picks.get(key, self.rest)

    def __eq__(self, other):
        return (isinstance(other, Node) and self.kind == other.kind
                and self.picks == other.picks and self.rest == other.rest
                and (self.kind != "struct" or self.cls is other.cls))

    def __hash__(self):
        if self._hash is None:
            self._hash = hash((self.kind, tuple(sorted(self.picks.items(), key=repr)),
                               self.rest))
        return self._hash

    def __repr__(self):
        return "Node(%s, %r, rest=%r)" % (self.kind, self.picks, self.rest)


def _kind_of(ttype):
    return {_STRUCT: "struct", _LIST: "list", _SET: "set", _MAP: "map"}.get(ttype)


class _Builder:
    """Mutable tree while paths are merged (``terminal``: a path ended here)."""

    __slots__ = ("ttype", "targs", "terminal", "keys", "star", "origin")

    def __init__(self, ttype, targs):
        self.ttype = ttype
        self.targs = targs
        self.terminal = False
        self.keys = {}
        self.star = None
        self.origin = None  # (path, what) that first set keys or '*'


def _freeze(b, black):
    if b.terminal:
        return DROP if black else ALL
    picks = {k: _freeze(c, black) for k, c in b.keys.items()}
    if b.star is not None:
        rest = _freeze(b.star, black)
    else:
        rest = ALL if black else DROP
    return _normalize(Node(_kind_of(b.ttype), b.ttype, b.targs, picks, rest))


def _normalize(node):
    """ALL when the node keeps everything (so the plain fast codec runs)."""
    if node.rest is ALL and all(v is ALL for v in node.picks.values()):
        return ALL
    if node.kind == "struct" and node.rest is DROP:
        fields = class_meta(node.cls).fields
        if all(node.picks.get(fid) is ALL for fid in fields):
            return ALL
    return node


# --------------------------------------------------------------------------- path parser


def _err(reason, path, pos):
    raise FieldMaskError(reason, path, pos + 1)


class _Parser:
    def __init__(self, text):
        self.text = text
        self.pos = 0

    def ws(self):
        t = self.text
        while self.pos < len(t) and t[self.pos] in " \t":
            self.pos += 1

    def peek(self):
        self.ws()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def fail(self, reason, pos=None):
        _err(reason, self.text, self.pos if pos is None else pos)

    def unexpected(self, expected):
        self.ws()
        if self.pos >= len(self.text):
            self.fail("unexpected end of path, expected %s" % expected)
        self.fail("unexpected %r, expected %s" % (self.text[self.pos], expected))

    def integer(self):
        """(value, start) of an optionally negative decimal integer, or None."""
        self.ws()
        t = self.text
        start = self.pos
        i = start
        if i < len(t) and t[i] == "-":
            i += 1
        j = i
        while j < len(t) and t[j].isdigit() and t[j].isascii():
            j += 1
        if j == i:
            return None
        self.pos = j
        return int(t[start:j]), start

    def string(self):
        """(value, start) of a double-quoted string (JSON-style escapes)."""
        self.ws()
        t = self.text
        start = self.pos
        if start >= len(t) or t[start] != '"':
            return None
        out = []
        i = start + 1
        esc = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t", "r": "\r", "b": "\b",
               "f": "\f"}
        while True:
            if i >= len(t):
                self.fail("unterminated string", start)
            c = t[i]
            if c == '"':
                self.pos = i + 1
                return "".join(out), start
            if c == "\\":
                if i + 1 >= len(t):
                    self.fail("unterminated string", start)
                e = t[i + 1]
                if e == "u" and i + 6 <= len(t):
                    try:
                        out.append(chr(int(t[i + 2:i + 6], 16)))
                    except ValueError:
                        self.fail("bad \\u escape", i)
                    i += 6
                    continue
                if e not in esc:
                    self.fail("bad escape '\\%s'" % e, i)
                out.append(esc[e])
                i += 2
                continue
            out.append(c)
            i += 1

    def ident(self):
        self.ws()
        t = self.text
        start = self.pos
        i = start
        while i < len(t) and (t[i] == "_" or (t[i].isalnum() and t[i].isascii())):
            i += 1
        if i == start or t[start].isdigit():
            return None
        self.pos = i
        return t[start:i], start


def _key_text(kind, key, targs=None):
    if kind == "struct":
        return "field '%s'" % class_meta(_struct_cls(targs)).idl_name(key)
    if kind in ("list", "set"):
        return "index %d" % key
    return "key %s" % ('"%s"' % key if isinstance(key, str) else key)


def _parse_path(text, root_cls):
    """Segments of one path: [(kind, keys|'*', pos, ttype, targs)] where keys
    is a list of (key, pos) and ttype/targs the type the segment applies to.

    Type checks (struct/list/map where the path says so, field names, key
    kinds) happen here, against the class."""
    if not isinstance(text, str):
        raise FieldMaskError("a field mask path must be a str, not %s" % type(text).__name__)
    p = _Parser(text)
    if p.peek() != "$":
        p.unexpected("'$' (the root)")
    p.pos += 1
    ttype, targs = _STRUCT, [root_cls, None]
    segs = []
    while True:
        c = p.peek()
        if c == "":
            return segs
        start = p.pos
        if c == ".":
            if ttype != _STRUCT:
                p.fail("'.' selects struct fields, but this is a %s" % type_name(ttype, targs))
            p.pos += 1
            meta = class_meta(_struct_cls(targs))
            if p.peek() == "*":
                star = p.pos
                p.pos += 1
                if p.peek() != "":
                    p.fail("'.*' must end the path")
                segs.append(("struct", "*", star, ttype, targs))
                return segs
            num = p.integer()
            if num is not None:
                fid, fpos = num
                f = meta.fields.get(fid)
                if f is None:
                    p.fail("%s has no field with id %d" % (meta.cls.__name__, fid), fpos)
            else:
                name = p.ident()
                if name is None:
                    p.unexpected("a field name, a field id or '*' after '.'")
                name, fpos = name
                f = meta.by_name.get(name)
                if f is None:
                    import difflib  # only on this error path: it costs ~1 ms to import

                    hint = difflib.get_close_matches(name, meta.names, n=1, cutoff=0.6)
                    reason = "%s has no field named '%s'" % (meta.cls.__name__, name)
                    if hint:
                        reason += " (did you mean '%s'?)" % hint[0]
                    p.fail(reason, fpos)
            segs.append(("struct", [(f[0], fpos)], start, ttype, targs))
            ttype, targs = f[1], f[3]
        elif c == "[":
            if ttype not in (_LIST, _SET):
                p.fail("'[...]' selects list or set elements, but this is a %s"
                       % type_name(ttype, targs))
            p.pos += 1
            kind = "list" if ttype == _LIST else "set"
            keys = _bracket(p, "]", kind, None)
            if kind == "set" and keys != "*":
                p.fail("sets take only '[*]': a Python set has no element positions",
                       keys[0][1])
            segs.append((kind, keys, start, ttype, targs))
            ttype, targs = targs[0], targs[1]
        elif c == "{":
            if ttype != _MAP:
                p.fail("'{...}' selects map entries, but this is a %s" % type_name(ttype, targs))
            p.pos += 1
            keys = _bracket(p, "}", "map", map_key_kind(targs), type_name(targs[0], targs[1]))
            segs.append(("map", keys, start, ttype, targs))
            ttype, targs = targs[2], targs[3]
        else:
            p.unexpected("'.', '[' or '{'")


def _bracket(p, close, kind, key_kind, key_type=None):
    """Contents of ``[...]`` / ``{...}`` up to ``close``: '*' or [(key, pos)]."""
    keys = []
    star_pos = None
    while True:
        c = p.peek()
        item_pos = p.pos
        if c == close and not keys and star_pos is None:
            p.fail("empty %s" % ("index list" if kind != "map" else "key list"))
        if c == "*":
            if keys:
                p.fail("'*' cannot be mixed with explicit %s in one selection"
                       % ("indexes" if kind != "map" else "keys"))
            star_pos = p.pos
            p.pos += 1
        elif star_pos is not None:
            p.unexpected("'%s' after '*'" % close)
        elif kind == "map":
            if key_kind is None:
                if c == '"' or p.integer() is not None:
                    p.fail("only '{*}' is supported for maps with %s keys" % key_type, item_pos)
                p.unexpected("'*'")
            if c == '"':
                if key_kind != "str":
                    p.fail("map key must be an integer (the map has %s keys), not a string"
                           % key_type)
                keys.append((p.string()[0], item_pos))
            else:
                num = p.integer()
                if num is None:
                    p.unexpected("a %s key or '*'" % ("string" if key_kind == "str" else "integer"))
                if key_kind != "int":
                    p.fail("map key must be a string (the map has %s keys), not an integer"
                           % key_type, item_pos)
                keys.append((num[0], item_pos))
        else:
            num = p.integer()
            if num is None:
                p.unexpected("an index or '*'")
            if num[0] < 0:
                p.fail("negative index %d" % num[0], item_pos)
            keys.append(num)
        c = p.peek()
        if c == ",":
            if star_pos is not None:
                p.fail("'*' cannot be mixed with explicit %s in one selection"
                       % ("indexes" if kind != "map" else "keys"), star_pos)
            p.pos += 1
            continue
        if c == close:
            p.pos += 1
            return "*" if star_pos is not None else keys
        p.unexpected("',' or '%s'" % close)


def _merge(node, segs, path):
    """Add one parsed path below builder ``node`` (conflicts with '*' are errors)."""
    for i, (kind, keys, pos, ttype, targs) in enumerate(segs):
        if node.terminal:
            return  # absorbed by a shorter path
        last = i == len(segs) - 1
        if kind == "struct" and keys != "*":
            meta = class_meta(_struct_cls(targs))
            f = meta.fields[keys[0][0]]
            child_type = (f[1], f[3])
        elif kind == "struct":
            child_type = (None, None)
        elif kind in ("list", "set"):
            child_type = (targs[0], targs[1])
        else:
            child_type = (targs[2], targs[3])
        if keys == "*":
            if node.keys:
                k0 = next(iter(node.keys))
                star = pos if kind == "struct" else pos + 1  # '.*' vs '[*]' / '{*}'
                _err("'*' conflicts with %s selected by %r"
                     % (_key_text(kind, k0, targs), node.origin), path, star)
            if node.star is None:
                node.star = _Builder(*child_type)
                node.origin = path
            node = node.star
            if last:
                node.terminal = True
            continue
        if node.star is not None:
            _err("%s conflicts with '*' selected by %r"
                 % (_key_text(kind, keys[0][0], targs), node.origin), path, keys[0][1])
        if not node.keys:
            node.origin = path
        children = []
        for key, _kpos in keys:
            c = node.keys.get(key)
            if c is None:
                c = node.keys[key] = _Builder(*child_type)
            if last:
                c.terminal = True
            children.append(c)
        if not last:
            for c in children:
                _merge(c, segs[i + 1:], path)
        return
    if not segs:
        node.terminal = True


def _prune_struct(obj, node, zero_required):
    cls = obj.__class__
    meta = class_meta(cls)
    new = cls.__new__(cls)
    for fid, f in meta.fields.items():
        m = node.picks.get(fid, node.rest)
        v = getattr(obj, f[2], None)
        if m is DROP:
            if fid in meta.required:
                v = _zero(f[1], f[3]) if zero_required else v
            else:
                v = None
        elif m is not ALL and v is not None:
            v = _prune_value(v, m, zero_required)
        setattr(new, f[2], v)
    return new


def _prune_value(v, node, zero_required):
    kind = node.kind
    if kind == "struct":
        return _prune_struct(v, node, zero_required)
    if kind == "list":
        out = []
        for i, x in enumerate(v):
            m = node.picks.get(i, node.rest)
            if m is DROP:
                continue
            out.append(x if m is ALL else _prune_value(x, m, zero_required))
        return out
    if kind == "set":
        m = node.rest
        if m is DROP:
            return set()
        return set(x if m is ALL else _prune_value(x, m, zero_required) for x in v)
    out = {}
    for k, x in v.items():
        m = node.picks.get(k, node.rest)
        if m is DROP:
            continue
        out[k] = x if m is ALL else _prune_value(x, m, zero_required)
    return out


def _zero(ttype, targs, depth=0):
    """The zero value written for a masked-out required field (``zero_required``)."""
    if ttype == _BOOL:
        return False
    if ttype in _INT_TYPES:
        return 0
    if ttype == _DOUBLE:
        return 0.0
    if ttype == _STRING:
        return b"" if targs == "BINARY" else ""
    if ttype == _UUID:
        import uuid

        return uuid.UUID(int=0)
    if ttype == _LIST:
        return []
    if ttype == _SET:
        return set()
    if ttype == _MAP:
        return {}
    if depth > 32:
        raise FieldMaskError("cannot build a zero value: required fields nest too deep")
    cls = _struct_cls(targs)
    meta = class_meta(cls)
    obj = cls.__new__(cls)
    for fid, f in meta.fields.items():
        setattr(obj, f[2], _zero(f[1], f[3], depth + 1) if fid in meta.required else None)
    return obj
