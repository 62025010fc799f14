"""Per-call headers of the header transports (``transport="header"`` / ``"ttheader"``).

In a handler, :func:`request_headers` gives the string headers the caller sent
with this call and :func:`set_response_header` adds one to the reply. They live
in :mod:`contextvars`, so they follow the call into threads' and coroutines'
contexts that copy it, and two calls never see each other's.

On the client side a :class:`~thriftgen.runtime.rpc.client.Channel` sends
``channel.headers`` (a dict, changeable between calls) with every call and keeps
the headers of the last reply in ``channel.response_headers``.
"""

import contextvars

__all__ = ["request_headers", "request_int_headers", "well_known", "set_response_header",
           "LOG_ID", "CALLER", "IDL_SERVICE", "INT_KEYS", "PERSISTENT_PREFIX",
           "TRANSIENT_PREFIX", "propagated"]

#: Well-known keys (as Apache's and fbthrift's libraries spell them).
LOG_ID = "log_id"
CALLER = "client_name"
#: TTHeader: the IDL service a call is for (Kitex's ``isn``); routes calls between the
#: services of one server even when their method names collide.
IDL_SERVICE = "isn"

#: TTHeader's integer keys by name (Kitex, ``cloudwego/gopkg`` ``protocol/ttheader``).
INT_KEYS = {name: key for key, name in enumerate([
    "mesh_version", "transport_type", "log_id", "from_service", "from_cluster", "from_idc",
    "to_service", "to_cluster", "to_idc", "to_method", "env", "dest_address", "rpc_timeout",
    "read_timeout", "ring_hash_key", "ddp_tag", "with_mesh_header", "connect_timeout",
    "span_context", "short_connection", "from_method", "stress_tag", "msg_type",
    "http_content_type", "raw_ring_hash_key", "lb_type", "cluster_shard_id", "frame_type"])}
#: Kitex metainfo: string headers with these prefixes travel along a call chain.
#: Persistent ones go on to every call made while handling a call; transient ones
#: reach the next service only.
PERSISTENT_PREFIX = "RPC_PERSIST_"
TRANSIENT_PREFIX = "RPC_TRANSIT_"

_request = contextvars.ContextVar("thriftgen_request_headers", default=None)
_request_ints = contextvars.ContextVar("thriftgen_request_int_headers", default=None)
_response = contextvars.ContextVar("thriftgen_response_headers", default=None)


def request_headers():
    """The headers of the call being handled (empty outside a header-transport call)."""
    headers = _request.get()
    return dict(headers) if headers else {}


def request_int_headers():
    """The integer-key headers (TTHeader) of the call being handled: ``{key: value}``."""
    headers = _request_ints.get()
    return dict(headers) if headers else {}


def well_known(name):
    """A well-known value of the call being handled (``log_id``, ``from_service``,
    ``rpc_timeout``, ... see :data:`INT_KEYS`): TTHeader's integer key, else a string
    header of that name (how THeader peers send ``log_id``); None when absent."""
    key = INT_KEYS[name]
    ints = _request_ints.get()
    if ints and key in ints:
        return ints[key]
    headers = _request.get()
    return headers.get(name) if headers else None


def propagated():
    """Headers a call made now (from inside a handler) carries on: the persistent
    metainfo of the call being handled."""
    headers = _request.get()
    if not headers:
        return {}
    return {k: v for k, v in headers.items() if k.startswith(PERSISTENT_PREFIX)}


def set_response_header(key, value):
    """Send ``key: value`` with the reply of the call being handled. A call that came
    over a transport without headers (buffered, framed) has nowhere to put it: then,
    as outside a call, this does nothing, so one handler serves every transport."""
    headers = _response.get()
    if headers is not None:
        headers[str(key)] = str(value)


def enter(headers, int_headers=None):
    """Make ``headers`` the current request headers: ``(token, response headers)``.
    Tasks created before :func:`leave` see them (they copy the context)."""
    response = {}
    return (_request.set(headers), _response.set(response),
            _request_ints.set(int_headers)), response


def leave(token):
    _request.reset(token[0])
    _response.reset(token[1])
    _request_ints.reset(token[2])


def run_with_headers(fn, headers, int_headers=None):
    """``fn()`` with ``headers`` as the request headers; returns ``(result, response
    headers)``. The server side of the transports calls this around dispatch."""
    token, response = enter(headers, int_headers)
    try:
        return fn(), response
    finally:
        leave(token)
