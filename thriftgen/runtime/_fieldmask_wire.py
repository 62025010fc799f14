"""Field masks on the wire: a compact Thrift encoding, a JSON form, and the
helpers a client and a server use to agree on "the fields I want".

Binary form (``mask_to_bytes`` / ``mask_from_bytes``): the normalised mask
tree (white/black list already resolved into keep/drop decisions) as these
structs, encoded with the **compact** protocol::

    /** thriftgen field mask, wire version 1 */
    struct FieldMaskData {
      1: i8 version = 1
      2: MaskNode root
      3: bool zero_required          // absent = false
    }
    /** One node: a leaf, or picks + rest. */
    struct MaskNode {
      1: optional i8 leaf            // 1 = ALL (whole subtree), 2 = DROP (nothing)
      2: optional map<i64, MaskNode> ids     // struct field id, list index or
                                             // integer map key -> child
      3: optional map<string, MaskNode> keys // string map key -> child
      4: optional MaskNode rest      // everything not picked; absent = DROP
    }

A node with ``leaf`` has nothing else.  Field *ids* are used, never names,
so a peer with renamed fields still understands the mask.  Reading checks
the data against the class the mask is for: field ids must exist, list
indexes be >= 0, string keys only for string-keyed maps, integer keys only
for integer/enum-keyed maps (in the key type's range), sets and maps of
other key types take only ``rest``, scalars only leaves.  Hostile input
(truncated, absurd counts, nesting deeper than ``max_depth``, wrong types)
raises :class:`~thriftgen.runtime.fieldmask.FieldMaskError`; memory stays
bounded by the input size (the runtime codec checks every count against the
bytes left).

JSON form (``mask_to_json`` / ``mask_from_json``)::

    {"version": 1, "zero_required": false, "root": NODE}
    NODE := true (ALL) | false (DROP)
          | {"<id or index or int key>": NODE, "\\"<string key>\\"": NODE, "*": NODE}

(string map keys are written JSON-quoted inside the member name, as in the
path syntax, so a key ``"*"`` stays distinct from the rest; ``"*"`` absent
means DROP).

Request/response helper: the client sends ``mask_to_bytes(mask)`` in a
``binary`` field of its request (e.g. ``2: optional binary field_mask``);
the server handler returns ``apply_mask(response, request.field_mask)``,
which keeps only what the mask selects (no field mask bytes: the response
unchanged).  Masks read from bytes are cached per (class, bytes) in a small
LRU, so a server seeing the same mask on every call parses and compiles it
once.
"""

import json

from .errors import ProtocolError
from ._fieldmask_tree import (ALL, DROP, FieldMaskError, Node, _kind_of, _normalize, _struct_cls,
                              class_meta, map_key_kind, type_name)

# What :mod:`.fieldmask` builds its public functions on: masks in, trees out (the
# FieldMask objects, and their cache, live there, so this module never imports it).
__all__ = ["mask_to_bytes", "tree_from_bytes", "mask_to_json", "tree_from_json"]

_STRUCT, _MAP, _SET, _LIST = 12, 13, 14, 15
_I8, _I64, _STRING, _BOOL = 3, 10, 11, 2
_VERSION = 1
_LEAF_ALL, _LEAF_DROP = 1, 2
_KEY_RANGE = {3: 1 << 7, 6: 1 << 15, 8: 1 << 31, 10: 1 << 63}


class MaskNode:
    __slots__ = ("leaf", "ids", "keys", "rest")

    def __init__(self, leaf=None, ids=None, keys=None, rest=None):
        self.leaf = leaf
        self.ids = ids
        self.keys = keys
        self.rest = rest


class FieldMaskData:
    __slots__ = ("version", "root", "zero_required")

    def __init__(self, version=None, root=None, zero_required=None):
        self.version = version
        self.root = root
        self.zero_required = zero_required


