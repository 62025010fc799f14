"""Generated services against Apache's, over real sockets on 127.0.0.1.

Our generated ``Client`` calls a server built from Apache-generated code and
Apache's ``TSimpleServer``/``TThreadedServer``; Apache's generated client calls
a server running our generated ``Processor``. Covered: results, declared
exceptions, undeclared handler errors (application errors), oneway calls,
inherited functions, unknown methods, and the client's reply checks.
"""

from __future__ import annotations

import importlib
import queue
import socket
import threading

import pytest

pytest.importorskip("thrift")

from thrift.protocol import TBinaryProtocol, TCompactProtocol  # noqa: E402
from thrift.server import TServer  # noqa: E402
from thrift.Thrift import TApplicationException, TMessageType  # noqa: E402
from thrift.transport import TSocket, TTransport  # noqa: E402

from test_codegen_util import APACHE, FIXTURES, apache_gen, gen_into, importable  # noqa: E402
from thriftgen.runtime.errors import ApplicationError  # noqa: E402

pytestmark = pytest.mark.skipif(APACHE is None, reason="Apache thrift compiler not installed")

TIMEOUT_MS = 5000


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    """Our (``tgs.*``) and Apache's packages for echo and store, importable."""
    root = tmp_path_factory.mktemp("services")
    store, echo = FIXTURES / "store/service.thrift", FIXTURES / "echo/echo.thrift"
    gen_into(root / "ours", [store, echo], [FIXTURES / "store"], package_prefix="tgs")
    apache_gen(root / "apache", store, [FIXTURES / "store"])
    apache_gen(root / "apache", echo)
    with importable(root / "ours", root / "apache" / "gen-py"):
        yield importlib.import_module


class _Stop(BaseException):
    """Ends a server loop (Apache's servers swallow every Exception in accept)."""


class _ServerSocket(TSocket.TServerSocket):
    """Binds once (port 0: the OS picks) so the port is known before serving."""

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

    @property
    def port_number(self):
        return self.handle.getsockname()[1]


class Server:
    def __init__(self, processor, threaded=False, compact=False):
        self.socket = _ServerSocket(host="127.0.0.1", port=0)
        self.socket.listen()
        pfactory = (TCompactProtocol.TCompactProtocolAcceleratedFactory() if compact
                    else TBinaryProtocol.TBinaryProtocolFactory())
        tfactory = TTransport.TBufferedTransportFactory()
        kind = TServer.TThreadedServer if threaded else TServer.TSimpleServer
        if threaded:
            self.server = kind(processor, self.socket, tfactory, pfactory, daemon=True)
        else:
            self.server = kind(processor, self.socket, tfactory, pfactory)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.compact = compact

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
        self.thread.join(timeout=5)

    def client(self, client_cls):
        sock = TSocket.TSocket("127.0.0.1", self.socket.port_number)
        sock.setTimeout(TIMEOUT_MS)
        transport = TTransport.TBufferedTransport(sock)
        proto = (TCompactProtocol.TCompactProtocolAccelerated(transport) if self.compact
                 else TBinaryProtocol.TBinaryProtocol(transport))
        transport.open()
        return client_cls(proto), transport


def echo_handler(ttypes, received):
    class Handler:
        def echo(self, req):
            if req.repeat is not None and req.repeat < 0:
                raise ttypes.EchoError(code=req.repeat, reason="negative repeat")
            if req.message == "boom":
                raise RuntimeError("handler bug")
            return ttypes.EchoResponse(message=req.message * (req.repeat or 1),
                                       server_time_ms=42, payload=req.payload)

        def shout(self, req):
            received.put(req.message)
    return Handler()


def _echo_calls(client, ttypes, received, app_error_cls):
    resp = client.echo(ttypes.EchoRequest(message="ab", repeat=3, payload=b"\x00\xff"))
    assert (resp.message, resp.server_time_ms, resp.payload) == ("ababab", 42, b"\x00\xff")
    with pytest.raises(ttypes.EchoError) as info:
        client.echo(ttypes.EchoRequest(message="x", repeat=-2))
    assert (info.value.code, info.value.reason) == (-2, "negative repeat")
    with pytest.raises(app_error_cls) as app:
        client.echo(ttypes.EchoRequest(message="boom"))
    assert app.value.type == ApplicationError.INTERNAL_ERROR
    client.shout(ttypes.EchoRequest(message="hello"))
    assert received.get(timeout=5) == "hello"
    # the connection is still usable after an error and a oneway call
    assert client.echo(ttypes.EchoRequest(message="z", repeat=1)).message == "z"


