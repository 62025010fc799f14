"""Transport-level errors of the RPC runtime."""

from ..errors import ThriftgenError

__all__ = ["TransportError"]


class TransportError(ThriftgenError):
    """The connection failed: it could not be opened, timed out, was closed, or
    carried bytes that are not a message stream.

    ``kind`` is one of :attr:`KINDS`:

    * ``connect``: the connection could not be opened (refused, unreachable, connect timeout);
    * ``timeout``: no reply (or no progress) within the read timeout;
    * ``closed``: the peer closed the connection, or this side closed it before;
    * ``size_limit``: a frame or message larger than the configured maximum;
    * ``bad_data``: bytes that do not form a message (garbage, wrong protocol or transport).

    ``clean`` is True when a ``closed`` error happened between messages (an
    orderly end of the conversation), False in the middle of one.
    """

    CONNECT = "connect"
    TIMEOUT = "timeout"
    CLOSED = "closed"
    SIZE_LIMIT = "size_limit"
    BAD_DATA = "bad_data"
    KINDS = (CONNECT, TIMEOUT, CLOSED, SIZE_LIMIT, BAD_DATA)

    def __init__(self, kind, message, clean=False):
        super().__init__(kind, message)
        self.kind = kind
        self.message = message
        self.clean = clean

    def __str__(self):
        return "%s: %s" % (self.kind, self.message)

    def __repr__(self):
        return "TransportError(%r, %r)" % (self.kind, self.message)

    def __reduce__(self):
        return (type(self), (self.kind, self.message, self.clean))