MaskNode.thrift_spec = (
    None,
    (1, _I8, "leaf", None, None),
    (2, _MAP, "ids", (_I64, None, _STRUCT, [MaskNode, None], False), None),
    (3, _MAP, "keys", (_STRING, "UTF8", _STRUCT, [MaskNode, None], False), None),
    (4, _STRUCT, "rest", [MaskNode, None], None),
)
FieldMaskData.thrift_spec = (
    None,
    (1, _I8, "version", None, None),
    (2, _STRUCT, "root", [MaskNode, None], None),
    (3, _BOOL, "zero_required", None, None),
)
for _args in (MaskNode.thrift_spec[2][3], MaskNode.thrift_spec[3][3]):
    _args[3][1] = MaskNode.thrift_spec
MaskNode.thrift_spec[4][3][1] = MaskNode.thrift_spec
FieldMaskData.thrift_spec[2][3][1] = MaskNode.thrift_spec


# --------------------------------------------------------------------------- tree <-> data


def _to_data(m):
    if m is ALL:
        return MaskNode(leaf=_LEAF_ALL)
    if m is DROP:
        return MaskNode(leaf=_LEAF_DROP)
    ids = {k: _to_data(c) for k, c in m.picks.items() if not isinstance(k, str)}
    keys = {k: _to_data(c) for k, c in m.picks.items() if isinstance(k, str)}
    return MaskNode(ids=ids or None, keys=keys or None,
                    rest=None if m.rest is DROP else _to_data(m.rest))


def _bad(reason, where):
    raise FieldMaskError("bad field mask data at %s: %s" % (where, reason))


def _from_data(d, ttype, targs, where):
    """Mask tree for the type ``(ttype, targs)`` from a decoded MaskNode."""
    if d is None:
        return DROP
    if d.leaf is not None:
        if d.ids is not None or d.keys is not None or d.rest is not None:
            _bad("a leaf node has children", where)
        if d.leaf == _LEAF_ALL:
            return ALL
        if d.leaf == _LEAF_DROP:
            return DROP
        _bad("unknown leaf value %d" % d.leaf, where)
    kind = _kind_of(ttype)
    if kind is None:
        _bad("%s is a %s: only ALL or DROP fit" % (where, type_name(ttype, targs)), where)
    ids, keys = d.ids or {}, d.keys or {}
    picks = {}
    if kind == "struct":
        if keys:
            _bad("string keys on a struct", where)
        meta = class_meta(_struct_cls(targs))
        for fid, child in ids.items():
            f = meta.fields.get(fid)
            if f is None:
                _bad("%s has no field with id %d" % (meta.cls.__name__, fid), where)
            picks[fid] = _from_data(child, f[1], f[3], "%s.%s" % (where, meta.idl_name(fid)))
        rest = DROP
        if d.rest is not None:
            if d.rest.leaf is None:
                _bad("the rest of a struct can only be ALL or DROP", where)
            rest = _from_data(d.rest, _STRUCT, targs, where + ".*")
    elif kind in ("list", "set"):
        if keys:
            _bad("string keys on a %s" % kind, where)
        if ids and kind == "set":
            _bad("a set takes no element indexes, only '*'", where)
        for i, child in ids.items():
            if not 0 <= i < 1 << 31:
                _bad("list index %d out of range" % i, where)
            picks[i] = _from_data(child, targs[0], targs[1], "%s[%d]" % (where, i))
        rest = _from_data(d.rest, targs[0], targs[1], where + "[*]")
    else:
        kk = map_key_kind(targs)
        if keys and kk != "str":
            _bad("string keys on a map with %s keys" % type_name(targs[0], targs[1]), where)
        if ids and kk != "int":
            _bad("integer keys on a map with %s keys" % type_name(targs[0], targs[1]), where)
        limit = _KEY_RANGE.get(targs[0])
        for k, child in ids.items():
            if limit is not None and not -limit <= k < limit:
                _bad("key %d out of range for %s" % (k, type_name(targs[0], targs[1])), where)
            picks[k] = _from_data(child, targs[2], targs[3], "%s{%d}" % (where, k))
        for k, child in keys.items():
            picks[k] = _from_data(child, targs[2], targs[3], "%s{%s}" % (where, json.dumps(k)))
        rest = _from_data(d.rest, targs[2], targs[3], where + "{*}")
    return _normalize(Node(kind, ttype, targs, picks, rest))


