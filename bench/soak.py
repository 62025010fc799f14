#!/usr/bin/env python3
"""Soak: both of our servers under a slowloris crowd while real clients keep calling.

    python bench/soak.py [--seconds 60] [--half-open 1000] [--clients 32] [--servers threaded,asyncio]

For each server (default limits, buffered transport, binary protocol), in one
process: ``--half-open`` sockets that each sent the first 2 bytes of a request
and then stall (every one the server closes is opened again at once, so the
crowd stays that size for the whole run), and ``--clients`` threads that call
``echo`` in a loop, each on its own connection (reconnecting after a failure).
Printed per server: calls/s, p50 / p99 / worst call latency, the worst stall
(the longest time any client went without a reply), failed calls, and how many
half-open sockets the server closed (its limits at work). Informs; never gates.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _harness as h  # noqa: E402
from bench.rpc import generate, import_paths  # noqa: E402


def _raise_file_limit(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = need if hard == resource.RLIM_INFINITY else min(hard, need)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


class Crowd:
    """Keeps ``size`` half-open sockets to ``port`` open."""

    def __init__(self, port: int, size: int):
        self.port, self.size = port, size
        self.socks: list = []
        self.reopened = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _open(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.setblocking(False)
        s.send(b"\x80\x01")
        return s

    def start(self):
        for _ in range(self.size):
            self.socks.append(self._open())
        self.thread.start()

    def _run(self):
        import selectors

        sel = selectors.DefaultSelector()
        for s in self.socks:
            sel.register(s, selectors.EVENT_READ)
        while not self.stop.is_set():
            for key, _ in sel.select(0.1):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    continue
                sel.unregister(s)
                s.close()
                try:
                    fresh = self._open()
                except OSError:
                    continue
                sel.register(fresh, selectors.EVENT_READ)
                self.reopened += 1
        for key in list(sel.get_map().values()):
            key.fileobj.close()


class _AsyncServerThread:
    """An AsyncServer on an event loop of its own thread (the clients here are blocking)."""

    def __init__(self, server):
        import asyncio

        self.asyncio, self.server = asyncio, server
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def _run(self, coro):
        return self.asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def __enter__(self):
        self.thread.start()
        self._run(self.server.start())
        self.port = self.server.port
        return self

    def __exit__(self, *exc):
        self._run(self.server.stop(5))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def run_one(kind: str, workdir: Path, seconds: float, half_open: int, clients: int) -> dict:
    sys.path[:0] = [p for p in import_paths(workdir) if p not in sys.path]
    from tgbench.echo import Echo
    from tgbench.echo.ttypes import EchoRequest, EchoResponse

    from thriftgen.runtime import rpc

    class Handler:
        def echo(self, req):
            return EchoResponse(message=req.message, server_time_ms=0)

        def shout(self, req):
            pass

    server = (rpc.ThreadedServer(Echo.Processor(Handler())) if kind == "threaded"
              else _AsyncServerThread(rpc.AsyncServer(Echo.Processor(Handler()))))
    with server:
        crowd = Crowd(server.port, half_open)
        crowd.start()
        latencies: list = []
        stalls = [0.0] * clients
        failures = [0]
        lock = threading.Lock()
        until = time.monotonic() + seconds

        def client(i):
            ch = None
            last_reply = time.monotonic()
            mine = []
            while time.monotonic() < until:
                start = time.monotonic()
                try:
                    if ch is None:
                        ch = rpc.connect("127.0.0.1", server.port, timeout=10)
                    Echo.Client(ch).echo(EchoRequest(message="0123456789abcdef"))
                except Exception:
                    with lock:
                        failures[0] += 1
                    if ch is not None:
                        ch.close()
                    ch = None
                    continue
                end = time.monotonic()
                mine.append(end - start)
                stalls[i] = max(stalls[i], end - last_reply)
                last_reply = end
            if ch is not None:
                ch.close()
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        began = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 30)
        elapsed = time.monotonic() - began
        crowd.stop.set()
        crowd.thread.join(5)
    latencies.sort()
    pick = (lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]) \
        if latencies else (lambda q: float("nan"))
    return {"calls/s": len(latencies) / elapsed, "p50": pick(0.5), "p99": pick(0.99),
            "worst": latencies[-1] if latencies else float("nan"), "stall": max(stalls),
            "failed": failures[0], "closed by server": crowd.reopened}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--half-open", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--servers", default="threaded,asyncio")
    args = ap.parse_args(argv)
    _raise_file_limit(4 * (args.half_open + args.clients) + 256)
    workdir = h.scratch_dir("soak")
    generate(workdir)
    sys.path.insert(0, str(h.REPO_ROOT))
    table = h.Table(["server", "calls/s", "p50", "p99", "worst call", "worst stall",
                     "failed calls", "half-open closed by the server"],
                    title=f"{args.half_open} half-open sockets + {args.clients} clients calling, "
                          f"{args.seconds:g} s per server (default limits)")
    for kind in args.servers.split(","):
        r = run_one(kind, workdir, args.seconds, args.half_open, args.clients)
        table.add_row([kind, f"{r['calls/s']:.0f}", f"{r['p50'] * 1e3:.2f} ms",
                       f"{r['p99'] * 1e3:.2f} ms", f"{r['worst'] * 1e3:.1f} ms",
                       f"{r['stall'] * 1e3:.1f} ms", str(r["failed"]), str(r["closed by server"])])
    table.print()
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
