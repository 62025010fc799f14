"""Field masks: encode and decode only the parts of a struct a caller wants.

The Python counterpart of Kitex/thriftgo's FieldMask (standard library only,
Python 3.9+)::

    from thriftgen.runtime import serialize, deserialize
    from thriftgen.runtime.fieldmask import FieldMask

    mask = FieldMask(Order, "$.id", "$.items[*].sku", '$.notes{"gift"}')
    data = serialize(order, "binary", mask=mask)      # only those parts written
    part = deserialize(Order, data, "binary", mask=mask)  # ... or kept

Paths (thriftgo's syntax)
-------------------------
``$`` is the root struct. After it, any number of:

* ``.name`` / ``.<id>`` -- a struct field by IDL name (the Python attribute
  name is accepted too) or by field id; ``.*`` -- every field (must end the
  path);
* ``[0,3]`` / ``[*]`` -- list elements by index, or all of them; sets take
  only ``[*]`` (a Python set has no stable element order, so an index would
  pick an arbitrary element: it is an error);
* ``{"k1","k2"}`` / ``{1,2}`` / ``{*}`` -- map entries by key: string keys
  for ``string``-keyed maps, integers for integer- and enum-keyed maps; maps
  with other key types take only ``{*}``.

A path that ends on a struct or container selects its whole subtree.
Whitespace between tokens is ignored.  Several paths merge: a path that ends
on a node absorbs longer paths through it (``$.a`` + ``$.a.b`` = ``$.a``);
``*`` and explicit keys at the same place are a conflict (in one bracket or
across paths, in either order).

White list (default): only what the paths reach is kept.  Black list
(``black=True``): everything except what the paths reach; ``$.items[0]``
then drops one element, ``$.items[*]`` leaves an empty list, ``$.items``
drops the field.  A mask without paths passes everything.

Semantics
---------
* Encode (:func:`thriftgen.runtime.serialize` with ``mask=``): masked-out
  fields are not written; sub-masks apply to nested structs and to the
  elements/values of containers; list/set/map headers carry the exact count
  of elements written.  **Required fields are always written** (in full,
  unless a sub-mask selects part of them).  With ``zero_required=True``
  (Kitex's ``field_mask_zero_required``) a masked-out required field is
  written as its zero value instead (0, "", empty container, a struct holding
  only its own required fields as zeros), so peers that insist on required
  fields accept the data without receiving the value.
* Decode (``deserialize(..., mask=)``): masked-out fields and container
  entries are skipped on the wire (SkipDecode, never built) and read as
  ``None`` (fields) or left out (elements, entries).  Required fields are
  kept (decoded), symmetric with encode.  A kept field absent from the wire
  keeps its default, with its sub-mask applied -- in short, decoding with a
  mask equals a full decode followed by :meth:`FieldMask.apply`.
* Requiredness comes from the class's ``_tg_required`` (attribute names):
  slim classes always have it, default-template classes with ``-thrift
  with_field_mask``.  Classes without it (Apache-generated, or generated
  without the option) are treated as having no required field.
* IDL names: classes generated with ``with_field_mask`` carry
  ``_tg_idl_names`` (IDL name -> attribute) where Python keyword escaping
  renamed a field (``from`` -> ``from_``).

* Unions: the "more than one field set" check of the unmasked codec is not
  applied under a mask.

Masks are immutable and thread-safe; build one once and reuse it: the
specialised encoders/decoders it compiles on first use (a few ms per
protocol and direction) are cached on it.  Cost: encoding with a mask does
only the selected work (a 1-of-15-field mask encodes the medium benchmark
payload ~20-30x faster); decoding still walks the dropped bytes to find where
the struct ends (~2x faster, see ``bench/fieldmask.py``).

Errors: a malformed path raises :class:`FieldMaskError` (a
:class:`~thriftgen.runtime.errors.ThriftgenError`) quoting the path, with
the 1-based ``column`` of the offending token and a caret line.

Wire forms: see :mod:`thriftgen.runtime._fieldmask_wire`
(:func:`mask_to_bytes`, :func:`mask_from_bytes`, :func:`mask_to_json`,
:func:`mask_from_json`, and the request/response helpers).
"""

