"""Runtime imported by generated code (standard library only, Python 3.9+).

Public API::

    serialize(obj, protocol="binary", *, strict_utf8=True, mask=None) -> bytes
    deserialize(cls, data, protocol="binary", *, strict_utf8=True,
                max_depth=64, allow_trailing=False, mask=None) -> obj
    decode_struct(cls, buf, offset=0, protocol="binary", *, strict_utf8=True,
                  max_depth=64, mask=None) -> (obj, end)
    encode_message(name, msg_type, seqid, args_obj, protocol="binary") -> bytes
    decode_message_header(buf, protocol="binary", offset=0)
        -> (name, msg_type, seqid, offset_of_body)
    decode_message(buf, cls, protocol="binary", ...) -> Message(name, type, seqid, body)
    skip(buf, offset, ttype, protocol="binary", max_depth=64) -> end
    message_end(buf, offset=0, protocol="binary") -> end
    to_dict(obj) / from_dict(cls, value)          # JSON-compatible values (jsonmap)
    to_json(obj, **dumps_options) / from_json(cls, text)

``protocol`` is ``"binary"`` (Apache's strict ``TBinaryProtocol``),
``"compact"`` (``TCompactProtocol``) or ``"json"`` (``TJSONProtocol``, see
:mod:`thriftgen.runtime._json`); each is byte-for-byte what Apache's Python
protocols write for the same values and ``thrift_spec``. :func:`serialize` also
writes ``"simplejson"`` (Apache's write-only ``TSimpleJSONProtocol``: fields by
name; nothing reads it back, use :func:`to_json` / :func:`from_json` for a
readable JSON form with IDL names).

Classes are driven by Apache's ``thrift_spec`` layout (see
:mod:`thriftgen.runtime._compiler`).  A class may provide its own fast codec
as ``_tg_encode_binary(obj) -> bytes`` / ``_tg_decode_binary(buf, offset) ->
(obj, end)`` (and ``_tg_encode_compact`` / ``_tg_decode_compact``) in its own
``__dict__``; :func:`serialize` / :func:`deserialize` use them for the
top-level object when called with default options.

Errors: everything caused by the data is a :class:`ProtocolError` (``kind``
says what, ``path`` says where, e.g. ``Order.items[3].name``).

UTF-8: ``strict_utf8=True`` (default) rejects invalid UTF-8 in ``string``
fields with ``ProtocolError(kind='invalid_data')``.  ``strict_utf8=False``
decodes with the ``'surrogateescape'`` error handler instead (invalid bytes
become lone surrogates U+DC80..U+DCFF); pass ``strict_utf8=False`` to
:func:`serialize` as well to write such strings back byte-for-byte.

Depth: ``max_depth`` (default 64, Apache's default recursion limit) bounds
the nesting of structs while decoding: a struct nested 64 deep (counting the
outermost) decodes, 65 deep raises ``ProtocolError(kind='depth_limit')``.
Unknown fields are skipped with the remaining budget, each nested struct or
container counting one level.

Field masks: ``mask=`` takes a :class:`thriftgen.runtime.fieldmask.FieldMask`
(encode only / decode only the selected parts; see that module).

``thriftgen.runtime.skip`` is the function; the module of the same name
(``from thriftgen.runtime.skip import skip, message_end``) holds the
SkipDecode implementation.
"""

from collections import namedtuple

from .errors import (
    ApplicationError,
    ProtocolError,
    SpecError,
    TApplicationException,
    ThriftgenError,
)
from .skip import message_end, skip
from .ttype import MessageType, TType

__all__ = [
    "serialize",
    "deserialize",
    "decode_struct",
    "encode_message",
    "decode_message_header",
    "decode_message",
    "Message",
    "skip",
    "message_end",
    "ThriftgenError",
    "ProtocolError",
    "SpecError",
    "ApplicationError",
    "TApplicationException",
    "MessageType",
    "TType",
    "to_dict",
    "from_dict",
    "to_json",
    "from_json",
    "JsonMappingError",
]

Message = namedtuple("Message", ["name", "type", "seqid", "body"])

