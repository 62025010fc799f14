"""Blocking client side: :func:`connect` opens a :class:`Channel`.

A channel carries whole messages over one TCP connection. Generated clients
use it directly::

    from thriftgen.runtime import rpc
    from echo import Echo

    with rpc.connect("127.0.0.1", 9090, transport="framed", timeout=5) as channel:
        client = Echo.Client(channel)
        print(client.echo(EchoRequest(message="hi")))

For a multiplexed server, name the service: ``connect(..., service="Echo")``,
or take per-service views of one connection with
:meth:`Channel.for_service`.

Header transports (``transport="header"``: Apache's THeader; ``"ttheader"``:
Kitex's TTHeader) wrap each message in a frame with string headers: the channel
sends ``channel.headers`` with every call and keeps the last reply's in
``channel.response_headers`` (see :mod:`thriftgen.runtime.rpc.metadata`).

A channel is not thread-safe (one call at a time, as with Apache's clients).
After a timeout or a transport error the channel is closed: a late reply would
otherwise be read as the answer to the next call.
"""

import itertools
import socket

from .. import decode_struct
from ..errors import ApplicationError, ProtocolError
from ..service import reply_problem
from ..ttype import MessageType
from ._codec import encode as encode_message
from ._codec import header as decode_message_header
from .errors import TransportError
from .framing import DEFAULT_MAX_MESSAGE_SIZE, HEADER_TRANSPORTS, SocketStream, check_options
from .header import HeaderFrame, decode_frame_body, encode_frame
from .metadata import propagated

__all__ = ["Channel", "connect", "open_socket"]

_CALL = MessageType.CALL
_ONEWAY = MessageType.ONEWAY
_EXCEPTION = MessageType.EXCEPTION


def open_socket(host, port, connect_timeout=None, timeout=None):
    """A connected TCP socket with ``TCP_NODELAY``; raises ``TransportError('connect')``."""
    try:
        sock = socket.create_connection((host, port), timeout=connect_timeout)
    except socket.timeout:
        raise TransportError("connect", "cannot connect to %s:%s: timed out" % (host, port)) \
            from None
    except OSError as ex:
        raise TransportError("connect", "cannot connect to %s:%s: %s"
                             % (host, port, ex.strerror or ex)) from None
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # pragma: no cover - not TCP
        pass
    sock.settimeout(timeout)
    return sock


class _Connection:
    __slots__ = ("stream", "protocol", "seqids", "error", "peer", "header_kind", "headers",
                 "int_headers", "response_headers", "max_size")

    def __init__(self, stream, protocol, peer, header_kind=None, headers=None,
                 max_size=DEFAULT_MAX_MESSAGE_SIZE, int_headers=None):
        self.stream = stream
        self.protocol = protocol
        self.seqids = itertools.count(1)
        self.error = None  # why the connection is unusable
        self.peer = peer
        self.header_kind = header_kind  # "header" / "ttheader", or None
        self.headers = dict(headers or {})  # sent with every call (header transports)
        self.int_headers = dict(int_headers or {})  # TTHeader's integer keys
        self.response_headers = {}  # of the last reply
        self.max_size = max_size

    def fail(self, error):
        if self.error is None:
            self.error = error
            self.stream.close()
        return error


class HeadersView:
    """The header-transport side of a channel (``_conn`` holds the dicts)."""

    __slots__ = ()

    @property
    def headers(self):
        """Headers sent with every call (header transports; a dict you may change)."""
        return self._conn.headers

    @property
    def response_headers(self):
        """The headers of the latest reply (header transports)."""
        return self._conn.response_headers


