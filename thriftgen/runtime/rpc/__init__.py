"""RPC for generated services, standard library only (Python 3.9+).

Wire compatible with Apache Thrift: TCP, ``buffered`` (unframed) or
``framed`` transport, ``binary`` or ``compact`` protocol, Apache's
multiplexing (``"Service:method"`` message names) and its application error
codes. Messages are handled whole: a request is cut from the byte stream,
decoded by the runtime codec, dispatched through the function table of the
generated ``Processor``, and the reply encoded in one piece.

Blocking::

    server = ThreadedServer(Echo.Processor(handler), port=9090).start()
    channel = connect("127.0.0.1", 9090, timeout=5)
    Echo.Client(channel).echo(EchoRequest(message="hi"))
    server.stop()

``asyncio``::

    server = await AsyncServer(Echo.Processor(handler), port=9090).start()
    channel = await connect_async("127.0.0.1", 9090, timeout=5)
    await Echo.AsyncClient(channel).echo(EchoRequest(message="hi"))
    await server.stop()

Several services in one server: ``ThreadedServer([echo_processor,
store_processor])`` (multiplexed under their IDL names) or
``ThreadedServer({"name": processor, ...})``; clients name the service with
``connect(..., service="Echo")`` or ``channel.for_service("Echo")``.

Errors: :class:`TransportError` (connection level: ``connect``, ``timeout``,
``closed``, ``size_limit``, ``bad_data``), :class:`ApplicationError` (the
peer's ``TApplicationException``), :class:`ProtocolError` (undecodable data),
and the service's declared exceptions as their generated classes.
"""

from ..errors import ApplicationError, ProtocolError
from .client import Channel, connect
from .dispatch import Dispatcher
from .errors import TransportError
from .framing import DEFAULT_MAX_MESSAGE_SIZE
from .server import ThreadedServer

__all__ = [
    "connect",
    "Channel",
    "ThreadedServer",
    "AsyncServer",
    "AsyncChannel",
    "connect_async",
    "Dispatcher",
    "TransportError",
    "ApplicationError",
    "ProtocolError",
    "DEFAULT_MAX_MESSAGE_SIZE",
]

_ASYNC_NAMES = ("AsyncServer", "AsyncChannel", "connect_async")


def __getattr__(name):
    # The asyncio half is imported on first use: blocking users never pay for asyncio.
    if name in _ASYNC_NAMES:
        from . import aio

        return getattr(aio, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