# (protocol, strict_utf8) -> (plan attribute, plan slot, fast-codec hook or None)
_ENC_KEYS = {
    ("binary", True): ("_tg_plan_binary", 1, "_tg_encode_binary"),
    ("binary", False): ("_tg_plan_binary", 2, None),
    ("compact", True): ("_tg_plan_compact", 1, "_tg_encode_compact"),
    ("compact", False): ("_tg_plan_compact", 2, None),
}
_DEC_KEYS = {
    ("binary", True): ("_tg_plan_binary", 3, "_tg_decode_binary"),
    ("binary", False): ("_tg_plan_binary", 4, None),
    ("compact", True): ("_tg_plan_compact", 3, "_tg_decode_compact"),
    ("compact", False): ("_tg_plan_compact", 4, None),
}
_DEFAULT_DEPTH = 64
_ENC_HOOKS = {"binary": "_tg_encode_binary", "compact": "_tg_encode_compact"}
_DEC_HOOKS = {"binary": "_tg_decode_binary", "compact": "_tg_decode_compact"}

_compiler_mod = None


def _compile(cls, protocol, slot):
    global _compiler_mod
    if _compiler_mod is None:
        import importlib

        _compiler_mod = importlib.import_module(__name__ + "._compiler")
    return _compiler_mod.get_function(cls, protocol, slot)


def _get_function(cls, protocol, slot):
    try:
        return _compile(cls, protocol, slot)
    except RecursionError as ex:
        # First use deep in the caller's recursion: import and compile on an empty stack.
        if not _stack_ran_out(ex):
            raise
        return _on_fresh_stack(_compile, cls, protocol, slot)


def _convert(ex, encoding):
    from ._wire import convert_exception

    return convert_exception(ex, encoding)


def _bad_protocol(protocol):
    return ValueError("unknown protocol %r (expected 'binary', 'compact' or 'json')"
                      % (protocol,))


_json_mod = None


def _json_codec():
    global _json_mod
    if _json_mod is None:
        import importlib

        _json_mod = importlib.import_module(__name__ + "._json")
    return _json_mod


def _no_mask(mask):
    if mask is not None and not mask.passes_all:
        raise ValueError("field masks apply to the binary and compact protocols, not json")


def _keys(table, protocol, strict_utf8):
    try:
        return table[protocol, bool(strict_utf8)]
    except (KeyError, TypeError):
        raise _bad_protocol(protocol) from None


def serialize(obj, protocol="binary", *, strict_utf8=True, mask=None):
    """Encode struct/union/exception instance ``obj``; return ``bytes``.

    ``mask``: a :class:`~thriftgen.runtime.fieldmask.FieldMask` -- only what it
    selects is written.
    """
    if protocol == "json" or protocol == "simplejson":
        _no_mask(mask)
        try:
            codec = _json_codec()
            return (codec.encode if protocol == "json" else codec.encode_simple)(obj, strict_utf8)
        except SpecError:
            raise
        except ProtocolError as ex:
            ex._add_path(obj.__class__.__name__)
            raise
        except Exception as ex:
            raise _with_path(ex, obj.__class__, True) from ex
    if mask is not None and not mask.passes_all:
        try:
            return mask._encode(obj, protocol, strict_utf8)
        except (ProtocolError, RecursionError) as ex:
            if not _stack_ran_out(ex):
                raise
            return _on_fresh_stack(serialize, obj, protocol, strict_utf8=strict_utf8, mask=mask)
    cls = obj.__class__
    d = cls.__dict__
    # the common call (strict UTF-8, generated code's hook) looked up without building a key
    encode = (d.get(_ENC_HOOKS.get(protocol, ""))
              if strict_utf8 is True and protocol.__class__ is str else None)
    fn = None
    if encode is None:
        attr, slot, hook = _keys(_ENC_KEYS, protocol, strict_utf8)
        if hook is not None and hook in d:
            encode = getattr(cls, hook)
        else:
            plan = d.get(attr)
            if plan is not None and plan[0] is cls.thrift_spec and plan[slot] is not None:
                fn = plan[slot]
            else:
                fn = _get_function(cls, protocol, slot)
    try:
        if encode is not None:
            return encode(obj)
        out = bytearray()
        fn(obj, out)
        return bytes(out)
    except ProtocolError as ex:
        if _stack_ran_out(ex):
            return _on_fresh_stack(serialize, obj, protocol, strict_utf8=strict_utf8, mask=mask)
        ex._add_path(cls.__name__)
        raise
    except Exception as ex:
        pe = _with_path(ex, cls, True)
        if _stack_ran_out(pe):
            return _on_fresh_stack(serialize, obj, protocol, strict_utf8=strict_utf8, mask=mask)
        raise pe from ex


def _with_path(ex, cls, encoding):
    """Non-ProtocolError ``ex`` as a ProtocolError whose path starts at ``cls``."""
    pe = _convert(ex, encoding)
    pe._add_path(cls.__name__)
    return pe