@pytest.mark.parametrize("threaded,compact", [(False, False), (True, True)],
                         ids=["simple-binary", "threaded-compact-accel"])
def test_our_client_against_apache_server(gen, threaded, compact):
    apache_echo, apache_types = gen("echo.Echo"), gen("echo.ttypes")
    ours_echo, ours_types = gen("tgs.echo.Echo"), gen("tgs.echo.ttypes")
    received: queue.Queue = queue.Queue()
    processor = apache_echo.Processor(echo_handler(apache_types, received))
    with Server(processor, threaded, compact) as server:
        client, transport = server.client(ours_echo.Client)
        try:
            _echo_calls(client, ours_types, received, ApplicationError)
        finally:
            transport.close()


@pytest.mark.parametrize("threaded,compact", [(False, False), (True, True)],
                         ids=["simple-binary", "threaded-compact-accel"])
def test_apache_client_against_our_processor(gen, threaded, compact):
    apache_echo, apache_types = gen("echo.Echo"), gen("echo.ttypes")
    ours_echo, ours_types = gen("tgs.echo.Echo"), gen("tgs.echo.ttypes")
    received: queue.Queue = queue.Queue()
    processor = ours_echo.Processor(echo_handler(ours_types, received))
    with Server(processor, threaded, compact) as server:
        client, transport = server.client(apache_echo.Client)
        try:
            _echo_calls(client, apache_types, received, TApplicationException)
        finally:
            transport.close()


def test_apache_client_against_our_processor_without_serdes(tmp_path):
    """-thrift no_default_serdes: classes have no read()/write(), yet the generated
    Processor serves Apache's client under Apache's server (the runtime's generic
    path reads the arguments and writes the result)."""
    gen_into(tmp_path / "nosd", [FIXTURES / "echo/echo.thrift"], [], package_prefix="tgnosd",
             no_default_serdes=True)
    apache_gen(tmp_path / "apache", FIXTURES / "echo/echo.thrift")
    with importable(tmp_path / "nosd", tmp_path / "apache" / "gen-py"):
        ours_echo = importlib.import_module("tgnosd.echo.Echo")
        ours_types = importlib.import_module("tgnosd.echo.ttypes")
        apache_echo = importlib.import_module("echo.Echo")
        apache_types = importlib.import_module("echo.ttypes")
        assert not hasattr(ours_types.EchoRequest(), "read")
        received: queue.Queue = queue.Queue()
        with Server(ours_echo.Processor(echo_handler(ours_types, received))) as server:
            client, transport = server.client(apache_echo.Client)
            try:
                _echo_calls(client, apache_types, received, TApplicationException)
            finally:
                transport.close()


def store_handler(mod, received):
    catalog, orders, errors = mod["catalog"], mod["orders"], mod["errors"]

    class Handler:
        def getProduct(self, sku):  # inherited from catalog.CatalogReader
            if sku == "missing":
                raise errors.NotFound(entity_type="product", entity_id=sku)
            return catalog.Product(sku=sku, title="Tent", kind=catalog.ProductKind.DIGITAL,
                                   variants=[catalog.Variant(sku=sku + "-1", label="one")])

        def getOrder(self, order_id):
            if order_id == "denied":
                raise errors.PermissionDenied(message="no", required_scopes={"orders:read"})
            return orders.Order(order_id=order_id, customer_id="c1",
                                status=orders.OrderStatus.SHIPPED, lines=[],
                                status_history={orders.OrderStatus.PLACED: 1700000000000})

        def clearCart(self, cart_id):
            if cart_id == "missing":
                raise errors.NotFound(entity_id=cart_id)

        def countOrders(self, window):
            return -(2 ** 63)

        def reprintLabels(self, order_id, warehouse_id):
            received.put((order_id, warehouse_id))

        def heartbeat(self):
            received.put("beat")
    return Handler()


def _store_modules(gen, prefix):
    p = f"{prefix}." if prefix else ""
    return {name: gen(f"{p}store.{path}.ttypes") for name, path in
            [("catalog", "catalog"), ("orders", "orders"), ("errors", "common.errors")]}


