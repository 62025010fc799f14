"""Cutting a TCP byte stream into Thrift messages, and the blocking socket stream.

Two transports, as in Apache Thrift:

* ``framed``: every message is preceded by its length (4-byte big-endian
  signed integer); Apache's ``TFramedTransport``.
* ``buffered``: messages follow each other unframed (Apache's
  ``TBufferedTransport``); where one ends is found by walking the encoded
  message with SkipDecode (:func:`thriftgen.runtime.message_end`).

:class:`MessageCutter` is shared by the blocking (:class:`SocketStream`) and
the ``asyncio`` side: it is fed the bytes as they arrive and hands back the
complete messages (without the frame header).
"""

import select
import socket
import struct

from ..errors import ProtocolError
from ._codec import message_end
from .errors import TransportError

__all__ = [
    "TRANSPORTS",
    "HEADER_TRANSPORTS",
    "PROTOCOLS",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "check_options",
    "MessageCutter",
    "SniffingCutter",
    "SocketStream",
    "frame",
]

TRANSPORTS = ("buffered", "framed", "header", "ttheader")
#: Transports whose frames carry a header (Apache THeader, Kitex TTHeader: ``header.py``).
HEADER_TRANSPORTS = ("header", "ttheader")
PROTOCOLS = ("binary", "compact", "json")
#: Largest frame / message accepted by default (Apache's default max frame size is 16 MB).
DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024

_FRAME = struct.Struct("!i")
_RECV_SIZE = 65536
# Unframed messages larger than this are re-scanned only when the buffer has
# doubled or the socket has nothing more to give (keeps big messages linear).
_RESCAN_FLOOR = 65536


def check_options(transport, protocol, max_message_size):
    if transport not in TRANSPORTS:
        raise ValueError("transport must be 'buffered', 'framed', 'header' or 'ttheader', "
                         "not %r" % (transport,))
    if protocol not in PROTOCOLS:
        raise ValueError("protocol must be 'binary', 'compact' or 'json', not %r" % (protocol,))
    if transport in HEADER_TRANSPORTS and protocol == "json":
        raise ValueError("a %s frame carries binary or compact messages, not json" % transport)
    if not isinstance(max_message_size, int) or max_message_size < 16:
        raise ValueError("max_message_size must be an int >= 16, not %r" % (max_message_size,))


def frame(message):
    """``message`` with its 4-byte length prefix."""
    return _FRAME.pack(len(message)) + message


