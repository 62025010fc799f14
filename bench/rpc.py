#!/usr/bin/env python3
"""RPC benchmark: a small echo call on loopback, our servers vs Apache's, in one run.

    python bench/rpc.py [--calls 5000] [--concurrency 8] [--repeat 3]
                        [--transport buffered|header|ttheader]

Servers (each in its own process, binary protocol; ``--transport``: buffered by
default, or a header transport: Apache THeader / Kitex TTHeader, see below):

* ``thriftgen ThreadedServer`` and ``thriftgen AsyncServer`` (generated code +
  :mod:`thriftgen.runtime.rpc`);
* Apache's ``TThreadedServer`` with Apache-generated code, pure-Python
  ``TBinaryProtocol`` and the C-accelerated ``TBinaryProtocolAccelerated``.

Every server gets the same clients, from this process:

* *sequential*: one connection, one call at a time, our blocking client --
  calls per second and per-call latency (p50 / p99);
* *concurrent*: ``--concurrency`` connections, one call at a time each, our
  asyncio client -- total calls per second and latency percentiles;
* for reference, Apache's own blocking client (accelerated) against every
  server, sequential.

Loopback latency on a shared 2-core machine is mostly process wake-ups, and it
is noisy; so the run also measures the server's own work per call without
sockets, in this process: our ``Dispatcher.handle`` (message in, reply out,
plus cutting the message from the stream) against Apache's
``Processor.process`` over ``TMemoryBuffer`` with the pure and the
accelerated protocol.

With ``--transport header`` the servers are ours (``transport="auto"``) and
Apache's ``TThreadedServer`` with ``THeaderProtocolFactory``; every client
sends a ``log_id`` header; the goal is our servers' concurrent calls/s at least
1.5x Apache's THeader server's. ``--transport ttheader``: Apache has no TTHeader,
so ours only.

The call: ``echo(EchoRequest(message=<16 chars>))`` returning an
``EchoResponse`` (fixtures/echo/echo.thrift). Each number is the median of
``--repeat`` rounds, contenders interleaved per round. Benchmarks inform, they
never gate: the exit code is 0 whatever the verdicts.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _harness as h  # noqa: E402

REPO = h.REPO_ROOT
ECHO_IDL = REPO / "fixtures" / "echo" / "echo.thrift"
OUR_PREFIX = "tgbench"
MESSAGE = "0123456789abcdef"

OURS_THREADED = "thriftgen ThreadedServer"
OURS_ASYNC = "thriftgen AsyncServer"
APACHE_PURE = "Apache TThreadedServer (pure)"
APACHE_ACCEL = "Apache TThreadedServer (accel)"
APACHE_HEADER = "Apache TThreadedServer (THeader)"
SERVERS = [OURS_THREADED, OURS_ASYNC, APACHE_PURE, APACHE_ACCEL, APACHE_HEADER]
SERVER_KEYS = {"ours-threaded": OURS_THREADED, "ours-async": OURS_ASYNC,
               "apache-pure": APACHE_PURE, "apache-accel": APACHE_ACCEL,
               "apache-header": APACHE_HEADER}
#: the servers compared for each --transport
TRANSPORT_SERVERS = {"buffered": ["ours-threaded", "ours-async", "apache-pure", "apache-accel"],
                     "header": ["ours-threaded", "ours-async", "apache-header"],
                     "ttheader": ["ours-threaded", "ours-async"]}
GOAL_HEADER_RATE = 1.5  # our concurrent calls/s >= 1.5x Apache's THeader server's
HEADERS = {"log_id": "bench-0001"}

GOAL_P50_VS_APACHE_ACCEL = 1.5  # our servers' sequential p50 <= 1.5x Apache accel's
GOAL_WORK_VS_APACHE_ACCEL = 1.25  # our work per call <= 1.25x Apache accel's processor


# --------------------------------------------------------------------------- code


def generate(workdir: Path) -> Path:
    """Our and Apache's echo packages under ``workdir`` (ours as ``tgbench.echo``)."""
    from thriftgen.codegen import generate as gen
    from thriftgen.codegen.options import GenOptions
    from thriftgen.codegen.writer import write_output
    from thriftgen.diagnostics import DiagnosticSink
    from thriftgen.idl.frontend import load_checked_program

    program = load_checked_program([str(ECHO_IDL)], [], DiagnosticSink())
    files = gen(program, GenOptions(package_prefix=OUR_PREFIX), DiagnosticSink())
    write_output(files, str(workdir / "ours"))
    apache = shutil.which("thrift")
    if apache:
        (workdir / "apache").mkdir(parents=True, exist_ok=True)
        subprocess.run([apache, "--gen", "py:slots,enum", "-o", str(workdir / "apache"),
                        str(ECHO_IDL)], check=True, capture_output=True, timeout=60)
    return workdir


