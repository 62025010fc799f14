"""Helpers shared by every benchmark under ``bench/``.

* :func:`run_command` / :func:`run_python`: run something in a fresh process and
  measure its wall time and peak RSS. Peak RSS comes from GNU ``/usr/bin/time -v``
  when present, else from a tiny wrapper process that runs the target as its only
  child and reports ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` (RUSAGE_CHILDREN of
  the benchmark process itself mixes every child it ever waited for).
* :func:`measure`: repeat a run, keep every sample; :class:`Stats` gives best
  and median. :func:`round_robin` interleaves several contenders per repeat so
  machine noise spreads evenly over them.
* :func:`synth_idl`: generated IDL directories, cached under ``bench/_work/``
  (gitignored) and keyed by the generator's source hash.
* :class:`Table` and the ``fmt_*`` helpers: aligned, markdown-style tables
  (paste-able into an issue note), ratios against a named baseline column.
* :class:`Goal` / :func:`print_goals`: PASS/FAIL lines. Benchmarks inform, they
  never gate: scripts exit 0 whatever the verdicts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Optional, Sequence

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "bench"
#: Generated IDLs and scratch space; BENCH_WORK_DIR moves it (tests use a temp dir).
WORK_DIR = Path(os.environ.get("BENCH_WORK_DIR") or BENCH_DIR / "_work")
TIME_BIN = "/usr/bin/time"

# Runs the target as its only child, then writes that child's peak RSS (KiB) to argv[1].
_RSS_WRAPPER = r"""
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
if sys.platform == "darwin":
    peak //= 1024  # bytes there, KiB on Linux
with open(sys.argv[1], "w") as fh:
    fh.write(str(peak))
