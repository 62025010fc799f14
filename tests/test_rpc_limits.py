"""Both servers keep answering valid clients whatever other peers do (README: "RPC
limits"): half-open sockets, stalled requests, idle floods, peers that never read,
and requests that declare sizes beyond ``max_message_size``.

Every wait is bounded; the servers run on 127.0.0.1 with OS-chosen ports.
"""

from __future__ import annotations

import socket
import struct
import time

import pytest

from test_rpc_util import TIMEOUT, AsyncServerThread, EchoHandler, generated
from thriftgen.runtime import encode_message, rpc
from thriftgen.runtime.rpc.framing import MessageCutter
from thriftgen.runtime.rpc.limits import ConnectionLimits
from thriftgen.runtime.ttype import MessageType

KINDS = ["threaded", "asyncio"]


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    with generated(tmp_path_factory.mktemp("rpc_limits"), apache=False) as imp:
        yield imp


@pytest.fixture
def echo(gen):
    return gen("tgr.echo.Echo"), gen("tgr.echo.ttypes")


def server_of(kind, services, **options):
    if kind == "threaded":
        return rpc.ThreadedServer(services, **options)
    return AsyncServerThread(services, **options)


def half_open(port, count, data=b"\x80\x01"):
    """``count`` sockets that each sent ``data`` (the start of a request) and stall."""
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        s.sendall(data)
        socks.append(s)
    return socks


def close_all(socks):
    for s in socks:
        s.close()


def timed_calls(mod, t, port, n, transport="buffered", protocol="binary"):
    """Latency of ``n`` calls, each on a new connection (connect + call + reply)."""
    times = []
    for i in range(n):
        start = time.monotonic()
        with rpc.connect("127.0.0.1", port, transport=transport, protocol=protocol,
                         timeout=TIMEOUT) as ch:
            assert mod.Client(ch).echo(t.EchoRequest(message=f"m{i}")).message == f"m{i}"
        times.append(time.monotonic() - start)
    return times


def closed_within(sock, seconds):
    """Whether the server closed ``sock`` within ``seconds`` (EOF or reset)."""
    sock.settimeout(seconds)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


# --------------------------------------------------------------------------- slowloris


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("transport", ["buffered", "framed"])
def test_500_half_open_sockets_do_not_slow_valid_calls(echo, kind, transport):
    """The issue's case, with the default limits: 500 sockets that sent 2 bytes."""
    mod, t = echo
    with server_of(kind, mod.Processor(EchoHandler(t)), transport=transport) as server:
        attackers = half_open(server.port, 500, b"\x00\x00" if transport == "framed" else b"\x80\x01")
        try:
            # A batch of 20 fresh-connection calls, each within 100 ms; one more batch
            # is allowed when the first met a scheduling hiccup of the shared machine.
            batches = [timed_calls(mod, t, server.port, 20, transport)]
            if max(batches[0]) >= 0.1:
                batches.append(timed_calls(mod, t, server.port, 20, transport))
            assert max(batches[-1]) < 0.1, batches
            assert all(not closed_within(s, 0.001) for s in attackers[:5]), \
                "below the limits, nobody is dropped"
        finally:
            close_all(attackers)


@pytest.mark.parametrize("kind", KINDS)
def test_more_half_open_sockets_than_max_connections(echo, kind):
    """Beyond the connection limit, stalled connections give way to new ones."""
    mod, t = echo
    with server_of(kind, mod.Processor(EchoHandler(t)), max_connections=64) as server:
        attackers = half_open(server.port, 500)
        try:
            time.sleep(1.2)  # older than EVICT_AFTER: they may give way now
            times = timed_calls(mod, t, server.port, 20)
            assert max(times) < 0.5, times
        finally:
            close_all(attackers)


@pytest.mark.parametrize("kind", KINDS)
def test_a_client_between_calls_is_not_dropped_at_the_limit(echo, kind):
    """max_connections=2 with two active clients: a third peer waits (threaded) or is
    refused (asyncio); the active clients keep their connections."""
    mod, t = echo
    with server_of(kind, mod.Processor(EchoHandler(t)), max_connections=2) as server:
        a = rpc.connect("127.0.0.1", server.port, timeout=TIMEOUT)
        b = rpc.connect("127.0.0.1", server.port, timeout=TIMEOUT)
        try:
            for ch in (a, b):
                assert mod.Client(ch).echo(t.EchoRequest(message="x")).message == "x"
            extra = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
            for _ in range(10):
                for ch in (a, b):
                    assert mod.Client(ch).echo(t.EchoRequest(message="y")).message == "y"
            extra.close()
        finally:
            a.close()
            b.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_stalled_request_is_closed_after_message_timeout(echo, kind):
    mod, t = echo
    with server_of(kind, mod.Processor(EchoHandler(t)), message_timeout=0.5) as server:
        [stalled] = half_open(server.port, 1)
        trickle = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        start = time.monotonic()
        # A slowloris that keeps sending a byte at a time is no better off.
        message = encode_message("echo", MessageType.CALL, 1,
                                 mod.echo_args(req=t.EchoRequest(message="z" * 50)), "binary")
        try:
            for byte in message[:12]:
                trickle.send(bytes([byte]))
                time.sleep(0.1)
        except OSError:
            pass  # closed under it: what should happen
        assert closed_within(stalled, 2.0)
        assert 0.4 < time.monotonic() - start < 2.5
        assert closed_within(trickle, 2.0)
        assert max(timed_calls(mod, t, server.port, 3)) < 0.5
        stalled.close()
        trickle.close()