def import_paths(workdir: Path) -> list:
    return [str(workdir / "ours"), str(workdir / "apache" / "gen-py"), str(REPO)]


# --------------------------------------------------------------------------- server process


def serve(kind: str, workdir: Path, transport: str = "buffered") -> None:
    """Run one server until stdin closes; print its port first."""
    sys.path[:0] = import_paths(workdir)
    if kind.startswith("ours"):
        from tgbench.echo import Echo
        from tgbench.echo.ttypes import EchoResponse

        from thriftgen.runtime import rpc
    else:
        from echo import Echo
        from echo.ttypes import EchoResponse

    class Handler:
        def echo(self, req):
            return EchoResponse(message=req.message, server_time_ms=0)

        def shout(self, req):
            pass

    processor = Echo.Processor(Handler())
    ours_transport = "buffered" if transport == "buffered" else "auto"
    if kind == "ours-threaded":
        server = rpc.ThreadedServer(processor, port=0, max_connections=256,
                                    transport=ours_transport).start()
        port = server.port
    elif kind == "ours-async":
        loop = asyncio.new_event_loop()
        server = rpc.AsyncServer(processor, port=0, transport=ours_transport)
        loop.run_until_complete(server.start())
        port = server.port
        import threading

        threading.Thread(target=loop.run_forever, daemon=True).start()
    else:
        import threading

        from thrift.protocol import TBinaryProtocol
        from thrift.server import TServer
        from thrift.transport import TSocket, TTransport

        sock = TSocket.TServerSocket(host="127.0.0.1", port=0)
        sock.listen()
        sock.listen = lambda: None  # serve() listens again: keep the socket (and port) we have
        port = sock.handle.getsockname()[1]
        tfactory = TTransport.TBufferedTransportFactory()
        if kind == "apache-header":
            from thrift.protocol.THeaderProtocol import THeaderProtocolFactory

            pfactory, tfactory = THeaderProtocolFactory(), TTransport.TTransportFactoryBase()
        elif kind == "apache-accel":
            pfactory = TBinaryProtocol.TBinaryProtocolAcceleratedFactory()
        else:
            pfactory = TBinaryProtocol.TBinaryProtocolFactory()
        server = TServer.TThreadedServer(processor, sock, tfactory, pfactory, daemon=True)
        threading.Thread(target=server.serve, daemon=True).start()
    print(port, flush=True)
    sys.stdin.read()  # the benchmark closes our stdin when it is done with us


class ServerProcess:
    def __init__(self, kind: str, workdir: Path, transport: str = "buffered"):
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", kind, "--workdir",
             str(workdir), "--transport", transport], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env=h.bench_env())
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.close()
            raise RuntimeError(f"server {kind} did not start")
        self.port = int(line)

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


# --------------------------------------------------------------------------- clients


class Sample:
    def __init__(self, calls: int, wall: float, latencies: list):
        self.calls, self.wall = calls, wall
        self.latencies = sorted(latencies)

    @property
    def rate(self) -> float:
        return self.calls / self.wall

    def pct(self, p: float) -> float:
        lat = self.latencies
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))]


