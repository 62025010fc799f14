"""``asyncio`` server and client.

Server::

    server = AsyncServer(Echo.Processor(handler), port=9090)
    await server.start()
    ...
    await server.stop(timeout=5)   # graceful

Handler methods may be ``async def`` (awaited on the loop) or plain functions
(run inline on the loop by default -- right for quick handlers; pass
``sync_handlers="thread"`` to run them in a thread pool instead). Calls that
arrive on one connection run concurrently, and their replies are written in
request order (Apache clients on a connection may rely on that); a slow call
therefore delays later replies *of its own connection* only. With
``ordered_replies=False`` each reply is written as soon as it is ready (right
for clients that match replies by sequence id, as ours do; Apache's blocking
clients never have two calls in flight, so they cannot tell). Each connection
has at most ``max_pending`` calls in flight; beyond that it stops reading, as
it does while its peer does not take its replies. The limits of
:mod:`~thriftgen.runtime.rpc.limits` (``message_timeout``, ``idle_timeout``,
``write_timeout``, ``max_connections``) are on by default; at
``max_connections``, when no connection can give way, a new one is closed at
once.

Client::

    channel = await connect_async("127.0.0.1", 9090, timeout=5)
    client = Echo.AsyncClient(channel)
    replies = await asyncio.gather(*(client.echo(req) for req in requests))
    await channel.close()

Calls on one channel may be concurrent: replies are matched to calls by
sequence id. A call that times out fails alone; the channel stays usable (its
late reply is dropped when it arrives).
"""

import asyncio
import contextvars
import functools
import itertools
import logging
import socket
import time
from collections import deque

from .. import decode_struct
from ..errors import ApplicationError, ProtocolError
from ..service import reply_problem
from ..ttype import MessageType
from ._codec import encode as encode_message
from ._codec import header as decode_message_header
from .dispatch import BadMessage, Dispatcher
from .errors import TransportError
from .framing import (DEFAULT_MAX_MESSAGE_SIZE, HEADER_TRANSPORTS, MessageCutter, SniffingCutter,
                      check_options)
from .header import TTHEADER, decode_frame_body, reply_frame
from .metadata import IDL_SERVICE
from .metadata import enter as metadata_enter
from .metadata import leave as metadata_leave
from .metadata import well_known as metadata_well_known
from .client import HeadersView, frame_call, header_options
from .limits import SWEEP_EVERY, ConnectionLimits

__all__ = ["AsyncServer", "AsyncChannel", "connect_async"]

log = logging.getLogger("thriftgen.rpc")

_CALL = MessageType.CALL
_ONEWAY = MessageType.ONEWAY
_EXCEPTION = MessageType.EXCEPTION


def _same(reply):
    return reply


def _caller_timeout():
    """The caller's RPC timeout (TTHeader's ``rpc_timeout``, milliseconds) in seconds:
    it bounds an async handler's time (a sync one cannot be interrupted)."""
    text = metadata_well_known("rpc_timeout")
    try:
        ms = int(text) if text is not None else 0
    except ValueError:
        return None
    return ms / 1000 if ms > 0 else None


class _Framer:
    """Wraps a reply in the header frame its request came in, with the handler's
    response headers (:func:`~thriftgen.runtime.rpc.header.reply_frame`)."""

    __slots__ = ("frame", "response")

    def __init__(self, frame, response):
        self.frame, self.response = frame, response

    def wrap(self, reply):
        return None if reply is None else reply_frame(self.frame, reply, self.response)


def _frame_prefix(n):
    return n.to_bytes(4, "big", signed=True)