sys.exit(rc)
"""


# --------------------------------------------------------------------------- running


@dataclass
class Run:
    """One measured process run."""

    cmd: list
    wall: float  # seconds, perf_counter around the whole process
    peak_rss_kb: Optional[int]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def peak_rss_mb(self) -> Optional[float]:
        return None if self.peak_rss_kb is None else self.peak_rss_kb / 1024


def display_cmd(cmd: Sequence) -> str:
    """A command for messages: quoted, with multi-line ``-c`` code cut to its first line."""
    import shlex

    parts = []
    for arg in map(str, cmd):
        if "\n" in arg:
            arg = arg.strip().splitlines()[0] + " ..."
        parts.append(shlex.quote(arg))
    return " ".join(parts)


class BenchError(RuntimeError):
    """A measured command failed (and the caller asked for ``check=True``)."""

    def __init__(self, run: Run):
        tail = "\n".join(run.stderr.strip().splitlines()[-15:])
        super().__init__(f"exit {run.returncode}: {display_cmd(run.cmd)}\n{tail}")
        self.run = run


class BenchTimeout(BenchError):
    """A measured command ran past its timeout; it was killed with its children."""

    def __init__(self, cmd: Sequence, timeout: float):
        RuntimeError.__init__(self, f"timed out after {timeout:g} s: {display_cmd(cmd)}")
        self.run = None
        self.timeout = timeout


_gnu_time: Optional[bool] = None


def has_gnu_time() -> bool:
    """Whether ``/usr/bin/time -v`` is GNU time (it reports the max RSS)."""
    global _gnu_time
    if _gnu_time is None:
        _gnu_time = False
        if os.access(TIME_BIN, os.X_OK):
            with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
                try:
                    subprocess.run([TIME_BIN, "-v", "-o", out.name, "true"], capture_output=True,
                                   timeout=30, check=False)
                    _gnu_time = "Maximum resident set size" in Path(out.name).read_text()
                except (OSError, subprocess.SubprocessError):
                    _gnu_time = False
    return _gnu_time


_compiled = False


def _compile_checkout() -> None:
    global _compiled
    if not _compiled:
        import compileall

        compileall.compile_dir(str(REPO_ROOT / "thriftgen"), quiet=1)
        _compiled = True


def bench_env(extra: Optional[Mapping[str, str]] = None) -> dict:
    """The environment for measured runs: the checkout importable, no stray
    THRIFTGEN_* settings (a THRIFTGEN_NO_CACHE in the caller's shell would make
    every "warm" run cold), and bytecode as an installed package has it: pip
    byte-compiles what it installs, so a ``PYTHONDONTWRITEBYTECODE`` shell (or a
    fresh checkout) would otherwise charge every run for compiling the tool's
    modules from source (~80 ms of a 1k-struct run)."""
    _compile_checkout()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("THRIFTGEN_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    env.setdefault("PYTHONHASHSEED", "0")
    if extra:
        env.update(extra)
    return env


def run_command(cmd: Sequence, *, cwd=None, env: Optional[Mapping[str, str]] = None,
                timeout: Optional[float] = None, check: bool = True) -> Run:
    """Run ``cmd`` in a fresh process; measure wall time and peak RSS."""
    cmd = [str(c) for c in cmd]
    env = dict(env) if env is not None else bench_env()
    fd, rss_file = tempfile.mkstemp(prefix="bench-rss-", suffix=".txt")
    os.close(fd)
    try:
        if has_gnu_time():
            full = [TIME_BIN, "-v", "-o", rss_file, *cmd]
        else:
            full = [sys.executable, "-c", _RSS_WRAPPER, rss_file, *cmd]
        start = time.perf_counter()
        # Own session: on timeout the whole group goes (time/wrapper *and* the target).
        proc = subprocess.Popen(full, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, errors="replace",
                                start_new_session=True)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise BenchTimeout(cmd, timeout) from None
        except BaseException:  # Ctrl-C: do not leave a 10-minute run behind
            _kill_group(proc)
            raise
        wall = time.perf_counter() - start
        run = Run(cmd, wall, _read_peak_rss(rss_file), proc.returncode, stdout, stderr)
    finally:
        os.unlink(rss_file)
    if check and not run.ok:
        raise BenchError(run)
    return run


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, 9)
    except OSError:
        pass
    proc.communicate()


def _read_peak_rss(path: str) -> Optional[int]:
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if "Maximum resident set size" in line:
            return int(line.rsplit(":", 1)[1])
    text = text.strip()
    return int(text) if text.isdigit() else None


def run_python(code: str, args: Sequence = (), **kwargs) -> Run:
    """Run a Python snippet (``python -c code args...``) in a fresh interpreter."""
    return run_command([sys.executable, "-c", code, *args], **kwargs)


def run_module(module: str, args: Sequence = (), **kwargs) -> Run:
    """``python -m module args...`` in a fresh interpreter (the checkout importable)."""
    return run_command([sys.executable, "-m", module, *args], **kwargs)


def warm_imports(modules: Iterable[str]) -> None:
    """Import modules once in a throw-away process so that byte-code compilation
    (``__pycache__``) is not charged to the first measured run."""
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    run_python(code, list(modules), check=False)


# --------------------------------------------------------------------------- repeats


@dataclass
class Stats:
    """Every sample of one contender."""

    runs: list = field(default_factory=list)  # list[Run]
    error: Optional[str] = None  # first failure, if any run failed

    def add(self, run: Run) -> None:
        self.runs.append(run)

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.runs)

    @property
    def best(self) -> Optional[float]:
        return min(r.wall for r in self.runs) if self.ok else None

    @property
    def median(self) -> Optional[float]:
        return statistics.median(r.wall for r in self.runs) if self.ok else None

    @property
    def peak_rss_mb(self) -> Optional[float]:
        """The largest peak over the samples (memory hardly varies run to run)."""
        peaks = [r.peak_rss_mb for r in self.runs if r.peak_rss_mb is not None]
        return max(peaks) if self.ok and peaks else None


def measure(run_once: Callable[[], Run], repeat: int,
            setup: Optional[Callable[[], None]] = None) -> Stats:
    """Call ``run_once`` ``repeat`` times (``setup`` before each); a failing run is
    recorded in ``Stats.error`` and stops the repeats."""
    stats = Stats()
    for _ in range(max(1, repeat)):
        if setup is not None:
            setup()
        if not _sample(stats, run_once):
            break
    return stats


def round_robin(contenders: Mapping[str, Callable[[], Run]], repeat: int) -> dict:
    """Run every contender once per round, ``repeat`` rounds, in the given order
    (so a contender may rely on one run before it in the same round, e.g. a warm
    cache run after the cold run that filled the cache). Returns name -> Stats."""
    stats = {name: Stats() for name in contenders}
    for _ in range(max(1, repeat)):
        for name, run_once in contenders.items():
            if stats[name].error is None:
                _sample(stats[name], run_once)
    return stats


def _sample(stats: Stats, run_once: Callable[[], Run]) -> bool:
    try:
        stats.add(run_once())
    except BenchError as e:  # BenchTimeout included
        stats.error = str(e)
        return False
    return True


# --------------------------------------------------------------------------- IDL cache


def _generator_hash() -> str:
    return hashlib.sha256((BENCH_DIR / "synth_idl.py").read_bytes()).hexdigest()[:12]


#: The generator the issue tracker's benchmark goals were written against (outside the
#: project; ``--generator shared`` uses it, the project's own generator is the default).
SHARED_GENERATOR = BENCH_DIR.parents[1] / "shared" / "bench" / "gen_big_idl.py"


def shared_idl(n: int, seed: Optional[int] = None):
    """An IDL from ``../shared/bench/gen_big_idl.py`` (same shape as :func:`synth_idl`'s
    result), cached under ``bench/_work/shared-idl/``. Raises FileNotFoundError when
    the shared generator is absent."""
    from bench import synth_idl as gen

    if not SHARED_GENERATOR.is_file():
        raise FileNotFoundError(f"{SHARED_GENERATOR} not found (run from the workspace that has ../shared)")
    seed = 42 if seed is None else seed
    digest = hashlib.sha256(SHARED_GENERATOR.read_bytes()).hexdigest()[:10]
    target = WORK_DIR / "shared-idl" / f"n{n}-seed{seed}-{digest}"
    manifest = target / "manifest.json"
    if not manifest.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            out = subprocess.run([sys.executable, str(SHARED_GENERATOR), str(n), str(tmp), "--seed", str(seed),
                                  "--print-reachable"], check=True, capture_output=True, text=True).stdout
            line = next((ln for ln in out.splitlines() if ln.startswith("REACHABLE_STRUCTS:")), "")
            data = {"root": "service.thrift", "files": sorted(p.name for p in tmp.glob("*.thrift")),
                    "reachable": line.split()[1:], "n_structs": n, "seed": seed}
            (tmp / "manifest.json").write_text(json.dumps(data, indent=1))
            try:
                tmp.rename(target)
            except OSError:
                if not manifest.is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    data = json.loads(manifest.read_text())
    return gen.GeneratedIDL(target / data["root"], [target / f for f in data["files"]],
                            set(data["reachable"]), data["n_structs"], data["seed"])


def synth_idl(n: int, seed: Optional[int] = None, domains: Optional[int] = None,
              reach: Optional[float] = None):
    """A generated IDL (``bench.synth_idl.GeneratedIDL``) for these parameters,
    reused from ``bench/_work/idl/`` when an identical generator made it before."""
    from bench import synth_idl as gen

    seed = gen.DEFAULT_SEED if seed is None else seed
    domains = gen.DEFAULT_DOMAINS if domains is None else domains
    reach = gen.DEFAULT_REACH if reach is None else reach
    name = f"n{n}-seed{seed}-k{domains}-r{reach:g}-{_generator_hash()}"
    target = WORK_DIR / "idl" / name
    manifest = target / "manifest.json"
    if manifest.is_file():
        data = json.loads(manifest.read_text())
        return gen.GeneratedIDL(target / data["root"], [target / f for f in data["files"]],
                                set(data["reachable"]), data["n_structs"], data["seed"])
    target.parent.mkdir(parents=True, exist_ok=True)
    stem = name.rsplit("-", 1)[0] + "-"
    for stale in target.parent.glob(stem + "*"):  # same parameters, older generator
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        made = gen.generate(n, tmp, seed=seed, domains=domains, reach=reach)
        data = {"root": made.root.name, "files": [p.name for p in made.files],
                "reachable": sorted(made.reachable), "n_structs": made.n_structs, "seed": seed}
        (tmp / "manifest.json").write_text(json.dumps(data, indent=1))
        try:
            tmp.rename(target)  # atomic: a concurrent benchmark sees all or nothing
        except OSError:
            if not manifest.is_file():  # not just another process winning the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return synth_idl(n, seed, domains, reach)


def scratch_dir(prefix: str) -> Path:
    """A new empty directory under ``bench/_work/tmp`` (remove it with shutil.rmtree)."""
    base = WORK_DIR / "tmp"
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=base))


# --------------------------------------------------------------------------- output


def fmt_seconds(s: Optional[float]) -> str:
    if s is None:
        return "-"
    if s < 1:
        return f"{s * 1000:.0f} ms"
    return f"{s:.2f} s"


def fmt_mb(mb: Optional[float]) -> str:
    return "-" if mb is None else f"{mb:,.0f} MB"


def fmt_ratio(r: Optional[float]) -> str:
    if r is None:
        return "-"
    return f"{r:.2f}x" if r < 10 else f"{r:.1f}x"


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if a is None or b is None or b == 0 else a / b


def fmt_count(n: int) -> str:
    return f"{n:,}"


class Table:
    """A markdown table whose columns line up in a terminal too.

    ``add_row`` takes one cell per column: a string, or a number together with
    the column's formatter. :meth:`comparison` builds the common shape of "one
    row per size, one column per contender, each cell also showing its ratio to
    a baseline column"."""

    def __init__(self, headers: Sequence[str], title: Optional[str] = None,
                 align: Optional[Sequence[str]] = None):
        self.headers = list(headers)
        self.title = title
        # First column (the row label) left, values right unless told otherwise.
        self.align = list(align) if align else ["l"] + ["r"] * (len(headers) - 1)
        self.rows: list = []
        self.notes: list = []

    def add_row(self, cells: Sequence) -> None:
        if len(cells) != len(self.headers):
            raise ValueError(f"row has {len(cells)} cells, table has {len(self.headers)} columns")
        self.rows.append(["-" if c is None else str(c) for c in cells])

    def add_note(self, text: str) -> None:
        self.notes.append(text)

    @classmethod
    def comparison(cls, row_header: str, columns: Sequence[str],
                   rows: Sequence[tuple], baseline: Optional[str] = None,
                   fmt: Callable[[Optional[float]], str] = fmt_seconds,
                   title: Optional[str] = None) -> "Table":
        """``rows`` = [(label, {column: value or None})]; every non-baseline cell
        reads ``value (ratio to the baseline column)``."""
        table = cls([row_header, *columns], title=title)
        for label, values in rows:
            base = values.get(baseline) if baseline else None
            cells = [label]
            for col in columns:
                v = values.get(col)
                cell = fmt(v)
                if baseline and col != baseline and v is not None and base:
                    cell += f" ({fmt_ratio(v / base)})"
                cells.append(cell)
            table.add_row(cells)
        if baseline in columns:
            table.add_note(f"(x) = ratio to the {baseline} column; below 1 means less than {baseline}.")
        return table

    def render(self) -> str:
        widths = [max(len(h), *(len(r[i]) for r in self.rows)) if self.rows else len(h)
                  for i, h in enumerate(self.headers)]

        def line(cells: Sequence[str]) -> str:
            out = []
            for cell, w, a in zip(cells, widths, self.align):
                out.append(cell.rjust(w) if a == "r" else cell.ljust(w))
            return "| " + " | ".join(out) + " |"

        rule = "|" + "|".join(("-" * (w + 1) + ":") if a == "r" else ("-" * (w + 2))
                              for w, a in zip(widths, self.align)) + "|"
        parts = []
        if self.title:
            parts += [f"### {self.title}", ""]
        parts += [line(self.headers), rule, *(line(r) for r in self.rows)]
        if self.notes:
            parts += [""] + self.notes
        return "\n".join(parts)

    def print(self, file=None) -> None:
        print(self.render() + "\n", file=file or sys.stdout, flush=True)


