"""Our servers and clients on their own: load, isolation, shutdown, faults.

Everything runs on 127.0.0.1 with OS-chosen ports; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct
import threading
import time

import pytest

from test_codegen_util import run_python
from test_rpc_util import TIMEOUT, AsyncServerThread, EchoHandler, generated
from thriftgen.runtime import encode_message, rpc
from thriftgen.runtime.errors import ApplicationError, ProtocolError
from thriftgen.runtime.rpc import TransportError
from thriftgen.runtime.ttype import MessageType


@pytest.fixture(scope="module")
def gen_root(tmp_path_factory):
    return tmp_path_factory.mktemp("rpc_server")


@pytest.fixture(scope="module")
def gen(gen_root):
    with generated(gen_root, apache=False) as imp:
        yield imp


@pytest.fixture
def echo(gen):
    return gen("tgr.echo.Echo"), gen("tgr.echo.ttypes")


def _server(kind, services, **options):
    if kind == "threaded":
        return rpc.ThreadedServer(services, **options)
    return AsyncServerThread(services, **options)


KINDS = ["threaded", "asyncio"]


class AsyncEchoHandler(EchoHandler):
    """Coroutine handlers: jittered awaits shuffle completion order within a connection."""

    def __init__(self, ttypes):
        super().__init__(ttypes)
        self.calls = 0

    async def echo(self, req):
        self.calls += 1
        if req.message.startswith("sleep:"):
            await asyncio.sleep(float(req.message[6:]))
        elif req.repeat == 7:
            await asyncio.sleep(random.random() / 1000)
        return self.t.EchoResponse(message=req.message[::-1], server_time_ms=len(req.message),
                                   payload=req.payload)


# --------------------------------------------------------------------------- load


def _load(echo, clients, calls, pipeline):
    mod, t = echo
    handler = AsyncEchoHandler(t)

    async def one_client(port, cid):
        channel = await rpc.connect_async("127.0.0.1", port, transport="framed",
                                          timeout=TIMEOUT * 4)
        client = mod.AsyncClient(channel)
        try:
            done = 0
            while done < calls:
                batch = range(done, min(calls, done + pipeline))
                keys = [f"c{cid}-{i}-{random.getrandbits(32)}" for i in batch]
                replies = await asyncio.gather(*(
                    client.echo(t.EchoRequest(message=k, repeat=7, payload=k.encode()))
                    for k in keys))
                for k, r in zip(keys, replies):
                    assert (r.message, r.payload, r.server_time_ms) == (k[::-1], k.encode(),
                                                                        len(k))
                done += len(keys)
            return done
        finally:
            await channel.close()

    async def run(port):
        return await asyncio.gather(*(one_client(port, c) for c in range(clients)))

    with AsyncServerThread(mod.Processor(handler), transport="framed") as server:
        counts = asyncio.run(asyncio.wait_for(run(server.port), 60))
        assert server.stop() is True
    assert counts == [calls] * clients
    assert handler.calls == clients * calls


def test_asyncio_server_concurrent_clients(echo):
    """50 clients x 200 calls, each client on its own connection, pipelining 5 calls at
    a time (about 1.5 s here)."""
    _load(echo, clients=50, calls=200, pipeline=5)


@pytest.mark.slow
def test_asyncio_server_concurrent_clients_heavy(echo):
    _load(echo, clients=200, calls=500, pipeline=20)


def test_threaded_server_concurrent_clients(echo):
    mod, t = echo
    errors = []

    def client(port, cid):
        try:
            with rpc.connect("127.0.0.1", port, timeout=TIMEOUT * 4) as channel:
                c = mod.Client(channel)
                for i in range(20):
                    key = f"{cid}-{i}"
                    assert c.echo(t.EchoRequest(message=key, repeat=2)).message == key * 2
        except BaseException as ex:  # collected: assertions in threads must not vanish
            errors.append(ex)

    with rpc.ThreadedServer(mod.Processor(EchoHandler(t)), max_connections=16) as server:
        threads = [threading.Thread(target=client, args=(server.port, n)) for n in range(24)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
    assert not errors, errors[0]


# --------------------------------------------------------------------------- isolation


def test_slow_async_handler_does_not_block_other_clients(echo):
    mod, t = echo

    async def run(port):
        slow_ch = await rpc.connect_async("127.0.0.1", port, timeout=TIMEOUT)
        fast_ch = await rpc.connect_async("127.0.0.1", port, timeout=TIMEOUT)
        try:
            slow = asyncio.ensure_future(
                mod.AsyncClient(slow_ch).echo(t.EchoRequest(message="sleep:1.0")))
            await asyncio.sleep(0.05)
            start = time.monotonic()
            fast = mod.AsyncClient(fast_ch)
            for i in range(20):
                assert (await fast.echo(t.EchoRequest(message=str(i)))).message == str(i)[::-1]
            fast_time = time.monotonic() - start
            assert not slow.done()
            assert (await slow).message == "0.1:peels"
            return fast_time
        finally:
            await slow_ch.close()
            await fast_ch.close()

    with AsyncServerThread(mod.Processor(AsyncEchoHandler(t))) as server:
        assert asyncio.run(run(server.port)) < 0.6


def test_slow_sync_handler_in_thread_mode_does_not_block_the_loop(echo):
    mod, t = echo

    async def run(port):
        slow_ch = await rpc.connect_async("127.0.0.1", port, timeout=TIMEOUT)
        fast_ch = await rpc.connect_async("127.0.0.1", port, timeout=TIMEOUT)
        try:
            slow = asyncio.ensure_future(
                mod.AsyncClient(slow_ch).echo(t.EchoRequest(message="sleep:0.8")))
            await asyncio.sleep(0.05)
            start = time.monotonic()
            fast = mod.AsyncClient(fast_ch)
            for i in range(10):
                await fast.echo(t.EchoRequest(message="f"))
            elapsed = time.monotonic() - start
            assert (await slow).message == "sleep:0.8"
            return elapsed
        finally:
            await slow_ch.close()
            await fast_ch.close()

    with AsyncServerThread(mod.Processor(EchoHandler(t)), sync_handlers="thread") as server:
        assert asyncio.run(run(server.port)) < 0.5


def test_threaded_pool_bound(echo):
    """max_connections=2: one slow call holds one connection, the other keeps being
    served; a third connection waits in the backlog (neither of the two is idle long
    enough to give way) until one closes."""
    mod, t = echo
    with rpc.ThreadedServer(mod.Processor(EchoHandler(t)), max_connections=2) as server:
        slow_ch = rpc.connect("127.0.0.1", server.port, timeout=TIMEOUT)
        fast_ch = rpc.connect("127.0.0.1", server.port, timeout=TIMEOUT)
        third_ch = rpc.connect("127.0.0.1", server.port, timeout=TIMEOUT)
        try:
            slow = threading.Thread(target=lambda: mod.Client(slow_ch).echo(
                t.EchoRequest(message="sleep:0.6")))
            fast = mod.Client(fast_ch)
            fast.echo(t.EchoRequest(message="warm"))  # fast_ch now holds the second worker
            slow.start()
            time.sleep(0.05)
            start = time.monotonic()
            for _ in range(20):
                fast.echo(t.EchoRequest(message="f"))
            assert time.monotonic() - start < 0.4
            # both workers are taken: the third connection is served once fast_ch closes
            result = []
            third = threading.Thread(target=lambda: result.append(
                mod.Client(third_ch).echo(t.EchoRequest(message="third")).message))
            third.start()
            third.join(0.3)
            assert result == []
            fast_ch.close()
            third.join(TIMEOUT)
            assert result == ["third"]
            slow.join(TIMEOUT)
        finally:
            for ch in (slow_ch, fast_ch, third_ch):
                ch.close()


# --------------------------------------------------------------------------- shutdown


@pytest.mark.parametrize("kind", KINDS)
def test_graceful_stop_finishes_in_flight_calls(echo, kind):
    mod, t = echo
    server = _server(kind, mod.Processor(EchoHandler(t)))
    with server:
        busy = rpc.connect("127.0.0.1", server.port, timeout=TIMEOUT)
        idle = rpc.connect("127.0.0.1", server.port, timeout=TIMEOUT)
        mod.Client(idle).echo(t.EchoRequest(message="hello"))
        result = []
        th = threading.Thread(target=lambda: result.append(
            mod.Client(busy).echo(t.EchoRequest(message="sleep:0.4")).message))
        th.start()
        time.sleep(0.1)
        start = time.monotonic()
        assert server.stop(TIMEOUT) is True
        assert 0.15 < time.monotonic() - start < 2
        th.join(TIMEOUT)
        assert result == ["sleep:0.4"]  # the in-flight call got its reply
        with pytest.raises(TransportError) as info:  # the idle connection was closed
            mod.Client(idle).echo(t.EchoRequest(message="again"))
        assert info.value.kind == "closed"
        with pytest.raises(TransportError) as info:  # no longer accepting
            rpc.connect("127.0.0.1", server.port, timeout=TIMEOUT)
        assert info.value.kind == "connect"
        busy.close()
        idle.close()


@pytest.mark.parametrize("kind", KINDS)
def test_stop_wait_is_bounded(echo, kind):
    mod, t = echo
    server = _server(kind, mod.Processor(EchoHandler(t)), **(
        {"sync_handlers": "thread"} if kind == "asyncio" else {}))
    with server:
        ch = rpc.connect("127.0.0.1", server.port, timeout=TIMEOUT)
        errors = []

        def call():
            try:
                mod.Client(ch).echo(t.EchoRequest(message="sleep:2"))
            except TransportError as ex:
                errors.append(ex)

        th = threading.Thread(target=call)
        th.start()
        time.sleep(0.1)
        start = time.monotonic()
        assert server.stop(0.3) is False
        assert time.monotonic() - start < 1.5
        th.join(TIMEOUT)
        assert errors and errors[0].kind == "closed"
        ch.close()


# --------------------------------------------------------------------------- faults


def _raw(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    return s


def _closed_by_server(sock):
    """True when the server closed the connection (EOF or reset) within the timeout."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def _echo_msg(t, protocol="binary", message="x", seqid=1, name="echo"):
    args_cls = __import__(t.__name__.rsplit(".", 1)[0] + ".Echo", fromlist=["x"]).echo_args
    return encode_message(name, MessageType.CALL, seqid,
                          args_cls(req=t.EchoRequest(message=message)), protocol)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("transport", ["buffered", "framed"])
