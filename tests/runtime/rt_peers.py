"""Peer implementations for differential tests: Apache Thrift and thriftpy2.

``apache()`` compiles :data:`models.IDL` with ``/usr/bin/thrift --gen py`` into a
temporary directory once per process and returns the generated ``ttypes``
module (``None`` when the compiler or the ``thrift`` package is missing).
``tpy2()`` loads the same IDL with thriftpy2.
"""

import atexit
import importlib
import math
import os
import shutil
import subprocess
import sys
import tempfile

import rt_models as models
from thriftgen.runtime import TType

THRIFT_COMPILER = shutil.which("thrift") or "/usr/bin/thrift"

_cache = {}


def _workdir():
    if "dir" not in _cache:
        path = tempfile.mkdtemp(prefix="tg-runtime-peers-")
        atexit.register(shutil.rmtree, path, True)
        with open(os.path.join(path, "peer.thrift"), "w") as fh:
            fh.write(models.IDL)
        _cache["dir"] = path
    return _cache["dir"]


def apache():
    """Apache-generated ttypes module for models.IDL, or None if unavailable."""
    if "apache" in _cache:
        return _cache["apache"]
    mod = None
    try:
        import thrift  # noqa: F401
    except ImportError:
        thrift = None
    if thrift is not None and os.path.exists(THRIFT_COMPILER):
        work = _workdir()
        out = os.path.join(work, "gen")
        os.makedirs(out, exist_ok=True)
        subprocess.run(
            [THRIFT_COMPILER, "--gen", "py", "-out", out, os.path.join(work, "peer.thrift")],
            check=True,
            capture_output=True,
        )
        sys.path.insert(0, out)
        try:
            mod = importlib.import_module("tgapache.ttypes")
        finally:
            sys.path.remove(out)
    _cache["apache"] = mod
    return mod


def tpy2():
    """thriftpy2 module for models.IDL, or None if thriftpy2 is missing."""
    if "tpy2" in _cache:
        return _cache["tpy2"]
    try:
        import thriftpy2
    except ImportError:
        mod = None
    else:
        mod = thriftpy2.load(os.path.join(_workdir(), "peer.thrift"), module_name="tgpeer_thrift")
    _cache["tpy2"] = mod
    return mod


# ---------------------------------------------------------------------------
# value conversion between our classes and peer classes


def _spec_entries(cls):
    return [e for e in cls.thrift_spec if e is not None]


def _lookup(peer):
    """``peer`` is a module (name -> class) or a callable mapping our class to a peer class."""
    if callable(peer) and not hasattr(peer, "__file__"):
        return peer
    return lambda cls: getattr(peer, cls.__name__)


def to_peer(obj, peer):
    """Copy our instance ``obj`` into the corresponding peer class."""
    find = _lookup(peer)
    return _to_peer(obj, find)


def _to_peer(obj, find):
    kw = {}
    for fid, ttype, attr, targs, _ in _spec_entries(type(obj)):
        value = getattr(obj, attr)
        kw[attr] = None if value is None else _to_peer_value(value, ttype, targs, find)
    return find(type(obj))(**kw)  # Apache exceptions are immutable: use the constructor


def _to_peer_value(value, ttype, targs, find):
    if ttype == TType.STRUCT:
        return _to_peer(value, find)
    if ttype == TType.LIST:
        return [_to_peer_value(v, targs[0], targs[1], find) for v in value]
    if ttype == TType.SET:
        return value  # primitive elements: keep the very same set (same iteration order)
    if ttype == TType.MAP:
        return {
            _to_peer_value(k, targs[0], targs[1], find): _to_peer_value(v, targs[2], targs[3], find)
            for k, v in value.items()
        }
    if ttype == TType.I32 and targs is not None:
        return int(value)
    return value


def from_peer(peer_obj, cls):
    """Convert a peer-decoded instance into our ``cls`` (for comparisons)."""
    out = cls()
    for fid, ttype, attr, targs, _ in _spec_entries(cls):
        value = getattr(peer_obj, attr, None)
        setattr(out, attr, None if value is None else _from_peer_value(value, ttype, targs))
    return out


def _from_peer_value(value, ttype, targs):
    if ttype == TType.STRUCT:
        return from_peer(value, targs[0])
    if ttype == TType.LIST:
        return [_from_peer_value(v, targs[0], targs[1]) for v in value]
    if ttype == TType.SET:
        return {_from_peer_value(v, targs[0], targs[1]) for v in value}
    if ttype == TType.MAP:
        return {
            _from_peer_value(k, targs[0], targs[1]): _from_peer_value(v, targs[2], targs[3])
            for k, v in value.items()
        }
    if ttype == TType.I32 and targs is not None:
        try:
            return targs(value)
        except ValueError:
            return value
    return value


# ---------------------------------------------------------------------------
# Apache "spec-generated" classes: thrift.protocol.TBase subclasses driven by
# a copy of our thrift_spec (what ``thrift --gen py:dynamic,slots`` produces).
# They exercise thrift 0.25's generic writeStruct/readStruct, including UUID.

_spec_peers = {}


