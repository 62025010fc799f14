"""Message-level dispatch: one request message in, one reply message (or none) out.

A :class:`Dispatcher` hosts one or several services. Each service is a
generated ``Processor`` instance (``Echo.Processor(handler)``): its function
table (:func:`thriftgen.runtime.service.function_table`) says, per wire
name, which args/result classes to use, which handler method to call and
whether the function is oneway.

Several services share one server through Apache's multiplexing convention:
the client sends ``"Service:method"`` as the message name, the reply carries
the plain ``"method"`` (as Apache's ``TMultiplexedProcessor`` does). A
message without a service prefix goes to the default service, if there is one.

Errors, with Apache's wire codes:

* unknown method or service -> ``EXCEPTION`` message, ``UNKNOWN_METHOD`` (1);
* a message type other than CALL/ONEWAY -> ``INVALID_MESSAGE_TYPE`` (2);
* arguments that do not decode -> ``PROTOCOL_ERROR`` (7);
* a handler exception the function does not declare -> ``INTERNAL_ERROR`` (6),
  its traceback logged on ``thriftgen.rpc``; an :class:`ApplicationError`
  raised by the handler travels as it is;
* a result that cannot be encoded (the handler returned a wrong type) ->
  ``INTERNAL_ERROR``, logged.

Nothing is sent back for ONEWAY messages, whatever happens. A message whose
header does not decode raises :class:`BadMessage`: there is no sequence id to
answer with, so the connection has to go.
"""

import inspect
import logging

from .. import decode_struct
from ..errors import ApplicationError, ProtocolError
from ..service import function_table
from ..ttype import MessageType
from ._codec import encode as encode_message
from ._codec import header as decode_message_header

__all__ = ["Dispatcher", "BadMessage", "Call"]

log = logging.getLogger("thriftgen.rpc")

_CALL = MessageType.CALL
_ONEWAY = MessageType.ONEWAY
_REPLY = MessageType.REPLY
_EXCEPTION = MessageType.EXCEPTION


class BadMessage(Exception):
    """A message whose header cannot be decoded (the connection must close)."""


class _Service:
    __slots__ = ("name", "processor", "handler", "table", "is_async")

    def __init__(self, name, processor):
        try:
            table = function_table(type(processor))
        except TypeError as ex:
            raise TypeError("cannot serve %r: %s" % (processor, ex)) from None
        self.name = name
        self.processor = processor
        self.handler = processor._handler
        self.table = table
        self.is_async = {}  # wire name -> handler method is a coroutine function


def service_name(processor):
    name = getattr(type(processor), "_tg_service", None)
    if name is None:
        raise TypeError("%r is not a generated Processor (no service name)" % (processor,))
    return name


class Call:
    """A decoded request waiting for its handler to run."""

    __slots__ = ("service", "fn", "reply_name", "seqid", "args", "method", "wants_reply")

    def __init__(self, service, fn, reply_name, seqid, args, method, wants_reply):
        self.service = service
        self.fn = fn
        self.reply_name = reply_name
        self.seqid = seqid
        self.args = args
        self.method = method
        self.wants_reply = wants_reply

    @property
    def is_async(self):
        """Whether the handler method is a coroutine function (cached per function)."""
        cache = self.service.is_async
        flag = cache.get(self.fn.name)
        if flag is None:
            flag = cache[self.fn.name] = inspect.iscoroutinefunction(self.method)
        return flag

    def arguments(self):
        args = self.args
        return [getattr(args, n) for n in self.fn.args_cls.__slots__]