@dataclass
class Goal:
    """A target a benchmark checks; ``passed`` None means it could not be judged."""

    name: str
    passed: Optional[bool]
    detail: str = ""

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "SKIP"}[self.passed]


def print_goals(goals: Sequence[Goal], file=None) -> None:
    out = file or sys.stdout
    print("### Goals", file=out)
    print("", file=out)
    for g in goals:
        print(f"- {g.verdict}: {g.name}" + (f" — {g.detail}" if g.detail else ""), file=out)
    print("", file=out, flush=True)


# --------------------------------------------------------------------------- CLI


def parse_sizes(text: str) -> list:
    """``"1000,10k,60000"`` -> [1000, 10000, 60000] (sorted, deduplicated)."""
    sizes = set()
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        if not part:
            continue
        mult = 1000 if part.endswith("k") else 1
        sizes.add(int(float(part.rstrip("k")) * mult))
    if not sizes or min(sizes) < 10:
        raise argparse.ArgumentTypeError("sizes must be integers >= 10, e.g. 1000,10k,60000")
    return sorted(sizes)


def add_common_args(parser: argparse.ArgumentParser, default_sizes: str, default_repeat: int = 3) -> None:
    """``--sizes``, ``--repeat``, ``--seed``: the options every benchmark shares."""
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes(default_sizes),
                        help=f"comma-separated struct counts (default {default_sizes}; '10k' works)")
    parser.add_argument("--repeat", type=int, default=default_repeat,
                        help=f"runs per contender; the table shows the median (default {default_repeat})")
    parser.add_argument("--seed", type=int, default=None, help="generator seed (default: synth_idl's)")


def describe_machine() -> str:
    import platform

    try:  # a shared machine: say how busy it was when the run started
        load = ", load avg %.1f" % os.getloadavg()[0]
    except OSError:
        load = ""
    return (f"python {platform.python_version()}, {platform.system()} {platform.machine()}, "
            f"{os.cpu_count()} CPUs{load}; peak RSS via "
            + ("/usr/bin/time -v" if has_gnu_time() else "wrapper getrusage(RUSAGE_CHILDREN)"))
