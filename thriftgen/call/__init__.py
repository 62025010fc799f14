"""``thriftgen call``: call a Thrift service from its IDL alone, with JSON in and out.

Library use (test tooling)::

    from thriftgen.call import Caller, call

    result = call("echo.thrift", "Echo/echo", {"req": {"message": "hi"}}, "127.0.0.1:9090",
                  transport="framed")
    result.kind     # "success" | "exception" | "oneway"
    result.value    # the reply as JSON-compatible data
    result.to_json()

    caller = Caller("service.thrift", include_dirs=["idl"])   # parse once, call many times
    caller.call("OrderDesk/getOrder", '{"order_id": "o-1"}', "127.0.0.1:9090")

Errors: :class:`CallError` for everything about the input (IDL, method name,
JSON: :class:`~thriftgen.call.jsonmap.JsonMappingError`, endpoint);
:class:`~thriftgen.runtime.errors.ApplicationError` when the server answers
with one; :class:`~thriftgen.runtime.rpc.TransportError` /
:class:`~thriftgen.runtime.errors.ProtocolError` when the connection or the
reply fails. A declared exception is a normal outcome (``kind ==
"exception"``), not a Python exception.

The JSON mapping is documented in :mod:`thriftgen.call.jsonmap`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from thriftgen.call.dynamic import DynamicFunction, DynamicTypes
from thriftgen.call.jsonmap import JsonMappingError, args_from_json, to_json
from thriftgen.idl import ast
from thriftgen.runtime import encode_message
from thriftgen.runtime.errors import ThriftgenError
from thriftgen.runtime.ttype import MessageType

__all__ = ["Caller", "CallResult", "CallError", "JsonMappingError", "call", "parse_endpoint"]


class CallError(ThriftgenError):
    """Bad input to a call: IDL, method, JSON data or endpoint."""


@dataclass
class CallResult:
    kind: str  # "success" | "exception" | "oneway"
    value: Any = None  # JSON-compatible: the return value, or the exception's fields
    exception_type: Optional[str] = None  # as written in the IDL's throws clause
    exception_field: Optional[str] = None
    service: str = ""
    method: str = ""
    request_bytes: int = 0
    elapsed: float = 0.0  # seconds, connect included
    extra: dict = field(default_factory=dict)
    response_headers: dict = field(default_factory=dict)  # header transports

    def to_json(self) -> Any:
        """What ``thriftgen call`` prints: the value, or the exception with its type."""
        if self.kind == "exception":
            return {"exception": self.exception_type, "field": self.exception_field,
                    "value": self.value}
        return self.value


def parse_endpoint(endpoint: str) -> tuple:
    """``HOST:PORT`` or ``[IPv6]:PORT`` -> ``(host, port)``."""
    host, sep, port = endpoint.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CallError("endpoint must be HOST:PORT, not %r" % endpoint)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


class Caller:
    """One IDL, parsed and checked once; calls any of its root file's services."""

    def __init__(self, idl_path: str, include_dirs: Sequence[str] = (), cache: Any = None,
                 sink: Any = None):
        """Raises :class:`~thriftgen.diagnostics.IDLError` when the IDL has errors (they
        are in ``sink``, a :class:`~thriftgen.diagnostics.DiagnosticSink`, if given)."""
        from thriftgen.diagnostics import DiagnosticSink
        from thriftgen.idl.frontend import load_checked_program

        self.sink = sink if sink is not None else DiagnosticSink()
        self.program = load_checked_program([str(idl_path)], [str(d) for d in include_dirs],
                                            self.sink, cache)
        self.root = self.program.roots[0]
        self.types = DynamicTypes(self.program)

    def services(self) -> list:
        """Names of the services defined in the root IDL file."""
        doc = self.program.file(self.root).document
        return [d.name for d in doc.definitions if isinstance(d, ast.Service)]

    def resolve(self, method: str, multiplexed: bool = False) -> tuple:
        """``[Service/]method`` -> ``(DynamicService, DynamicFunction)``."""
        service_name, _, fn_name = method.rpartition("/")
        if not fn_name:
            raise CallError("method must be [Service/]method, not %r" % method)
        if service_name:
            try:
                svc = self.types.service(self.root, service_name)
            except ThriftgenError:
                raise CallError("no service %r in %s (services: %s)" % (
                    service_name, self._display(), ", ".join(self.services()) or "none")) \
                    from None
            fn = svc.functions.get(fn_name)
            if fn is None:
                raise CallError("service %s has no method %r (methods: %s)"
                                % (svc.name, fn_name, ", ".join(sorted(svc.functions))))
            return svc, fn
        candidates = []
        for name in self.services():
            svc = self.types.service(self.root, name)
            if fn_name in svc.functions:
                candidates.append((svc, svc.functions[fn_name]))
        if not candidates:
            raise CallError("no method %r in the services of %s (%s)" % (
                fn_name, self._display(), ", ".join(self.services()) or "none"))
        # Inherited copies of one function send the same message, so they are only
        # ambiguous when the service name goes on the wire (multiplexing).
        distinct = {(fn.service, id(fn.function)) for _, fn in candidates}
        if len(candidates) > 1 and (multiplexed or len(distinct) > 1):
            raise CallError("method %r is ambiguous; name the service: %s" % (
                fn_name, ", ".join("%s/%s" % (svc.name, fn_name) for svc, _ in candidates)))
        return candidates[0]

    def _display(self) -> str:
        return self.program.file(self.root).display

    def request(self, fn: DynamicFunction, data: Any) -> Any:
        """The args struct from JSON text or parsed JSON (an object of arguments by name)."""
        if isinstance(data, (str, bytes)):
            try:
                data = json.loads(data) if data.strip() else {}
            except ValueError as ex:
                raise CallError("the request is not valid JSON: %s" % ex) from None
        return args_from_json(data, fn.function.args_cls, self.types)

    def call(self, method: str, data: Any, endpoint: str, *, transport: str = "buffered",
             protocol: str = "binary", multiplexed: bool = False,
             timeout: Optional[float] = 10.0, headers: Optional[dict] = None) -> CallResult:
        """Send one call and return its outcome (see the module doc for errors).
        ``headers``: sent with the call over a header transport (``header``,
        ``ttheader``); over ``ttheader`` the service is named in the ``isn`` header."""
        from thriftgen.runtime import rpc

        svc, fn = self.resolve(method, multiplexed)
        args = self.request(fn, data)
        host, port = parse_endpoint(endpoint)
        record = fn.function
        size = len(encode_message(record.name, MessageType.CALL, 0, args, protocol))
        start = time.perf_counter()
        named = multiplexed or transport == "ttheader"
        channel = rpc.connect(host, port, transport=transport, protocol=protocol, timeout=timeout,
                              service=svc.name if named else None, headers=headers)
        try:
            result = channel.call(record.name, args, record.result_cls, record.oneway)
            response_headers = dict(channel.response_headers)
        finally:
            channel.close()
        out = CallResult("oneway" if record.oneway else "success", service=svc.name,
                         method=fn.name, request_bytes=size,
                         elapsed=time.perf_counter() - start)
        out.response_headers = response_headers
        if record.oneway:
            return out
        for info, type_name in fn.throws:
            exc = getattr(result, info.attr)
            if exc is not None:
                out.kind, out.exception_type, out.exception_field = "exception", type_name, \
                    info.name
                out.value = to_json(exc, info.type, self.types)
                return out
        if fn.result is not None:
            value = result.success
            if value is None:
                from thriftgen.runtime.errors import ApplicationError

                raise ApplicationError(ApplicationError.MISSING_RESULT,
                                       "%s failed: unknown result" % fn.name)
            out.value = to_json(value, fn.result, self.types)
        return out


def call(idl_path: str, method: str, data: Any, endpoint: str, *,
         include_dirs: Sequence[str] = (), **options: Any) -> CallResult:
    """One-shot :meth:`Caller.call` (parses the IDL every time)."""
    return Caller(idl_path, include_dirs).call(method, data, endpoint, **options)