def _stack_ran_out(ex):
    """Whether ``ex`` is the Python stack running out (not the data being too deep:
    the codecs count that against ``max_depth`` themselves), while decoding or while
    compiling a codec at first use, in a thread that is not already a fresh-stack one."""
    if not isinstance(ex, RecursionError) and (
            ex.kind != "depth_limit" or not isinstance(ex.__cause__, RecursionError)):
        return False
    import threading

    return not getattr(threading.current_thread(), "_tg_fresh_stack", False)


def _on_fresh_stack(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` in a new thread, whose stack is empty: so a caller that
    is itself deep in recursion can still decode data as deep as ``max_depth``
    allows (the limit counts the data's depth, not the caller's). Used only after
    the stack ran out, so calls that fit pay nothing."""
    import threading

    box = []

    def run():
        threading.current_thread()._tg_fresh_stack = True
        try:
            box.append((True, fn(*args, **kwargs)))
        except BaseException as ex:  # handed to the caller's thread
            box.append((False, ex))

    t = threading.Thread(target=run, name="thriftgen-fresh-stack")
    t.start()
    t.join()
    ok, value = box[0]
    if ok:
        return value
    raise value


def _decode_at(cls, buf, offset, protocol, strict_utf8, max_depth, mask=None):
    if protocol == "json":
        _no_mask(mask)
        try:
            return _json_codec().decode_at(cls, buf, offset, strict_utf8, max_depth)
        except SpecError:
            raise
        except ProtocolError as ex:
            ex._add_path(cls.__name__)
            raise
        except Exception as ex:
            raise _with_path(ex, cls, False) from ex
    if mask is not None and not mask.passes_all:
        return mask._decode(cls, buf, offset, protocol, strict_utf8, max_depth)
    attr, slot, hook = _keys(_DEC_KEYS, protocol, strict_utf8)
    d = cls.__dict__
    if hook is not None and max_depth == _DEFAULT_DEPTH and hook in d:
        fn = None
    else:
        plan = d.get(attr)
        if plan is not None and plan[0] is cls.thrift_spec and plan[slot] is not None:
            fn = plan[slot]
        else:
            fn = _get_function(cls, protocol, slot)
    try:
        if fn is None:
            return getattr(cls, hook)(buf, offset)
        return fn(buf, offset, max_depth)
    except ProtocolError as ex:
        ex._add_path(cls.__name__)
        raise
    except Exception as ex:
        raise _with_path(ex, cls, False) from ex


def _as_bytes(data):
    if data.__class__ is bytes:
        return data
    if isinstance(data, str):
        raise TypeError("expected bytes-like data, got str")
    return bytes(data)


def decode_struct(cls, buf, offset=0, protocol="binary", *, strict_utf8=True, max_depth=64,
                  mask=None):
    """Decode one ``cls`` value starting at ``offset``; return ``(obj, end)``."""
    buf = _as_bytes(buf)
    if offset < 0 or offset > len(buf):
        raise ValueError("offset %d outside the buffer" % offset)
    try:
        return _decode_at(cls, buf, offset, protocol, strict_utf8, max_depth, mask)
    except (ProtocolError, RecursionError) as ex:
        if not _stack_ran_out(ex):
            raise
        return _on_fresh_stack(_decode_at, cls, buf, offset, protocol, strict_utf8, max_depth,
                               mask)


def deserialize(
    cls,
    data,
    protocol="binary",
    *,
    strict_utf8=True,
    max_depth=64,
    allow_trailing=False,
    mask=None,
):
    """Decode ``data`` (bytes-like) as one ``cls`` value.

    The whole input must be consumed unless ``allow_trailing=True``; extra
    bytes raise ``ProtocolError(kind='invalid_data')``.  ``mask``: a
    :class:`~thriftgen.runtime.fieldmask.FieldMask` -- what it drops is
    skipped, not built.
    """
    buf = data if data.__class__ is bytes else _as_bytes(data)
    # the common call (generated decoder, default options) without _decode_at's
    # key lookups: a small message's decode time is mostly this overhead
    decode = (cls.__dict__.get(_DEC_HOOKS.get(protocol, ""))
              if strict_utf8 is True and max_depth == _DEFAULT_DEPTH and mask is None
              and protocol.__class__ is str else None)
    try:
        if decode is not None:
            try:
                obj, end = decode(buf, 0)
            except ProtocolError as ex:
                ex._add_path(cls.__name__)
                raise
            except Exception as ex:
                raise _with_path(ex, cls, False) from ex
        else:
            obj, end = _decode_at(cls, buf, 0, protocol, strict_utf8, max_depth, mask)
    except (ProtocolError, RecursionError) as ex:
        if not _stack_ran_out(ex):
            raise
        return _on_fresh_stack(deserialize, cls, buf, protocol, strict_utf8=strict_utf8,
                               max_depth=max_depth, allow_trailing=allow_trailing, mask=mask)
    if end != len(buf) and not allow_trailing:
        raise ProtocolError(
            "invalid_data",
            "%d trailing bytes after the struct" % (len(buf) - end),
            path=cls.__name__,
            offset=end,
        )
    return obj


def encode_message(name, msg_type, seqid, args_obj, protocol="binary", *, strict_utf8=True):
    """Encode an RPC message: envelope header followed by ``args_obj``.

    ``args_obj`` is the call's args struct, the result struct, or an
    :class:`ApplicationError` for ``MessageType.EXCEPTION``; ``None`` writes
    an empty struct.
    """
    if protocol == "json":
        try:
            return _json_codec().encode_message(name, msg_type, seqid, args_obj, strict_utf8)
        except ProtocolError as ex:
            if args_obj is not None:
                ex._add_path(args_obj.__class__.__name__)
            raise
    from ._message import write_header

    out = bytearray(write_header(protocol, name, msg_type, seqid))
    if args_obj is None:
        out.append(0)
        return bytes(out)
    cls = args_obj.__class__
    attr, slot, hook = _keys(_ENC_KEYS, protocol, strict_utf8)
    if hook is not None and hook in cls.__dict__:
        return bytes(out) + serialize(args_obj, protocol)
    plan = cls.__dict__.get(attr)
    if plan is not None and plan[0] is cls.thrift_spec and plan[slot] is not None:
        fn = plan[slot]
    else:
        fn = _get_function(cls, protocol, slot)
    try:
        fn(args_obj, out)  # header and body share one buffer
    except Exception as ex:
        pe = ex if isinstance(ex, ProtocolError) else _with_path(ex, cls, True)
        if _stack_ran_out(pe):
            return _on_fresh_stack(encode_message, name, msg_type, seqid, args_obj, protocol,
                                   strict_utf8=strict_utf8)
        if pe is ex:
            ex._add_path(cls.__name__)
            raise
        raise pe from ex
    return bytes(out)


def decode_message_header(buf, protocol="binary", offset=0):
    """Decode a message header: ``(name, msg_type, seqid, body_offset)``."""
    from ._message import read_header

    buf = _as_bytes(buf)
    if protocol == "json":
        return _json_codec().read_header(buf, offset)
    try:
        return read_header(buf, offset, protocol)
    except ProtocolError:
        raise
    except ValueError:
        raise
    except Exception as ex:
        raise _convert(ex, False) from ex


def decode_message(
    buf,
    cls,
    protocol="binary",
    *,
    offset=0,
    strict_utf8=True,
    max_depth=64,
    allow_trailing=False,
):
    """Decode a whole message; return ``Message(name, type, seqid, body)``.

    ``body`` is a ``cls`` instance, or an :class:`ApplicationError` when the
    message type is ``EXCEPTION`` (it is returned, not raised).
    """
    buf = _as_bytes(buf)
    name, msg_type, seqid, pos = decode_message_header(buf, protocol, offset)
    body_cls = ApplicationError if msg_type == MessageType.EXCEPTION else cls
    try:
        body, end = _decode_at(body_cls, buf, pos, protocol, strict_utf8, max_depth)
    except (ProtocolError, RecursionError) as ex:
        if not _stack_ran_out(ex):
            raise
        body, end = _on_fresh_stack(_decode_at, body_cls, buf, pos, protocol, strict_utf8,
                                    max_depth)
    if protocol == "json":
        end = _json_codec().after_body(buf, end)  # the message's closing ']'
    if end != len(buf) and not allow_trailing:
        raise ProtocolError(
            "invalid_data",
            "%d trailing bytes after the message" % (len(buf) - end),
            path=body_cls.__name__,
            offset=end,
        )
    return Message(name, msg_type, seqid, body)


#: Loaded on first use (json, base64 and uuid are not imported by a plain ``import``).
_JSON_MAPPING = ("to_dict", "from_dict", "to_json", "from_json", "JsonMappingError")


def __getattr__(name):
    if name in _JSON_MAPPING:
        from . import jsonmap

        return getattr(jsonmap, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