def spec_peer_class(cls):
    """TBase subclass mirroring our ``cls`` (nested classes mirrored too)."""
    if cls in _spec_peers:
        return _spec_peers[cls]
    from thrift.protocol.TBase import TBase, TExceptionBase

    attrs = tuple(e[2] for e in _spec_entries(cls))

    def __init__(self, **kw):
        for a in attrs:
            setattr(self, a, kw.get(a))

    base = TExceptionBase if issubclass(cls, Exception) else TBase
    peer = type(cls.__name__, (base,), {"__slots__": attrs, "__init__": __init__})
    _spec_peers[cls] = peer

    def conv(ttype, targs):
        if ttype == TType.STRUCT:
            sub = spec_peer_class(targs[0])
            return [sub, None]  # filled below (recursive types)
        if ttype in (TType.LIST, TType.SET):
            return (targs[0], conv(targs[0], targs[1]), False)
        if ttype == TType.MAP:
            return (targs[0], conv(targs[0], targs[1]), targs[2], conv(targs[2], targs[3]), False)
        if ttype == TType.I32:
            return None
        return targs

    peer.thrift_spec = tuple(
        None if e is None else (e[0], e[1], e[2], conv(e[1], e[3]), e[4]) for e in cls.thrift_spec
    )
    _fill_spec_peers()
    return peer


def _fill_spec_peers():
    def fill(ttype, args):
        if ttype == TType.STRUCT and args[1] is None and hasattr(args[0], "thrift_spec"):
            args[1] = args[0].thrift_spec
        elif ttype in (TType.LIST, TType.SET):
            fill(args[0], args[1])
        elif ttype == TType.MAP:
            fill(args[0], args[1])
            fill(args[2], args[3])

    for peer in list(_spec_peers.values()):
        for e in getattr(peer, "thrift_spec", ()) or ():
            if e is not None:
                fill(e[1], e[3])


def spec_peer_encode(obj, protocol, accelerated=False):
    """Encode with Apache's generic TProtocolBase.writeStruct (or fastbinary)."""
    from thrift.transport import TTransport

    peer = to_peer(obj, spec_peer_class)
    trans = TTransport.TMemoryBuffer()
    prot = _protocol_class(protocol, accelerated)(trans)
    peer.write(prot)
    return trans.getvalue()


def spec_peer_decode(cls, data, protocol, accelerated=False):
    from thrift.transport import TTransport

    peer = spec_peer_class(cls)()
    peer.read(_protocol_class(protocol, accelerated)(TTransport.TMemoryBuffer(data)))
    return from_peer(peer, cls)


def _protocol_class(protocol, accelerated):
    from thrift.protocol import TBinaryProtocol, TCompactProtocol

    if protocol == "binary":
        return TBinaryProtocol.TBinaryProtocolAccelerated if accelerated else TBinaryProtocol.TBinaryProtocol
    return TCompactProtocol.TCompactProtocolAccelerated if accelerated else TCompactProtocol.TCompactProtocol


# ---------------------------------------------------------------------------
# encoders / decoders of the peers


def apache_encode(obj, protocol, accelerated=False):
    """Encode with the Apache-generated class (generated write() / fastbinary)."""
    from thrift.transport import TTransport

    peer = to_peer(obj, apache())
    trans = TTransport.TMemoryBuffer()
    prot = _protocol_class(protocol, accelerated)(trans)
    if accelerated:
        assert prot._fast_encode is not None
    peer.write(prot)
    return trans.getvalue()


def apache_decode(cls, data, protocol, accelerated=False):
    from thrift.transport import TTransport

    peer_cls = getattr(apache(), cls.__name__)
    prot = _protocol_class(protocol, accelerated)(TTransport.TMemoryBuffer(data))
    if getattr(peer_cls.read, "__self__", None) is peer_cls:  # frozen (exceptions)
        peer = peer_cls.read(prot)
    else:
        peer = peer_cls()
        peer.read(prot)
    return from_peer(peer, cls)


def tpy2_decode(cls, data, protocol):
    from thriftpy2.protocol import TBinaryProtocolFactory, TCompactProtocolFactory
    from thriftpy2.utils import deserialize

    mod = tpy2()
    factory = TBinaryProtocolFactory() if protocol == "binary" else TCompactProtocolFactory()
    peer = deserialize(getattr(mod, cls.__name__)(), data, factory)
    return from_peer(peer, cls)


def tpy2_encode(obj, protocol):
    from thriftpy2.protocol import TBinaryProtocolFactory, TCompactProtocolFactory
    from thriftpy2.utils import serialize

    factory = TBinaryProtocolFactory() if protocol == "binary" else TCompactProtocolFactory()
    return serialize(to_peer(obj, tpy2()), factory)


def decoded_form(obj):
    """What decoding ``obj``'s encoding yields: unset fields get the class defaults."""
    cls = type(obj)
    out = cls()
    for fid, ttype, attr, targs, _ in _spec_entries(cls):
        value = getattr(obj, attr)
        if value is not None:
            setattr(out, attr, _decoded_value(value, ttype, targs))
    return out


def _decoded_value(value, ttype, targs):
    if ttype == TType.STRUCT:
        return decoded_form(value)
    if ttype == TType.LIST:
        return [_decoded_value(v, targs[0], targs[1]) for v in value]
    if ttype == TType.MAP:
        return {k: _decoded_value(v, targs[2], targs[3]) for k, v in value.items()}
    return value


def same_value(a, b):
    """Equality that treats NaN == NaN and distinguishes -0.0 from 0.0."""
    return models._eq_value(a, b)


__all__ = [
    "decoded_form",
    "spec_peer_class",
    "spec_peer_encode",
    "spec_peer_decode",
    "apache",
    "tpy2",
    "to_peer",
    "from_peer",
    "apache_encode",
    "apache_decode",
    "tpy2_encode",
    "tpy2_decode",
    "same_value",
    "math",
]
