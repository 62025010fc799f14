"""What generated modules need at run time (standard library only).

Generated code imports this module as ``_tg``. It provides

* the ``thrift_spec`` fix-up (:func:`fix_specs`) run once per generated module;
* :func:`read_struct` / :func:`write_struct`: the ``read(iprot)`` /
  ``write(oprot)`` of every generated class, driven by ``thrift_spec``. They
  work with any protocol object that has Apache's method names
  (``TBinaryProtocol``, ``TCompactProtocol``, ...) and hand the whole struct to
  Apache's C codec when the protocol is an accelerated one
  (``TBinaryProtocolAccelerated``, ``TCompactProtocolAccelerated``);
* :class:`ClientBase`, :class:`AsyncClientBase` and :class:`ProcessorBase`, the
  RPC plumbing behind the generated ``Client``, ``AsyncClient`` and
  ``Processor`` classes, and :class:`Function` / :func:`bind_functions`, the
  per-service function table the message-level runtime
  (:mod:`thriftgen.runtime.rpc`) dispatches with;
* small helpers for generated methods (:data:`DEFAULT`, :func:`struct_repr`,
  :func:`fields_equal`, :func:`missing_required`, :func:`check_union`).

Nothing here imports Apache's ``thrift`` package: its classes are recognised by
duck typing (``_fast_decode``, ``cstringio_refill``, class names).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Iterable, Optional

from ._api import require_api
from .errors import ApplicationError, ProtocolError
from .ttype import MessageType, TType

__all__ = [
    "DEFAULT",
    "FrozenDict",
    "TType",
    "fix_specs",
    "read_struct",
    "write_struct",
    "struct_repr",
    "fields_equal",
    "missing_required",
    "check_union",
    "ClientBase",
    "AsyncClientBase",
    "ProcessorBase",
    "Function",
    "bind_functions",
    "function_table",
    "reply_problem",
    "ApplicationError",
    "require_api",
]

_log = logging.getLogger("thriftgen.runtime")


class _Default:
    """Marks a parameter whose IDL default is built fresh for every instance."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DEFAULT"

    def __reduce__(self) -> str:
        return "DEFAULT"


#: Default value of ``__init__`` parameters whose IDL default is mutable.
DEFAULT: Any = _Default()