@pytest.mark.parametrize("kind", KINDS)
def test_an_idle_connection_is_closed_after_idle_timeout(echo, kind):
    mod, t = echo
    with server_of(kind, mod.Processor(EchoHandler(t)), idle_timeout=0.5) as server:
        silent = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        with rpc.connect("127.0.0.1", server.port, timeout=TIMEOUT) as ch:
            client = mod.Client(ch)
            for _ in range(4):  # a client that keeps calling is never idle
                assert client.echo(t.EchoRequest(message="k")).message == "k"
                time.sleep(0.2)
            assert closed_within(silent, 2.0)
        silent.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_peer_that_never_reads_is_closed_after_write_timeout(echo, kind):
    """It pipelines big requests and never reads the replies: the server stops reading
    it, then closes it; with one worker, others are served meanwhile and after."""
    mod, t = echo
    options = {"write_timeout": 0.5}
    if kind == "threaded":
        options["workers"] = 1
    with server_of(kind, mod.Processor(EchoHandler(t)), **options) as server:
        hog = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        big = encode_message("echo", MessageType.CALL, 1, mod.echo_args(
            req=t.EchoRequest(message="m", payload=b"p" * 200_000)), "binary")
        hog.settimeout(0.05)
        sent_until = time.monotonic() + 1.5
        try:
            while time.monotonic() < sent_until:
                hog.sendall(big)
        except (socket.timeout, OSError):
            pass  # the server stopped reading us: the kernel buffers filled up
        time.sleep(1.0)
        assert max(timed_calls(mod, t, server.port, 3)) < 0.5
        assert closed_within(hog, 3.0)
        hog.close()


# --------------------------------------------------------------------------- declared sizes


def _versioned_header(name: bytes, declared_len: int) -> bytes:
    return b"\x80\x01\x00\x01" + struct.pack("!i", declared_len) + name


@pytest.mark.parametrize("kind", KINDS)
def test_a_declared_method_name_of_2gib_is_refused_at_once(echo, kind):
    """``80 01 00 01 7f ff ff ff 'echo'``: closed at once, not after buffering."""
    mod, t = echo
    with server_of(kind, mod.Processor(EchoHandler(t))) as server:
        s = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        s.sendall(_versioned_header(b"echo", 0x7FFFFFFF))
        assert closed_within(s, 0.5)
        s.close()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("protocol", ["binary", "compact"])
def test_a_declared_16mib_string_argument_is_refused_at_once(echo, kind, protocol):
    """A 16 MiB string argument of which 1,000 bytes are sent: closed at once (the limit
    is 16 MiB for the whole message)."""
    mod, t = echo
    req = t.EchoRequest(message="x" * 1000)
    whole = encode_message("echo", MessageType.CALL, 1, mod.echo_args(req=req), protocol)
    at = whole.index(b"x" * 1000)
    if protocol == "binary":
        assert whole[at - 4:at] == struct.pack("!i", 1000)
        head = whole[:at - 4] + struct.pack("!i", 16 * 1024 * 1024)
    else:
        assert whole[at - 2:at] == bytes([0xE8, 0x07])  # varint 1000
        head = whole[:at - 2] + bytes([0x80, 0x80, 0x80, 0x08])  # varint 16 MiB
    with server_of(kind, mod.Processor(EchoHandler(t)), protocol=protocol) as server:
        s = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        s.sendall(head + b"x" * 1000)
        assert closed_within(s, 0.5)
        s.close()
        assert max(timed_calls(mod, t, server.port, 3, protocol=protocol)) < 0.5


def test_cutter_refuses_declared_sizes_beyond_the_limit(echo):
    """Unit level: the declared size is checked as soon as it is read, for names,
    strings, containers; below the limit, the cutter waits for the bytes."""
    mod, t = echo
    cutter = MessageCutter(False, "binary", 1 << 20)
    with pytest.raises(rpc.TransportError) as info:
        cutter.feed(_versioned_header(b"ec", 2 << 20))
    assert info.value.kind == "size_limit" and "declaring at least" in str(info.value)
    ok = MessageCutter(False, "binary", 1 << 20)
    assert ok.feed(_versioned_header(b"ec", 1000)) == []  # fits: wait for it
    assert not ok.deferred, "no rescan before the declared bytes can be there"
    # A list of 10^6 i64 declared inside the arguments (8 MB > 1 MiB)
    body = encode_message("echo", MessageType.CALL, 1, mod.echo_args(req=t.EchoRequest(message="")), "binary")
    cut = body[:-2] + b"\x0f\x00\x07\x0a" + struct.pack("!i", 1_000_000)
    fresh = MessageCutter(False, "binary", 1 << 20)
    with pytest.raises(rpc.TransportError) as info:
        fresh.feed(cut)
    assert info.value.kind == "size_limit"


