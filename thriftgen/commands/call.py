"""``thriftgen call``: one RPC from the IDL alone, JSON in, JSON out (kitexcall's idea)::

    thriftgen call -idl-path echo.thrift [-I DIR]... -m [Service/]method
                   (-d JSON | -f FILE) -e HOST:PORT [-transport buffered|framed|header|ttheader]
                   [-protocol binary|compact|json] [--multiplexed] [--timeout S] [-q] [-v]

The reply goes to stdout as JSON. Exit codes:

* 0 -- success (or a oneway call sent);
* 1 -- bad input: IDL errors, unknown service/method, JSON that does not fit
  (the message names the JSON path and the expected type), bad options;
* 2 -- the server raised a declared exception (printed as JSON with its type);
* 3 -- the server answered with an application error (unknown method, internal error...);
* 4 -- transport or protocol failure (cannot connect, timeout, closed, undecodable reply).
"""

from __future__ import annotations

import json
import sys
from typing import List, Optional

import typer

from thriftgen.cliapp import CACHE_DIR_OPT, NO_CACHE_OPT, app, make_cache, report

EXIT_INPUT, EXIT_DECLARED, EXIT_APPLICATION, EXIT_TRANSPORT = 1, 2, 3, 4

_APP_ERROR_NAMES = {
    0: "UNKNOWN", 1: "UNKNOWN_METHOD", 2: "INVALID_MESSAGE_TYPE", 3: "WRONG_METHOD_NAME",
    4: "BAD_SEQUENCE_ID", 5: "MISSING_RESULT", 6: "INTERNAL_ERROR", 7: "PROTOCOL_ERROR",
    8: "INVALID_TRANSFORM", 9: "INVALID_PROTOCOL", 10: "UNSUPPORTED_CLIENT_TYPE",
}


def _fail(message: str, code: int = EXIT_INPUT) -> None:
    typer.echo(f"thriftgen call: error: {message}", err=True)
    raise typer.Exit(code)