class FrozenDict(dict):  # type: ignore[type-arg]
    """A read-only, hashable dict: a map that is a set element or a map key."""

    __slots__ = ()

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def _readonly(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("FrozenDict is read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly  # type: ignore[assignment]
    __ior__ = _readonly  # type: ignore[assignment]

    def __reduce__(self) -> Any:
        return (FrozenDict, (dict(self),))

_STRUCT = TType.STRUCT
_LIST = TType.LIST
_SET = TType.SET
_MAP = TType.MAP


# --------------------------------------------------------------------------- spec fix-up


def _fix_args(ttype: int, args: Any) -> None:
    if ttype == _STRUCT:
        args[1] = args[0].thrift_spec
    elif ttype in (_LIST, _SET):
        _fix_args(args[0], args[1])
    elif ttype == _MAP:
        _fix_args(args[0], args[1])
        _fix_args(args[2], args[3])


def fix_specs(classes: Iterable[type]) -> None:
    """Fill the ``[Cls, None]`` struct references in the classes' specs.

    Specs are assigned after every class of a module exists (so recursive and
    forward references work); this puts each referenced class's spec in place
    of ``None``, as Apache's C codec expects, and indexes fields by id for the
    pure-Python path.
    """
    for cls in classes:
        by_id = {}
        for entry in cls.thrift_spec:  # type: ignore[attr-defined]
            if entry is None:
                continue
            _fix_args(entry[1], entry[3])
            by_id[entry[0]] = entry
        cls._tg_by_id = by_id  # type: ignore[attr-defined]
        cls._tg_entries = tuple(sorted(by_id.values()))  # type: ignore[attr-defined]


def _entries(cls: type) -> tuple:
    entries = cls.__dict__.get("_tg_entries")
    if entries is None:  # a class fix_specs never saw (e.g. ApplicationError)
        fix_specs([cls])
        entries = cls.__dict__["_tg_entries"]
    return entries


def _by_id(cls: type) -> dict:
    by_id = cls.__dict__.get("_tg_by_id")
    if by_id is None:
        fix_specs([cls])
        by_id = cls.__dict__["_tg_by_id"]
    return by_id


# --------------------------------------------------------------------------- read / write


def _c_codec_ok(cls: type) -> bool:
    return not cls.__dict__.get("_tg_no_c_codec", False)


def read_struct(obj: Any, iprot: Any) -> None:
    """Read ``obj``'s fields from ``iprot`` (an Apache-style protocol)."""
    cls = type(obj)
    fast = getattr(iprot, "_fast_decode", None)
    if (fast is not None and _c_codec_ok(cls)
            and hasattr(iprot.trans, "cstringio_refill")):
        fast(obj, iprot, [cls, cls.thrift_spec])
        return
    by_id = _by_id(cls)
    iprot.readStructBegin()
    while True:
        _, ftype, fid = iprot.readFieldBegin()
        if ftype == TType.STOP:
            break
        entry = by_id.get(fid)
        if entry is None or entry[1] != ftype:
            iprot.skip(ftype)
        else:
            setattr(obj, entry[2], _read_value(iprot, ftype, entry[3]))
        iprot.readFieldEnd()
    iprot.readStructEnd()


def _read_into(obj: Any, iprot: Any) -> None:
    """``obj.read(iprot)``, or the generic path for classes generated without
    ``read``/``write`` (``-thrift no_default_serdes``)."""
    read = getattr(obj, "read", None)
    if read is None:
        read_struct(obj, iprot)
    else:
        read(iprot)


def _write_from(obj: Any, oprot: Any) -> None:
    """``obj.write(oprot)``, or the generic path (see :func:`_read_into`)."""
    write = getattr(obj, "write", None)
    if write is None:
        write_struct(obj, oprot)
    else:
        write(oprot)


def _read_value(iprot: Any, ttype: int, args: Any, frozen: bool = False) -> Any:
    """One value; ``frozen``: it is a set element or map key, so containers are
    built hashable (tuple, frozenset, FrozenDict)."""
    if ttype == TType.STRING:
        return iprot.readBinary() if args == "BINARY" else iprot.readString()
    if ttype == TType.I32:
        value = iprot.readI32()
        if args is not None:  # an enum: known values become members, others stay ints
            return args._value2member_map_.get(value, value)
        return value
    if ttype == TType.I64:
        return iprot.readI64()
    if ttype == TType.BOOL:
        return iprot.readBool()
    if ttype == TType.DOUBLE:
        return iprot.readDouble()
    if ttype == TType.I16:
        return iprot.readI16()
    if ttype == TType.BYTE:
        return iprot.readByte()
    if ttype == _STRUCT:
        value = args[0]()
        _read_into(value, iprot)
        return value
    if ttype == _LIST:
        etype, eargs = args[0], args[1]
        _, size = iprot.readListBegin()
        items = [_read_value(iprot, etype, eargs, frozen) for _ in range(size)]
        iprot.readListEnd()
        return tuple(items) if frozen else items
    if ttype == _SET:
        etype, eargs = args[0], args[1]
        _, size = iprot.readSetBegin()
        members = {_read_value(iprot, etype, eargs, True) for _ in range(size)}
        iprot.readSetEnd()
        return frozenset(members) if frozen else members
    if ttype == _MAP:
        ktype, kargs, vtype, vargs = args[0], args[1], args[2], args[3]
        _, _, size = iprot.readMapBegin()
        result = {}
        for _ in range(size):
            key = _read_value(iprot, ktype, kargs, True)
            result[key] = _read_value(iprot, vtype, vargs, frozen)
        iprot.readMapEnd()
        return FrozenDict(result) if frozen else result
    if ttype == TType.UUID:
        return iprot.readUuid()
    raise ProtocolError("bad_type", "cannot read wire type %r" % (ttype,))


def write_struct(obj: Any, oprot: Any) -> None:
    """Write ``obj`` to ``oprot`` (an Apache-style protocol)."""
    cls = type(obj)
    fast = getattr(oprot, "_fast_encode", None)
    if fast is not None and _c_codec_ok(cls):
        oprot.trans.write(fast(obj, [cls, cls.thrift_spec]))
        return
    oprot.writeStructBegin(cls.__name__)
    for fid, ftype, name, args, _ in _entries(cls):
        value = getattr(obj, name)
        if value is None:
            continue
        oprot.writeFieldBegin(name, ftype, fid)
        _write_value(oprot, ftype, args, value)
        oprot.writeFieldEnd()
    oprot.writeFieldStop()
    oprot.writeStructEnd()


def _write_value(oprot: Any, ttype: int, args: Any, value: Any) -> None:
    if ttype == TType.STRING:
        if args == "BINARY":
            oprot.writeBinary(value)
        else:
            oprot.writeString(value)
    elif ttype == TType.I32:
        oprot.writeI32(value)
    elif ttype == TType.I64:
        oprot.writeI64(value)
    elif ttype == TType.BOOL:
        oprot.writeBool(value)
    elif ttype == TType.DOUBLE:
        oprot.writeDouble(value)
    elif ttype == TType.I16:
        oprot.writeI16(value)
    elif ttype == TType.BYTE:
        oprot.writeByte(value)
    elif ttype == _STRUCT:
        _write_from(value, oprot)
    elif ttype == _LIST:
        etype, eargs = args[0], args[1]
        oprot.writeListBegin(etype, len(value))
        for item in value:
            _write_value(oprot, etype, eargs, item)
        oprot.writeListEnd()
    elif ttype == _SET:
        etype, eargs = args[0], args[1]
        oprot.writeSetBegin(etype, len(value))
        for item in value:
            _write_value(oprot, etype, eargs, item)
        oprot.writeSetEnd()
    elif ttype == _MAP:
        ktype, kargs, vtype, vargs = args[0], args[1], args[2], args[3]
        oprot.writeMapBegin(ktype, vtype, len(value))
        for key, item in value.items():
            _write_value(oprot, ktype, kargs, key)
            _write_value(oprot, vtype, vargs, item)
        oprot.writeMapEnd()
    elif ttype == TType.UUID:
        oprot.writeUuid(value)
    else:
        raise ProtocolError("bad_type", "cannot write wire type %r" % (ttype,))


# --------------------------------------------------------------------------- methods


def struct_repr(obj: Any) -> str:
    fields = ", ".join("%s=%r" % (name, getattr(obj, name)) for name in type(obj).__slots__)
    return "%s(%s)" % (type(obj).__name__, fields)


def fields_equal(a: Any, b: Any) -> bool:
    """Field-by-field equality of two instances of the same generated class."""
    for name in type(a).__slots__:
        if getattr(a, name) != getattr(b, name):
            return False
    return True


def missing_required(obj: Any, field: str) -> ProtocolError:
    return ProtocolError("invalid_data", "required field %s.%s is unset"
                         % (type(obj).__name__, field))


def check_union(obj: Any) -> None:
    """A union must have exactly one field set."""
    names = [n for n in type(obj).__slots__ if getattr(obj, n) is not None]
    if len(names) != 1:
        what = "no field" if not names else "%d fields (%s)" % (len(names), ", ".join(names))
        raise ProtocolError("invalid_data", "union %s must have exactly one field set, not %s"
                            % (type(obj).__name__, what))


# --------------------------------------------------------------------------- RPC


def _has_class_named(exc: BaseException, name: str) -> bool:
    return any(k.__name__ == name for k in type(exc).__mro__)


def _is_transport_error(exc: BaseException) -> bool:
    # Apache's transports signal a closed or broken connection with it; a server
    # must see it to drop the connection, exactly as Apache's generated code does.
    return _has_class_named(exc, "TTransportException")


def _as_application_error(exc: BaseException) -> Optional[ApplicationError]:
    if isinstance(exc, ApplicationError):
        return exc
    if _has_class_named(exc, "TApplicationException"):  # Apache's own class
        return ApplicationError(getattr(exc, "type", ApplicationError.UNKNOWN),
                                getattr(exc, "message", None))
    return None


class ClientBase:
    """Sends calls and receives replies for a generated ``Client``.

    Sequence ids count up per call; a reply whose id, name or message type does
    not match the call raises :class:`ApplicationError` (``BAD_SEQUENCE_ID``,
    ``WRONG_METHOD_NAME``, ``INVALID_MESSAGE_TYPE``). An ``EXCEPTION`` reply is
    raised as the :class:`ApplicationError` it carries.

    ``iprot`` is either an Apache-style protocol object or a
    :class:`thriftgen.runtime.rpc.Channel`; with a channel, messages are
    encoded and decoded whole by the runtime codec (no protocol objects).
    """

    def __init__(self, iprot: Any, oprot: Any = None) -> None:
        self._iprot = self._oprot = iprot
        if oprot is not None:
            self._oprot = oprot
        self._seqid = 0
        self._tg_chan = iprot if getattr(iprot, "_tg_is_channel", False) else None

    def _tg_send(self, name: str, args: Any, oneway: bool = False) -> None:
        self._seqid = (self._seqid + 1) & 0x7FFFFFFF
        mtype = MessageType.ONEWAY if oneway else MessageType.CALL
        chan = self._tg_chan
        if chan is not None:
            chan.send_message(name, mtype, self._seqid, args)
            return
        oprot = self._oprot
        oprot.writeMessageBegin(name, mtype, self._seqid)
        _write_from(args, oprot)
        oprot.writeMessageEnd()
        oprot.trans.flush()

    def _tg_recv(self, name: str, result: Any) -> None:
        chan = self._tg_chan
        if chan is not None:
            body = chan.recv_reply(name, self._seqid, type(result))
            for attr in type(result).__slots__:
                setattr(result, attr, getattr(body, attr))
            return
        iprot = self._iprot
        fname, mtype, seqid = iprot.readMessageBegin()
        if mtype == MessageType.EXCEPTION:
            error = ApplicationError()
            read_struct(error, iprot)
            iprot.readMessageEnd()
            raise error
        problem = reply_problem(name, self._seqid, fname, mtype, seqid)
        if problem is not None:
            iprot.skip(TType.STRUCT)
            iprot.readMessageEnd()
            raise problem
        _read_into(result, iprot)
        iprot.readMessageEnd()

    @staticmethod
    def _tg_missing_result(name: str) -> ApplicationError:
        return ApplicationError(ApplicationError.MISSING_RESULT, "%s failed: unknown result" % name)


class ProcessorBase:
    """Dispatches calls to a handler for a generated ``Processor``.

    Works as the processor of Apache's servers (``TSimpleServer``,
    ``TThreadedServer``, ...): they call :meth:`process` once per message.
    """

    def __init__(self, handler: Any) -> None:
        self._handler = handler
        self._processMap: Dict[str, Callable[..., Any]] = {}
        self._on_message_begin: Optional[Callable[..., Any]] = None
        # Each generated Processor lists its own functions; bases come first so
        # a service's functions win over inherited ones of the same name.
        for klass in reversed(type(self).__mro__):
            for wire_name, method in klass.__dict__.get("_tg_methods", {}).items():
                self._processMap[wire_name] = getattr(type(self), method)

    def on_message_begin(self, func: Callable[..., Any]) -> None:
        self._on_message_begin = func

    def process(self, iprot: Any, oprot: Any) -> Optional[bool]:
        name, mtype, seqid = iprot.readMessageBegin()
        if self._on_message_begin is not None:
            self._on_message_begin(name, mtype, seqid)
        handler = self._processMap.get(name)
        if handler is None:
            iprot.skip(TType.STRUCT)
            iprot.readMessageEnd()
            error = ApplicationError(ApplicationError.UNKNOWN_METHOD, "Unknown function %s" % name)
            self._tg_write(oprot, name, MessageType.EXCEPTION, seqid, error)
            return None
        handler(self, seqid, iprot, oprot)
        return True

    @staticmethod
    def _tg_write(oprot: Any, name: str, mtype: int, seqid: int, body: Any) -> None:
        oprot.writeMessageBegin(name, mtype, seqid)
        if isinstance(body, ApplicationError):
            write_struct(body, oprot)
        else:
            _write_from(body, oprot)
        oprot.writeMessageEnd()
        oprot.trans.flush()

    def _tg_reply(self, oprot: Any, name: str, seqid: int, result: Any) -> None:
        self._tg_write(oprot, name, MessageType.REPLY, seqid, result)

    def _tg_reply_error(self, oprot: Any, name: str, seqid: int, exc: Exception) -> None:
        """Answer a handler exception that is not declared by the function."""
        if _is_transport_error(exc):
            raise exc
        error = _as_application_error(exc)
        if error is None:
            _log.error("Unexpected exception in handler of %s", name, exc_info=exc)
            error = ApplicationError(ApplicationError.INTERNAL_ERROR, "Internal error")
        self._tg_write(oprot, name, MessageType.EXCEPTION, seqid, error)

    @staticmethod
    def _tg_oneway_error(name: str, exc: Exception) -> None:
        if _is_transport_error(exc):
            raise exc
        _log.error("Exception in oneway handler of %s", name, exc_info=exc)


def reply_problem(name: str, expected_seqid: int, rname: str, mtype: int, seqid: int,
                  prefix: str = "") -> Optional[ApplicationError]:
    """Why a reply does not answer call ``name`` / ``expected_seqid`` (None if it does).

    ``prefix`` is the multiplexing prefix (``"Service:"``) the call was sent
    with; a reply may carry the plain name (Apache's servers) or the prefixed one.
    """
    if mtype != MessageType.REPLY:
        return ApplicationError(ApplicationError.INVALID_MESSAGE_TYPE,
                                "%s: unexpected message type %r" % (name, mtype))
    if rname != name and (not prefix or rname != prefix + name):
        return ApplicationError(ApplicationError.WRONG_METHOD_NAME,
                                "%s: reply names method %r" % (name, rname))
    if seqid != expected_seqid:
        return ApplicationError(ApplicationError.BAD_SEQUENCE_ID,
                                "%s: reply has sequence id %r, expected %r"
                                % (name, seqid, expected_seqid))
    return None


# --------------------------------------------------------------------------- function tables


class Function:
    """One function of a service, as the message-level runtime sees it.

    ``name`` is the wire name, ``py_name`` the handler method's name,
    ``args_cls`` / ``result_cls`` the generated ``x_args`` / ``x_result``
    classes (``result_cls`` is ``None`` for a oneway function). The argument
    order is ``args_cls.__slots__``; the return value and the declared
    exceptions are read from ``result_cls.thrift_spec`` (field 0 is
    ``success``, the others are exceptions, in ``throws`` order).
    """

    __slots__ = ("name", "py_name", "args_cls", "result_cls", "oneway", "_shape")

    def __init__(self, name: str, py_name: str, args_cls: type,
                 result_cls: Optional[type] = None) -> None:
        self.name = name
        self.py_name = py_name
        self.args_cls = args_cls
        self.result_cls = result_cls
        self.oneway = result_cls is None
        self._shape: Optional[tuple] = None

    def __repr__(self) -> str:
        return "Function(%r%s)" % (self.name, ", oneway" if self.oneway else "")

    @property
    def arg_names(self) -> tuple:
        return tuple(self.args_cls.__slots__)  # type: ignore[attr-defined]

    def shape(self) -> tuple:
        """``(has_success, ((result attr, exception class), ...))``."""
        shape = self._shape
        if shape is None:
            has_success, throws = False, []
            if self.result_cls is not None:
                for entry in _entries(self.result_cls):
                    if entry[0] == 0:
                        has_success = True
                    elif entry[1] == _STRUCT:
                        throws.append((entry[2], entry[3][0]))
            shape = self._shape = (has_success, tuple(throws))
        return shape

    def unpack(self, result: Any) -> Any:
        """The call's outcome from a decoded result: return it or raise it."""
        has_success, throws = self._shape or self.shape()
        if has_success:
            value = result.success
            if value is not None:
                return value
        for attr, _ in throws:
            exc = getattr(result, attr)
            if exc is not None:
                raise exc
        if has_success:
            raise ClientBase._tg_missing_result(self.name)
        return None

    def declared(self, exc: BaseException) -> Optional[str]:
        """The result attribute that carries ``exc`` (None if it is not declared)."""
        for attr, cls in (self._shape or self.shape())[1]:
            if isinstance(exc, cls):
                return attr
        return None


def bind_functions(service: str, classes: Iterable[type], functions: Iterable[Function]) -> None:
    """Attach a service's own functions (not inherited ones) to its classes."""
    table = {f.name: f for f in functions}
    for cls in classes:
        cls._tg_service = service  # type: ignore[attr-defined]
        cls._tg_functions = table  # type: ignore[attr-defined]


def function_table(cls: type) -> Dict[str, Function]:
    """Every function of ``cls``'s service, inherited ones included (wire name -> Function)."""
    table = cls.__dict__.get("_tg_function_table")
    if table is None:
        table = {}
        found = False
        for klass in reversed(cls.__mro__):
            own = klass.__dict__.get("_tg_functions")
            if own is not None:
                found = True
                table.update(own)
        if not found:
            raise TypeError("%s has no function table; regenerate it with this thriftgen"
                            % cls.__name__)
        cls._tg_function_table = table  # type: ignore[attr-defined]
    return table


class AsyncClientBase:
    """Calls a service over a :class:`thriftgen.runtime.rpc.AsyncChannel`.

    Generated ``AsyncClient`` methods are ``async def``; several calls may be in
    flight on one channel at once (replies are matched by sequence id).
    """

    def __init__(self, channel: Any) -> None:
        self._tg_channel = channel
        self._tg_table = function_table(type(self))

    async def _tg_call(self, name: str, args: Any) -> Any:
        fn = self._tg_table[name]
        result = await self._tg_channel.call(name, args, fn.result_cls, fn.oneway)
        if fn.oneway:
            return None
        return fn.unpack(result)