import threading
from collections import OrderedDict
from typing import Any

from ._fieldmask_tree import (ALL, DROP, _STRUCT, FieldMaskError, Node, _Builder, _freeze,
                              _merge, _parse_path, _prune_struct, class_meta)

__all__ = [
    "FieldMask",
    "FieldMaskError",
    "ALL",
    "DROP",
    "mask_to_bytes",
    "mask_from_bytes",
    "mask_to_json",
    "mask_from_json",
    "apply_mask",
]

# --------------------------------------------------------------------------- FieldMask


class FieldMask:
    """A mask for values of generated class ``cls`` (see the module doc).

    ``FieldMask(cls, *paths, black=False, zero_required=False)`` (or one list
    of paths).  Attributes: ``cls``, ``root`` (the tree: ``ALL``, or a
    :class:`Node`), ``black``, ``zero_required``, ``paths``, ``passes_all``.
    Immutable; :meth:`apply` prunes a value the way encoding would.
    """

    __slots__ = ("cls", "root", "black", "zero_required", "paths", "passes_all", "_cache",
                 "_entries", "_lock", "__weakref__")

    def __init__(self, cls, *paths, black=False, zero_required=False):
        if len(paths) == 1 and isinstance(paths[0], (list, tuple)):
            paths = tuple(paths[0])
        class_meta(cls)  # a clear error for a non-generated class
        if not paths:
            root = ALL
        else:
            b = _Builder(_STRUCT, [cls, None])
            for path in paths:
                _merge(b, _parse_path(path, cls), path)
            root = _freeze(b, bool(black))
            if root is DROP:  # '$' in a black list: an empty struct
                root = Node("struct", _STRUCT, [cls, None], {}, DROP)
        self._setup(cls, root, bool(black), bool(zero_required), tuple(paths))

    def _setup(self, cls, root, black, zero_required, paths):
        init = object.__setattr__
        init(self, "cls", cls)
        init(self, "root", root)
        init(self, "black", black)
        init(self, "zero_required", zero_required)
        init(self, "paths", paths)
        #: True when the mask keeps everything (encode/decode then run unmasked)
        init(self, "passes_all", root is ALL)
        # compiled functions, filled on first use (under the lock)
        init(self, "_cache", {})
        init(self, "_entries", {})
        init(self, "_lock", threading.RLock())

    def __setattr__(self, name, value):
        raise AttributeError("FieldMask objects are immutable")

    @classmethod
    def from_tree(cls_, cls, root, zero_required=False):
        """A mask from an already-built tree (the wire decoders use this)."""
        self = object.__new__(cls_)
        self._setup(cls, root, False, bool(zero_required), ())
        return self

    def __repr__(self):
        if self.paths:
            return "FieldMask(%s, %s%s)" % (self.cls.__name__, ", ".join(map(repr, self.paths)),
                                            ", black=True" if self.black else "")
        return "FieldMask(%s, <tree %r>)" % (self.cls.__name__, self.root)

    def __eq__(self, other):
        """Masks are equal when they keep and drop the same things."""
        return (isinstance(other, FieldMask) and self.cls is other.cls
                and self.root == other.root and self.zero_required == other.zero_required)

    def __hash__(self):
        return hash((self.cls, self.root, self.zero_required))

    # -- codec entry points (thriftgen.runtime.serialize / deserialize call these) ---------

    def _encode(self, obj, protocol, strict_utf8):
        """``serialize(obj, protocol, mask=self)`` (called by the runtime)."""
        fn = self._entries.get((obj.__class__, protocol, strict_utf8, "e"))
        if fn is None:
            from . import _fieldmask_codec as codec

            fn = self._memo((obj.__class__, protocol, strict_utf8, "e"),
                            lambda: codec.entry_encoder(self, obj.__class__, protocol,
                                                        strict_utf8))
            self._entries[obj.__class__, protocol, strict_utf8, "e"] = fn
        return fn(obj)

    def _decode(self, cls, buf, offset, protocol, strict_utf8, max_depth):
        """``decode_struct(cls, buf, offset, protocol, mask=self)`` -> (obj, end)."""
        fn = self._entries.get((cls, protocol, strict_utf8, "d"))
        if fn is None:
            from . import _fieldmask_codec as codec

            fn = self._memo((cls, protocol, strict_utf8, "d"),
                            lambda: codec.entry_decoder(self, cls, protocol, strict_utf8))
            self._entries[cls, protocol, strict_utf8, "d"] = fn
        return fn(buf, offset, max_depth)

    def _memo(self, key, build):
        fn = self._cache.get(key)
        if fn is None:
            with self._lock:
                fn = self._cache.get(key)
                if fn is None:
                    fn = build()
                    self._cache[key] = fn
        return fn

    def apply(self, obj):
        """A copy of ``obj`` with what the mask drops removed (fields set to None,
        elements/entries left out); shares the unmasked parts with ``obj``."""
        if self.root is ALL:
            return obj
        return _prune_struct(obj, self.root, self.zero_required)

    # -- wire forms -------------------------------------------------------------------

    def to_bytes(self):
        return mask_to_bytes(self)

    def to_json(self):
        return mask_to_json(self)


