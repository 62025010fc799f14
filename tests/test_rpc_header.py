"""RPC over header transports: Apache THeader (against Apache's Python library, both
directions) and Kitex TTHeader (ours both sides, frames checked in
tests/test_header_frames.py), with per-call headers."""

from __future__ import annotations

import socket
import struct

import pytest

pytest.importorskip("thrift")

from test_codegen_util import APACHE  # noqa: E402
from test_rpc_util import (TIMEOUT, ApacheServer, AsyncServerThread, EchoHandler,  # noqa: E402
                           generated)
from thriftgen.runtime import rpc  # noqa: E402
from thriftgen.runtime.rpc import metadata  # noqa: E402
from thriftgen.runtime.rpc.header import ZLIB  # noqa: E402

pytestmark = pytest.mark.skipif(APACHE is None, reason="Apache thrift compiler not installed")
PROTOCOL_IDS = {"binary": 0, "compact": 2}


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    with generated(tmp_path_factory.mktemp("rpc_header")) as imp:
        yield imp


class HeaderEcho(EchoHandler):
    """Echo that answers the caller's ``log_id`` header in a ``seen`` response header."""

    def echo(self, req):
        headers = metadata.request_headers()
        metadata.set_response_header("seen", headers.get("log_id", "-"))
        return super().echo(req)


@pytest.mark.parametrize("protocol", ["binary", "compact"])
def test_our_client_against_apache_theader_server(gen, protocol):
    handler = EchoHandler(gen("echo.ttypes"))
    ours, types = gen("tgr.echo.Echo"), gen("tgr.echo.ttypes")
    with ApacheServer(gen("echo.Echo").Processor(handler), transport="header",
                      protocol=protocol) as server:
        with rpc.connect("127.0.0.1", server.port, transport="header", protocol=protocol,
                         timeout=TIMEOUT, headers={"log_id": "abc"}) as channel:
            client = ours.Client(channel)
            resp = client.echo(types.EchoRequest(message="hé", repeat=2, payload=b"\x00"))
            assert (resp.message, resp.payload) == ("héhé", b"\x00")
            with pytest.raises(types.EchoError):
                client.echo(types.EchoRequest(message="x", repeat=-1))
            client.shout(types.EchoRequest(message="one way"))
            assert handler.shouts.get(timeout=TIMEOUT) == "one way"
            assert client.echo(types.EchoRequest(message="z")).message == "z"


@pytest.mark.parametrize("zlib_on", [False, True], ids=["plain", "zlib"])
@pytest.mark.parametrize("protocol", ["binary", "compact"])
def test_apache_theader_client_against_our_server(gen, protocol, zlib_on):
    from thrift.protocol.THeaderProtocol import THeaderProtocol
    from thrift.transport import TSocket
    from thrift.transport.THeaderTransport import THeaderClientType

    handler = HeaderEcho(gen("tgr.echo.ttypes"))
    server = rpc.ThreadedServer(gen("tgr.echo.Echo").Processor(handler), transport="header",
                                protocol=protocol)
    with server:
        sock = TSocket.TSocket("127.0.0.1", server.port)
        sock.setTimeout(int(TIMEOUT * 1000))
        proto = THeaderProtocol(sock, [THeaderClientType.HEADERS], PROTOCOL_IDS[protocol])
        if zlib_on:
            proto.add_transform(ZLIB)
        sock.open()
        try:
            client = gen("echo.Echo").Client(proto)
            types = gen("echo.ttypes")
            proto.set_header(b"log_id", b"L-42")
            resp = client.echo(types.EchoRequest(message="ab" * 200, repeat=2))
            assert resp.message == "ab" * 400
            assert proto.get_headers() == {b"seen": b"L-42"}
            with pytest.raises(types.EchoError):
                client.echo(types.EchoRequest(message="x", repeat=-3))
            resp = client.echo(types.EchoRequest(message="again"))  # no header this time
            assert proto.get_headers() == {b"seen": b"-"}
        finally:
            sock.close()


@pytest.mark.parametrize("transport", ["header", "ttheader"])
def test_headers_both_ways_between_ours(gen, transport):
    handler = HeaderEcho(gen("tgr.echo.ttypes"))
    ours, types = gen("tgr.echo.Echo"), gen("tgr.echo.ttypes")
    with rpc.ThreadedServer(ours.Processor(handler), transport=transport) as server:
        with rpc.connect("127.0.0.1", server.port, transport=transport, timeout=TIMEOUT,
                         headers={"log_id": "first"}) as channel:
            client = ours.Client(channel)
            assert client.echo(types.EchoRequest(message="m")).message == "m"
            assert channel.response_headers == {"seen": "first"}
            channel.headers["log_id"] = "second"
            client.echo(types.EchoRequest(message="m"))
            assert channel.response_headers == {"seen": "second"}


