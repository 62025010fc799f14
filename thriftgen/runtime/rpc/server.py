"""The threaded server: one reactor thread reads every connection, a pool of worker
threads runs the calls.

::

    server = ThreadedServer(Echo.Processor(handler), port=9090, transport="framed")
    server.start()          # binds, serves in background threads
    ...
    server.stop(timeout=5)  # graceful: stop accepting, finish in-flight calls

or ``with ThreadedServer(...) as server:`` / ``server.serve_forever()``.

``transport``: ``buffered``, ``framed``, ``header`` (Apache THeader) or
``ttheader`` (Kitex TTHeader; both header kinds are accepted on either), or
``auto``: each connection's first bytes say which of them, and which protocol
(binary, compact, json), it speaks, and it is answered in kind, so one port
serves every client (:class:`~thriftgen.runtime.rpc.framing.SniffingCutter`).
Header frames carry per-call headers (:mod:`~thriftgen.runtime.rpc.metadata`).

Only a complete request takes a worker (Apache's ``THsHaServer`` model rather
than ``TThreadedServer``'s thread per connection): the reactor waits for bytes
on all connections at once, cuts messages, and hands each complete one to a
worker, which runs the handler and writes the reply. A connection has at most
one call in flight, so its replies keep request order; what it sends meanwhile
waits in the kernel. A slow handler holds one worker; a slow or silent peer
holds none. The limits of :mod:`~thriftgen.runtime.rpc.limits`, all on by
default (``message_timeout``, ``idle_timeout``, ``write_timeout``,
``max_connections``), keep the server answering valid clients whatever other
peers do (slowloris, half-open sockets, floods); beyond ``max_connections``,
when no connection can give way, new connections wait in the listen backlog.
A frame, or a declared length or count, beyond ``max_message_size`` closes
the connection as soon as it is read.

Failures stay on their connection: garbage, an oversized frame or a peer that
vanishes mid-message close that connection (logged on ``thriftgen.rpc``);
a handler exception becomes an application error on the wire.
"""

import logging
import queue
import select
import selectors
import socket
import threading
import time
from collections import deque

from ..errors import ProtocolError
from .dispatch import BadMessage, Dispatcher
from .errors import TransportError
from .framing import (DEFAULT_MAX_MESSAGE_SIZE, HEADER_TRANSPORTS, MessageCutter, SniffingCutter,
                      check_options)
from .header import TTHEADER, decode_frame_body, reply_frame
from .metadata import IDL_SERVICE, run_with_headers
from .limits import SWEEP_EVERY, ConnectionLimits

__all__ = ["ThreadedServer"]

log = logging.getLogger("thriftgen.rpc")

_RECV_SIZE = 65536
_FRAME_PREFIX = 4
_ACCEPT_BATCH = 64
#: how long a worker waits on its connection for the next request (see _linger)
_LINGER = 0.002


class _Conn:
    """One connection's state; touched by the reactor, and by one worker while busy."""

    __slots__ = ("sock", "peer", "cutter", "inbox", "busy", "last_seen", "started", "reading",
                 "closed", "number", "write_blocked")

    def __init__(self, sock, peer, cutter, now, number):
        self.sock = sock
        self.peer = peer
        self.cutter = cutter
        self.inbox = deque()  # complete requests not yet dispatched
        self.busy = False  # a worker has one of its requests
        self.last_seen = now  # last bytes received or reply sent
        self.started = None  # when the first byte of the incomplete request came
        self.reading = False  # registered with the selector
        self.closed = False
        self.number = number  # accept order (ties in eviction)
        self.write_blocked = None  # the worker enforces write_timeout itself

    @property
    def in_call(self):
        return self.busy or bool(self.inbox)


