"""The connection limits both servers enforce, and which connection gives way.

A server must keep answering valid clients whatever other peers do: sockets
that send half a request and stall (slowloris), sockets that connect and send
nothing, floods of connections, peers that never read their replies. The
policy, the same for :class:`~thriftgen.runtime.rpc.ThreadedServer` and
:class:`~thriftgen.runtime.rpc.AsyncServer`:

* ``message_timeout``: once the first byte of a request has arrived, the whole
  request must arrive within this many seconds;
* ``idle_timeout``: a connection with no call in flight that sends nothing for
  this long is closed;
* ``write_timeout``: a reply the peer does not take within this long closes
  the connection;
* ``max_connections``: at the limit, a new connection replaces the connection
  whose incomplete request started longest ago, else the one idle longest;
  only a request stalled for :data:`EVICT_STALLED_AFTER` seconds, or a
  connection idle for :data:`EVICT_AFTER` (a client between two calls is not
  dropped), and never one with a call in flight;
* ``max_buffered``: bytes of incomplete requests held for all connections
  together (``max_message_size`` bounds one connection; this bounds their sum,
  default ``max(256 MiB, 4 * max_message_size)``). Past it, the connection
  holding the most is closed.

Connections expose ``in_call`` (bool), ``started`` (when the first byte of
the incomplete request came, or None), ``last_seen``, ``write_blocked``
(since when a reply waits for the peer, or None) and ``number`` (accept order),
all ``time.monotonic()`` seconds.
"""

from .framing import DEFAULT_MAX_MESSAGE_SIZE

__all__ = ["ConnectionLimits", "EVICT_AFTER", "SWEEP_EVERY", "default_max_connections"]

#: at max_connections, only a connection idle this long is replaced (a client between
#: two calls is not dropped) ...
EVICT_AFTER = 1.0
#: ... or one whose incomplete request has waited this long (a client sends a request
#: in one go: a few packets within milliseconds)
EVICT_STALLED_AFTER = 0.1
#: seconds between two checks of the deadlines (at most)
SWEEP_EVERY = 0.25
_MAX_CONNECTIONS = 1024
_FD_RESERVE = 64  # files the process needs besides its connections
_SUM_FROM = 1024 * 1024  # hog(): smaller requests cannot tip the sum over by much


def default_max_connections():
    """1024, or fewer when the process may not open that many files (the soft
    ``RLIMIT_NOFILE`` less a reserve): past it, accepting fails anyway."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # pragma: no cover - not POSIX
        return _MAX_CONNECTIONS
    if soft == resource.RLIM_INFINITY:
        return _MAX_CONNECTIONS
    return max(16, min(_MAX_CONNECTIONS, soft - _FD_RESERVE))


class ConnectionLimits:
    """Validated limits, and the decisions made from them (see the module doc)."""

    __slots__ = ("max_connections", "idle_timeout", "message_timeout", "write_timeout",
                 "max_buffered")

    def __init__(self, max_connections=None, idle_timeout=300.0, message_timeout=30.0,
                 write_timeout=30.0, max_buffered=None, max_message_size=DEFAULT_MAX_MESSAGE_SIZE):
        if max_connections is None:
            max_connections = default_max_connections()
        if not isinstance(max_connections, int) or max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        for name, value in (("idle_timeout", idle_timeout), ("message_timeout", message_timeout),
                            ("write_timeout", write_timeout)):
            if value is not None and not (isinstance(value, (int, float)) and value > 0):
                raise ValueError("%s must be a positive number of seconds or None" % name)
        if max_buffered is None:
            max_buffered = max(256 * 1024 * 1024, 4 * max_message_size)
        if not isinstance(max_buffered, int) or max_buffered < max_message_size:
            raise ValueError("max_buffered must be an int >= max_message_size")
        self.max_connections = max_connections
        self.max_buffered = max_buffered
        self.idle_timeout = idle_timeout
        self.message_timeout = message_timeout
        self.write_timeout = write_timeout

    def victim(self, conns, now):
        """The connection to close for a new one, or None (see the module doc)."""
        cutoff = now - EVICT_AFTER
        stalled_cutoff = now - EVICT_STALLED_AFTER
        best = victim = None
        for conn in conns:
            if conn.in_call:
                continue
            started = conn.started
            if started is not None:
                if started > stalled_cutoff:
                    continue
                rank = (0, started, conn.number)
            else:
                if conn.last_seen > cutoff:
                    continue
                rank = (1, conn.last_seen, conn.number)
            if best is None or rank < best:
                best, victim = rank, conn
        return victim

    def hog(self, conns, pending):
        """When a connection now holds ``pending`` bytes of an incomplete request: the
        connection to close because all of them together hold more than
        ``max_buffered`` (the one holding most), or None. Sums only for big requests."""
        if pending < _SUM_FROM:
            return None
        total = 0
        worst = None
        for conn in conns:
            held = conn.cutter.pending
            total += held
            if not conn.in_call and (worst is None or held > worst.cutter.pending):
                worst = conn
        return worst if total > self.max_buffered else None

    def expired(self, conn, now):
        """Why ``conn`` must close now (a sentence), or None. An idle timeout gives
        ``"idle"``: a normal end, not worth a log line."""
        blocked = conn.write_blocked
        if blocked is not None and self.write_timeout is not None \
                and now - blocked > self.write_timeout:
            return "the peer did not read its reply within write_timeout=%ss" % self.write_timeout
        if conn.in_call:
            return None
        started = conn.started
        if started is not None:
            if self.message_timeout is not None and now - started > self.message_timeout:
                return "request not complete within message_timeout=%ss" % self.message_timeout
        elif self.idle_timeout is not None and now - conn.last_seen > self.idle_timeout:
            return "idle"
        return None
