"""Service plumbing of ``-thrift template=slim`` output (standard library only).

A slim service module holds the ``Iface``, the ``x_args`` / ``x_result``
classes, empty ``Client`` / ``AsyncClient`` / ``Processor`` classes and one
:func:`bind_service` call with the function table
(:class:`thriftgen.runtime.service.Function`). Everything per function that
the default variant generates (``send_x`` / ``recv_x`` / ``process_x``) is
done here generically from that table:

* :func:`bind_service` attaches the table (the same hook as the default
  variant's ``bind_functions``, so :mod:`thriftgen.runtime.rpc` serves and
  calls slim services unchanged) and installs one method per function on the
  clients;
* :class:`Processor` answers Apache-protocol requests (Apache's ``TServer``
  classes call ``process``) from the table.

Classes generated with ``no_default_serdes`` have no ``read`` / ``write``:
their clients and processors work over :mod:`thriftgen.runtime.rpc` channels
and servers only, and say so when handed an Apache protocol object.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from .errors import ApplicationError, ThriftgenError
from .service import (AsyncClientBase, ClientBase, Function, ProcessorBase, bind_functions,
                      function_table)
from .ttype import MessageType, TType

__all__ = ["Client", "AsyncClient", "Processor", "Function", "bind_service"]


def _no_serdes(obj: Any) -> ThriftgenError:
    return ThriftgenError(
        "%s was generated with -thrift no_default_serdes: it has no read()/write() for Apache "
        "protocol objects; use a thriftgen.runtime.rpc channel or server" % type(obj).__name__)


class Client(ClientBase):
    """Base of a slim ``Client``: its methods are installed by :func:`bind_service`."""

    def _tg_send(self, name: str, args: Any, oneway: bool = False) -> None:
        if self._tg_chan is None and not hasattr(args, "write"):
            raise _no_serdes(args)
        super()._tg_send(name, args, oneway)


class AsyncClient(AsyncClientBase):
    """Base of a slim ``AsyncClient`` (methods installed by :func:`bind_service`)."""


class Processor(ProcessorBase):
    """Answers Apache-protocol calls (``process``) from the service's function table.

    Same replies as a default-variant ``Processor``: declared exceptions go
    back in the result, anything else as an ``INTERNAL_ERROR`` application
    error (an ``ApplicationError`` raised by the handler travels as it is).
    """

    def process(self, iprot: Any, oprot: Any) -> Optional[bool]:
        name, mtype, seqid = iprot.readMessageBegin()
        if self._on_message_begin is not None:
            self._on_message_begin(name, mtype, seqid)
        fn = function_table(type(self)).get(name)
        if fn is None:
            iprot.skip(TType.STRUCT)
            iprot.readMessageEnd()
            error = ApplicationError(ApplicationError.UNKNOWN_METHOD, "Unknown function %s" % name)
            self._tg_write(oprot, name, MessageType.EXCEPTION, seqid, error)
            return None
        args = fn.args_cls()
        if not hasattr(args, "read"):
            raise _no_serdes(args)
        args.read(iprot)
        iprot.readMessageEnd()
        handler = getattr(self._handler, fn.py_name)
        values = [getattr(args, n) for n in fn.arg_names]
        if fn.oneway:
            try:
                handler(*values)
            except Exception as ex:
                self._tg_oneway_error(name, ex)
            return True
        result = fn.result_cls()
        try:
            value = handler(*values)
            if fn.shape()[0]:
                result.success = value
        except Exception as ex:
            attr = fn.declared(ex)
            if attr is None:
                self._tg_reply_error(oprot, name, seqid, ex)
                return True
            setattr(result, attr, ex)
        self._tg_reply(oprot, name, seqid, result)
        return True


def _sync_method(fn: Function) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        self._tg_send(fn.name, fn.args_cls(*args, **kwargs), fn.oneway)
        if fn.oneway:
            return None
        result = fn.result_cls()  # type: ignore[misc]
        self._tg_recv(fn.name, result)
        return fn.unpack(result)

    return method


def _async_method(fn: Function) -> Callable[..., Any]:
    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return await self._tg_call(fn.name, fn.args_cls(*args, **kwargs))

    return method


def bind_service(service: str, client: type, async_client: type, processor: type,
                 functions: Iterable[Function]) -> None:
    """Attach ``functions`` (the service's own, not inherited ones) to its classes and
    give the clients one method per function."""
    functions = list(functions)
    bind_functions(service, [client, async_client, processor], functions)
    for fn in functions:
        for cls, make in ((client, _sync_method), (async_client, _async_method)):
            method = make(fn)
            method.__name__ = fn.py_name
            method.__qualname__ = "%s.%s" % (cls.__qualname__, fn.py_name)
            method.__module__ = cls.__module__
            setattr(cls, fn.py_name, method)