class ThreadedServer:
    """Serves generated processors over TCP (see the module doc).

    ``services`` is what :class:`~thriftgen.runtime.rpc.dispatch.Dispatcher`
    takes: one ``Processor``, a list of them (multiplexed), or a dict
    ``{service name: processor}``; ``default`` serves unprefixed names on a
    multiplexed server. ``workers`` calls run at once; timeouts are seconds
    (``None`` turns one off).
    """

    def __init__(self, services, host="127.0.0.1", port=0, *, transport="buffered",
                 protocol="binary", default=None, workers=64, max_connections=None,
                 idle_timeout=300.0, message_timeout=30.0, write_timeout=30.0,
                 max_buffered=None, max_message_size=DEFAULT_MAX_MESSAGE_SIZE, backlog=128):
        check_options("framed" if transport == "auto" else transport, protocol, max_message_size)
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.limits = ConnectionLimits(max_connections, idle_timeout, message_timeout,
                                       write_timeout, max_buffered, max_message_size)
        self.dispatcher = Dispatcher(services, protocol, default)
        self.host, self._port = host, port
        self.transport, self.protocol = transport, protocol
        self.workers = workers
        self.max_connections = self.limits.max_connections
        self.write_timeout = write_timeout
        self.max_message_size = max_message_size
        self.backlog = backlog
        self._listener = None
        self._address = None
        self._selector = None
        self._wake_r = self._wake_w = None
        self._reactor = None
        self._pool = []
        self._jobs = queue.SimpleQueue()  # (conn, request) for the workers; None: exit
        self._done = queue.SimpleQueue()  # conns whose call finished (for the reactor)
        self._conns = {}  # socket -> _Conn
        self._accepting = False
        self._accepted = 0
        self._stopping = False
        self._stopped = threading.Event()
        self._idle = threading.Condition()  # notified when a call finishes (graceful stop)
        self._in_calls = 0
        self._answerers = {}  # (transport, protocol) -> answer function (see _answerer)

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def address(self):
        """``(host, port)`` the server listens on (the real port when 0 was asked)."""
        if self._address is None:
            raise RuntimeError("the server is not started")
        return self._address

    @property
    def port(self):
        return self.address[1]

    @property
    def connections(self):
        """How many connections are open now."""
        return len(self._conns)

    def start(self):
        """Bind and serve in background threads; returns ``self`` once listening."""
        if self._listener is not None:
            raise RuntimeError("the server is already started")
        infos = socket.getaddrinfo(self.host, self._port, 0, socket.SOCK_STREAM)
        family, _, _, _, addr = infos[0]
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(addr)
            listener.listen(self.backlog)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        self._address = listener.getsockname()[:2]
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._set_accepting(True)
        for i in range(self.workers):
            t = threading.Thread(target=self._work, daemon=True,
                                 name="thriftgen-worker-%d-%d" % (self.port, i))
            t.start()
            self._pool.append(t)
        self._reactor = threading.Thread(target=self._react, daemon=True,
                                         name="thriftgen-reactor-%d" % self.port)
        self._reactor.start()
        return self

    def serve_forever(self):
        """Start (if needed) and block until :meth:`stop` is called from elsewhere."""
        if self._listener is None:
            self.start()
        self._stopped.wait()

    def stop(self, timeout=5.0):
        """Stop accepting, let in-flight calls finish and reply, close every connection.

        Waits at most ``timeout`` seconds for in-flight calls; connections still
        busy after that are closed under their handler. Returns True when
        everything finished in time.
        """
        if self._listener is None or self._stopping:
            self._stopped.wait(timeout)
            return True
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        self._stopping = True  # the reactor stops accepting and dispatching, then ends
        self._wake()
        self._reactor.join(max(0.0, deadline - time.monotonic()) + 1.0)
        with self._idle:  # no call starts from now on: wait for those in flight
            while self._in_calls and time.monotonic() < deadline:
                self._idle.wait(max(0.0, min(0.1, deadline - time.monotonic())))
            clean = not self._in_calls
        if not clean:
            log.warning("stop: %d call(s) did not finish in time", self._in_calls)
        conns = list(self._conns.values())
        for conn in conns:
            self._close(conn)
        for _ in self._pool:
            self._jobs.put(None)
        for t in self._pool:
            t.join(max(0.0, deadline - time.monotonic()))
        for conn in conns:
            _close_socket(conn.sock)
        for s in (self._listener, self._wake_r, self._wake_w):
            s.close()
        self._selector.close()
        self._stopped.set()
        return clean

    def __enter__(self):
        if self._listener is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- reactor -----------------------------------------------------------------------

    def _wake(self):
        try:
            self._wake_w.send(b"x")
        except (BlockingIOError, OSError):
            pass  # a wake-up is already pending (or we are closing)

    def _set_accepting(self, on):
        if on != self._accepting:
            if on:
                self._selector.register(self._listener, selectors.EVENT_READ)
            else:
                self._selector.unregister(self._listener)
            self._accepting = on

    def _set_reading(self, conn, on):
        if on != conn.reading and not conn.closed:
            if on:
                self._selector.register(conn.sock, selectors.EVENT_READ, conn)
            else:
                self._selector.unregister(conn.sock)
            conn.reading = on

    def _react(self):
        next_sweep = time.monotonic() + SWEEP_EVERY
        try:
            while not self._stopping:
                timeout = max(0.0, next_sweep - time.monotonic())
                for key, _ in self._selector.select(timeout):
                    obj = key.fileobj
                    if obj is self._listener:
                        self._accept()
                    elif obj is self._wake_r:
                        try:
                            while self._wake_r.recv(4096):
                                pass
                        except (BlockingIOError, OSError):
                            pass
                    else:
                        self._receive(key.data)
                self._finish_calls()
                now = time.monotonic()
                if now >= next_sweep:
                    self._sweep(now)
                    next_sweep = now + SWEEP_EVERY
                    if not self._accepting and not self._stopping:
                        self._set_accepting(True)  # a connection may be replaceable by now
        except Exception:  # pragma: no cover - a bug of ours: log it, do not hang stop()
            log.exception("server reactor failed")
        finally:
            self._set_accepting(False)
            # Idle connections close now; busy ones after their call (see _finish_calls).
            for conn in list(self._conns.values()):
                if not conn.busy:
                    self._close(conn)

    def _accept(self):
        for _ in range(_ACCEPT_BATCH):
            if len(self._conns) >= self.max_connections and not self._evict():
                self._set_accepting(False)  # all in calls: new peers wait in the backlog
                return
            try:
                sock, peer = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as ex:  # e.g. out of file descriptors: back off
                log.error("accept failed: %s", ex)
                time.sleep(0.05)
                return
            try:
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                sock.close()
                continue
            self._accepted += 1
            if self.transport == "auto":
                cutter = SniffingCutter(self.max_message_size)
            else:
                cutter = MessageCutter(self.transport != "buffered", self.protocol,
                                       self.max_message_size, self.transport)
            conn = _Conn(sock, peer, cutter, time.monotonic(), self._accepted)
            self._conns[sock] = conn
            self._set_reading(conn, True)

    def _evict(self):
        """Close a connection that can give way to a new one; False when none can."""
        victim = self.limits.victim(self._conns.values(), time.monotonic())
        if victim is None:
            return False
        log.info("connection from %s closed: the server is at max_connections=%d",
                 victim.peer, self.max_connections)
        self._close(victim)
        return True

    def _receive(self, conn):
        cutter = conn.cutter
        try:
            data = conn.sock.recv(_RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as ex:
            self._drop(conn, "connection lost: %s" % (ex,))
            return
        if not data:
            if cutter.pending:
                self._drop(conn, "peer closed the connection in the middle of a message "
                                 "(%d bytes received)" % cutter.pending)
            else:
                self._close(conn)
            return
        now = time.monotonic()
        conn.last_seen = now
        try:
            msgs = cutter.feed(data)
            if not msgs and cutter.deferred:
                msgs = self._drain_then_scan(conn)
        except TransportError as ex:
            self._drop(conn, str(ex))
            return
        if conn.closed:
            return
        conn.started = None if not cutter.pending else (conn.started or now)
        hog = self.limits.hog(self._conns.values(), cutter.pending)
        if hog is not None:
            self._drop(hog, "closed: incomplete requests of all connections exceed "
                            "max_buffered=%d bytes, and it held the most" % self.limits.max_buffered)
            if hog is conn:
                return
        if msgs:
            conn.inbox.extend(msgs)
            self._dispatch(conn)

    def _drain_then_scan(self, conn):
        # A big unframed message: take what is already here, then scan once.
        cutter = conn.cutter
        while True:
            try:
                data = conn.sock.recv(max(_RECV_SIZE, cutter.pending))
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            if not data:
                break
            msgs = cutter.feed(data)
            if msgs:
                return msgs
        return cutter.scan()

    def _dispatch(self, conn):
        """Give the connection's next request to a worker, if it has none in flight."""
        if conn.busy or not conn.inbox or self._stopping:
            return
        conn.busy = True
        self._set_reading(conn, False)  # the rest waits in the kernel: replies stay in order
        with self._idle:
            self._in_calls += 1
        self._jobs.put((conn, conn.inbox.popleft()))

    def _finish_calls(self):
        done = self._done
        while True:
            try:
                conn, ok = done.get_nowait()
            except queue.Empty:
                return
            conn.busy = False
            if not ok or conn.closed:
                self._close(conn)
                continue
            conn.last_seen = time.monotonic()
            if self._stopping:
                self._close(conn)
            elif conn.inbox:
                self._dispatch(conn)
            else:
                if conn.started is not None:
                    conn.started = conn.last_seen  # its clock stood still during the call
                self._set_reading(conn, True)
            if not self._accepting and not self._stopping:
                self._set_accepting(True)

    def _sweep(self, now):
        expired = self.limits.expired
        for conn in list(self._conns.values()):
            if conn.busy:
                continue
            why = expired(conn, now)
            if why == "idle":
                self._close(conn)
            elif why is not None:
                self._drop(conn, "%s (%d bytes received)" % (why, conn.cutter.pending))

    def _drop(self, conn, why):
        if not self._stopping:
            log.info("connection from %s: %s", conn.peer, why)
        self._close(conn)

    def _close(self, conn):
        """Close ``conn`` (reactor thread, or stop() once the reactor has ended)."""
        if conn.closed:
            return
        self._set_reading(conn, False)
        conn.closed = True
        self._conns.pop(conn.sock, None)
        if not conn.busy:
            _close_socket(conn.sock)
        else:
            _shutdown(conn.sock)  # its worker closes it once the call returns
        if not self._accepting and not self._stopping and self._listener is not None:
            self._set_accepting(True)

    # -- workers -----------------------------------------------------------------------

    def _answerer(self, transport, protocol):
        """``answer(request) -> bytes to send or None`` for a connection's transport and
        protocol (fixed by the server, or detected per connection with ``auto``)."""
        key = (transport, protocol)
        answer = self._answerers.get(key)
        if answer is None:
            if transport in HEADER_TRANSPORTS:
                answer = self._header_handler()
            else:
                handle = self.dispatcher.with_protocol(protocol).handle
                if transport == "framed":
                    def answer(msg, handle=handle):
                        reply = handle(msg)
                        return None if reply is None else (
                            len(reply).to_bytes(_FRAME_PREFIX, "big") + reply)
                else:
                    answer = handle
            self._answerers[key] = answer
        return answer

    def _work(self):
        jobs = self._jobs
        while True:
            job = jobs.get()
            if job is None:
                return
            conn, msg = job
            ok = False
            handle = self._answerer(conn.cutter.transport, conn.cutter.protocol)
            try:
                while True:
                    reply = handle(msg)
                    if reply is not None:
                        _send_all(conn.sock, reply, self.write_timeout)
                    if conn.inbox:
                        msg = conn.inbox.popleft()
                        continue
                    msg = self._linger(conn)
                    if msg is None:
                        break
                ok = not conn.closed
            except _PeerClosed:
                pass
            except BadMessage as ex:
                log.warning("connection from %s: %s", conn.peer, ex)
            except TransportError as ex:
                if not conn.closed:
                    log.info("connection from %s: %s", conn.peer, ex)
            except Exception:  # a bug of ours: keep the server alive, drop the connection
                log.exception("connection from %s: internal error", conn.peer)
            finally:
                if conn.closed:
                    _close_socket(conn.sock)
                self._done.put((conn, ok))
                self._wake()
                with self._idle:
                    self._in_calls -= 1
                    self._idle.notify_all()

    def _header_handler(self):
        """``handle(frame body) -> reply frame``: a THeader or TTHeader frame in (either
        kind: the magic says which), the reply in the same kind, sequence number,
        payload protocol and transforms, with the handler's response headers."""
        limit = self.max_message_size

        def handle(body):
            try:
                frame = decode_frame_body(body, limit)
            except ProtocolError as ex:
                raise BadMessage("bad header frame: %s" % (ex,)) from None
            dispatcher = self.dispatcher.with_protocol(frame.protocol)
            service = frame.headers.get(IDL_SERVICE) if frame.kind == TTHEADER else None
            reply, response = run_with_headers(
                lambda: dispatcher.handle(frame.payload, service), frame.headers,
                frame.int_headers)
            return None if reply is None else reply_frame(frame, reply, response)

        return handle

    def _linger(self, conn):
        """The connection's next request if it arrives within _LINGER seconds and no
        other request waits for a worker, else None (the reactor takes the
        connection back). A client calling in a loop then skips two thread hand-offs
        per call; a peer that stalls holds the worker for _LINGER at most."""
        cutter = conn.cutter
        deadline = time.monotonic() + _LINGER
        wait = None
        while not self._stopping and self._jobs.empty():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if wait is None:
                wait = _readable_waiter(conn.sock)
            if not wait(remaining):
                return None
            try:
                data = conn.sock.recv(_RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                raise _PeerClosed() from None
            if not data:
                raise _PeerClosed()
            now = conn.last_seen = time.monotonic()
            msgs = cutter.feed(data)  # TransportError: the connection closes
            conn.started = (conn.started or now) if cutter.pending else None
            if msgs:
                conn.inbox.extend(msgs[1:])
                return msgs[0]
        return None


class _PeerClosed(Exception):
    """The peer closed its connection while a worker held it (a normal end)."""


def _send_all(sock, data, timeout):
    """``sock.sendall`` on a non-blocking socket, giving up after ``timeout`` seconds
    without progress."""
    view = memoryview(data)
    poller = None
    while view:
        try:
            sent = sock.send(view)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as ex:
            raise TransportError("closed", "connection lost while sending: %s" % (ex,)) from None
        if sent:
            view = view[sent:]
            continue
        if poller is None:
            poller = _writable_waiter(sock)
        if not poller(timeout):
            raise TransportError("timeout", "the peer did not read the reply within "
                                 "write_timeout=%ss" % timeout)


def _writable_waiter(sock):
    """``wait(timeout) -> bool`` for ``sock`` becoming writable (poll: any fd number)."""
    return _waiter(sock, True)


def _readable_waiter(sock):
    return _waiter(sock, False)


def _waiter(sock, write):
    if hasattr(select, "poll"):
        p = select.poll()
        p.register(sock, select.POLLOUT if write else select.POLLIN)

        def wait(timeout):
            return bool(p.poll(None if timeout is None else timeout * 1000))
    else:  # pragma: no cover - Windows

        def wait(timeout):
            ready = select.select([], [sock], [], timeout)[1] if write else \
                select.select([sock], [], [], timeout)[0]
            return bool(ready)
    return wait


def _shutdown(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _close_socket(sock):
    try:
        sock.close()
    except OSError:  # pragma: no cover
        pass
