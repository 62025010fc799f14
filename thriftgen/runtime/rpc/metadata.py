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

__all__ = ["request_headers", "set_response_header", "LOG_ID", "CALLER", "IDL_SERVICE"]

#: Well-known keys (as Apache's and fbthrift's libraries spell them).
LOG_ID = "log_id"
CALLER = "client_name"
#: TTHeader: the IDL service a call is for (Kitex's ``isn``); routes calls between the
#: services of one server even when their method names collide.
IDL_SERVICE = "isn"

_request = contextvars.ContextVar("thriftgen_request_headers", default=None)
_response = contextvars.ContextVar("thriftgen_response_headers", default=None)


def request_headers():
    """The headers of the call being handled (empty outside a header-transport call)."""
    headers = _request.get()
    return dict(headers) if headers else {}


def set_response_header(key, value):
    """Send ``key: value`` with the reply of the call being handled. A call that came
    over a transport without headers (buffered, framed) has nowhere to put it: then,
    as outside a call, this does nothing, so one handler serves every transport."""
    headers = _response.get()
    if headers is not None:
        headers[str(key)] = str(value)


def enter(headers):
    """Make ``headers`` the current request headers: ``(token, response headers)``.
    Tasks created before :func:`leave` see them (they copy the context)."""
    response = {}
    return (_request.set(headers), _response.set(response)), response


def leave(token):
    _request.reset(token[0])
    _response.reset(token[1])


def run_with_headers(fn, headers):
    """``fn()`` with ``headers`` as the request headers; returns ``(result, response
    headers)``. The server side of the transports calls this around dispatch."""
    response = {}
    token_in, token_out = _request.set(headers), _response.set(response)
    try:
        return fn(), response
    finally:
        _request.reset(token_in)
        _response.reset(token_out)
