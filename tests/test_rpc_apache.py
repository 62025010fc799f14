"""Our RPC runtime against Apache's, over real sockets on 127.0.0.1.

Both directions: our blocking and asyncio clients call Apache's
``TSimpleServer``/``TThreadedServer`` running Apache-generated processors, and
Apache's clients (its transports and protocols, ``TMultiplexedProtocol``) call
our ``ThreadedServer``/``AsyncServer``. Every transport (buffered, framed) and
protocol (binary, compact, json: Apache's TJSONProtocol); results, declared exceptions, undeclared handler
errors, unknown methods, oneway calls, multiplexing.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

pytest.importorskip("thrift")

from thrift.Thrift import TApplicationException  # noqa: E402

from test_codegen_util import APACHE  # noqa: E402
from test_rpc_util import (TIMEOUT, ApacheServer, AsyncServerThread, EchoHandler,  # noqa: E402
                           SinkHandler, apache_client, generated)
from thriftgen.runtime import rpc  # noqa: E402
from thriftgen.runtime.errors import ApplicationError  # noqa: E402

pytestmark = pytest.mark.skipif(APACHE is None, reason="Apache thrift compiler not installed")

WIRES = list(itertools.product(["buffered", "framed"], ["binary", "compact", "json"]))
WIRE_IDS = [f"{t}-{p}" for t, p in WIRES]


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    with generated(tmp_path_factory.mktemp("rpc_apache")) as imp:
        yield imp


def _sync_echo_calls(client, types, handler, app_error_cls):
    resp = client.echo(types.EchoRequest(message="ab", repeat=3, payload=b"\x00\xff"))
    assert (resp.message, resp.server_time_ms, resp.payload) == ("ababab", 42, b"\x00\xff")
    with pytest.raises(types.EchoError) as info:
        client.echo(types.EchoRequest(message="x", repeat=-2))
    assert (info.value.code, info.value.reason) == (-2, "negative repeat")
    with pytest.raises(app_error_cls) as app:
        client.echo(types.EchoRequest(message="boom"))
    assert app.value.type == ApplicationError.INTERNAL_ERROR
    client.shout(types.EchoRequest(message="hello"))
    assert handler.shouts.get(timeout=TIMEOUT) == "hello"
    # the connection is still usable after errors and a oneway call
    assert client.echo(types.EchoRequest(message="z", repeat=1)).message == "z"


# --------------------------------------------------------------------------- ours -> Apache


@pytest.mark.parametrize("threaded", [False, True], ids=["TSimpleServer", "TThreadedServer"])
@pytest.mark.parametrize("transport,protocol", WIRES, ids=WIRE_IDS)
def test_our_sync_client_against_apache_server(gen, transport, protocol, threaded):
    handler = EchoHandler(gen("echo.ttypes"))
    processor = gen("echo.Echo").Processor(handler)
    ours, types = gen("tgr.echo.Echo"), gen("tgr.echo.ttypes")
    with ApacheServer(processor, threaded=threaded, transport=transport, protocol=protocol,
                      accelerated=protocol == "compact") as server:
        with rpc.connect("127.0.0.1", server.port, transport=transport, protocol=protocol,
                         timeout=TIMEOUT) as channel:
            _sync_echo_calls(ours.Client(channel), types, handler, ApplicationError)


@pytest.mark.parametrize("transport,protocol", WIRES, ids=WIRE_IDS)
def test_our_async_client_against_apache_server(gen, transport, protocol):
    handler = EchoHandler(gen("echo.ttypes"))
    processor = gen("echo.Echo").Processor(handler)
    ours, types = gen("tgr.echo.Echo"), gen("tgr.echo.ttypes")

    async def calls(port):
        channel = await rpc.connect_async("127.0.0.1", port, transport=transport,
                                          protocol=protocol, timeout=TIMEOUT)
        client = ours.AsyncClient(channel)
        try:
            resp = await client.echo(types.EchoRequest(message="ab", repeat=2))
            assert resp.message == "abab"
            with pytest.raises(types.EchoError):
                await client.echo(types.EchoRequest(message="x", repeat=-1))
            with pytest.raises(ApplicationError) as app:
                await client.echo(types.EchoRequest(message="boom"))
            assert app.value.type == ApplicationError.INTERNAL_ERROR
            await client.shout(types.EchoRequest(message="async"))
            # pipelined calls on one connection (Apache answers them in order)
            replies = await asyncio.gather(
                *(client.echo(types.EchoRequest(message=str(i))) for i in range(20)))
            assert [r.message for r in replies] == [str(i) for i in range(20)]
        finally:
            await channel.close()

    with ApacheServer(processor, threaded=True, transport=transport, protocol=protocol,
                      accelerated=True) as server:
        asyncio.run(asyncio.wait_for(calls(server.port), TIMEOUT * 2))
    assert handler.shouts.get(timeout=TIMEOUT) == "async"


def test_our_clients_against_apache_multiplexed_server(gen):
    from thrift.TMultiplexedProcessor import TMultiplexedProcessor

    echo_handler, sink = EchoHandler(gen("echo.ttypes")), SinkHandler()
    mux = TMultiplexedProcessor()
    mux.registerProcessor("Echo", gen("echo.Echo").Processor(echo_handler))
    mux.registerProcessor("Sink", gen("store.service.EventSink").Processor(sink))
    ours_echo, types = gen("tgr.echo.Echo"), gen("tgr.echo.ttypes")
    ours_sink = gen("tgr.store.service.EventSink")
    with ApacheServer(mux, transport="framed", protocol="compact", accelerated=True) as server:
        with rpc.connect("127.0.0.1", server.port, transport="framed", protocol="compact",
                         timeout=TIMEOUT, service="Echo") as channel:
            echo = ours_echo.Client(channel)
            sink_client = ours_sink.Client(channel.for_service("Sink"))
            assert echo.echo(types.EchoRequest(message="m", repeat=2)).message == "mm"
            assert sink_client.ready() is True
            sink_client.stockChanged("SKU-1", -3, "berlin")
            assert sink.events.get(timeout=TIMEOUT) == ("SKU-1", -3, "berlin")
            with pytest.raises(types.EchoError):
                echo.echo(types.EchoRequest(message="m", repeat=-5))

        async def async_calls():
            channel = await rpc.connect_async("127.0.0.1", server.port, transport="framed",
                                              protocol="compact", timeout=TIMEOUT)
            try:
                echo = ours_echo.AsyncClient(channel.for_service("Echo"))
                ready = ours_sink.AsyncClient(channel.for_service("Sink")).ready()
                got = await asyncio.gather(echo.echo(types.EchoRequest(message="a")), ready)
                assert got[0].message == "a" and got[1] is True
            finally:
                await channel.close()

        asyncio.run(asyncio.wait_for(async_calls(), TIMEOUT))


def test_unknown_method_from_apache_server(gen):
    """Our OrderDesk client calling an Apache server that only knows EventSink."""
    processor = gen("store.service.EventSink").Processor(SinkHandler())
    desk = gen("tgr.store.service.OrderDesk")
    with ApacheServer(processor) as server:
        with rpc.connect("127.0.0.1", server.port, timeout=TIMEOUT) as channel:
            with pytest.raises(ApplicationError) as info:
                desk.Client(channel).countOrders(None)
            assert info.value.type == ApplicationError.UNKNOWN_METHOD
            assert gen("tgr.store.service.EventSink").Client(channel).ready() is True


# --------------------------------------------------------------------------- Apache -> ours


def _our_server(kind, services, **options):
    if kind == "threaded":
        return rpc.ThreadedServer(services, **options)
    return AsyncServerThread(services, **options)


@pytest.mark.parametrize("kind", ["threaded", "asyncio"])
@pytest.mark.parametrize("transport,protocol", WIRES, ids=WIRE_IDS)
def test_apache_client_against_our_server(gen, kind, transport, protocol):
    handler = EchoHandler(gen("tgr.echo.ttypes"))
    processor = gen("tgr.echo.Echo").Processor(handler)
    with _our_server(kind, processor, transport=transport, protocol=protocol) as server:
        client, trans = apache_client(gen("echo.Echo").Client, server.port, transport=transport,
                                      protocol=protocol, accelerated=protocol == "binary")
        try:
            _sync_echo_calls(client, gen("echo.ttypes"), handler, TApplicationException)
        finally:
            trans.close()


@pytest.mark.parametrize("kind", ["threaded", "asyncio"])
def test_apache_multiplexed_clients_against_our_server(gen, kind):
    echo_handler, sink = EchoHandler(gen("tgr.echo.ttypes")), SinkHandler()
    services = [gen("tgr.echo.Echo").Processor(echo_handler),
                gen("tgr.store.service.EventSink").Processor(sink)]
    apache_types = gen("echo.ttypes")
    with _our_server(kind, services, transport="framed", protocol="binary") as server:
        echo, t1 = apache_client(gen("echo.Echo").Client, server.port, transport="framed",
                                 service="Echo")
        sink_client, t2 = apache_client(gen("store.service.EventSink").Client, server.port,
                                        transport="framed", service="EventSink")
        plain, t3 = apache_client(gen("echo.Echo").Client, server.port, transport="framed")
        try:
            assert echo.echo(apache_types.EchoRequest(message="q", repeat=2)).message == "qq"
            assert sink_client.ready() is True
            sink_client.stockChanged("S", 1, "here")
            assert sink.events.get(timeout=TIMEOUT) == ("S", 1, "here")
            with pytest.raises(apache_types.EchoError):
                echo.echo(apache_types.EchoRequest(message="q", repeat=-1))
            # a client that forgot TMultiplexedProtocol gets an application error
            with pytest.raises(TApplicationException) as app:
                plain.echo(apache_types.EchoRequest(message="q"))
            assert app.value.type == TApplicationException.UNKNOWN_METHOD
            assert "multiplexed" in app.value.message
        finally:
            for t in (t1, t2, t3):
                t.close()


@pytest.mark.parametrize("kind", ["threaded", "asyncio"])
def test_unknown_method_and_service_on_our_server(gen, kind):
    """Apache's OrderDesk client calling our server that only serves EventSink."""
    processor = gen("tgr.store.service.EventSink").Processor(SinkHandler())
    with _our_server(kind, {"Sink": processor}, default=processor) as server:
        desk, t1 = apache_client(gen("store.service.OrderDesk").Client, server.port)
        wrong, t2 = apache_client(gen("store.service.EventSink").Client, server.port,
                                  service="Nope")
        try:
            with pytest.raises(TApplicationException) as app:
                desk.countOrders(None)
            assert app.value.type == TApplicationException.UNKNOWN_METHOD
            assert app.value.message == "Unknown function countOrders"
            # the default service answers unprefixed names; the connection survived the error
            assert gen("store.service.EventSink").Client(desk._iprot).ready() is True
            with pytest.raises(TApplicationException) as app:
                wrong.ready()
            assert app.value.type == TApplicationException.UNKNOWN_METHOD
            assert "Nope" in app.value.message
        finally:
            t1.close()
            t2.close()