class Dispatcher:
    """Routes request messages to handlers and builds the replies.

    ``services``: a generated ``Processor`` instance (a plain, non-multiplexed
    server; ``"Service:method"`` names naming that service are accepted too), a
    list of them (multiplexed, each under its IDL service name), or a dict
    ``{name: processor}`` (multiplexed under the given names). ``default``: the
    processor for names without a ``Service:`` prefix on a multiplexed server.
    """

    def __init__(self, services, protocol="binary", default=None):
        self.protocol = protocol
        self.services = {}
        self.default = None
        if isinstance(services, dict):
            for name, proc in services.items():
                self.services[name] = _Service(name, proc)
        elif isinstance(services, (list, tuple)):
            for proc in services:
                name = service_name(proc)
                if name in self.services:
                    raise ValueError("service %r is given twice; pass a dict to name them"
                                     % name)
                self.services[name] = _Service(name, proc)
        else:
            svc = _Service(service_name(services), services)
            self.services[svc.name] = svc
            self.default = svc
        if default is not None:
            self.default = _Service(service_name(default), default)
        if not self.services and self.default is None:
            raise ValueError("no service to serve")
        self._twins = {}  # protocol -> the same routes for it (see with_protocol)
        # wire name -> (service, Function, reply name): one lookup per call
        self._routes = {}
        for name, svc in self.services.items():
            for method, fn in svc.table.items():
                self._routes[name + ":" + method] = (svc, fn, method)
        if self.default is not None:
            for method, fn in self.default.table.items():
                self._routes[method] = (self.default, fn, method)

    def with_protocol(self, protocol):
        """The same routes for messages in ``protocol`` (a connection's detected
        protocol, or a header frame's): this dispatcher, or a twin made once."""
        if protocol == self.protocol:
            return self
        twin = self._twins.get(protocol)
        if twin is None:
            twin = object.__new__(Dispatcher)
            twin.__dict__.update(self.__dict__)
            twin.protocol = protocol
            self._twins[protocol] = twin  # shared by the twins: one set per dispatcher
        return twin

    # -- steps (the asyncio server runs the handler in between) ------------------------

    def begin(self, msg, service=None):
        """Decode a request: ``(Call, None)``, or ``(None, reply bytes or None)``
        when it is answered (or dropped) without running a handler."""
        protocol = self.protocol
        try:
            name, mtype, seqid, pos = decode_message_header(msg, protocol)
        except ProtocolError as ex:
            raise BadMessage("undecodable message header: %s" % (ex,)) from None
        route = self._routes.get(name)
        if service is not None and ":" not in name:
            # TTHeader names the IDL service in a header (isn) instead of the message name.
            route = self._routes.get(service + ":" + name) or route
        if route is None:
            return None, self._unroutable(name, mtype, seqid)
        svc, fn, method = route
        if mtype != _CALL and mtype != _ONEWAY:
            return None, self._error(_CALL, method, seqid, ApplicationError.INVALID_MESSAGE_TYPE,
                                     "Unexpected message type %d for %s" % (mtype, name))
        wants_reply = mtype == _CALL and not fn.oneway
        try:
            args, end = decode_struct(fn.args_cls, msg, pos, protocol)
        except ProtocolError as ex:
            log.warning("%s: undecodable arguments: %s", name, ex)
            return None, self._error(mtype if wants_reply else _ONEWAY, method, seqid,
                                     ApplicationError.PROTOCOL_ERROR,
                                     "Bad arguments for %s: %s" % (method, ex))
        handler_method = getattr(svc.handler, fn.py_name, None)
        return Call(svc, fn, method, seqid, args, handler_method, wants_reply), None

    def finish(self, call, value=None, exc=None):
        """The reply for a call whose handler returned ``value`` or raised ``exc``."""
        fn = call.fn
        if not call.wants_reply:
            if exc is not None:
                log.error("Exception in oneway handler of %s", fn.name, exc_info=exc)
            return None
        result = fn.result_cls()
        if exc is None:
            if fn.shape()[0]:
                result.success = value
        else:
            attr = fn.declared(exc)
            if attr is None:
                return self._handler_error(call, exc)
            setattr(result, attr, exc)
        try:
            return encode_message(call.reply_name, _REPLY, call.seqid, result, self.protocol)
        except ProtocolError as ex:
            log.error("Cannot encode the result of %s: %s", fn.name, ex)
            return encode_message(call.reply_name, _EXCEPTION, call.seqid, ApplicationError(
                ApplicationError.INTERNAL_ERROR, "Internal error: bad result of %s" % fn.name),
                self.protocol)

    # -- the synchronous path ------------------------------------------------------------

    def handle(self, msg, service=None):
        """Process one request message; return the reply bytes or None. ``service``:
        the IDL service a TTHeader frame names (its ``isn`` header)."""
        call, reply = self.begin(msg, service)
        if call is None:
            return reply
        method = call.method
        try:
            if method is None:
                raise AttributeError("the handler has no method %r" % call.fn.py_name)
            args = call.args
            value = method(*[getattr(args, n) for n in call.fn.args_cls.__slots__])
            if getattr(type(value), "__await__", None) is not None:
                value = _run_coroutine(value)  # a coroutine handler on a threaded server
        except Exception as ex:
            return self.finish(call, None, ex)
        return self.finish(call, value)

    # -- helpers -------------------------------------------------------------------------

    def _unroutable(self, name, mtype, seqid):
        sep = name.find(":")
        if sep < 0:
            if self.default is None:
                return self._error(
                    mtype, name, seqid, ApplicationError.UNKNOWN_METHOD,
                    "Service name not found in message name: %s. Did you forget to use "
                    "a multiplexed client?" % name)
            return self._error(mtype, name, seqid, ApplicationError.UNKNOWN_METHOD,
                               "Unknown function %s" % name)
        service, method = name[:sep], name[sep + 1:]
        if service not in self.services:
            return self._error(mtype, method, seqid, ApplicationError.UNKNOWN_METHOD,
                               "Unknown service %s" % service)
        return self._error(mtype, method, seqid, ApplicationError.UNKNOWN_METHOD,
                           "Unknown function %s" % method)

    def _error(self, mtype, name, seqid, kind, message):
        if mtype == _ONEWAY:
            log.warning("dropped oneway message %s: %s", name, message)
            return None
        return encode_message(name, _EXCEPTION, seqid, ApplicationError(kind, message),
                              self.protocol)

    def _handler_error(self, call, exc):
        error = exc if isinstance(exc, ApplicationError) else _apache_application_error(exc)
        if error is None:
            log.error("Unexpected exception in handler of %s", call.fn.name, exc_info=exc)
            error = ApplicationError(ApplicationError.INTERNAL_ERROR, "Internal error")
        return encode_message(call.reply_name, _EXCEPTION, call.seqid, error, self.protocol)


def _apache_application_error(exc):
    if any(k.__name__ == "TApplicationException" for k in type(exc).__mro__):
        return ApplicationError(getattr(exc, "type", ApplicationError.UNKNOWN),
                                getattr(exc, "message", None))
    return None


def _run_coroutine(awaitable):
    import asyncio

    async def wait():
        return await awaitable

    return asyncio.run(wait())