# --------------------------------------------------------------------------- wire forms


def mask_to_bytes(mask):
    """The compact-protocol encoding of ``mask`` (see :mod:`._fieldmask_wire`)."""
    from ._fieldmask_wire import mask_to_bytes as f

    return f(mask)


_cache_lock = threading.Lock()
_cache: "OrderedDict[Any, FieldMask]" = OrderedDict()
_CACHE_SIZE = 256


def mask_from_bytes(cls, data, *, max_depth=64):
    """The :class:`FieldMask` for ``cls`` that ``data`` encodes (cached per
    (class, bytes), so its compiled codec is reused).  Bad data raises
    :class:`FieldMaskError`."""
    from ._fieldmask_wire import tree_from_bytes

    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("mask data must be bytes, not %s" % type(data).__name__)
    data = bytes(data)
    key = (cls, data, max_depth)
    with _cache_lock:
        mask = _cache.get(key)
        if mask is not None:
            _cache.move_to_end(key)
            return mask
    mask = FieldMask.from_tree(cls, *tree_from_bytes(cls, data, max_depth))
    with _cache_lock:
        _cache[key] = mask
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return mask


def mask_to_json(mask):
    """The JSON form of ``mask`` (a str; see :mod:`._fieldmask_wire`)."""
    from ._fieldmask_wire import mask_to_json as f

    return f(mask)


def mask_from_json(cls, text):
    """The :class:`FieldMask` for ``cls`` from its JSON form."""
    from ._fieldmask_wire import tree_from_json

    return FieldMask.from_tree(cls, *tree_from_json(cls, text))


def apply_mask(value, mask_bytes):
    """Server side: ``value`` keeping only what the client's mask bytes select.

    ``mask_bytes`` empty or ``None``: ``value`` itself.  Otherwise a copy of
    ``value`` with the masked-out fields set to ``None`` and the masked-out
    elements/entries left out (unmasked parts are shared, not copied), which
    the server then encodes as usual.  Bad mask bytes raise
    :class:`FieldMaskError`.
    """
    if not mask_bytes or value is None:
        return value
    return mask_from_bytes(type(value), mask_bytes).apply(value)


def _field_mask_method(cls: "type[Any]", *paths: str, black: bool = False,
                       zero_required: bool = False) -> "FieldMask":
    """``Cls.field_mask(*paths, black=False)``: a :class:`FieldMask` for ``Cls``."""
    return FieldMask(cls, *paths, black=black, zero_required=zero_required)


#: What generated classes bind as ``field_mask`` (``-thrift with_field_mask``).
field_mask_method: "classmethod[Any, ..., FieldMask]" = classmethod(_field_mask_method)