def test_store_inherited_functions_through_our_server(gen):
    """Apache's OrderDesk client: a base-service function, a declared exception from
    another IDL file, a map of enums, an i64 extreme, a oneway call."""
    import queue

    errors, orders = gen("tgr.store.common.errors.ttypes"), gen("tgr.store.orders.ttypes")
    catalog = gen("tgr.store.catalog.ttypes")
    seen: queue.Queue = queue.Queue()

    class Desk:
        def getProduct(self, sku):  # from catalog.CatalogReader, two services up
            if sku == "missing":
                raise errors.NotFound(entity_type="product", entity_id=sku)
            return catalog.Product(sku=sku, title="Tent", kind=catalog.ProductKind.DIGITAL)

        def getOrder(self, order_id):
            return orders.Order(order_id=order_id, customer_id="c", lines=[],
                                status=orders.OrderStatus.SHIPPED,
                                status_history={orders.OrderStatus.PLACED: 17})

        def countOrders(self, window):
            return -(2 ** 63)

        def reprintLabels(self, order_id, warehouse_id):
            seen.put((order_id, warehouse_id))

    theirs = gen("store.common.errors.ttypes")
    with rpc.ThreadedServer(gen("tgr.store.service.OrderDesk").Processor(Desk()),
                            protocol="compact") as server:
        client, trans = apache_client(gen("store.service.OrderDesk").Client, server.port,
                                      protocol="compact", accelerated=True)
        try:
            assert client.getProduct("HP-1").title == "Tent"
            with pytest.raises(theirs.NotFound) as nf:
                client.getProduct("missing")
            assert nf.value.entity_id == "missing"
            order = client.getOrder("o-1")
            assert int(order.status) == 4
            assert {int(k): v for k, v in order.status_history.items()} == {1: 17}
            assert client.countOrders(None) == -(2 ** 63)
            client.reprintLabels("o-2", 2 ** 40)
            assert seen.get(timeout=TIMEOUT) == ("o-2", 2 ** 40)
        finally:
            trans.close()


def test_thriftgen_call_over_json_against_apache_server(gen):
    """``thriftgen call -protocol json``: the IDL alone, Apache's TJSONProtocol server."""
    import json
    from pathlib import Path

    from typer.testing import CliRunner

    from thriftgen.cli import app

    echo = Path(__file__).resolve().parents[1] / "fixtures" / "echo" / "echo.thrift"
    handler = EchoHandler(gen("echo.ttypes"))
    with ApacheServer(gen("echo.Echo").Processor(handler), transport="framed",
                      protocol="json") as server:
        result = CliRunner().invoke(app, [
            "call", "--no-cache", "-idl-path", str(echo), "-m", "echo", "-e",
            f"127.0.0.1:{server.port}", "-transport", "framed", "-protocol", "json",
            "-d", '{"req": {"message": "é\\n", "repeat": 2, "payload": "AP8="}}'])
    assert result.exit_code == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["message"] == "é\né\n" and reply["payload"] == "AP8="