def test_faulty_peers_do_not_disturb_others(echo, kind, transport, caplog):
    mod, t = echo
    caplog.set_level(logging.INFO, logger="thriftgen.rpc")
    with _server(kind, mod.Processor(EchoHandler(t)), transport=transport,
                 max_message_size=4096) as server:
        good = rpc.connect("127.0.0.1", server.port, transport=transport, timeout=TIMEOUT)
        client = mod.Client(good)
        assert client.echo(t.EchoRequest(message="before")).message == "before"
        msg = _echo_msg(t)
        wire = struct.pack("!i", len(msg)) + msg if transport == "framed" else msg

        # 1. peer closes in the middle of a message
        s = _raw(server.port)
        s.sendall(wire[: len(wire) // 2])
        s.close()
        # 2. garbage: an HTTP request, and (framed) a well-formed frame of garbage
        s = _raw(server.port)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b"\xff" * 64)
        assert _closed_by_server(s)
        s.close()
        if transport == "framed":
            s = _raw(server.port)
            s.sendall(struct.pack("!i", 30) + b"\xff" * 30)
            assert _closed_by_server(s)
            s.close()
        # 3. oversized frame / message (over max_message_size = 4096)
        s = _raw(server.port)
        if transport == "framed":
            s.sendall(struct.pack("!i", 1 << 20) + b"\x00" * 100)
        else:
            big = _echo_msg(t, message="y" * 10000)
            s.sendall(big)
        assert _closed_by_server(s)
        s.close()
        # 4. a complete message whose header is fine but whose body is not: answered
        s = _raw(server.port)
        bad = msg.replace(b"x", b"\xff")  # invalid UTF-8 in EchoRequest.message
        s.sendall(struct.pack("!i", len(bad)) + bad if transport == "framed" else bad)
        reply = _read_reply(s, transport)
        error = _decode_app_error(reply)
        assert error.type == ApplicationError.PROTOCOL_ERROR
        s.close()

        for i in range(3):
            assert client.echo(t.EchoRequest(message=f"after{i}")).message == f"after{i}"
        good.close()
    text = caplog.text
    assert "exceeds the maximum" in text
    if transport == "framed":
        assert "undecodable message header" in text
    else:
        assert "not a binary message stream" in text


def _read_reply(sock, transport):
    from thriftgen.runtime.rpc.framing import MessageCutter

    cutter = MessageCutter(transport == "framed", "binary", 1 << 20)
    while True:
        data = sock.recv(65536)
        assert data, "server closed instead of answering"
        msgs = cutter.feed(data)
        if msgs:
            return msgs[0]


def _decode_app_error(reply):
    from thriftgen.runtime import decode_message

    m = decode_message(reply, ApplicationError)
    assert m.type == MessageType.EXCEPTION
    return m.body


def test_client_timeout_sync_closes_channel_server_keeps_serving(echo):
    mod, t = echo
    with rpc.ThreadedServer(mod.Processor(EchoHandler(t))) as server:
        ch = rpc.connect("127.0.0.1", server.port, timeout=0.2)
        start = time.monotonic()
        with pytest.raises(TransportError) as info:
            mod.Client(ch).echo(t.EchoRequest(message="sleep:0.6"))
        assert info.value.kind == "timeout"
        assert time.monotonic() - start < 0.5
        with pytest.raises(TransportError) as info:  # a late reply must not be misread
            mod.Client(ch).echo(t.EchoRequest(message="x"))
        assert info.value.kind == "closed" and "timeout" in str(info.value)
        with rpc.connect("127.0.0.1", server.port, timeout=TIMEOUT) as other:
            assert mod.Client(other).echo(t.EchoRequest(message="ok")).message == "ok"


def test_client_timeout_async_fails_one_call_only(echo):
    mod, t = echo

    async def run(port):
        ch = await rpc.connect_async("127.0.0.1", port, timeout=0.2)
        client = mod.AsyncClient(ch)
        try:
            start = time.monotonic()
            with pytest.raises(TransportError) as info:
                await client.echo(t.EchoRequest(message="sleep:0.5"))
            assert info.value.kind == "timeout"
            assert time.monotonic() - start < 0.45
            # The channel stays usable. The server answers in request order, so this
            # reply comes after the late one, which is dropped (its sequence id is unknown).
            ch.timeout = TIMEOUT
            assert (await client.echo(t.EchoRequest(message="m0"))).message == "0m"
            for i in range(3):
                assert (await client.echo(t.EchoRequest(message=f"m{i}"))).message == f"{i}m"
        finally:
            await ch.close()

    with AsyncServerThread(mod.Processor(AsyncEchoHandler(t))) as server:
        asyncio.run(asyncio.wait_for(run(server.port), TIMEOUT))


def test_unordered_replies_on_one_connection(echo):
    """With ``ordered_replies=False`` a fast call overtakes a slow one on the same channel."""
    mod, t = echo

    async def run(port):
        ch = await rpc.connect_async("127.0.0.1", port, timeout=TIMEOUT)
        client = mod.AsyncClient(ch)
        finished = []

        async def call(message):
            reply = await client.echo(t.EchoRequest(message=message))
            finished.append(reply.message)

        try:
            await asyncio.gather(call("sleep:0.3"), call("fast"))
        finally:
            await ch.close()
        return finished

    for ordered, expected in [(True, ["3.0:peels", "tsaf"]), (False, ["tsaf", "3.0:peels"])]:
        with AsyncServerThread(mod.Processor(AsyncEchoHandler(t)),
                               ordered_replies=ordered) as server:
            assert asyncio.run(asyncio.wait_for(run(server.port), TIMEOUT)) == expected


@pytest.mark.parametrize("kind", KINDS)
def test_undeclared_errors_become_application_errors(echo, kind, caplog):
    mod, t = echo

    class Handler(EchoHandler):
        def echo(self, req):
            if req.message == "app":
                raise ApplicationError(ApplicationError.UNKNOWN, "told you")
            if req.message == "wrong-type":
                return 42  # not an EchoResponse: the reply cannot be encoded
            return super().echo(req)

        def shout(self, req):
            raise ValueError("oneway failure")

    caplog.set_level(logging.INFO, logger="thriftgen.rpc")
    with _server(kind, mod.Processor(Handler(t))) as server:
        with rpc.connect("127.0.0.1", server.port, timeout=TIMEOUT) as ch:
            client = mod.Client(ch)
            with pytest.raises(ApplicationError) as info:
                client.echo(t.EchoRequest(message="boom"))
            assert (info.value.type, info.value.message) == (ApplicationError.INTERNAL_ERROR,
                                                             "Internal error")
            with pytest.raises(ApplicationError) as info:
                client.echo(t.EchoRequest(message="app"))
            assert (info.value.type, info.value.message) == (ApplicationError.UNKNOWN,
                                                             "told you")
            with pytest.raises(ApplicationError) as info:
                client.echo(t.EchoRequest(message="wrong-type"))
            assert info.value.type == ApplicationError.INTERNAL_ERROR
            client.shout(t.EchoRequest(message="s"))
            assert client.echo(t.EchoRequest(message="still")).message == "still"
    records = {r.getMessage(): r for r in caplog.records}
    boom = records["Unexpected exception in handler of echo"]
    assert boom.exc_info and "handler bug" in str(boom.exc_info[1])
    assert records["Exception in oneway handler of shout"].exc_info
    assert any("Cannot encode the result of echo" in m for m in records)


# --------------------------------------------------------------------------- client checks


class FakeServer:
    """Answers each request with a reply crafted by ``respond(name, seqid) -> bytes``."""

    def __init__(self, respond, transport="buffered", close_after_reply=False):
        self.respond, self.transport = respond, transport
        self.close_after_reply = close_after_reply
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        from thriftgen.runtime import decode_message_header
        from thriftgen.runtime.rpc.framing import SocketStream

        self.listener.settimeout(TIMEOUT)
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        stream = SocketStream(conn, self.transport)
        try:
            while True:
                msg = stream.read_message()
                name, _, seqid, _ = decode_message_header(msg)
                out = self.respond(name, seqid)
                if out is None:
                    break
                conn.sendall(out)
                if self.close_after_reply:
                    break
        except TransportError:
            pass
        finally:
            conn.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.listener.close()
        self.thread.join(TIMEOUT)


def _result_reply(mod, t, name, seqid, mtype=MessageType.REPLY, message="ok"):
    result = mod.echo_result(success=t.EchoResponse(message=message, server_time_ms=1))
    return encode_message(name, mtype, seqid, result)


@pytest.mark.parametrize("case,expected", [
    ("seqid", ApplicationError.BAD_SEQUENCE_ID),
    ("name", ApplicationError.WRONG_METHOD_NAME),
    ("type", ApplicationError.INVALID_MESSAGE_TYPE),
    ("empty", ApplicationError.MISSING_RESULT),
    ("exception", ApplicationError.PROTOCOL_ERROR),
])
@pytest.mark.parametrize("side", ["sync", "async"])
def test_client_checks_replies(echo, case, expected, side):
    mod, t = echo

    def respond(name, seqid):
        if case == "seqid":
            return _result_reply(mod, t, name, seqid + 1)
        if case == "name":
            return _result_reply(mod, t, "shout", seqid)
        if case == "type":
            return _result_reply(mod, t, name, seqid, MessageType.CALL)
        if case == "empty":
            return encode_message(name, MessageType.REPLY, seqid, mod.echo_result())
        return encode_message(name, MessageType.EXCEPTION, seqid,
                              ApplicationError(ApplicationError.PROTOCOL_ERROR, "bad"))

    with FakeServer(respond) as server:
        if side == "sync":
            with rpc.connect("127.0.0.1", server.port, timeout=TIMEOUT) as ch:
                with pytest.raises(ApplicationError) as info:
                    mod.Client(ch).echo(t.EchoRequest(message="m"))
        else:
            async def run():
                ch = await rpc.connect_async("127.0.0.1", server.port, timeout=0.5)
                try:
                    await mod.AsyncClient(ch).echo(t.EchoRequest(message="m"))
                finally:
                    await ch.close()

            if case == "seqid":  # matched by sequence id: an unknown one is dropped
                with pytest.raises(TransportError) as tinfo:
                    asyncio.run(run())
                assert tinfo.value.kind == "timeout"
                return
            with pytest.raises(ApplicationError) as info:
                asyncio.run(run())
    assert info.value.type == expected


@pytest.mark.parametrize("case", ["garbage", "close-mid-reply", "oversize"])
@pytest.mark.parametrize("side", ["sync", "async"])
def test_client_transport_faults(echo, case, side):
    mod, t = echo

    def respond(name, seqid):
        reply = _result_reply(mod, t, name, seqid, message="z" * 100)
        if case == "garbage":
            return b"\x81\x02garbage" * 4  # a bad protocol version word
        if case == "close-mid-reply":
            return reply[:20]
        return reply

    expected = {"garbage": "bad_data", "close-mid-reply": "closed", "oversize": "size_limit"}
    with FakeServer(respond, close_after_reply=True) as server:
        if side == "sync":
            ch = rpc.connect("127.0.0.1", server.port, timeout=TIMEOUT, max_message_size=64)
            with pytest.raises(TransportError) as info:
                mod.Client(ch).echo(t.EchoRequest(message="m"))
            assert ch.closed
        else:
            async def run():
                ch = await rpc.connect_async("127.0.0.1", server.port, timeout=TIMEOUT,
                                             max_message_size=64)
                try:
                    await mod.AsyncClient(ch).echo(t.EchoRequest(message="m"))
                finally:
                    await ch.close()

            with pytest.raises(TransportError) as info:
                asyncio.run(run())
    assert info.value.kind == expected[case]
    assert not info.value.clean


def test_connect_errors():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(TransportError) as info:
        rpc.connect("127.0.0.1", port, timeout=TIMEOUT)
    assert info.value.kind == "connect"
    with pytest.raises(TransportError) as info:
        asyncio.run(rpc.connect_async("127.0.0.1", port, timeout=TIMEOUT))
    assert info.value.kind == "connect"
    with pytest.raises(ValueError):
        rpc.connect("127.0.0.1", port, transport="http")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("protocol", ["binary", "compact"])
def test_large_unframed_messages(echo, kind, protocol):
    """Multi-megabyte messages on the buffered transport (cut with SkipDecode)."""
    mod, t = echo
    payload = random.Random(1).randbytes(3 << 20)
    with _server(kind, mod.Processor(EchoHandler(t)), protocol=protocol) as server:
        with rpc.connect("127.0.0.1", server.port, protocol=protocol, timeout=TIMEOUT) as ch:
            reply = mod.Client(ch).echo(t.EchoRequest(message="big", payload=payload))
            assert reply.payload == payload

        async def run():
            ch = await rpc.connect_async("127.0.0.1", server.port, protocol=protocol,
                                         timeout=TIMEOUT)
            try:
                r = await mod.AsyncClient(ch).echo(t.EchoRequest(message="big", payload=payload))
                assert r.payload == payload
            finally:
                await ch.close()

        asyncio.run(run())


def test_protocol_error_from_bad_reply_body(echo):
    """A reply that is well framed but does not decode raises ProtocolError, and the
    (still synchronised) channel stays open."""
    mod, t = echo

    def respond(name, seqid):
        reply = _result_reply(mod, t, name, seqid, message="ok")
        return reply.replace(b"ok", b"\xff\xfe")

    with FakeServer(respond) as server:
        with rpc.connect("127.0.0.1", server.port, timeout=TIMEOUT) as ch:
            with pytest.raises(ProtocolError):
                mod.Client(ch).echo(t.EchoRequest(message="m"))
            assert not ch.closed


PY39_SCRIPT = """
import asyncio, sys
from thriftgen.runtime import rpc
from tgr.echo import Echo
from tgr.echo.ttypes import EchoError, EchoRequest, EchoResponse

class Handler:
    def echo(self, req):
        if req.repeat < 0:
            raise EchoError(code=req.repeat)
        return EchoResponse(message=req.message * req.repeat, server_time_ms=1)

    async def shout(self, req):
        pass

with rpc.ThreadedServer(Echo.Processor(Handler()), transport="framed") as server:
    with rpc.connect("127.0.0.1", server.port, transport="framed", timeout=5) as ch:
        assert Echo.Client(ch).echo(EchoRequest(message="ab", repeat=2)).message == "abab"
        try:
            Echo.Client(ch).echo(EchoRequest(message="x", repeat=-1))
        except EchoError as ex:
            assert ex.code == -1
        else:
            raise AssertionError("no EchoError")

async def main():
    server = await rpc.AsyncServer(Echo.Processor(Handler()), protocol="compact").start()
    ch = await rpc.connect_async("127.0.0.1", server.port, protocol="compact", timeout=5)
    client = Echo.AsyncClient(ch)
    replies = await asyncio.gather(*(client.echo(EchoRequest(message=str(i), repeat=1))
                                     for i in range(20)))
    assert [r.message for r in replies] == [str(i) for i in range(20)]
    await client.shout(EchoRequest(message="s"))
    await ch.close()
    assert await server.stop() is True

asyncio.run(main())
print("ok", sys.version_info[:2])
"""


def test_runtime_on_python39(gen, gen_root):
    """The RPC runtime and generated clients run on the oldest supported Python."""
    import glob
    import os

    pythons = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.9*/bin/python")))
    if not pythons:
        pytest.skip("no Python 3.9 interpreter found")
    proc = run_python(PY39_SCRIPT, gen_root / "ours", pythons[0], timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok (3, 9)"


@pytest.mark.parametrize("kind", KINDS)
def test_our_multiplexed_server_and_clients(gen, kind):
    """Named services (a dict), a default service for plain names, per-service views of
    one connection, inherited functions reached through the derived service."""
    echo_mod, t = gen("tgr.echo.Echo"), gen("tgr.echo.ttypes")
    sink_mod = gen("tgr.store.service.EventSink")
    from test_rpc_util import SinkHandler

    sink = SinkHandler()
    echo_proc = echo_mod.Processor(EchoHandler(t))
    services = {"echo-v2": echo_proc, "events": sink_mod.Processor(sink)}
    with _server(kind, services, default=echo_proc, transport="framed") as server:
        with rpc.connect("127.0.0.1", server.port, transport="framed", timeout=TIMEOUT) as ch:
            assert echo_mod.Client(ch).echo(t.EchoRequest(message="plain")).message == "plain"
            named = echo_mod.Client(ch.for_service("echo-v2"))
            assert named.echo(t.EchoRequest(message="n", repeat=3)).message == "nnn"
            events = sink_mod.Client(ch.for_service("events"))
            assert events.ready() is True
            events.stockChanged("S", 5, "l")
            assert sink.events.get(timeout=TIMEOUT) == ("S", 5, "l")
            with pytest.raises(ApplicationError) as info:
                sink_mod.Client(ch.for_service("nope")).ready()
            assert (info.value.type, info.value.message) == (ApplicationError.UNKNOWN_METHOD,
                                                             "Unknown service nope")
            with pytest.raises(ApplicationError) as info:
                sink_mod.Client(ch).ready()  # plain name, default service has no ready()
            assert info.value.message == "Unknown function ready"

        async def run():
            ch = await rpc.connect_async("127.0.0.1", server.port, transport="framed",
                                         timeout=TIMEOUT)
            try:
                a = echo_mod.AsyncClient(ch.for_service("echo-v2"))
                b = sink_mod.AsyncClient(ch.for_service("events"))
                got = await asyncio.gather(a.echo(t.EchoRequest(message="x")), b.ready(),
                                           echo_mod.AsyncClient(ch).echo(
                                               t.EchoRequest(message="y")))
                assert (got[0].message, got[1], got[2].message) == ("x", True, "y")
            finally:
                await ch.close()

        asyncio.run(asyncio.wait_for(run(), TIMEOUT))


def test_dispatcher_rejects_what_it_cannot_serve(gen):
    from thriftgen.runtime.rpc import Dispatcher

    echo_mod, t = gen("tgr.echo.Echo"), gen("tgr.echo.ttypes")
    proc = echo_mod.Processor(EchoHandler(t))
    with pytest.raises(ValueError, match="given twice"):
        Dispatcher([proc, echo_mod.Processor(EchoHandler(t))])
    with pytest.raises(TypeError, match="not a generated Processor"):
        Dispatcher(object())
    with pytest.raises(ValueError, match="no service"):
        Dispatcher({})
    with pytest.raises(ValueError, match="transport must be"):
        rpc.ThreadedServer(proc, transport="http")