class _Stream(asyncio.Protocol):
    """What the server and client connections share: cutting, writing, flow control."""

    def __init__(self, transport_kind, protocol, max_message_size):
        if transport_kind == "auto":
            self.cutter = SniffingCutter(max_message_size)
        else:
            self.cutter = MessageCutter(transport_kind != "buffered", protocol, max_message_size,
                                        transport_kind)
        self.transport = None
        self.loop = None
        self._scan_pending = False
        self._write_paused = False
        self._drain_waiters = []

    def connection_made(self, transport):
        self.transport = transport
        self.loop = asyncio.get_running_loop()
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover
                pass

    def data_received(self, data):
        cutter = self.cutter
        try:
            msgs = cutter.feed(data)
        except TransportError as ex:
            self.stream_failed(ex)
            return
        for msg in msgs:
            if self.transport is None or self.transport.is_closing():
                return  # a message before this one ended the connection
            self.message_received(msg)
        if cutter.deferred and not self._scan_pending:
            # A big unframed message: scan once the bytes that are already here are in.
            self._scan_pending = True
            self.loop.call_soon(self._deferred_scan, cutter.pending)

    def _deferred_scan(self, seen):
        self._scan_pending = False
        cutter = self.cutter
        if self.transport is None or self.transport.is_closing() or not cutter.deferred:
            return
        if cutter.pending != seen:  # still arriving: look again after this batch
            self._scan_pending = True
            self.loop.call_soon(self._deferred_scan, cutter.pending)
            return
        try:
            msgs = cutter.scan()
        except TransportError as ex:
            self.stream_failed(ex)
            return
        for msg in msgs:
            self.message_received(msg)

    def write_message(self, msg):
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self.cutter.transport == "framed":  # header frames carry their LENGTH already
            transport.write(_frame_prefix(len(msg)) + msg)
        else:
            transport.write(msg)

    def pause_writing(self):
        self._write_paused = True

    def resume_writing(self):
        self._write_paused = False
        waiters, self._drain_waiters = self._drain_waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    async def drain(self):
        if self._write_paused and self.transport is not None and not self.transport.is_closing():
            waiter = self.loop.create_future()
            self._drain_waiters.append(waiter)
            await waiter

    def connection_lost(self, exc):
        self.resume_writing()  # release drain() waiters

    # overridden
    def message_received(self, msg):  # pragma: no cover
        raise NotImplementedError

    def stream_failed(self, error):  # pragma: no cover
        raise NotImplementedError


# --------------------------------------------------------------------------- server