@app.command("call")
def call_cmd(
    idl_path: str = typer.Option(..., "-idl-path", "--idl-path", metavar="IDL",
                                 help="The IDL file defining the service."),
    include: List[str] = typer.Option([], "-I", "--include", metavar="DIR",
                                      help="Add a directory to the include search path."),
    method: str = typer.Option(..., "-m", "--method", metavar="[SERVICE/]METHOD",
                               help="The method to call; name the service when several "
                                    "services of the IDL have it."),
    data: Optional[str] = typer.Option(None, "-d", "--data", metavar="JSON",
                                       help="Arguments as a JSON object (by argument name)."),
    data_file: Optional[str] = typer.Option(None, "-f", "--file", metavar="FILE",
                                            help="Read the JSON arguments from FILE ('-': stdin)."),
    endpoint: str = typer.Option(..., "-e", "--endpoint", metavar="HOST:PORT",
                                 help="Server address."),
    transport: str = typer.Option("buffered", "-transport", "--transport",
                                  metavar="buffered|framed|header|ttheader",
                                  help="Transport (default buffered); header: Apache THeader, "
                                       "ttheader: Kitex TTHeader (names the service in 'isn')."),
    service: Optional[str] = typer.Option(None, "--service", metavar="NAME",
                                          help="The service of the method (as SERVICE/METHOD)."),
    header: List[str] = typer.Option([], "--header", "-H", metavar="KEY=VALUE",
                                     help="A header sent with the call (header transports; "
                                          "repeatable)."),
    protocol: str = typer.Option("binary", "-protocol", "--protocol", metavar="binary|compact|json",
                                 help="Protocol (default binary)."),
    multiplexed: bool = typer.Option(False, "--multiplexed",
                                     help="Send 'Service:method' (Apache's multiplexed protocol)."),
    timeout: float = typer.Option(10.0, "--timeout", metavar="SECONDS",
                                  help="Connect and read timeout (default 10)."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print nothing but the reply."),
    verbose: bool = typer.Option(False, "-v", "--verbose",
                                 help="Describe the call on stderr (service, sizes, time)."),
    cache_dir: Optional[str] = CACHE_DIR_OPT,
    no_cache: bool = NO_CACHE_OPT,
) -> None:
    """Call a method of a running Thrift server; JSON arguments in, JSON reply out."""
    from thriftgen.call import CallError, Caller
    from thriftgen.call.jsonmap import JsonMappingError
    from thriftgen.diagnostics import DiagnosticSink, IDLError
    from thriftgen.runtime.errors import ApplicationError, ProtocolError
    from thriftgen.runtime.rpc import TransportError

    if quiet and verbose:
        _fail("-q and -v cannot be used together")
    if transport not in ("buffered", "framed", "header", "ttheader"):
        _fail(f"-transport must be 'buffered', 'framed', 'header' or 'ttheader', "
              f"not '{transport}'")
    if transport in ("header", "ttheader") and protocol == "json":
        _fail(f"-transport {transport} carries binary or compact messages, not json")
    headers = {}
    for item in header:
        key, sep, value = item.partition("=")
        if not sep or not key:
            _fail(f"--header must be KEY=VALUE, not '{item}'")
        headers[key] = value
    if headers and transport not in ("header", "ttheader"):
        _fail("--header needs -transport header or ttheader")
    if service is not None:
        if "/" in method:
            _fail("give the service once: --service NAME or -m SERVICE/METHOD")
        method = f"{service}/{method}"
    if protocol not in ("binary", "compact", "json"):
        _fail(f"-protocol must be 'binary', 'compact' or 'json', not '{protocol}'")
    if data is not None and data_file is not None:
        _fail("give the arguments with -d or -f, not both")
    if timeout <= 0:
        _fail("--timeout must be positive")
    if data_file is not None:
        try:
            if data_file == "-":
                data = sys.stdin.read()
            else:
                with open(data_file, encoding="utf-8") as fh:
                    data = fh.read()
        except (OSError, UnicodeDecodeError) as ex:
            _fail(f"cannot read {data_file}: {ex}")

    sink = DiagnosticSink()
    try:
        caller = Caller(idl_path, include, make_cache(cache_dir, no_cache), sink)
    except IDLError:
        report(sink, quiet)
        _fail(f"{idl_path} has errors")
    report(sink, quiet)
    try:
        result = caller.call(method, data if data is not None else "{}", endpoint,
                             transport=transport, protocol=protocol, multiplexed=multiplexed,
                             timeout=timeout, headers=headers or None)
    except JsonMappingError as ex:
        _fail(f"bad request: {ex}")
    except CallError as ex:
        _fail(str(ex))
    except ApplicationError as ex:
        name = _APP_ERROR_NAMES.get(ex.type, str(ex.type))
        _fail(f"application error {name} ({ex.type}): {ex}", EXIT_APPLICATION)
    except TransportError as ex:
        _fail(f"{endpoint}: {ex}", EXIT_TRANSPORT)
    except ProtocolError as ex:
        _fail(f"{endpoint}: undecodable reply: {ex}", EXIT_TRANSPORT)

    if verbose:
        where = f"{result.service}:{result.method}" if multiplexed else result.method
        typer.echo(f"-> {result.service}/{result.method} as '{where}' to {endpoint} "
                   f"({transport}, {protocol}), {result.request_bytes} bytes; "
                   f"{result.kind} in {result.elapsed * 1000:.1f} ms", err=True)
        for key, value in sorted(result.response_headers.items()):
            typer.echo(f"<- header {key}: {value}", err=True)
    if result.kind == "oneway":
        if not quiet:
            typer.echo("oneway call sent (no reply)", err=True)
        return
    typer.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    if result.kind == "exception":
        if not quiet:
            typer.echo(f"thriftgen call: {result.method} raised {result.exception_type}",
                       err=True)
        raise typer.Exit(EXIT_DECLARED)