def _tree(cls, root, zero_required):
    """``(root, zero_required)`` of the mask: a dropped root is an empty struct."""
    if root is DROP:
        root = Node("struct", _STRUCT, [cls, None], {}, DROP)
    return root, zero_required


# --------------------------------------------------------------------------- bytes


def mask_to_bytes(mask):
    """The compact-protocol encoding of ``mask`` (see the module doc)."""
    from . import serialize

    data = FieldMaskData(version=_VERSION, root=_to_data(mask.root),
                         zero_required=True if mask.zero_required else None)
    return serialize(data, "compact")


def tree_from_bytes(cls, data, max_depth=64):
    """``(root, zero_required)`` of the mask for ``cls`` that ``data`` (bytes)
    encodes.  Bad data raises :class:`FieldMaskError`."""
    from . import deserialize

    try:
        d = deserialize(FieldMaskData, data, "compact", max_depth=max_depth)
    except ProtocolError as ex:
        raise FieldMaskError("bad field mask data: %s" % (ex,)) from None
    if d.version != _VERSION:
        raise FieldMaskError("bad field mask data: unsupported version %r (expected %d)"
                             % (d.version, _VERSION))
    if d.root is None:
        raise FieldMaskError("bad field mask data: no root node")
    class_meta(cls)
    return _tree(cls, _from_data(d.root, _STRUCT, [cls, None], "$"), bool(d.zero_required))


# --------------------------------------------------------------------------- JSON


def _to_json(m):
    if m is ALL:
        return True
    if m is DROP:
        return False
    out = {}
    for k, c in m.picks.items():
        out[json.dumps(k) if isinstance(k, str) else str(k)] = _to_json(c)
    if m.rest is not DROP:
        out["*"] = _to_json(m.rest)
    return out


def mask_to_json(mask):
    """The JSON form of ``mask`` (a str; see the module doc)."""
    doc = {"version": _VERSION, "root": _to_json(mask.root)}
    if mask.zero_required:
        doc["zero_required"] = True
    return json.dumps(doc, separators=(",", ":"))


def _json_node(j, where):
    """JSON node -> MaskNode (the same checks then apply to both forms)."""
    if j is True:
        return MaskNode(leaf=_LEAF_ALL)
    if j is False:
        return MaskNode(leaf=_LEAF_DROP)
    if not isinstance(j, dict):
        _bad("expected true, false or an object, got %s" % type(j).__name__, where)
    ids, keys, rest = {}, {}, None
    for name, child in j.items():
        if name == "*":
            rest = _json_node(child, where + "*")
        elif name.startswith('"'):
            try:
                key = json.loads(name)
            except ValueError:
                key = None
            if not isinstance(key, str):
                _bad("bad string key %s" % name, where)
            keys[key] = _json_node(child, "%s{%s}" % (where, name))
        else:
            try:
                num = int(name, 10)
            except ValueError:
                _bad("member name %r is not an integer, a quoted string or '*'" % name, where)
            ids[num] = _json_node(child, "%s.%s" % (where, name))
    return MaskNode(ids=ids or None, keys=keys or None, rest=rest)


def tree_from_json(cls, text):
    """``(root, zero_required)`` of the mask for ``cls`` from its JSON form."""
    try:
        doc = json.loads(text)
    except RecursionError:
        raise FieldMaskError("bad field mask JSON: nested too deep") from None
    except ValueError as ex:
        raise FieldMaskError("bad field mask JSON: %s" % ex) from None
    if not isinstance(doc, dict) or "root" not in doc:
        raise FieldMaskError("bad field mask JSON: expected an object with a 'root' member")
    if doc.get("version", _VERSION) != _VERSION:
        raise FieldMaskError("bad field mask JSON: unsupported version %r" % (doc["version"],))
    class_meta(cls)
    try:
        root = _from_data(_json_node(doc["root"], "$"), _STRUCT, [cls, None], "$")
    except RecursionError:
        raise FieldMaskError("bad field mask JSON: nested too deep") from None
    return _tree(cls, root, bool(doc.get("zero_required", False)))