@pytest.mark.parametrize("direction", ["ours-calls-apache", "apache-calls-ours"])
def test_store_inherited_services(gen, direction):
    ours = _store_modules(gen, "tgs")
    theirs = _store_modules(gen, "")
    if direction == "ours-calls-apache":
        server_mod, server_types = gen("store.service.OrderDesk"), theirs
        client_mod, client_types = gen("tgs.store.service.OrderDesk"), ours
    else:
        server_mod, server_types = gen("tgs.store.service.OrderDesk"), ours
        client_mod, client_types = gen("store.service.OrderDesk"), theirs
    received: queue.Queue = queue.Queue()
    # Accelerated protocols: the pure-Python path of Apache 0.17's py:enum code wants
    # enum *names* in enum fields (a bug of its own), its C path takes ints.
    processor = server_mod.Processor(store_handler(server_types, received))
    with Server(processor, threaded=True, compact=True) as server:
        client, transport = server.client(client_mod.Client)
        try:
            product = client.getProduct("HP-1")
            assert (product.sku, product.title, int(product.kind)) == ("HP-1", "Tent", 2)
            assert [v.sku for v in product.variants] == ["HP-1-1"]
            with pytest.raises(client_types["errors"].NotFound) as nf:
                client.getProduct("missing")
            assert nf.value.entity_id == "missing"
            order = client.getOrder("o-1")
            assert int(order.status) == 4 and order.lines == []
            assert {int(k): v for k, v in order.status_history.items()} == {1: 1700000000000}
            with pytest.raises(client_types["errors"].PermissionDenied) as pd:
                client.getOrder("denied")
            assert set(pd.value.required_scopes) == {"orders:read"}
            assert client.clearCart("c") is None
            with pytest.raises(client_types["errors"].NotFound):
                client.clearCart("missing")
            assert client.countOrders(None) == -(2 ** 63)
            client.reprintLabels("o-2", 7)
            client.heartbeat()
            assert received.get(timeout=5) == ("o-2", 7)
            assert received.get(timeout=5) == "beat"
        finally:
            transport.close()


def test_unknown_method_is_an_application_error(gen):
    """Our OrderDesk client calling a server that only knows EventSink."""
    apache_sink = gen("store.service.EventSink")
    ours_desk = gen("tgs.store.service.OrderDesk")

    class Sink:
        def ready(self):
            return True

    with Server(apache_sink.Processor(Sink())) as server:
        client, transport = server.client(ours_desk.Client)
        try:
            with pytest.raises(ApplicationError) as info:
                client.countOrders(None)
            assert info.value.type == ApplicationError.UNKNOWN_METHOD
        finally:
            transport.close()
    with Server(gen("tgs.store.service.EventSink").Processor(Sink())) as server:
        client, transport = server.client(gen("store.service.OrderDesk").Client)
        try:
            with pytest.raises(TApplicationException) as app:
                client.countOrders(None)
            assert app.value.type == TApplicationException.UNKNOWN_METHOD
        finally:
            transport.close()


def _reply_bytes(name, mtype, seqid, result=None):
    buf = TTransport.TMemoryBuffer()
    proto = TBinaryProtocol.TBinaryProtocol(buf)
    proto.writeMessageBegin(name, mtype, seqid)
    if result is not None:
        result.write(proto)
    else:
        proto.writeStructBegin("x")
        proto.writeFieldStop()
        proto.writeStructEnd()
    proto.writeMessageEnd()
    return buf.getvalue()


@pytest.mark.parametrize("name,mtype,seqid_delta,expected", [
    ("echo", TMessageType.REPLY, 1, ApplicationError.BAD_SEQUENCE_ID),
    ("shout", TMessageType.REPLY, 0, ApplicationError.WRONG_METHOD_NAME),
    ("echo", TMessageType.CALL, 0, ApplicationError.INVALID_MESSAGE_TYPE),
    ("echo", TMessageType.REPLY, 0, ApplicationError.MISSING_RESULT),
])
def test_client_checks_replies(gen, name, mtype, seqid_delta, expected):
    ours_echo, ours_types = gen("tgs.echo.Echo"), gen("tgs.echo.ttypes")
    out = TTransport.TMemoryBuffer()
    client = ours_echo.Client(None, TBinaryProtocol.TBinaryProtocol(out))
    client.send_echo(ours_types.EchoRequest(message="m"))
    reply = _reply_bytes(name, mtype, client._seqid + seqid_delta, ours_echo.echo_result())
    client._iprot = TBinaryProtocol.TBinaryProtocol(TTransport.TMemoryBuffer(reply))
    with pytest.raises(ApplicationError) as info:
        client.recv_echo()
    assert info.value.type == expected