def test_a_hostile_frame_closes_only_its_connection(gen):
    handler = HeaderEcho(gen("tgr.echo.ttypes"))
    ours, types = gen("tgr.echo.Echo"), gen("tgr.echo.ttypes")
    with rpc.ThreadedServer(ours.Processor(handler), transport="header") as server:
        bad = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        # A THeader frame whose header names an unknown transform.
        bad.sendall(struct.pack("!IHHiH", 10 + 4, 0x0FFF, 0, 1, 1) + b"\x00\x01\x07\x00")
        assert bad.recv(100) == b""  # closed, no reply
        bad.close()
        with rpc.connect("127.0.0.1", server.port, transport="header",
                         timeout=TIMEOUT) as channel:
            assert ours.Client(channel).echo(types.EchoRequest(message="ok")).message == "ok"


def test_bad_options():
    with pytest.raises(ValueError, match="binary or compact messages, not json"):
        rpc.connect("127.0.0.1", 1, transport="header", protocol="json")
    with pytest.raises(ValueError, match="headers need a header transport"):
        rpc.connect("127.0.0.1", 1, transport="framed", headers={"a": "b"})
    with pytest.raises(ValueError, match="headers need a header transport"):
        import asyncio

        asyncio.run(rpc.connect_async("127.0.0.1", 1, transport="framed", headers={"a": "b"}))
    metadata.set_response_header("a", "b")  # outside a header call: nowhere to go, ignored
    assert metadata.request_headers() == {}


