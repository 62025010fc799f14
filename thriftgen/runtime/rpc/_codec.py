"""Message helpers on the per-call path of the RPC runtime.

Same results and errors as :func:`thriftgen.runtime.message_end`,
:func:`~thriftgen.runtime.decode_message_header` and
:func:`~thriftgen.runtime.encode_message`, without their per-call wrapper
work (argument checks, function-level imports): a small echo call spends about
as long in those wrappers as in the codec itself.
"""

from .. import _json, serialize
from .._message import read_header, write_header
from .._wire import convert_exception
from ..errors import ProtocolError
from ..skip import bskip, cskip

__all__ = ["message_end", "header", "encode"]

_STRUCT = 12
_DEPTH = 64


def message_end(buf, pos, protocol):
    """Offset just past the unframed message at ``pos`` of ``buf`` (bytes)."""
    if protocol == "json":
        return _json.message_end(buf, pos)
    try:
        _, _, _, body = read_header(buf, pos, protocol)
        if protocol == "binary":
            return bskip(buf, body, _STRUCT, _DEPTH)
        return cskip(buf, body, _STRUCT, _DEPTH)
    except ProtocolError:
        raise
    except Exception as ex:
        raise convert_exception(ex) from None


def header(buf, protocol):
    """``(name, msg_type, seqid, body_offset)`` of the message in ``buf`` (bytes)."""
    if protocol == "json":
        return _json.read_header(buf, 0)
    try:
        return read_header(buf, 0, protocol)
    except ProtocolError:
        raise
    except Exception as ex:
        raise convert_exception(ex) from None


def encode(name, msg_type, seqid, obj, protocol):
    """A whole message: header, then ``obj`` (a struct, or an ApplicationError)."""
    if protocol == "json":
        return _json.encode_message(name, msg_type, seqid, obj)
    return write_header(protocol, name, msg_type, seqid) + serialize(obj, protocol)