def _client_options(transport: str) -> dict:
    if transport == "buffered":
        return {}
    return {"transport": transport, "headers": HEADERS}


def run_sequential_ours(port: int, calls: int, transport: str = "buffered") -> Sample:
    from tgbench.echo import Echo
    from tgbench.echo.ttypes import EchoRequest

    from thriftgen.runtime import rpc

    with rpc.connect("127.0.0.1", port, timeout=30, **_client_options(transport)) as channel:
        client = Echo.Client(channel)
        req = EchoRequest(message=MESSAGE)
        for _ in range(min(500, calls)):  # warm up: codecs compiled, caches filled
            client.echo(req)
        lat = []
        clock = time.perf_counter
        start = clock()
        for _ in range(calls):
            t0 = clock()
            client.echo(req)
            lat.append(clock() - t0)
        return Sample(calls, clock() - start, lat)


def run_sequential_apache(port: int, calls: int, transport: str = "buffered") -> Sample:
    from echo import Echo
    from echo.ttypes import EchoRequest
    from thrift.protocol import TBinaryProtocol
    from thrift.transport import TSocket, TTransport

    sock = TSocket.TSocket("127.0.0.1", port)
    if transport == "header":
        from thrift.protocol.THeaderProtocol import THeaderProtocol
        from thrift.transport.THeaderTransport import THeaderClientType

        trans = sock
        proto = THeaderProtocol(sock, [THeaderClientType.HEADERS])
        for k, v in HEADERS.items():
            proto.set_header(k.encode(), v.encode())
        client = Echo.Client(proto)
    else:
        trans = TTransport.TBufferedTransport(sock)
        client = Echo.Client(TBinaryProtocol.TBinaryProtocolAccelerated(trans))
    trans.open()
    try:
        req = EchoRequest(message=MESSAGE)
        for _ in range(min(500, calls)):
            client.echo(req)
        lat = []
        clock = time.perf_counter
        start = clock()
        for _ in range(calls):
            t0 = clock()
            client.echo(req)
            lat.append(clock() - t0)
        return Sample(calls, clock() - start, lat)
    finally:
        trans.close()