def test_one_port_serves_every_transport_at_once(gen):
    """``transport="auto"``: buffered, framed, multiplexed, THeader and TTHeader clients
    (and each protocol) on one port, concurrently, 200 calls each."""
    import threading

    handler = HeaderEcho(gen("tgr.echo.ttypes"))
    ours, types = gen("tgr.echo.Echo"), gen("tgr.echo.ttypes")
    clients = [("buffered", "binary", None), ("framed", "compact", None),
               ("buffered", "json", None), ("framed", "binary", "Echo"),
               ("header", "compact", None), ("ttheader", "binary", None)]
    errors = []
    with rpc.ThreadedServer({"Echo": ours.Processor(handler)}, transport="auto",
                            default=ours.Processor(handler)) as server:
        def run(transport, protocol, service):
            try:
                headers = {"log_id": transport} if transport in ("header", "ttheader") else None
                with rpc.connect("127.0.0.1", server.port, transport=transport,
                                 protocol=protocol, service=service, timeout=TIMEOUT,
                                 headers=headers) as channel:
                    client = ours.Client(channel)
                    for i in range(200):
                        msg = f"{transport}-{protocol}-{i}"
                        assert client.echo(types.EchoRequest(message=msg)).message == msg
                    if headers:
                        assert channel.response_headers == {"seen": transport}
            except BaseException as ex:  # reported below
                errors.append((transport, protocol, ex))

        threads = [threading.Thread(target=run, args=c) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert not errors, errors


def test_auto_refuses_what_it_cannot_tell(gen):
    ours = gen("tgr.echo.Echo")
    with rpc.ThreadedServer(ours.Processor(HeaderEcho(gen("tgr.echo.ttypes"))),
                            transport="auto") as server:
        s = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert s.recv(100) == b""  # closed, no reply
        s.close()


def test_ttheader_routes_colliding_methods_by_idl_service_name(tmp_path):
    import importlib

    from test_codegen_util import gen_into, importable

    (tmp_path / "two.thrift").write_text(
        "namespace py two\nservice Alpha { string who() }\nservice Beta { string who() }\n")
    gen_into(tmp_path / "out", tmp_path / "two.thrift", package_prefix="tgtwo", no_fmt=True)

    class Named:
        def __init__(self, name):
            self.name = name

        def who(self):
            return self.name + ":" + metadata.request_headers().get(metadata.IDL_SERVICE, "")

    with importable(tmp_path / "out"):
        alpha = importlib.import_module("tgtwo.two.Alpha")
        beta = importlib.import_module("tgtwo.two.Beta")
        services = {"Alpha": alpha.Processor(Named("A")), "Beta": beta.Processor(Named("B"))}
        with rpc.ThreadedServer(services, transport="auto") as server:
            for name, module, expected in (("Alpha", alpha, "A:Alpha"), ("Beta", beta, "B:Beta")):
                with rpc.connect("127.0.0.1", server.port, transport="ttheader", service=name,
                                 timeout=TIMEOUT) as channel:
                    assert module.Client(channel).who() == expected  # isn header, plain name
                # Apache multiplexing over THeader: the name prefix routes instead.
                with rpc.connect("127.0.0.1", server.port, transport="header", service=name,
                                 timeout=TIMEOUT) as channel:
                    assert module.Client(channel).who() == expected.split(":")[0] + ":"


@pytest.mark.parametrize("transport", ["header", "ttheader"])
def test_thriftgen_call_over_header_transports(gen, transport):
    import json
    from pathlib import Path

    from typer.testing import CliRunner

    from thriftgen.cli import app

    echo = Path(__file__).resolve().parents[1] / "fixtures" / "echo" / "echo.thrift"
    handler = HeaderEcho(gen("tgr.echo.ttypes"))
    with rpc.ThreadedServer({"Echo": gen("tgr.echo.Echo").Processor(handler)},
                            transport="auto") as server:
        result = CliRunner().invoke(app, [
            "call", "--no-cache", "-idl-path", str(echo), "--service", "Echo", "-m", "echo",
            "-e", f"127.0.0.1:{server.port}", "-transport", transport, "-v",
            "--header", "log_id=from-cli", "-d", '{"req": {"message": "hi"}}',
            # THeader has no service header: Apache's multiplexed names route instead
            *(["--multiplexed"] if transport == "header" else [])])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["message"] == "hi"
    assert "<- header seen: from-cli" in result.stderr



class AsyncHeaderEcho(HeaderEcho):
    async def echo(self, req):
        import asyncio

        await asyncio.sleep(0)
        return HeaderEcho.echo(self, req)


@pytest.mark.parametrize("sync_handlers", ["inline", "thread"])
@pytest.mark.parametrize("handler_cls", [HeaderEcho, AsyncHeaderEcho], ids=["sync", "async"])
def test_async_server_speaks_every_transport_with_headers(gen, handler_cls, sync_handlers):
    from thrift.protocol.THeaderProtocol import THeaderProtocol
    from thrift.transport import TSocket
    from thrift.transport.THeaderTransport import THeaderClientType

    ours, types = gen("tgr.echo.Echo"), gen("tgr.echo.ttypes")
    handler = handler_cls(types)
    with AsyncServerThread(ours.Processor(handler), transport="auto",
                           sync_handlers=sync_handlers) as server:
        for transport, protocol in (("header", "compact"), ("ttheader", "binary"),
                                    ("framed", "binary"), ("buffered", "json")):
            headers = {"log_id": transport} if transport in ("header", "ttheader") else None
            with rpc.connect("127.0.0.1", server.port, transport=transport, protocol=protocol,
                             timeout=TIMEOUT, headers=headers) as channel:
                client = ours.Client(channel)
                assert client.echo(types.EchoRequest(message="x", repeat=3)).message == "xxx"
                with pytest.raises(types.EchoError):
                    client.echo(types.EchoRequest(message="x", repeat=-1))
                if headers:
                    assert channel.response_headers == {"seen": transport}
        # Apache's THeader client, zlib on
        sock = TSocket.TSocket("127.0.0.1", server.port)
        sock.setTimeout(int(TIMEOUT * 1000))
        proto = THeaderProtocol(sock, [THeaderClientType.HEADERS], PROTOCOL_IDS["binary"])
        proto.add_transform(ZLIB)
        sock.open()
        try:
            proto.set_header(b"log_id", b"apache")
            resp = gen("echo.Echo").Client(proto).echo(gen("echo.ttypes").EchoRequest(message="a"))
            assert resp.message == "a" and proto.get_headers() == {b"seen": b"apache"}
        finally:
            sock.close()



@pytest.mark.parametrize("transport", ["header", "ttheader"])
def test_async_client_over_header_transports(gen, transport):
    import asyncio

    ours, types = gen("tgr.echo.Echo"), gen("tgr.echo.ttypes")
    handler = AsyncHeaderEcho(types)

    async def calls(port):
        channel = await rpc.connect_async("127.0.0.1", port, transport=transport,
                                          timeout=TIMEOUT, headers={"log_id": "async"},
                                          service="Echo" if transport == "ttheader" else None)
        try:
            client = ours.AsyncClient(channel)
            replies = await asyncio.gather(
                *(client.echo(types.EchoRequest(message=str(i))) for i in range(50)))
            assert [r.message for r in replies] == [str(i) for i in range(50)]
            assert channel.response_headers == {"seen": "async"}
        finally:
            await channel.close()

    services = {"Echo": ours.Processor(handler)}
    with AsyncServerThread(services, transport="auto", default=ours.Processor(handler)) as server:
        asyncio.run(asyncio.wait_for(calls(server.port), TIMEOUT * 2))
    # and against Apache's THeader server (THeader only: Apache has no TTHeader)
    if transport == "header":
        apache_handler = EchoHandler(gen("echo.ttypes"))
        with ApacheServer(gen("echo.Echo").Processor(apache_handler), transport="header") as s:
            asyncio.run(asyncio.wait_for(_one_async_call(ours, types, s.port), TIMEOUT * 2))


async def _one_async_call(ours, types, port):
    channel = await rpc.connect_async("127.0.0.1", port, transport="header", timeout=TIMEOUT)
    try:
        reply = await ours.AsyncClient(channel).echo(types.EchoRequest(message="to apache"))
        assert reply.message == "to apache"
    finally:
        await channel.close()


class InfoEcho(EchoHandler):
    """Answers what it was told: well-known values and headers, as the reply message."""

    def __init__(self, ttypes, downstream=None):
        super().__init__(ttypes)
        self.downstream = downstream  # (client class, port): a call made while handling

    def echo(self, req):
        if req.message == "relay" and self.downstream is not None:
            client_cls, port = self.downstream
            with rpc.connect("127.0.0.1", port, transport="ttheader", timeout=TIMEOUT) as ch:
                inner = client_cls(ch).echo(self.t.EchoRequest(message="report"))
            return self.t.EchoResponse(message=inner.message, server_time_ms=0)
        headers = metadata.request_headers()
        shown = {"log_id": metadata.well_known("log_id"),
                 "from_service": metadata.well_known("from_service"),
                 "ints": sorted(metadata.request_int_headers()),
                 "persist": headers.get("RPC_PERSIST_user"),
                 "transit": headers.get("RPC_TRANSIT_hop")}
        return self.t.EchoResponse(message=repr(shown), server_time_ms=0)


def test_ttheader_integer_keys_and_persistent_metainfo(gen):
    ours, types = gen("tgr.echo.Echo"), gen("tgr.echo.ttypes")
    keys = metadata.INT_KEYS
    with rpc.ThreadedServer(ours.Processor(InfoEcho(types)), transport="auto") as inner:
        relay = InfoEcho(types, downstream=(ours.Client, inner.port))
        with rpc.ThreadedServer(ours.Processor(relay), transport="auto") as outer:
            with rpc.connect("127.0.0.1", inner.port, transport="ttheader", timeout=TIMEOUT,
                             int_headers={keys["log_id"]: "L7", keys["from_service"]: "web"},
                             headers={"RPC_PERSIST_user": "ann"}) as channel:
                told = eval(ours.Client(channel).echo(types.EchoRequest(message="x")).message)
                assert told == {"log_id": "L7", "from_service": "web", "ints": [2, 3],
                                "persist": "ann", "transit": None}
            # One hop further: the persistent value travels on, the transient one does not.
            with rpc.connect("127.0.0.1", outer.port, transport="ttheader", timeout=TIMEOUT,
                             headers={"RPC_PERSIST_user": "bob", "RPC_TRANSIT_hop": "1"}) as ch:
                told = eval(ours.Client(ch).echo(types.EchoRequest(message="relay")).message)
                assert told["persist"] == "bob" and told["transit"] is None
    # THeader peers send log_id as a string header: well_known finds it there too.
    with rpc.ThreadedServer(ours.Processor(InfoEcho(types)), transport="auto") as server:
        with rpc.connect("127.0.0.1", server.port, transport="header", timeout=TIMEOUT,
                         headers={"log_id": "S1"}) as channel:
            told = eval(ours.Client(channel).echo(types.EchoRequest(message="x")).message)
            assert told["log_id"] == "S1"
    with pytest.raises(ValueError, match="TTHeader's"):
        rpc.connect("127.0.0.1", 1, transport="header", int_headers={2: "x"})


def test_the_callers_rpc_timeout_bounds_an_async_handler(gen):
    import time

    from thriftgen.runtime.errors import ApplicationError

    ours, types = gen("tgr.echo.Echo"), gen("tgr.echo.ttypes")

    class Slow:
        async def echo(self, req):
            import asyncio

            await asyncio.sleep(float(req.message))
            return types.EchoResponse(message="done", server_time_ms=0)

    with AsyncServerThread(ours.Processor(Slow()), transport="auto") as server:
        with rpc.connect("127.0.0.1", server.port, transport="ttheader", timeout=TIMEOUT,
                         int_headers={metadata.INT_KEYS["rpc_timeout"]: "100"}) as channel:
            client = ours.Client(channel)
            assert client.echo(types.EchoRequest(message="0")).message == "done"
            start = time.monotonic()
            with pytest.raises(ApplicationError, match="rpc_timeout of 100 ms"):
                client.echo(types.EchoRequest(message="5"))
            assert time.monotonic() - start < 2
            assert client.echo(types.EchoRequest(message="0")).message == "done"  # still usable
