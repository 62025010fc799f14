"""Error types of thriftgen and its runtime.

``ThriftgenError`` is the project's single base error type: the code
generator's own errors subclass it as well.  Everything the runtime codecs
raise for bad *input bytes* is a :class:`ProtocolError`.
"""

from .ttype import MessageType, TType

__all__ = [
    "ThriftgenError",
    "ProtocolError",
    "SpecError",
    "ApplicationError",
    "TApplicationException",
    "MessageType",
    "TType",
]


class ThriftgenError(Exception):
    """Base class of every error raised by thriftgen (tool and runtime)."""


class SpecError(ThriftgenError, TypeError):
    """A class's ``thrift_spec`` is malformed (a bug in generated code)."""


_MAX_PATH_SEGMENTS = 200


class ProtocolError(ThriftgenError):
    """Malformed, hostile or unencodable data.

    Attributes:
      kind:    one of :attr:`KINDS`.
      message: human readable description (without the path).
      path:    where it failed, e.g. ``Order.items[3].name`` ('' if unknown).
      offset:  byte offset in the input where the problem was detected, when
               known (``None`` otherwise).
      missing: for ``truncated``: how many more bytes the input needs at least
               (a declared length or count says so), when known; a stream
               reader can refuse a message whose declared size is too big
               before it arrives.
    """

    TRUNCATED = "truncated"
    NEGATIVE_SIZE = "negative_size"
    SIZE_LIMIT = "size_limit"
    BAD_TYPE = "bad_type"
    INVALID_DATA = "invalid_data"
    DEPTH_LIMIT = "depth_limit"
    BAD_VERSION = "bad_version"
    UNKNOWN = "unknown"

    KINDS = (
        TRUNCATED,
        NEGATIVE_SIZE,
        SIZE_LIMIT,
        BAD_TYPE,
        INVALID_DATA,
        DEPTH_LIMIT,
        BAD_VERSION,
        UNKNOWN,
    )

    def __init__(self, kind="unknown", message="", path="", offset=None, missing=None):
        if kind not in self.KINDS:
            kind = "unknown"
        super().__init__(kind, message)
        self.kind = kind
        self.message = message
        self.offset = offset
        self.missing = missing
        # Path segments are collected innermost first while the error travels
        # up through the nested decoders; ``path`` joins them in order.
        self._segs = [path] if path else []

    def _add_path(self, *segments):
        """Prepend ``segments`` (given outermost first) to the path."""
        segs = self._segs
        for seg in reversed(segments):
            if seg:
                segs.append(seg)

    @property
    def path(self):
        segs = self._segs
        if len(segs) > _MAX_PATH_SEGMENTS:
            keep = _MAX_PATH_SEGMENTS // 2
            segs = segs[:keep] + ["..."] + segs[-keep:]
        return "".join(reversed(segs))

    def __str__(self):
        text = "%s: %s" % (self.kind, self.message) if self.message else self.kind
        path = self.path
        if path:
            text += " (at %s)" % path
        if self.offset is not None:
            text += " [offset %d]" % self.offset
        return text

    def __repr__(self):
        return "ProtocolError(%r, %r, path=%r)" % (self.kind, self.message, self.path)

    def __reduce__(self):
        return (type(self), (self.kind, self.message, self.path, self.offset))


class ApplicationError(ThriftgenError):
    """RPC-level error sent in an EXCEPTION message.

    Wire compatible with Apache's ``TApplicationException`` (same type codes,
    same fields: ``1: string message``, ``2: i32 type``) and serializable
    like any struct via :func:`thriftgen.runtime.serialize`.
    """

    UNKNOWN = 0
    UNKNOWN_METHOD = 1
    INVALID_MESSAGE_TYPE = 2
    WRONG_METHOD_NAME = 3
    BAD_SEQUENCE_ID = 4
    MISSING_RESULT = 5
    INTERNAL_ERROR = 6
    PROTOCOL_ERROR = 7
    INVALID_TRANSFORM = 8
    INVALID_PROTOCOL = 9
    UNSUPPORTED_CLIENT_TYPE = 10

    _DEFAULT_MESSAGES = {
        UNKNOWN_METHOD: "Unknown method",
        INVALID_MESSAGE_TYPE: "Invalid message type",
        WRONG_METHOD_NAME: "Wrong method name",
        BAD_SEQUENCE_ID: "Bad sequence ID",
        MISSING_RESULT: "Missing result",
        INTERNAL_ERROR: "Internal error",
        PROTOCOL_ERROR: "Protocol error",
        INVALID_TRANSFORM: "Invalid transform",
        INVALID_PROTOCOL: "Invalid protocol",
        UNSUPPORTED_CLIENT_TYPE: "Unsupported client type",
    }

    thrift_spec = (
        None,
        (1, TType.STRING, "message", "UTF8", None),
        (2, TType.I32, "type", None, None),
    )

    def __init__(self, type=UNKNOWN, message=None):
        super().__init__(message)
        self.type = type
        self.message = message

    def __str__(self):
        if self.message:
            return str(self.message)
        return self._DEFAULT_MESSAGES.get(
            self.type, "Default (unknown) TApplicationException"
        )

    def __repr__(self):
        return "ApplicationError(type=%r, message=%r)" % (self.type, self.message)

    def __eq__(self, other):
        if not isinstance(other, ApplicationError):
            return NotImplemented
        return self.type == other.type and self.message == other.message

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = ThriftgenError.__hash__

    def __reduce__(self):
        return (type(self), (self.type, self.message))


#: Apache-familiar alias.
TApplicationException = ApplicationError