def run_concurrent_ours(port: int, calls: int, concurrency: int,
                        transport: str = "buffered") -> Sample:
    from tgbench.echo import Echo
    from tgbench.echo.ttypes import EchoRequest

    from thriftgen.runtime import rpc

    per_client = max(1, calls // concurrency)

    async def one(lat: list) -> None:
        channel = await rpc.connect_async("127.0.0.1", port, timeout=30,
                                          **_client_options(transport))
        client = Echo.AsyncClient(channel)
        req = EchoRequest(message=MESSAGE)
        try:
            for _ in range(min(100, per_client)):
                await client.echo(req)
            await barrier.wait()
            clock = time.perf_counter
            for _ in range(per_client):
                t0 = clock()
                await client.echo(req)
                lat.append(clock() - t0)
        finally:
            await channel.close()

    class Barrier:  # asyncio.Barrier is 3.11+
        def __init__(self, n):
            self.n, self.event = n, asyncio.Event()

        async def wait(self):
            self.n -= 1
            if self.n == 0:
                self.event.set()
            await self.event.wait()

    async def main() -> Sample:
        nonlocal barrier
        barrier = Barrier(concurrency + 1)
        lat: list = []
        tasks = [asyncio.ensure_future(one(lat)) for _ in range(concurrency)]
        await barrier.wait()
        start = time.perf_counter()
        await asyncio.gather(*tasks)
        return Sample(per_client * concurrency, time.perf_counter() - start, lat)

    barrier = None
    return asyncio.run(main())


def server_work_per_call(number: int = 20000, repeat: int = 7) -> dict:
    """Seconds of server-side work per echo call, no sockets: name -> best of ``repeat``."""
    import timeit

    from tgbench.echo import Echo
    from tgbench.echo.ttypes import EchoRequest, EchoResponse

    from thriftgen.runtime import encode_message
    from thriftgen.runtime.rpc.dispatch import Dispatcher
    from thriftgen.runtime.rpc.framing import MessageCutter

    class Handler:
        def echo(self, req):
            return EchoResponse(message=req.message, server_time_ms=0)

    dispatcher = Dispatcher(Echo.Processor(Handler()))
    msg = encode_message("echo", 1, 1, Echo.echo_args(req=EchoRequest(message=MESSAGE)))
    cutter = MessageCutter(False, "binary", 1 << 24)
    contenders = {"thriftgen Dispatcher": lambda: dispatcher.handle(cutter.feed(msg)[0])}
    try:
        from echo import Echo as ApacheEcho
        from echo.ttypes import EchoResponse as ApacheResponse
        from thrift.protocol import TBinaryProtocol
        from thrift.transport import TTransport
    except ImportError:
        ApacheEcho = None
    if ApacheEcho is not None:
        class ApacheHandler:
            def echo(self, req):
                return ApacheResponse(message=req.message, server_time_ms=0)

        processor = ApacheEcho.Processor(ApacheHandler())

        def apache(proto):
            def run():
                out = TTransport.TMemoryBuffer()
                processor.process(proto(TTransport.TMemoryBuffer(msg)), proto(out))
                return out.getvalue()
            return run

        contenders["Apache Processor (pure)"] = apache(TBinaryProtocol.TBinaryProtocol)
        contenders["Apache Processor (accel)"] = apache(
            TBinaryProtocol.TBinaryProtocolAccelerated)
        replies = {name: fn() for name, fn in contenders.items()}
        if len(set(replies.values())) != 1:
            raise RuntimeError("the contenders do not answer alike: %r" % replies)
    samples: dict = {name: [] for name in contenders}
    for _ in range(repeat):  # interleaved, so load changes hit everyone alike
        for name, fn in contenders.items():
            samples[name].append(timeit.timeit(fn, number=number) / number)
    return {name: min(v) for name, v in samples.items()}


# --------------------------------------------------------------------------- main


def median_sample(samples: list) -> Sample:
    return sorted(samples, key=lambda s: s.rate)[len(samples) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000, help="calls per measurement")
    parser.add_argument("--concurrency", type=int, default=8, help="connections, concurrent run")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (median shown)")
    parser.add_argument("--transport", choices=sorted(TRANSPORT_SERVERS), default="buffered",
                        help="buffered (default), or a header transport: header (Apache "
                             "THeader), ttheader (Kitex TTHeader)")
    parser.add_argument("--serve", choices=sorted(SERVER_KEYS), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, Path(args.workdir), args.transport)
        return 0

    workdir = h.scratch_dir("rpc")
    try:
        generate(workdir)
        sys.path[:0] = import_paths(workdir)
        have_apache = (workdir / "apache" / "gen-py").is_dir()
        try:
            import thrift  # noqa: F401
        except ImportError:
            have_apache = False
        kinds = [k for k in TRANSPORT_SERVERS[args.transport]
                 if have_apache or k.startswith("ours")]
        transport = args.transport
        apache_client = have_apache and transport in ("buffered", "header")
        results: dict = {SERVER_KEYS[k]: {"seq": [], "conc": [], "apache": []} for k in kinds}
        for _ in range(max(1, args.repeat)):
            for kind in kinds:
                server = ServerProcess(kind, workdir, transport)
                try:
                    r = results[SERVER_KEYS[kind]]
                    r["seq"].append(run_sequential_ours(server.port, args.calls, transport))
                    r["conc"].append(run_concurrent_ours(server.port, args.calls,
                                                         args.concurrency, transport))
                    if apache_client:
                        r["apache"].append(run_sequential_apache(server.port, args.calls,
                                                                 transport))
                finally:
                    server.close()
        work = server_work_per_call()
        report(results, work, args, apache_client)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def report(results: dict, work: dict, args, have_apache: bool) -> None:
    print(f"Machine: {h.describe_machine()}")
    print(f"Echo call, {args.transport} transport, binary protocol, loopback; {args.calls} "
          f"calls per measurement, median of {args.repeat} rounds; client and server in "
          f"separate processes.\n")
    runs = [("seq", "Sequential, our blocking client (1 connection)"),
            ("conc", f"Concurrent, our asyncio client ({args.concurrency} connections)")]
    if have_apache:
        runs.append(("apache", "Sequential, Apache's blocking client" + (
            " (accelerated)" if args.transport == "buffered" else " (THeaderProtocol)")))
    baseline = APACHE_ACCEL if args.transport == "buffered" else APACHE_HEADER
    medians: dict = {}
    for key, title in runs:
        table = h.Table(["server", "calls/s", "p50", "p99", "vs " + baseline], title=title)
        base = results.get(baseline, {}).get(key)
        base_rate = median_sample(base).rate if base else None
        for name, r in results.items():
            s = median_sample(r[key])
            medians[(name, key)] = s
            table.add_row([name, f"{s.rate:,.0f}", _us(s.pct(50)), _us(s.pct(99)),
                           h.fmt_ratio(h.ratio(s.rate, base_rate))])
        table.print()
    table = h.Table(["server side", "per call", "vs Apache accel"],
                    title="Server work per call, no sockets (best of 7 x 20,000)")
    base = work.get("Apache Processor (accel)")
    for name, seconds in work.items():
        table.add_row([name, f"{seconds * 1e6:.2f} µs", h.fmt_ratio(h.ratio(seconds, base))])
    table.print()

    goals = []
    if args.transport != "buffered":
        for ours in (OURS_THREADED, OURS_ASYNC):
            name = (f"{ours}: concurrent calls/s >= {GOAL_HEADER_RATE:g}x {APACHE_HEADER} "
                    f"({args.transport})")
            base_s, mine = medians.get((APACHE_HEADER, "conc")), medians.get((ours, "conc"))
            if base_s is None or mine is None:
                goals.append(h.Goal(name, None, "Apache has no such server"))
                continue
            r = mine.rate / base_s.rate
            goals.append(h.Goal(name, r >= GOAL_HEADER_RATE,
                                f"{mine.rate:,.0f} vs {base_s.rate:,.0f} calls/s ({r:.2f}x)"))
        h.print_goals(goals)
        return
    for ours in (OURS_THREADED, OURS_ASYNC):
        base_s = medians.get((APACHE_ACCEL, "seq"))
        mine = medians.get((ours, "seq"))
        name = (f"{ours}: sequential p50 <= {GOAL_P50_VS_APACHE_ACCEL:g}x Apache "
                f"TThreadedServer (accel)")
        if base_s is None or mine is None:
            goals.append(h.Goal(name, None, "Apache not available"))
            continue
        r = mine.pct(50) / base_s.pct(50)
        goals.append(h.Goal(name, r <= GOAL_P50_VS_APACHE_ACCEL,
                            f"{_us(mine.pct(50))} vs {_us(base_s.pct(50))} ({r:.2f}x)"))
    mine_w, base_w = work.get("thriftgen Dispatcher"), work.get("Apache Processor (accel)")
    name = f"work per call <= {GOAL_WORK_VS_APACHE_ACCEL:g}x Apache's accelerated processor"
    if base_w is None:
        goals.append(h.Goal(name, None, "Apache not available"))
    else:
        r = mine_w / base_w
        goals.append(h.Goal(name, r <= GOAL_WORK_VS_APACHE_ACCEL,
                            f"{mine_w * 1e6:.2f} vs {base_w * 1e6:.2f} µs ({r:.2f}x)"))
    h.print_goals(goals)


if __name__ == "__main__":
    sys.exit(main())
