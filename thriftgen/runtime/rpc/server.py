"""The threaded server: one worker thread per connection, at most ``max_connections``.

::

    server = ThreadedServer(Echo.Processor(handler), port=9090, transport="framed")
    server.start()          # binds, serves in background threads
    ...
    server.stop(timeout=5)  # graceful: stop accepting, finish in-flight calls

or ``with ThreadedServer(...) as server:`` / ``server.serve_forever()``.

Each accepted connection is served by its own thread: read a message, run
the handler, write the reply, repeat -- Apache's ``TThreadedServer`` model,
with the number of such workers bounded by ``max_connections``. When every worker is
busy, new connections wait in the listen backlog (they are accepted as soon as
a worker frees up), so a slow handler holds exactly one worker and never more.
``idle_timeout`` closes connections that send nothing for that long, so idle
clients cannot hold workers forever.

Failures stay on their connection: garbage, an oversized frame or a peer that
vanishes mid-message close that connection (logged on ``thriftgen.rpc``),
a handler exception becomes an application error on the wire.
"""

import logging
import selectors
import socket
import threading
import time

from .dispatch import BadMessage, Dispatcher
from .errors import TransportError
from .framing import DEFAULT_MAX_MESSAGE_SIZE, SocketStream, check_options

__all__ = ["ThreadedServer"]

log = logging.getLogger("thriftgen.rpc")


class _Conn:
    __slots__ = ("sock", "peer", "busy", "lock", "thread")

    def __init__(self, sock, peer):
        self.sock = sock
        self.peer = peer
        self.busy = False
        self.lock = threading.Lock()
        self.thread = None


class ThreadedServer:
    """Serves generated processors over TCP with a bounded pool of worker threads.

    ``services`` is what :class:`~thriftgen.runtime.rpc.dispatch.Dispatcher`
    takes: one ``Processor``, a list of them (multiplexed), or a dict
    ``{service name: processor}``; ``default`` serves unprefixed names on a
    multiplexed server.
    """

    def __init__(self, services, host="127.0.0.1", port=0, *, transport="buffered",
                 protocol="binary", default=None, max_connections=64, idle_timeout=None,
                 max_message_size=DEFAULT_MAX_MESSAGE_SIZE, backlog=128):
        check_options(transport, protocol, max_message_size)
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.dispatcher = Dispatcher(services, protocol, default)
        self.host, self._port = host, port
        self.transport, self.protocol = transport, protocol
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.max_message_size = max_message_size
        self.backlog = backlog
        self._listener = None
        self._address = None
        self._selector = None
        self._wake_r = self._wake_w = None
        self._accept_thread = None
        self._slots = threading.BoundedSemaphore(max_connections)
        self._conns = set()
        self._lock = threading.Lock()
        self._stopping = False
        self._stopped = threading.Event()

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
        self._selector = selectors.DefaultSelector()
        self._selector.register(listener, selectors.EVENT_READ)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True,
                                               name="thriftgen-accept-%d" % self.port)
        self._accept_thread.start()
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
        self._stopping = True
        try:
            self._wake_w.send(b"x")
        except OSError:  # pragma: no cover
            pass
        self._accept_thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with conn.lock:
                if not conn.busy:
                    _shutdown(conn.sock, socket.SHUT_RD)  # wakes its idle read
        clean = True
        for conn in conns:
            thread = conn.thread
            if thread is not None:
                thread.join(max(0.0, deadline - time.monotonic()))
                if thread.is_alive():
                    clean = False
                    log.warning("stop: a call on %s did not finish in time", conn.peer)
                    _shutdown(conn.sock, socket.SHUT_RDWR)
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

    # -- threads -----------------------------------------------------------------------

    def _accept_loop(self):
        while not self._stopping:
            # Take a worker slot first: while all are busy, connections wait in the backlog.
            if not self._slots.acquire(timeout=0.25):
                continue
            accepted = self._accept_one()
            if accepted is None:
                self._slots.release()
                continue
            self._spawn(*accepted)

    def _accept_one(self):
        """Wait for a connection; None once the server is stopping."""
        listener = self._listener
        while not self._stopping:
            for key, _ in self._selector.select():
                if key.fileobj is not listener:
                    continue
                try:
                    return listener.accept()
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError as ex:  # e.g. out of file descriptors: back off
                    log.error("accept failed: %s", ex)
                    time.sleep(0.05)
        return None

    def _spawn(self, sock, peer):
        try:
            sock.setblocking(True)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self.idle_timeout)
        except OSError:
            sock.close()
            self._slots.release()
            return
        conn = _Conn(sock, peer)
        with self._lock:
            self._conns.add(conn)
        thread = threading.Thread(target=self._serve, args=(conn,), daemon=True,
                                  name="thriftgen-conn-%s:%s" % peer[:2])
        conn.thread = thread
        thread.start()

    def _serve(self, conn):
        stream = SocketStream(conn.sock, self.transport, self.protocol, self.max_message_size)
        handle = self.dispatcher.handle
        try:
            while not self._stopping:
                try:
                    msg = stream.read_message()
                except TransportError as ex:
                    if not ex.clean and not self._stopping:
                        log.info("connection from %s: %s", conn.peer, ex)
                    break
                with conn.lock:
                    conn.busy = True
                try:
                    reply = handle(msg)
                except BadMessage as ex:
                    log.warning("connection from %s: %s", conn.peer, ex)
                    break
                except Exception:  # a bug of ours: keep the server alive, drop the connection
                    log.exception("connection from %s: internal error", conn.peer)
                    break
                if reply is not None:
                    try:
                        stream.write_message(reply)
                    except TransportError as ex:
                        log.info("connection from %s: %s", conn.peer, ex)
                        break
                with conn.lock:
                    conn.busy = False
        finally:
            stream.close()
            with self._lock:
                self._conns.discard(conn)
            self._slots.release()


def _shutdown(sock, how):
    try:
        sock.shutdown(how)
    except OSError:
        pass