class Channel(HeadersView):
    """Sends calls and reads replies on one connection (see the module doc)."""

    _tg_is_channel = True  # ClientBase switches to the message-level path on it

    __slots__ = ("_conn", "service", "_prefix")

    def __init__(self, connection, service=None):
        self._conn = connection
        self.service = service
        self._prefix = service + ":" if service else ""

    @property
    def protocol(self):
        return self._conn.protocol

    @property
    def closed(self):
        return self._conn.error is not None

    def for_service(self, service):
        """A channel on the same connection whose calls go to ``service`` (multiplexed)."""
        return Channel(self._conn, service)

    def call(self, name, args, result_cls, oneway=False):
        """Send call ``name`` with ``args``; return the decoded ``result_cls`` (None if oneway).

        Raises :class:`ApplicationError` for an EXCEPTION reply or a reply that
        does not match, :class:`TransportError` when the connection fails.
        """
        seqid = next(self._conn.seqids) & 0x7FFFFFFF
        self.send_message(name, _ONEWAY if oneway else _CALL, seqid, args)
        if oneway:
            return None
        return self.recv_reply(name, seqid, result_cls)

    def send_message(self, name, mtype, seqid, args):
        conn = self._conn
        if conn.error is not None:
            raise TransportError("closed", "the channel is closed (%s)" % conn.error)
        msg = encode_message(self._prefix + name if self._prefix else name, mtype, seqid, args,
                             conn.protocol)
        if conn.header_kind is not None:
            msg = frame_call(conn, msg, seqid)
        try:
            conn.stream.write_message(msg)
        except TransportError as ex:
            raise conn.fail(ex)

    def recv_reply(self, name, seqid, result_cls):
        conn = self._conn
        if conn.error is not None:
            raise TransportError("closed", "the channel is closed (%s)" % conn.error)
        try:
            msg = conn.stream.read_message()
            if conn.header_kind is not None:
                msg = self._unwrap(msg)
        except TransportError as ex:
            raise conn.fail(ex)
        protocol = conn.protocol
        rname, mtype, rseqid, pos = decode_message_header(msg, protocol)
        if mtype == _EXCEPTION:
            error = decode_struct(ApplicationError, msg, pos, protocol)[0]
            if rseqid != seqid:
                error = ApplicationError(ApplicationError.BAD_SEQUENCE_ID,
                                         "%s: exception reply has sequence id %r, expected %r"
                                         % (name, rseqid, seqid))
            raise error
        problem = reply_problem(name, seqid, rname, mtype, rseqid, self._prefix)
        if problem is not None:
            raise problem
        return decode_struct(result_cls, msg, pos, protocol)[0]

    def _unwrap(self, body):
        conn = self._conn
        try:
            frame = decode_frame_body(body, conn.max_size)
        except ProtocolError as ex:
            raise TransportError("bad_data", "bad %s reply frame: %s" % (conn.header_kind, ex)) \
                from None
        if frame.protocol != conn.protocol:
            raise TransportError("bad_data", "the reply is %s, the call was %s"
                                 % (frame.protocol, conn.protocol))
        conn.response_headers = frame.headers
        return frame.payload

    def close(self):
        self._conn.fail(TransportError("closed", "closed by this side"))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        state = "closed" if self.closed else "open"
        svc = ", service=%r" % self.service if self.service else ""
        return "<Channel %s:%s %s%s>" % (self._conn.peer + (state, svc))


def frame_call(conn, msg, seqid):
    """A call message in its header frame: the channel's headers, and the persistent
    metainfo of the call being handled when this call is made from a handler."""
    headers = conn.headers
    inherited = propagated()
    if inherited:
        headers = dict(inherited, **headers)
    ints = conn.int_headers if conn.header_kind == "ttheader" else None
    return encode_frame(HeaderFrame(msg, kind=conn.header_kind, seqid=seqid,
                                    protocol=conn.protocol, headers=headers, int_headers=ints))


def header_options(transport, headers, int_headers, service):
    """``(header kind or None, headers, service)`` of a new channel, checked. Over
    TTHeader the target service is named in the ``isn`` header, as Kitex does,
    instead of in the message name."""
    kind = transport if transport in HEADER_TRANSPORTS else None
    if headers and kind is None:
        raise ValueError("headers need a header transport ('header' or 'ttheader')")
    if int_headers and kind != "ttheader":
        raise ValueError("integer-key headers are TTHeader's (transport='ttheader')")
    if kind == "ttheader" and service:
        return kind, dict(headers or {}, isn=service), None
    return kind, headers, service


def connect(host, port, *, transport="buffered", protocol="binary", service=None,
            timeout=None, connect_timeout=None, max_message_size=DEFAULT_MAX_MESSAGE_SIZE,
            headers=None, int_headers=None):
    """Open a :class:`Channel` to ``host:port``.

    ``timeout`` bounds every read and write (seconds, None = wait forever),
    ``connect_timeout`` the TCP connect (default: ``timeout``). ``service``
    makes every call multiplexed (``"service:method"``). ``headers``: sent with
    every call over a header transport (``channel.headers``); ``int_headers``:
    TTHeader's integer keys (:data:`~thriftgen.runtime.rpc.metadata.INT_KEYS`).
    """
    check_options(transport, protocol, max_message_size)
    kind, headers, service = header_options(transport, headers, int_headers, service)
    if connect_timeout is None:
        connect_timeout = timeout
    sock = open_socket(host, port, connect_timeout, timeout)
    stream = SocketStream(sock, transport, protocol, max_message_size)
    return Channel(_Connection(stream, protocol, (host, port), kind, headers, max_message_size,
                               int_headers), service)