class MessageCutter:
    """Incremental message splitter for one direction of one connection.
    ``transport`` is informative (what the server answers with)."""

    __slots__ = ("framed", "protocol", "max_size", "_buf", "_scan_at", "_need", "transport")

    def __init__(self, framed, protocol, max_size, transport=None):
        self.framed = framed
        self.transport = transport or ("framed" if framed else "buffered")
        self.protocol = protocol
        self.max_size = max_size
        self._buf = bytearray()
        self._scan_at = 0  # unframed: skip scans until the buffer is this long
        self._need = 0  # unframed: the held-back message is at least this long

    @property
    def pending(self):
        """Bytes of an incomplete message held back."""
        return len(self._buf)

    @property
    def deferred(self):
        """True when bytes arrived that :meth:`scan` has not looked at yet."""
        return self._need <= len(self._buf) < self._scan_at and len(self._buf) > 0

    def feed(self, data):
        """Add received bytes; return the list of complete messages (may be empty).

        Raises :class:`TransportError` (``size_limit`` or ``bad_data``); the
        stream cannot be resynchronised after that, so the connection must close.
        """
        if self.framed:
            return self._feed_framed(data)
        if self._buf:
            self._buf += data
            if len(self._buf) < self._scan_at:
                return []
            return self.scan()
        return self._cut(data)

    def scan(self):
        """Look for complete unframed messages now, whatever the rescan policy says."""
        if self.framed or not self._buf:
            return []
        buf = bytes(self._buf)
        self._buf = bytearray()
        return self._cut(buf)

    def _cut(self, buf):
        out = []
        pos, n = 0, len(buf)
        protocol, limit = self.protocol, self.max_size
        need = 0  # bytes the incomplete message at pos needs at least
        while pos < n:
            try:
                end = message_end(buf, pos, protocol)
            except ProtocolError as ex:
                if ex.kind != "truncated":
                    raise TransportError(
                        "bad_data", "not a %s message stream: %s" % (protocol, ex)) from None
                if protocol == "binary" and buf[pos] < 0x80 and n - pos >= 4:
                    # An unversioned binary header starts with the name length: text
                    # such as "GET " reads as a gigabyte-long name. Do not wait for it.
                    name_len = _FRAME.unpack_from(buf, pos)[0]
                    if name_len > limit:
                        raise TransportError(
                            "bad_data", "not a binary message stream: message name length "
                            "%d exceeds the maximum message size" % name_len)
                # A declared length or count already says how long the message is at
                # least: refuse it now instead of buffering up to the limit first.
                at_least = n - pos + (ex.missing or 1)
                if at_least > limit:
                    raise _too_big(at_least, limit, "message declaring at least")
                need = at_least
                break
            if end - pos > limit:
                raise _too_big(end - pos, limit, "message of")
            out.append(buf[pos:end] if (pos or end != n) else buf)
            pos = end
        rest = n - pos
        if rest:
            if rest > limit:
                raise _too_big(rest, limit, "incomplete message of")
            self._buf = bytearray(buf[pos:]) if pos else bytearray(buf)
            # Scan again once the bytes the message needs at least are in (and, for
            # big messages, not before the buffer has doubled: linear time).
            self._need = need
            self._scan_at = max(need, 2 * rest if rest >= _RESCAN_FLOOR else 0)
        else:
            self._scan_at = self._need = 0
        return out

    def _feed_framed(self, data):
        buf = self._buf
        if not buf and len(data) >= 4:
            size = _FRAME.unpack_from(data)[0]
            if size + 4 == len(data) and 0 <= size <= self.max_size:
                return [data[4:]]  # the common case: exactly one frame per read
        buf += data
        out = []
        while len(buf) >= 4:
            size = _FRAME.unpack_from(buf)[0]
            if size < 0:
                raise TransportError(
                    "bad_data", "negative frame size %d (is the peer using the buffered "
                    "transport?)" % size)
            if size > self.max_size:
                raise _too_big(size, self.max_size, "frame of")
            if len(buf) < size + 4:
                break
            out.append(bytes(buf[4:size + 4]))
            del buf[:size + 4]
        return out


class SniffingCutter:
    """A server connection's cutter before its first bytes say which transport and
    protocol the client speaks (``transport="auto"``); then the right
    :class:`MessageCutter` takes over. Up to 6 bytes decide:

    * ``80 01`` binary or ``82 x1`` compact or ``[`` json, unframed: ``buffered``;
    * else a 4-byte length, then ``0F FF`` (THeader), ``10 00`` (TTHeader), or a
      binary, compact or json message: ``framed``.
    """

    __slots__ = ("max_size", "_buf", "real")

    def __init__(self, max_size):
        self.max_size = max_size
        self._buf = bytearray()
        self.real = None

    @property
    def transport(self):
        return self.real.transport if self.real is not None else None

    @property
    def protocol(self):
        return self.real.protocol if self.real is not None else None

    @property
    def pending(self):
        return self.real.pending if self.real is not None else len(self._buf)

    @property
    def deferred(self):
        return self.real.deferred if self.real is not None else False

    def scan(self):
        return self.real.scan() if self.real is not None else []

    def feed(self, data):
        if self.real is not None:
            return self.real.feed(data)
        self._buf += data
        buf = self._buf
        decided = _sniff(buf)
        if decided is None:
            if len(buf) >= 6:
                raise TransportError("bad_data", "cannot tell the client's transport from its "
                                     "first bytes %s" % bytes(buf[:6]).hex(" "))
            return []
        transport, protocol = decided
        self.real = MessageCutter(transport != "buffered", protocol, self.max_size, transport)
        self._buf = bytearray()
        return self.real.feed(bytes(buf))