def test_limits_reject_nonsense():
    for bad in ({"max_connections": 0}, {"idle_timeout": 0}, {"message_timeout": -1},
                {"write_timeout": "5"}):
        with pytest.raises(ValueError):
            ConnectionLimits(**bad)
    assert ConnectionLimits(idle_timeout=None).idle_timeout is None


def test_limits_pick_the_stalled_then_the_idle():
    class C:
        def __init__(self, number, started=None, last_seen=0.0, in_call=False):
            self.number, self.started, self.last_seen, self.in_call = number, started, last_seen, in_call
            self.write_blocked = None

    lim = ConnectionLimits(max_connections=4)
    now = 100.0
    busy = C(1, started=1.0, in_call=True)
    idle_old = C(2, last_seen=10.0)
    stalled = C(3, started=50.0, last_seen=99.9)
    fresh = C(4, started=99.95, last_seen=99.95)  # a request arriving right now
    assert lim.victim([busy, idle_old, stalled, fresh], now) is stalled
    assert lim.victim([busy, idle_old, fresh], now) is idle_old
    assert lim.victim([busy, fresh], now) is None
    assert lim.expired(C(5, started=60.0), now).startswith("request not complete")
    assert lim.expired(C(6, last_seen=-250.0), now) == "idle"
    assert lim.expired(C(7, last_seen=99.0), now) is None


@pytest.mark.parametrize("kind", KINDS)
def test_incomplete_requests_of_all_connections_are_bounded_together(echo, kind):
    """Each connection may hold up to max_message_size of an incomplete request; all of
    them together at most max_buffered: past it, the one holding most is closed."""
    mod, t = echo
    mib = 1024 * 1024
    req = t.EchoRequest(message="x" * 1000)
    whole = encode_message("echo", MessageType.CALL, 1, mod.echo_args(req=req), "binary")
    at = whole.index(b"x" * 1000)
    head = whole[:at - 4] + struct.pack("!i", 2 * mib - 4096)  # fits max_message_size
    with server_of(kind, mod.Processor(EchoHandler(t)), max_message_size=2 * mib,
                   max_buffered=4 * mib) as server:
        hogs = []
        for _ in range(4):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
            s.sendall(head + b"x" * (3 * mib // 2))
            hogs.append(s)
            time.sleep(0.2)
        closed = [s for s in hogs if closed_within(s, 0.5)]
        assert 1 <= len(closed) <= 2, len(closed)  # 4 x 1.5 MiB > 4 MiB; 2 x 1.5 MiB fits
        assert max(timed_calls(mod, t, server.port, 3)) < 0.5
        close_all(hogs)
    with pytest.raises(ValueError):
        ConnectionLimits(max_buffered=1024, max_message_size=4096)


# --------------------------------------------------------------------------- header transports


def _header_frame(payload, transforms=b""):
    header = b"\x00" + bytes([len(transforms)]) + transforms  # THeader: varints < 128
    header += b"\x00" * (-len(header) % 4)
    return (struct.pack("!IHHiH", 10 + len(header) + len(payload), 0x0FFF, 0, 1,
                        len(header) // 4) + header + payload)


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_header_frames_close_only_their_connection(echo, kind):
    import zlib

    mod, t = echo
    with server_of(kind, mod.Processor(EchoHandler(t)), transport="auto",
                   message_timeout=0.5, max_message_size=1 << 20) as server:
        # a zlib bomb: 64 kB on the wire, 64 MB inflated (over max_message_size)
        bomb = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        bomb.sendall(_header_frame(zlib.compress(b"\x00" * (64 << 20)), b"\x01"))
        # a header size past the frame, a truncated frame, an unknown magic
        bad = []
        for data in (struct.pack("!IHHiH", 12, 0x0FFF, 0, 1, 200) + b"\x00\x00",
                     _header_frame(b"x" * 100)[:60],
                     struct.pack("!IHHiH", 12, 0x0ABC, 0, 1, 1) + b"\x00\x00"):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
            s.sendall(data)
            bad.append(s)
        # a slow client: one byte of a valid TTHeader call every 0.1 s
        call = encode_message("echo", MessageType.CALL, 1,
                              mod.echo_args(req=t.EchoRequest(message="slow")), "binary")
        frame = struct.pack("!IHHiH", 10 + 4 + len(call), 0x1000, 0, 1, 1) + b"\x00\x00\x00\x00" \
            + call
        trickle = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        try:
            for byte in frame[:12]:
                trickle.send(bytes([byte]))
                time.sleep(0.1)
        except OSError:
            pass
        for s in [bomb, *bad, trickle]:
            assert closed_within(s, 3.0)
            s.close()
        assert max(timed_calls(mod, t, server.port, 3, transport="ttheader")) < 0.5
        assert max(timed_calls(mod, t, server.port, 3, transport="header")) < 0.5
