"""``thriftgen call`` and its library: JSON mapping (every type, every error), and the
command against running servers of the fixtures (every exit code with its message)."""

from __future__ import annotations

import base64
import json
import math
import queue
import socket
import textwrap
import uuid

import pytest
from typer.testing import CliRunner

from test_codegen_util import FIXTURES, gen_into
from test_rpc_util import TIMEOUT, AsyncServerThread, EchoHandler, SinkHandler, generated
from thriftgen.call import CallError, Caller, call, parse_endpoint
from thriftgen.call.jsonmap import JsonMappingError
from thriftgen.cli import app
from thriftgen.runtime import rpc
from thriftgen.runtime.errors import ApplicationError
from thriftgen.runtime.rpc import TransportError

ALLTYPES = textwrap.dedent("""\
    namespace py alltypes

    enum Color { RED = 1, GREEN = 2, BLUE = 4 }

    struct Inner {
      1: required string name
      2: optional i32 n
    }

    union Choice {
      1: string s
      2: i64 n
    }

    exception Oops {
      1: string why
      2: Color color
    }

    struct All {
      1: bool b
      2: byte i8v
      3: i16 i16v
      4: i32 i32v
      5: i64 i64v
      6: double d
      7: string s
      8: binary bin
      9: uuid u
      10: Color color
      11: list<i32> li
      12: set<string> ss
      13: map<string, i64> msi
      14: map<i32, Color> mic
      15: map<Color, string> mcs
      16: map<list<i32>, string> mls
      17: Inner inner
      18: list<Inner> inners
      19: Choice choice
      20: map<bool, byte> mb
      21: map<double, string> md
      22: map<uuid, binary> mub
      23: set<list<i32>> sl
      24: i32 with_default = 7
    }

    service AllTypes {
      All roundtrip(1: All value) throws (1: Oops oops)
      void nothing()
      oneway void fire(1: i32 n)
      Color pick(1: Color c)
      i64 big()
      double ratio(1: double r)
    }
    """)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Generated echo/store/alltypes code and their IDL paths."""
    root = tmp_path_factory.mktemp("call")
    idl = root / "idl" / "alltypes.thrift"
    idl.parent.mkdir()
    idl.write_text(ALLTYPES)
    gen_into(root / "alltypes", idl, no_fmt=True)
    import sys

    sys.path.insert(0, str(root / "alltypes"))
    try:
        with generated(root / "gen", apache=False) as imp:
            yield {"imp": imp, "alltypes": idl}
    finally:
        sys.path.remove(str(root / "alltypes"))
        for name in [m for m in sys.modules if m == "alltypes" or m.startswith("alltypes.")]:
            del sys.modules[name]


class AllTypesHandler:
    def __init__(self, t):
        self.t = t
        self.fired: queue.Queue = queue.Queue()

    def roundtrip(self, value):
        if value.s == "oops":
            raise self.t.Oops(why="asked for it", color=self.t.Color.BLUE)
        return value

    def nothing(self):
        return None

    def fire(self, n):
        self.fired.put(n)

    def pick(self, c):
        return 3 if c == self.t.Color.GREEN else c  # 3 is not a declared Color

    def big(self):
        return -(2 ** 63)

    def ratio(self, r):
        return r * 2


@pytest.fixture(scope="module")
def servers(world):
    imp = world["imp"]
    at = imp("alltypes.ttypes")
    echo_handler = EchoHandler(imp("tgr.echo.ttypes"))
    sink = SinkHandler()
    handlers = {"alltypes_handler": AllTypesHandler(at), "echo_handler": echo_handler,
                "sink": sink}
    plain = rpc.ThreadedServer(imp("alltypes.AllTypes").Processor(handlers["alltypes_handler"]))
    echo = rpc.ThreadedServer(imp("tgr.echo.Echo").Processor(echo_handler), transport="framed",
                              protocol="compact")
    mux = AsyncServerThread([imp("tgr.echo.Echo").Processor(echo_handler),
                             imp("tgr.store.service.EventSink").Processor(sink)])
    with plain, echo, mux:
        yield {"alltypes": f"127.0.0.1:{plain.port}", "echo": f"127.0.0.1:{echo.port}",
               "mux": f"127.0.0.1:{mux.port}", **handlers}


@pytest.fixture(scope="module")
def caller(world):
    return Caller(world["alltypes"])


def run_cli(*args, stdin=None):
    result = CliRunner().invoke(app, ["call", "--no-cache", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


# --------------------------------------------------------------------------- JSON mapping


def roundtrip(caller, servers, value):
    return caller.call("roundtrip", {"value": value}, servers["alltypes"], timeout=TIMEOUT)


def test_every_json_type_round_trips_through_a_server(caller, servers):
    value = {
        "b": True, "i8v": -128, "i16v": "32767", "i32v": -2147483648,
        "i64v": 9223372036854775807, "d": 0.1, "s": "héllo\u0000", "bin": "AP8=",
        "u": "F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6", "color": "GREEN",
        "li": [1, "2", -3], "ss": ["b", "a"], "msi": {"x": "-9223372036854775808"},
        "mic": {"-1": "RED", "2": 4}, "mcs": {"BLUE": "b", "1": "r"},
        "inner": {"name": "n", "n": 5},
        "inners": [{"name": "a"}, {"name": "b", "n": None}], "choice": {"n": "12"},
        "mb": {"true": 1, "false": -1}, "md": {"1.5": "x", "-0.25": "y"},
        "mub": {"00000000-0000-0000-0000-000000000001": "aGk="},
    }
    result = roundtrip(caller, servers, value)
    assert result.kind == "success"
    assert result.value == {
        "b": True, "i8v": -128, "i16v": 32767, "i32v": -2147483648,
        "i64v": 9223372036854775807, "d": 0.1, "s": "héllo\u0000", "bin": "AP8=",
        "u": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "color": "GREEN",
        "li": [1, 2, -3], "ss": ["a", "b"], "msi": {"x": -9223372036854775808},
        "mic": {"-1": "RED", "2": "BLUE"}, "mcs": {"BLUE": "b", "RED": "r"},
        "inner": {"name": "n", "n": 5},
        "inners": [{"name": "a"}, {"name": "b"}], "choice": {"n": 12},
        "mb": {"true": 1, "false": -1}, "md": {"1.5": "x", "-0.25": "y"},
        "mub": {"00000000-0000-0000-0000-000000000001": "aGk="},
        "with_default": 7,  # absent in the request: the IDL default applies
    }


def test_container_keys_are_built_hashable(caller):
    """``map<list<i32>, string>`` and ``set<list<i32>>`` take arrays of pairs / arrays and
    come out with tuple keys and elements, and print back the same. (The runtime decoder
    builds lists there, so such values cannot travel through a server yet.)"""
    fn = caller.resolve("roundtrip")[1]
    args = caller.request(fn, {"value": {"mls": [[[1, 2], "one-two"], [[], "empty"]],
                                         "sl": [[1], [2, 3]]}})
    assert args.value.mls == {(1, 2): "one-two", (): "empty"}
    assert args.value.sl == {(1,), (2, 3)}
    from thriftgen.call.jsonmap import to_json

    ts = next(f.type for f in caller.types.fields(type(args)) if f.name == "value")
    printed = to_json(args.value, ts, caller.types)
    assert printed["mls"] == [[[1, 2], "one-two"], [[], "empty"]]
    assert printed["sl"] == [[1], [2, 3]]


def test_scalar_results_and_specials(caller, servers):
    ep = servers["alltypes"]
    assert caller.call("pick", {"c": 4}, ep).value == "BLUE"
    assert caller.call("pick", {"c": "GREEN"}, ep).value == 3  # undeclared value: a number
    big = caller.call("big", None, ep)
    assert big.value == -(2 ** 63) and json.dumps(big.to_json()) == "-9223372036854775808"
    assert caller.call("ratio", {"r": "Infinity"}, ep).value == "Infinity"
    assert caller.call("ratio", {"r": "-Infinity"}, ep).value == "-Infinity"
    assert caller.call("ratio", {"r": "NaN"}, ep).value == "NaN"
    assert caller.call("ratio", {"r": 1e308}, ep).value == "Infinity"
    assert caller.call("nothing", "", ep).value is None
    fire = caller.call("fire", '{"n": 3}', ep)
    assert fire.kind == "oneway"
    assert servers["alltypes_handler"].fired.get(timeout=TIMEOUT) == 3


def test_declared_exception_is_an_outcome(caller, servers):
    result = roundtrip(caller, servers, {"s": "oops"})
    assert (result.kind, result.exception_type, result.exception_field) == ("exception", "Oops",
                                                                            "oops")
    assert result.to_json() == {"exception": "Oops", "field": "oops",
                                "value": {"why": "asked for it", "color": "BLUE"}}


@pytest.mark.parametrize("value,path,message", [
    ({"b": 1}, "$.value.b", "expected bool (true or false), got number 1"),
    ({"b": "true"}, "$.value.b", 'expected bool (true or false), got string "true"'),
    ({"i8v": 128}, "$.value.i8v", "128 is out of range for i8 (an integer from -128 to 127)"),
    ({"i16v": "-32769"}, "$.value.i16v", "-32769 is out of range for i16"),
    ({"i32v": 1.0}, "$.value.i32v", "expected i32 (an integer from -2147483648 to "
                                    "2147483647), got number 1.0"),
    ({"i32v": "12x"}, "$.value.i32v", 'expected i32 (an integer from -2147483648 to '
                                      '2147483647), got string "12x"'),
    ({"i32v": True}, "$.value.i32v", "got true"),
    ({"i32v": None, "i64v": 2 ** 63}, "$.value.i64v", "9223372036854775808 is out of range"),
    ({"d": "fast"}, "$.value.d", 'expected double (a number), got string "fast"'),
    ({"d": False}, "$.value.d", "expected double (a number), got false"),
    ({"s": 5}, "$.value.s", "expected string, got number 5"),
    ({"bin": "not base64!"}, "$.value.bin", "expected binary (a base64 string)"),
    ({"bin": 12}, "$.value.bin", "expected binary (a base64 string), got number 12"),
    ({"u": "1234"}, "$.value.u", 'expected uuid (a string like'),
    ({"color": "PURPLE"}, "$.value.color",
     'string "PURPLE" is not a member of enum Color (RED=1, GREEN=2, BLUE=4)'),
    ({"color": 3}, "$.value.color", "3 is not a value of enum Color (RED=1, GREEN=2, BLUE=4)"),
    ({"color": 1.5}, "$.value.color", "expected enum Color (a member name or its number)"),
    ({"li": {"a": 1}}, "$.value.li", "expected list<i32> (an array), got an object"),
    ({"li": [1, "x"]}, "$.value.li[1]", 'expected i32'),
    ({"ss": ["a", "a"]}, "$.value.ss[1]", "duplicate set element"),
    ({"msi": {"k": "v"}}, '$.value.msi["k"]', 'expected i64'),
    ({"mic": {"one": "RED"}}, '$.value.mic["one"]', 'expected i32'),
    ({"mic": {"1": "RED", "01": "BLUE"}}, '$.value.mic["01"]', "duplicate map key 1"),
    ({"mcs": {"PINK": "x"}}, '$.value.mcs["PINK"]', "not a member of enum Color"),
    ({"mls": {"[1]": "x"}}, "$.value.mls",
     "expected map<list<i32>,string> (an array of [key, value] pairs), got an object"),
    ({"mls": [[[1], "a", "extra"]]}, "$.value.mls[0]", "expected a [key, value] pair"),
    ({"mb": {"yes": 1}}, '$.value.mb["yes"]', 'expected bool key ("true" or "false")'),
    ({"md": {"x": "y"}}, '$.value.md["x"]', "expected double key (a numeric string)"),
    ({"inner": {}}, "$.value.inner", 'missing required field "name" of Inner'),
    ({"inner": {"name": "n", "nn": 1}}, "$.value.inner",
     'unknown field "nn" for Inner (fields: name, n)'),
    ({"inner": ["n"]}, "$.value.inner", "expected Inner (an object), got an array"),
    ({"inners": [{"name": "ok"}, {"name": 3}]}, "$.value.inners[1].name", "expected string"),
    ({"choice": {}}, "$.value.choice", "union Choice needs exactly one field, got 0"),
    ({"choice": {"s": "a", "n": 1}}, "$.value.choice",
     "union Choice needs exactly one field, got 2"),
    ({"sl": [[1], [1]]}, "$.value.sl[1]", "duplicate set element"),
])
def test_json_that_does_not_fit_is_an_error_naming_path_and_type(caller, value, path, message):
    fn = caller.resolve("roundtrip")[1]
    with pytest.raises(JsonMappingError) as info:
        caller.request(fn, {"value": value})
    assert info.value.path == path
    assert message in info.value.message
    assert str(info.value).startswith(path + ": ")


def test_request_shape_errors(caller):
    fn = caller.resolve("roundtrip")[1]
    with pytest.raises(JsonMappingError) as info:
        caller.request(fn, {"valeu": {}})
    assert str(info.value) == '$: unknown field "valeu" for roundtrip_args (fields: value)'
    with pytest.raises(JsonMappingError) as info:
        caller.request(fn, [1])
    assert str(info.value) == "$: expected roundtrip_args (an object), got an array"
    with pytest.raises(CallError, match="not valid JSON"):
        caller.request(fn, "{value: 1}")


def test_method_resolution(world):
    store = Caller(FIXTURES / "store/service.thrift", [FIXTURES / "store"])
    svc, fn = store.resolve("getOrder")
    assert (svc.name, fn.name) == ("OrderDesk", "getOrder")
    # inherited by OrderDesk from StoreFront: the same message either way...
    assert store.resolve("heartbeat")[1].service == "StoreFront"
    # ...but multiplexing puts the service name on the wire
    with pytest.raises(CallError, match="ambiguous; name the service: StoreFront/heartbeat, "
                                        "OrderDesk/heartbeat"):
        store.resolve("heartbeat", multiplexed=True)
    assert store.resolve("OrderDesk/heartbeat", multiplexed=True)[0].name == "OrderDesk"
    with pytest.raises(CallError, match=r"service OrderDesk has no method 'nope' \(methods: "):
        store.resolve("OrderDesk/nope")
    with pytest.raises(CallError, match="no service 'Nope' in .*service.thrift "
                                        r"\(services: StoreFront, OrderDesk, EventSink\)"):
        store.resolve("Nope/x")
    with pytest.raises(CallError, match="no method 'nope' in the services of"):
        store.resolve("nope")
    assert parse_endpoint("[::1]:90") == ("::1", 90)
    for bad in ("localhost", "h:0", "h:x", ":80", "h:70000"):
        with pytest.raises(CallError, match="endpoint must be HOST:PORT"):
            parse_endpoint(bad)


def test_library_errors(world, servers):
    echo_idl = FIXTURES / "echo/echo.thrift"
    with pytest.raises(ApplicationError) as info:  # a multiplexed server without AllTypes
        call(world["alltypes"], "nothing", None, servers["mux"], timeout=TIMEOUT)
    assert info.value.type == ApplicationError.UNKNOWN_METHOD
    with pytest.raises(TransportError) as tinfo:
        call(echo_idl, "echo", {"req": {"message": "sleep:1"}}, servers["echo"],
             transport="framed", protocol="compact", timeout=0.2)
    assert tinfo.value.kind == "timeout"


# --------------------------------------------------------------------------- the command


ECHO = str(FIXTURES / "echo/echo.thrift")


def test_cli_success_and_verbose(servers):
    code, out, err = run_cli("-idl-path", ECHO, "-m", "Echo/echo", "-d",
                             '{"req": {"message": "ab", "repeat": 2, "payload": "AAE="}}',
                             "-e", servers["echo"], "-transport", "framed", "-protocol",
                             "compact", "-v")
    assert code == 0, err
    assert json.loads(out) == {"message": "abab", "server_time_ms": 42, "payload": "AAE="}
    assert "-> Echo/echo as 'echo' to 127.0.0.1:" in err and "(framed, compact)" in err
    assert "success in" in err


def test_cli_declared_exception_exit_code_2(servers):
    code, out, err = run_cli("-idl-path", ECHO, "-m", "echo", "-d",
                             '{"req": {"message": "x", "repeat": -4}}', "-e", servers["echo"],
                             "-transport", "framed", "-protocol", "compact")
    assert code == 2
    assert json.loads(out) == {"exception": "EchoError", "field": "err",
                               "value": {"code": -4, "reason": "negative repeat"}}
    assert "echo raised EchoError" in err
    code, out, err = run_cli("-idl-path", ECHO, "-m", "echo", "-d",
                             '{"req": {"message": "x", "repeat": -4}}', "-e", servers["echo"],
                             "-transport", "framed", "-protocol", "compact", "-q")
    assert code == 2 and err == "" and json.loads(out)["exception"] == "EchoError"


def test_cli_application_errors_exit_code_3(servers):
    code, out, err = run_cli("-idl-path", ECHO, "-m", "echo", "-d", '{"req": {"message": "boom"}}',
                             "-e", servers["echo"], "-transport", "framed", "-protocol",
                             "compact")
    assert (code, out) == (3, "")
    assert "application error INTERNAL_ERROR (6): Internal error" in err
    # the multiplexed server without --multiplexed
    code, _, err = run_cli("-idl-path", ECHO, "-m", "echo", "-d", '{"req": {"message": "m"}}',
                           "-e", servers["mux"])
    assert code == 3
    assert "UNKNOWN_METHOD (1): Service name not found in message name: echo" in err


def test_cli_multiplexed_and_oneway(servers):
    store = str(FIXTURES / "store/service.thrift")
    code, out, err = run_cli("-idl-path", ECHO, "-m", "Echo/echo", "-d",
                             '{"req": {"message": "m"}}', "-e", servers["mux"], "--multiplexed")
    assert code == 0 and json.loads(out)["message"] == "m"
    code, out, err = run_cli("-idl-path", store, "-I", str(FIXTURES / "store"), "-m",
                             "EventSink/stockChanged", "-d",
                             '{"sku": "S-1", "delta": "-2", "location_id": "x"}',
                             "-e", servers["mux"], "--multiplexed")
    assert (code, out) == (0, "")
    assert "oneway call sent" in err
    assert servers["sink"].events.get(timeout=TIMEOUT) == ("S-1", -2, "x")
    code, out, _ = run_cli("-idl-path", store, "-I", str(FIXTURES / "store"), "-m",
                           "EventSink/ready", "-e", servers["mux"], "--multiplexed")
    assert code == 0 and json.loads(out) is True


def test_cli_transport_errors_exit_code_4(servers):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    code, out, err = run_cli("-idl-path", ECHO, "-m", "echo", "-d", '{"req": {"message": "m"}}',
                             "-e", f"127.0.0.1:{port}")
    assert (code, out) == (4, "")
    assert f"127.0.0.1:{port}: connect: cannot connect to 127.0.0.1:{port}" in err
    code, _, err = run_cli("-idl-path", ECHO, "-m", "echo", "-d",
                           '{"req": {"message": "sleep:1"}}', "-e", servers["echo"],
                           "-transport", "framed", "-protocol", "compact", "--timeout", "0.2")
    assert code == 4 and "timeout: no data from the peer within the read timeout" in err
    # wrong transport: the framed server reads our unframed message as a huge frame and
    # drops the connection
    code, _, err = run_cli("-idl-path", ECHO, "-m", "echo", "-d", '{"req": {"message": "m"}}',
                           "-e", servers["echo"], "-protocol", "compact")
    assert code == 4 and "closed" in err


@pytest.mark.parametrize("args,message", [
    (["-d", '{"req": {"message": 1}}'],
     "bad request: $.req.message: expected string, got number 1"),
    (["-d", '{"req": {}}'], 'bad request: $.req: missing required field "message" of EchoRequest'),
    (["-d", "{"], "the request is not valid JSON"),
    (["-m", "shoutt"], "no method 'shoutt' in the services of"),
    (["-e", "nowhere"], "endpoint must be HOST:PORT, not 'nowhere'"),
    (["-transport", "http"], "-transport must be 'buffered', 'framed', 'header' or 'ttheader', "
                             "not 'http'"),
    (["--header", "k=v"], "--header needs -transport header or ttheader"),
    (["-transport", "header", "--header", "novalue"], "--header must be KEY=VALUE, not 'novalue'"),
    (["-protocol", "xml"], "-protocol must be 'binary', 'compact' or 'json', not 'xml'"),
    (["-f", "/nonexistent/x.json"], "cannot read /nonexistent/x.json"),
    (["-q", "-v"], "-q and -v cannot be used together"),
    (["--timeout", "0"], "--timeout must be positive"),
])
def test_cli_input_errors_exit_code_1(servers, args, message):
    base = {"-m": "echo", "-e": servers["echo"], "-d": '{"req": {"message": "m"}}'}
    for opt in args:
        base.pop("-d" if opt == "-f" else opt, None)
    flat = [a for kv in base.items() for a in kv]
    code, out, err = run_cli("-idl-path", ECHO, *flat, *args)
    assert (code, out) == (1, "")
    assert message in err


def test_cli_data_file_and_stdin(servers, tmp_path):
    data = tmp_path / "req.json"
    data.write_text('{"req": {"message": "from-file"}}')
    common = ["-idl-path", ECHO, "-m", "echo", "-e", servers["echo"], "-transport", "framed",
              "-protocol", "compact"]
    code, out, _ = run_cli(*common, "-f", str(data))
    assert code == 0 and json.loads(out)["message"] == "from-file"
    code, out, _ = run_cli(*common, "-f", "-", stdin='{"req": {"message": "stdin"}}')
    assert code == 0 and json.loads(out)["message"] == "stdin"
    code, _, err = run_cli(*common, "-f", str(data), "-d", "{}")
    assert code == 1 and "with -d or -f, not both" in err


def test_cli_idl_errors(tmp_path, servers):
    bad = tmp_path / "bad.thrift"
    bad.write_text("service S { void f(1: Missing m) }\n")
    code, out, err = run_cli("-idl-path", str(bad), "-m", "f", "-e", servers["echo"])
    assert (code, out) == (1, "")
    assert "bad.thrift:1:" in err and "Missing" in err and "has errors" in err


def test_float_specials_round_trip_json():
    from thriftgen.call.dynamic import TypeSpec
    from thriftgen.call.jsonmap import from_json, to_json

    d = TypeSpec("double")
    for text in ("NaN", "Infinity", "-Infinity"):
        value = from_json(text, d, None)
        assert to_json(value, d, None) == text
    assert math.isnan(from_json("nan", d, None))
    b = TypeSpec("binary")
    assert to_json(from_json(base64.b64encode(b"\x00\xff").decode(), b, None), b, None) == "AP8="
    u = TypeSpec("uuid")
    assert to_json(from_json("{12345678-1234-5678-1234-567812345678}", u, None), u, None) == \
        str(uuid.UUID("12345678-1234-5678-1234-567812345678"))