def _message_protocol(head):
    """The protocol an (unframed) message starting with ``head`` is in, or None."""
    if head[:2] == b"\x80\x01":
        return "binary"
    if head[:1] == b"\x82" and len(head) >= 2 and head[1] & 0x1F == 1:
        return "compact"
    if head[:1] == b"[":
        return "json"
    return None


def _sniff(buf):
    """``(transport, protocol)`` of a connection's first bytes, or None (need more, or
    unknown: the caller tells which by the length it has)."""
    if len(buf) < 2:
        return None
    protocol = _message_protocol(bytes(buf[:2]))
    if protocol is not None:
        return "buffered", protocol
    if len(buf) < 6:
        return None
    magic = bytes(buf[4:6])
    if magic == b"\x0f\xff":
        return "header", "binary"  # the protocol of each frame is in its header
    if magic == b"\x10\x00":
        return "ttheader", "binary"
    protocol = _message_protocol(magic)
    if protocol is not None:
        return "framed", protocol
    return None


def _too_big(size, limit, what):
    return TransportError("size_limit", "%s %d bytes exceeds the maximum of %d bytes"
                          % (what, size, limit))


class SocketStream:
    """Messages over a blocking socket (its timeout is the read/write timeout)."""

    __slots__ = ("sock", "framed", "cutter", "_ready")

    def __init__(self, sock, transport="buffered", protocol="binary",
                 max_message_size=DEFAULT_MAX_MESSAGE_SIZE):
        self.sock = sock
        # Header frames are cut like framed ones; they are written whole (LENGTH included).
        self.framed = transport == "framed"
        self.cutter = MessageCutter(transport != "buffered", protocol, max_message_size)
        self._ready = []

    def read_message(self):
        """Return the next message; raises :class:`TransportError`."""
        ready = self._ready
        if ready:
            return ready.pop(0)
        cutter = self.cutter
        while True:
            data = self._recv(_RECV_SIZE)
            msgs = cutter.feed(data)
            if not msgs and cutter.deferred:
                msgs = self._drain_then_scan()
            if msgs:
                if len(msgs) > 1:
                    ready.extend(msgs[1:])
                return msgs[0]

    def _drain_then_scan(self):
        # A big unframed message: read what is already here, then scan once.
        cutter = self.cutter
        while select.select([self.sock], [], [], 0)[0]:
            msgs = cutter.feed(self._recv(max(_RECV_SIZE, cutter.pending)))
            if msgs:
                return msgs
        return cutter.scan()

    def _recv(self, size):
        try:
            data = self.sock.recv(size)
        except socket.timeout:
            raise TransportError("timeout", "no data from the peer within the read timeout") \
                from None
        except OSError as ex:
            raise TransportError("closed", "connection lost: %s" % (ex,)) from None
        if not data:
            pending = self.cutter.pending or bool(self._ready)
            if pending:
                raise TransportError("closed", "peer closed the connection in the middle of "
                                     "a message (%d bytes received)" % self.cutter.pending)
            raise TransportError("closed", "peer closed the connection", clean=True)
        return data

    def write_message(self, message):
        if self.framed:
            message = _FRAME.pack(len(message)) + message
        try:
            self.sock.sendall(message)
        except socket.timeout:
            raise TransportError("timeout", "could not send within the timeout") from None
        except OSError as ex:
            raise TransportError("closed", "connection lost while sending: %s" % (ex,)) \
                from None

    def close(self):
        try:
            self.sock.close()
        except OSError:  # pragma: no cover
            pass