class _ServerConnection(_Stream):
    def __init__(self, server):
        super().__init__(server.transport, server.protocol, server.max_message_size)
        self.server = server
        self.dispatcher = server.dispatcher
        self.peer = None
        self.replies = deque()  # reply bytes / None / pending tasks, in request order
        self.tasks = set()
        self.unordered = set()  # calls in flight whose replies go out as soon as ready
        self.reading = True
        self.idle = None  # asyncio.Event, created when someone waits for it
        # for the limits (see limits.py): monotonic seconds
        self.last_seen = time.monotonic()
        self.started = None
        self.write_blocked = None
        server._accepted += 1
        self.number = server._accepted

    @property
    def in_call(self):
        return bool(self.tasks or self.replies or self.unordered)

    def connection_made(self, transport):
        super().connection_made(transport)
        self.peer = transport.get_extra_info("peername")
        server = self.server
        if server._stopping:
            transport.close()
            return
        if len(server._conns) >= server.limits.max_connections:
            victim = server.limits.victim(server._conns, time.monotonic())
            if victim is None:
                log.info("connection from %s refused: the server is at max_connections=%d "
                         "and every connection is busy", self.peer, server.limits.max_connections)
                transport.abort()
                return
            log.info("connection from %s closed: the server is at max_connections=%d",
                     victim.peer, server.limits.max_connections)
            victim.abort()
        server._conns.add(self)

    def connection_lost(self, exc):
        super().connection_lost(exc)
        self.server._conns.discard(self)
        self.transport = None
        self._check_idle()

    def data_received(self, data):
        now = self.last_seen = time.monotonic()
        super().data_received(data)
        pending = self.cutter.pending
        self.started = (self.started or now) if pending else None
        server = self.server
        hog = server.limits.hog(server._conns, pending)
        if hog is not None:
            log.info("connection from %s closed: incomplete requests of all connections "
                     "exceed max_buffered=%d bytes, and it held the most", hog.peer,
                     server.limits.max_buffered)
            hog.abort()

    def write_message(self, msg):
        self.last_seen = time.monotonic()
        super().write_message(msg)

    def pause_writing(self):
        # The peer does not take its replies: read no more requests from it, and
        # give it write_timeout to catch up (see limits.py).
        super().pause_writing()
        self.write_blocked = time.monotonic()
        if self.reading and self.transport is not None:
            self.reading = False
            self.transport.pause_reading()

    def resume_writing(self):
        super().resume_writing()
        self.write_blocked = None
        self._maybe_resume_reading()

    def _maybe_resume_reading(self):
        if (not self.reading and not self.server._stopping and self.transport is not None
                and not self._write_paused
                and len(self.replies) + len(self.unordered) < self.server.max_pending // 2 + 1):
            self.reading = True
            self.transport.resume_reading()

    def stream_failed(self, error):
        log.info("connection from %s: %s", self.peer, error)
        self.transport.abort()

    def message_received(self, msg):
        cutter = self.cutter
        if cutter.transport not in HEADER_TRANSPORTS:
            self._handle(msg, self.dispatcher.with_protocol(cutter.protocol), None, None)
            return
        try:
            frame = decode_frame_body(msg, self.server.max_message_size)
        except ProtocolError as ex:
            log.warning("connection from %s: bad header frame: %s", self.peer, ex)
            self.transport.abort()
            return
        service = frame.headers.get(IDL_SERVICE) if frame.kind == TTHEADER else None
        token, response = metadata_enter(frame.headers, frame.int_headers)
        try:
            self._handle(frame.payload, self.dispatcher.with_protocol(frame.protocol), service,
                         _Framer(frame, response))
        finally:
            metadata_leave(token)

    def _handle(self, msg, dispatcher, service, framer):
        """One request: answered at once, or by a task; ``framer`` wraps the reply in
        the request's header frame (None: no header transport)."""
        try:
            call, reply = dispatcher.begin(msg, service)
        except BadMessage as ex:
            log.warning("connection from %s: %s", self.peer, ex)
            self.transport.abort()
            return
        wrap = framer.wrap if framer is not None else _same
        if call is None:
            if reply is not None:
                self._push(wrap(reply))
            return
        method = call.method
        if method is not None and call.is_async:
            task = self.loop.create_task(self._run_async(call, dispatcher, wrap))
        elif method is not None and self.server.sync_in_thread:
            task = self.loop.create_task(self._run_in_thread(call, dispatcher, wrap))
        else:
            self._push(wrap(self._run_inline(call, dispatcher)))
            return
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        if call.wants_reply:
            if self.server.ordered_replies:
                self.replies.append(task)
            else:
                self.unordered.add(task)
            if (len(self.replies) + len(self.unordered) >= self.server.max_pending
                    and self.reading):
                self.reading = False
                self.transport.pause_reading()

    def _run_inline(self, call, dispatcher):
        try:
            if call.method is None:
                raise AttributeError("the handler has no method %r" % call.fn.py_name)
            value = call.method(*call.arguments())
        except Exception as ex:
            return dispatcher.finish(call, None, ex)
        return dispatcher.finish(call, value)

    async def _run_async(self, call, dispatcher, wrap):
        timeout = _caller_timeout()
        try:
            if timeout is None:
                value = await call.method(*call.arguments())
            else:
                value = await asyncio.wait_for(call.method(*call.arguments()), timeout)
        except asyncio.TimeoutError:
            return wrap(dispatcher.finish(call, None, ApplicationError(
                ApplicationError.INTERNAL_ERROR, "%s did not finish within the caller's "
                "rpc_timeout of %g ms" % (call.fn.name, timeout * 1000))))
        except Exception as ex:
            return wrap(dispatcher.finish(call, None, ex))
        return wrap(dispatcher.finish(call, value))

    async def _run_in_thread(self, call, dispatcher, wrap):
        # The handler's thread gets this call's context (its headers) too.
        run = contextvars.copy_context().run
        try:
            value = await self.loop.run_in_executor(
                self.server.executor, functools.partial(run, call.method, *call.arguments()))
        except Exception as ex:
            return wrap(dispatcher.finish(call, None, ex))
        return wrap(dispatcher.finish(call, value))

    def _push(self, reply):
        if reply is None:
            return
        if self.replies:
            self.replies.append(reply)
        else:
            self.write_message(reply)

    def _task_done(self, task):
        self.tasks.discard(task)
        if task in self.unordered:
            self.unordered.discard(task)
            self._write_task_reply(task)
        replies = self.replies
        while replies:
            head = replies[0]
            if isinstance(head, bytes):
                replies.popleft()
                self.write_message(head)
            elif head.done():
                replies.popleft()
                self._write_task_reply(head)
            else:
                break
        self._maybe_resume_reading()
        self._check_idle()

    def _write_task_reply(self, task):
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:  # a bug of ours; the traceback is worth having
            log.error("internal error on %s", self.peer, exc_info=exc)
            return
        reply = task.result()
        if reply is not None:
            self.write_message(reply)

    def _check_idle(self):
        if self.idle is not None and not self.tasks and not self.replies:
            self.idle.set()

    async def finish(self):
        """Stop reading, wait for the in-flight calls, close (graceful stop)."""
        transport = self.transport
        if transport is not None and self.reading:
            self.reading = False
            transport.pause_reading()
        if self.tasks or self.replies:
            self.idle = asyncio.Event()
            self._check_idle()
            await self.idle.wait()
        if self.transport is not None:
            self.transport.close()

    def abort(self):
        for task in list(self.tasks):
            task.cancel()
        if self.transport is not None:
            self.transport.abort()


class AsyncServer:
    """Serves generated processors on the running event loop (see the module doc).

    ``services`` / ``default`` are what
    :class:`~thriftgen.runtime.rpc.dispatch.Dispatcher` takes.
    """

    def __init__(self, services, host="127.0.0.1", port=0, *, transport="buffered",
                 protocol="binary", default=None, sync_handlers="inline", executor=None,
                 ordered_replies=True, max_pending=64, max_connections=None,
                 idle_timeout=300.0, message_timeout=30.0, write_timeout=30.0,
                 max_buffered=None, max_message_size=DEFAULT_MAX_MESSAGE_SIZE, backlog=128):
        check_options("framed" if transport == "auto" else transport, protocol, max_message_size)
        if sync_handlers not in ("inline", "thread"):
            raise ValueError("sync_handlers must be 'inline' or 'thread'")
        self.limits = ConnectionLimits(max_connections, idle_timeout, message_timeout,
                                       write_timeout, max_buffered, max_message_size)
        self._accepted = 0
        self._sweeper = None
        self.dispatcher = Dispatcher(services, protocol, default)
        self.host, self._port = host, port
        self.transport, self.protocol = transport, protocol
        self.sync_in_thread = sync_handlers == "thread"
        self.executor = executor
        self.ordered_replies = ordered_replies
        self.max_pending = max(1, max_pending)
        self.max_message_size = max_message_size
        self.backlog = backlog
        self._server = None
        self._address = None
        self._conns = set()
        self._stopping = False
        self._closed = None

    @property
    def address(self):
        if self._address is None:
            raise RuntimeError("the server is not started")
        return self._address

    @property
    def port(self):
        return self.address[1]

    async def start(self):
        """Bind and start serving on the running loop; returns ``self``."""
        if self._server is not None:
            raise RuntimeError("the server is already started")
        loop = asyncio.get_running_loop()
        self._closed = loop.create_future()
        self._server = await loop.create_server(
            lambda: _ServerConnection(self), self.host, self._port, backlog=self.backlog,
            reuse_address=True)
        self._address = self._server.sockets[0].getsockname()[:2]
        self._sweeper = loop.call_later(SWEEP_EVERY, self._sweep)
        return self

    def _sweep(self):
        """Close the connections whose limits ran out (see limits.py); every SWEEP_EVERY s."""
        now = time.monotonic()
        expired = self.limits.expired
        for conn in list(self._conns):
            why = expired(conn, now)
            if why is None or conn.transport is None:
                continue
            if why != "idle":
                log.info("connection from %s: %s (%d bytes received)", conn.peer, why,
                         conn.cutter.pending)
            conn.abort()
        if not self._stopping:
            self._sweeper = asyncio.get_running_loop().call_later(SWEEP_EVERY, self._sweep)

    async def serve_forever(self):
        """Start (if needed) and wait until :meth:`stop` completes."""
        if self._server is None:
            await self.start()
        await asyncio.shield(self._closed)

    async def stop(self, timeout=5.0):
        """Stop accepting, finish in-flight calls (at most ``timeout`` s), close.

        Returns True when every in-flight call finished in time; the others are
        cancelled and their connections aborted.
        """
        if self._server is None:
            return True
        if self._stopping:
            await asyncio.shield(self._closed)
            return True
        self._stopping = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._server.close()
        conns = list(self._conns)
        clean = True
        if conns:
            done, pending = await asyncio.wait(
                [asyncio.ensure_future(c.finish()) for c in conns], timeout=timeout)
            if pending:
                clean = False
                log.warning("stop: %d connection(s) still busy after %ss", len(pending), timeout)
                for task in pending:
                    task.cancel()
                for c in conns:
                    c.abort()
        try:
            await asyncio.wait_for(self._server.wait_closed(), 1.0)
        except asyncio.TimeoutError:  # pragma: no cover
            pass
        if not self._closed.done():
            self._closed.set_result(None)
        return clean

    async def __aenter__(self):
        if self._server is None:
            await self.start()
        return self

    async def __aexit__(self, *exc):
        await self.stop()


# --------------------------------------------------------------------------- client


class _ClientConnection(_Stream):
    def __init__(self, transport_kind, protocol, max_message_size, peer, headers=None,
                 int_headers=None):
        super().__init__(transport_kind, protocol, max_message_size)
        self.protocol = protocol
        self.peer = peer
        self.pending = {}  # seqid -> (future, name, result_cls, prefix)
        self.seqids = itertools.count(1)
        self.error = None
        self.header_kind = transport_kind if transport_kind in HEADER_TRANSPORTS else None
        self.headers = dict(headers or {})  # sent with every call (header transports)
        self.int_headers = dict(int_headers or {})  # TTHeader's integer keys
        self.response_headers = {}  # of the latest reply
        self.max_size = max_message_size

    def frame(self, msg, seqid):
        """``msg`` as the connection sends it (in a header frame, for header transports)."""
        if self.header_kind is None:
            return msg
        return frame_call(self, msg, seqid)

    def message_received(self, msg):
        if self.header_kind is not None:
            try:
                frame = decode_frame_body(msg, self.max_size)
            except ProtocolError as ex:
                self.stream_failed(TransportError("bad_data", "bad %s reply frame: %s"
                                                  % (self.header_kind, ex)))
                return
            self.response_headers = frame.headers
            msg = frame.payload
        protocol = self.protocol
        try:
            rname, mtype, seqid, pos = decode_message_header(msg, protocol)
        except ProtocolError as ex:
            self.stream_failed(TransportError("bad_data", "undecodable reply header: %s" % ex))
            return
        entry = self.pending.pop(seqid, None)
        if entry is None:
            log.debug("%s: dropped a reply with unknown sequence id %d (timed out?)",
                      self.peer, seqid)
            return
        fut, name, result_cls, prefix = entry
        if fut.done():
            return
        try:
            if mtype == _EXCEPTION:
                fut.set_exception(decode_struct(ApplicationError, msg, pos, protocol)[0])
                return
            problem = reply_problem(name, seqid, rname, mtype, seqid, prefix)
            if problem is not None:
                fut.set_exception(problem)
                return
            fut.set_result(decode_struct(result_cls, msg, pos, protocol)[0])
        except ProtocolError as ex:
            fut.set_exception(ex)

    def stream_failed(self, error):
        self._fail(error)
        self.transport.abort()

    def _fail(self, error):
        if self.error is None:
            self.error = error
        pending, self.pending = self.pending, {}
        for fut, *_ in pending.values():
            if not fut.done():
                fut.set_exception(error)

    def connection_lost(self, exc):
        super().connection_lost(exc)
        partial = self.cutter.pending
        if exc is not None:
            reason = "connection lost: %s" % exc
        elif partial:
            reason = ("peer closed the connection in the middle of a message (%d bytes "
                      "received)" % partial)
        else:
            reason = "peer closed the connection"
        self._fail(TransportError("closed", reason, clean=exc is None and not partial))

    def expire(self, seqid, timeout):
        entry = self.pending.pop(seqid, None)
        if entry is not None and not entry[0].done():
            entry[0].set_exception(TransportError(
                "timeout", "%s: no reply within %ss" % (entry[1], timeout)))


_DEFAULT = object()


class AsyncChannel(HeadersView):
    """Calls over one connection, several at a time (see the module doc)."""

    _tg_is_async_channel = True

    __slots__ = ("_conn", "service", "_prefix", "timeout")

    def __init__(self, connection, service=None, timeout=None):
        self._conn = connection
        self.service = service
        self._prefix = service + ":" if service else ""
        self.timeout = timeout

    @property
    def protocol(self):
        return self._conn.protocol

    @property
    def closed(self):
        return self._conn.error is not None

    def for_service(self, service):
        """A channel on the same connection whose calls go to ``service`` (multiplexed)."""
        return AsyncChannel(self._conn, service, self.timeout)

    async def call(self, name, args, result_cls, oneway=False, timeout=_DEFAULT):
        """Send call ``name``; return the decoded ``result_cls`` (None for oneway)."""
        conn = self._conn
        if conn.error is not None:
            raise TransportError("closed", "the channel is closed (%s)" % conn.error)
        seqid = next(conn.seqids) & 0x7FFFFFFF
        prefix = self._prefix
        msg = conn.frame(encode_message(prefix + name if prefix else name,
                                        _ONEWAY if oneway else _CALL, seqid, args, conn.protocol),
                         seqid)
        if oneway:
            conn.write_message(msg)
            await conn.drain()
            return None
        loop = conn.loop
        fut = loop.create_future()
        conn.pending[seqid] = (fut, name, result_cls, prefix)
        conn.write_message(msg)
        if conn._write_paused:
            await conn.drain()
        if timeout is _DEFAULT:
            timeout = self.timeout
        timer = loop.call_later(timeout, conn.expire, seqid, timeout) if timeout else None
        try:
            return await fut
        finally:
            if timer is not None:
                timer.cancel()
            if not fut.done() or fut.cancelled():
                conn.pending.pop(seqid, None)

    async def close(self):
        conn = self._conn
        conn._fail(TransportError("closed", "closed by this side"))
        if conn.transport is not None:
            conn.transport.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()


async def connect_async(host, port, *, transport="buffered", protocol="binary", service=None,
                        timeout=None, connect_timeout=None,
                        max_message_size=DEFAULT_MAX_MESSAGE_SIZE, headers=None,
                        int_headers=None):
    """Open an :class:`AsyncChannel` to ``host:port``.

    ``timeout`` is the default per-call reply timeout (seconds, None = none),
    ``connect_timeout`` bounds the TCP connect (default: ``timeout``). ``headers``:
    sent with every call over a header transport (``channel.headers``); over
    ``ttheader`` ``service`` is sent as the ``isn`` header.
    """
    check_options(transport, protocol, max_message_size)
    _, headers, service = header_options(transport, headers, int_headers, service)
    loop = asyncio.get_running_loop()
    if connect_timeout is None:
        connect_timeout = timeout
    factory = functools.partial(_ClientConnection, transport, protocol, max_message_size,
                                (host, port), headers, int_headers)
    try:
        _, conn = await asyncio.wait_for(loop.create_connection(factory, host, port),
                                         connect_timeout)
    except asyncio.TimeoutError:
        raise TransportError("connect", "cannot connect to %s:%s: timed out" % (host, port)) \
            from None
    except OSError as ex:
        raise TransportError("connect", "cannot connect to %s:%s: %s"
                             % (host, port, ex.strerror or ex)) from None
    return AsyncChannel(conn, service, timeout)
