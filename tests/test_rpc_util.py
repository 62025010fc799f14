"""Helpers shared by the RPC tests (this module holds no tests).

* :func:`generated`: our (``tgr.*``) and Apache's generated packages for the
  echo and store fixtures, importable while the context is open;
* :class:`ApacheServer`: Apache's ``TSimpleServer`` / ``TThreadedServer`` on an
  OS-chosen loopback port, stoppable;
* :func:`apache_client`: an Apache-generated client over Apache's transports;
* :class:`AsyncServerThread`: our ``AsyncServer`` on its own event loop thread,
  for blocking clients;
* handlers for the echo service (written once, for either side's types).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import queue
import socket
import threading
from pathlib import Path
from typing import Iterator

from test_codegen_util import APACHE, FIXTURES, apache_gen, gen_into, importable

TIMEOUT = 5.0  # seconds; every socket operation of the tests is bounded by it
OUR_PREFIX = "tgr"


@contextlib.contextmanager
def generated(root: Path, apache: bool = True) -> Iterator:
    """Generate echo + store (ours under ``tgr.``, Apache's plain) and yield ``import_module``."""
    store, echo = FIXTURES / "store/service.thrift", FIXTURES / "echo/echo.thrift"
    gen_into(root / "ours", [store, echo], [FIXTURES / "store"], package_prefix=OUR_PREFIX,
             no_fmt=True)
    dirs = [root / "ours"]
    if apache and APACHE is not None:
        apache_gen(root / "apache", store, [FIXTURES / "store"])
        apache_gen(root / "apache", echo)
        dirs.append(root / "apache" / "gen-py")
    with importable(*dirs):
        yield importlib.import_module


# --------------------------------------------------------------------------- handlers


class EchoHandler:
    """The echo service for either side's generated types.

    ``repeat < 0`` raises the declared ``EchoError``; message ``"boom"`` raises
    an undeclared error; ``"sleep:S"`` sleeps S seconds first. Oneway ``shout``
    messages land in :attr:`shouts`.
    """

    def __init__(self, ttypes):
        self.t = ttypes
        self.shouts: queue.Queue = queue.Queue()

    def echo(self, req):
        import time

        if req.message.startswith("sleep:"):
            time.sleep(float(req.message[6:]))
        if req.repeat is not None and req.repeat < 0:
            raise self.t.EchoError(code=req.repeat, reason="negative repeat")
        if req.message == "boom":
            raise RuntimeError("handler bug")
        return self.t.EchoResponse(message=req.message * (req.repeat or 1), server_time_ms=42,
                                   payload=req.payload)

    def shout(self, req):
        self.shouts.put(req.message)


class SinkHandler:
    """store's EventSink (oneway calls plus ``ready``)."""

    def __init__(self):
        self.events: queue.Queue = queue.Queue()

    def stockChanged(self, sku, delta, location_id):
        self.events.put((sku, delta, location_id))

    def ready(self):
        return True


# --------------------------------------------------------------------------- Apache side


def _apache_protocol_factory(protocol: str, accelerated: bool):
    from thrift.protocol import TBinaryProtocol, TCompactProtocol, TJSONProtocol

    if protocol == "json":
        return TJSONProtocol.TJSONProtocolFactory()
    if protocol == "binary":
        return (TBinaryProtocol.TBinaryProtocolAcceleratedFactory() if accelerated
                else TBinaryProtocol.TBinaryProtocolFactory())
    return (TCompactProtocol.TCompactProtocolAcceleratedFactory() if accelerated
            else TCompactProtocol.TCompactProtocolFactory())


def _apache_transport_factory(transport: str):
    from thrift.transport import TTransport

    return (TTransport.TFramedTransportFactory() if transport == "framed"
            else TTransport.TBufferedTransportFactory())


class _Stop(BaseException):
    """Ends an Apache server loop (its servers swallow every Exception in accept)."""


def _server_socket_class():
    from thrift.transport import TSocket

    class ServerSocket(TSocket.TServerSocket):
        stopping = False

        def listen(self):
            if self.handle is None:
                super().listen()

        def accept(self):
            if self.stopping:
                raise _Stop()
            try:
                return super().accept()
            except Exception:
                if self.stopping:
                    raise _Stop() from None
                raise

    return ServerSocket


class ApacheServer:
    """Apache's ``TSimpleServer``/``TThreadedServer`` on 127.0.0.1, OS-chosen port.
    ``transport="header"``: Apache's THeader (``THeaderProtocolFactory``; ``protocol``
    is then the payload's, binary or compact)."""

    def __init__(self, processor, *, threaded=True, transport="buffered", protocol="binary",
                 accelerated=False):
        from thrift.server import TServer

        self.socket = _server_socket_class()(host="127.0.0.1", port=0)
        self.socket.listen()
        self.port = self.socket.handle.getsockname()[1]
        if transport == "header":
            from thrift.protocol.THeaderProtocol import THeaderProtocolFactory
            from thrift.transport import TTransport

            args = (processor, self.socket, TTransport.TTransportFactoryBase(),
                    THeaderProtocolFactory(default_protocol={"binary": 0, "compact": 2}[protocol]))
        else:
            args = (processor, self.socket, _apache_transport_factory(transport),
                    _apache_protocol_factory(protocol, accelerated))
        self.server = (TServer.TThreadedServer(*args, daemon=True) if threaded
                       else TServer.TSimpleServer(*args))
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        try:
            self.server.serve()
        except _Stop:
            pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        # shutdown() wakes the accept() the server thread is blocked in (close does not)
        self.socket.stopping = True
        try:
            self.socket.handle.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.socket.close()
        self.thread.join(timeout=TIMEOUT)


def apache_client(client_cls, port, *, transport="buffered", protocol="binary", service=None,
                  accelerated=False):
    """``(client, transport)``: an Apache-generated client on Apache's stack."""
    from thrift.protocol import TMultiplexedProtocol
    from thrift.transport import TSocket

    sock = TSocket.TSocket("127.0.0.1", port)
    sock.setTimeout(int(TIMEOUT * 1000))
    trans = _apache_transport_factory(transport).getTransport(sock)
    proto = _apache_protocol_factory(protocol, accelerated).getProtocol(trans)
    if service is not None:
        proto = TMultiplexedProtocol.TMultiplexedProtocol(proto, service)
    trans.open()
    return client_cls(proto), trans


# --------------------------------------------------------------------------- our asyncio server


class AsyncServerThread:
    """Our ``AsyncServer`` running on an event loop in a background thread."""

    def __init__(self, services, **options):
        self.services, self.options = services, options
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server = None
        self.stopped_cleanly = None

    def __enter__(self):
        from thriftgen.runtime.rpc import AsyncServer

        self.thread.start()
        self.server = AsyncServer(self.services, **self.options)
        self.run(self.server.start())
        self.port = self.server.port
        return self

    def run(self, coro, timeout=TIMEOUT):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self, timeout=TIMEOUT):
        if self.stopped_cleanly is None:
            self.stopped_cleanly = self.run(self.server.stop(timeout), timeout + 2)
        return self.stopped_cleanly

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(TIMEOUT)
            self.loop.close()
