"""Generation cache: tells, without parsing anything, that a run would change nothing.

The ``thriftgen`` console script (:mod:`thriftgen.entry`) asks
:func:`up_to_date_run` first: when the cache shows that the output of
``thriftgen ARGS`` in this directory is already on disk, it prints what a full
run would print and exits, having imported nothing but the standard library
(the whole budget of a warm run on 10k structs is ~80 ms; importing the CLI
alone costs more). Anything else goes to :func:`thriftgen.cli.main`.

Entries live under ``<cache root>/gen/`` (the parse cache's directory:
``--cache-dir``, ``THRIFTGEN_CACHE_DIR`` or the user cache dir), as JSON:

* a **job entry** per generation job, keyed by sha256(generator fingerprint,
  the job's settings: roots, include dirs, output dir, options): every input
  file with its content hash (IDL files, trim settings files; ``null`` for a
  path that must stay absent, such as an include candidate searched before the
  file that was found), the include graph, the output files with their
  content hash, size and mtime, the package each output belongs to, and the
  warnings the run printed. It is fresh when every input hashes the same and
  every output is as written. The inputs are checked, not keyed, so that after
  a change the previous entry still says what was generated from what (which
  is how :mod:`thriftgen.codegen.incremental` regenerates only the packages
  that depend on a changed file).
* a **run entry** per command line, keyed by (generator fingerprint, working
  directory, arguments): the configuration files consulted, the globs that
  found the IDL files, the job keys and the text an up-to-date run prints.

The generator fingerprint hashes thriftgen's own sources and templates and
black's version, so any change to the generator invalidates everything.
Outputs are compared by (size, mtime) first and by content hash when those
differ or when the file was modified less than a clock tick before the entry
was recorded (a same-tick edit would keep its mtime), like git's racy-index rule.
Formatting results are cached here too (:class:`FormatCache`).

Nothing here trusts an entry blindly: every entry is sealed with the user's
cache key (:mod:`thriftgen.cachedir`), and an unreadable, foreign, edited or
corrupt entry is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import zlib

from thriftgen import __version__

ENTRY_FORMAT = 2  # 2: job entries carry the trim report as a dict
#: outputs modified this close (ns) before their entry was recorded are compared by
#: content: the coarse kernel clock tick on file systems with ns timestamps, two
#: seconds where mtimes are whole seconds (a same-tick edit keeps the mtime)
RACY_NS = 20_000_000
RACY_NS_COARSE = 2_000_000_000
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_fingerprint: str | None = None


# --------------------------------------------------------------------------- basics


def cache_root(cache_dir: str | None = None) -> str:
    """The directory ``--cache-dir`` names; the parse cache's default otherwise."""
    if cache_dir:
        return cache_dir
    from thriftgen.cachedir import default_cache_dir

    return default_cache_dir()


def file_digest(path: str) -> str | None:
    """sha256 hex of a file's bytes; None when it is not a readable file."""
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        return None


def _template_dirs() -> list:
    parent = os.path.dirname(_PACKAGE_DIR)
    return [os.path.join(_PACKAGE_DIR, "_templates"), os.path.join(parent, "templates")]


#: Parts of the package that decide how a run is invoked, not what it generates
#: (paths relative to the package; directories end with "/").
_NOT_GENERATOR = ("__main__.py", "cli.py", "cliapp.py", "entry.py", "argv.py", "config.py",
                  "gencache.py", "call/", "commands/", "integrations/", "runtime/rpc/")


def _generator_files() -> list:
    files = []
    for root in [_PACKAGE_DIR] + [d for d in _template_dirs() if os.path.isdir(d)]:
        for d, dirs, names in os.walk(root):
            dirs[:] = sorted(x for x in dirs if x != "__pycache__")
            for n in sorted(names):
                p = os.path.join(d, n)
                rel = os.path.relpath(p, _PACKAGE_DIR).replace(os.sep, "/")
                if n.endswith((".py", ".j2")) and not rel.startswith(_NOT_GENERATOR):
                    files.append(p)
    return files


def generator_fingerprint(root: str | None = None) -> str:
    """Hash of everything besides the inputs that decides the output: thriftgen's
    version, sources and templates, black's version.

    Hashing ~60 source files costs more than the rest of a warm run, so the
    result is remembered under ``root`` (a cache root) keyed by their paths,
    sizes and mtimes.
    """
    global _fingerprint
    if _fingerprint is not None:
        return _fingerprint
    files = _generator_files()
    stats = hashlib.sha256(f"{__version__}\0{_black_version()}\0".encode())
    for p in files:
        try:
            st = os.stat(p)
        except OSError:
            continue
        stats.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\0".encode("utf-8", "surrogatepass"))
    store = _store(root) if root else None
    memo = stats.hexdigest()
    if store is not None:
        value = store.read("gen/fingerprint", memo)
        if value is not None and len(value) == 64:
            _fingerprint = value.decode("ascii", "replace")
            return _fingerprint
    h = hashlib.sha256(f"thriftgen {__version__}\0{_black_version()}\0".encode())
    for p in files:
        rel = os.path.relpath(p, os.path.dirname(_PACKAGE_DIR))
        h.update(rel.encode("utf-8", "surrogatepass") + b"\0")
        h.update((file_digest(p) or "-").encode() + b"\0")
    _fingerprint = h.hexdigest()
    if store is not None:
        store.write("gen/fingerprint", memo, _fingerprint.encode())
    return _fingerprint


def _black_version() -> str:
    import importlib.util

    try:
        spec = importlib.util.find_spec("_black_version")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        return "black " + (file_digest(spec.origin) or "?")
    return "black ?"


def digest_json(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":"))
                          .encode("utf-8", "surrogatepass")).hexdigest()


def _store(root: str | None):
    from thriftgen.cachedir import open_store

    return open_store(cache_root(root))


def _read_json(store, part: str, key: str) -> dict | None:
    data = store.read(part, key) if store is not None else None
    if data is None:
        return None
    try:
        entry = json.loads(data)
    except ValueError:
        return None
    if not isinstance(entry, dict) or entry.get("format") != ENTRY_FORMAT or entry.get("key") != key:
        return None
    return entry


def _write_json(store, part: str, key: str, entry: dict) -> None:
    if store is not None:
        entry = dict(entry, format=ENTRY_FORMAT, key=key)
        store.write(part, key, json.dumps(entry, sort_keys=True).encode("utf-8", "surrogatepass"))


# --------------------------------------------------------------------------- checks


def inputs_match(inputs: dict) -> bool:
    """Every path still hashes as recorded (``None``: must not be a file)."""
    for path, digest in inputs.items():
        if digest is None:
            if os.path.isfile(path):
                return False
        elif file_digest(path) != digest:
            return False
    return True


def program_inputs(program, roots: list, include_dirs: list) -> dict:
    """Every file ``program`` was read from, by the path it was reached through (a
    re-pointed symlink is a change), plus each include candidate that was searched
    before the file found (it must stay absent, or it would be found instead)."""
    inputs = {}
    by_real = {pf.path: pf.content_hash for pf in program}
    for root, real in zip(roots, program.roots):
        inputs[os.path.abspath(root)] = by_real.get(real)
    include_dirs = [os.path.abspath(d) for d in include_dirs]
    for pf in program:
        inputs.setdefault(pf.path, pf.content_hash)
        for inc in pf.include_nodes:
            for base in [os.path.dirname(pf.path), *include_dirs]:
                cand = os.path.join(base, inc.path)
                if os.path.isfile(cand):
                    inputs[cand] = by_real.get(os.path.realpath(cand), file_digest(cand))
                    break
                inputs[cand] = None
    return inputs


def expand_glob(base: str, pattern: str) -> list:
    import glob

    full = os.path.normpath(os.path.join(base, pattern))
    return sorted(p for p in glob.glob(full, recursive=True) if os.path.isfile(p))


def globs_match(globs: list) -> bool:
    return all(expand_glob(base, pattern) == list(matches) for base, pattern, matches in globs)


def output_stats(outdir: str, digests: dict) -> dict:
    """``{rel: [sha256, size, mtime_ns]}`` for files whose content hash is known."""
    out = {}
    for rel, digest in digests.items():
        try:
            st = os.stat(os.path.join(outdir, *rel.split("/")))
        except OSError:
            continue
        out[rel] = [digest, st.st_size, st.st_mtime_ns]
    return out


def outputs_match(outdir: str, outputs: dict, recorded_ns: int) -> tuple:
    """``(all as recorded?, stats refreshed by hashing or None)``."""
    refreshed = None
    for rel, (digest, size, mtime) in outputs.items():
        path = os.path.join(outdir, *rel.split("/"))
        try:
            st = os.stat(path)
        except OSError:
            return False, None
        if st.st_size != size:
            return False, None
        window = RACY_NS_COARSE if mtime % 1_000_000_000 == 0 else RACY_NS
        if st.st_mtime_ns == mtime and mtime < recorded_ns - window:
            continue
        if file_digest(path) != digest:
            return False, None
        refreshed = refreshed if refreshed is not None else {}
        refreshed[rel] = [digest, st.st_size, st.st_mtime_ns]
    return True, refreshed


# --------------------------------------------------------------------------- entries


class GenCache:
    """The job and run entries under one cache root."""

    def __init__(self, root: str | None = None):
        self.root = cache_root(root)
        self.store = _store(self.root)

    def job_key(self, spec: dict) -> str:
        return digest_json("job", generator_fingerprint(self.root), spec)

    def run_key(self, cwd: str, argv: list) -> str:
        return digest_json("run", generator_fingerprint(self.root), cwd, list(argv))

    def load_job(self, key: str) -> dict | None:
        return _read_json(self.store, "gen/jobs", key)

    def store_job(self, key: str, entry: dict) -> None:
        _write_json(self.store, "gen/jobs", key, entry)

    def fresh_job(self, key: str, cwd: str | None = None) -> dict | None:
        """The job entry if the output on disk is what the job would write now."""
        started = time.time_ns()  # before any stat: see outputs_match
        entry = self.load_job(key)
        if entry is None:
            return None
        if entry.get("warnings") and entry.get("cwd") != (cwd or os.getcwd()):
            return None  # the warnings name files relative to another directory
        ok, refreshed = outputs_match(entry["outdir"], entry["outputs"], entry["recorded_ns"])
        if not ok or not inputs_match(entry["inputs"]):
            return None
        if refreshed:
            # Verified by content: record the new stats so the next run only stats.
            entry["outputs"] = dict(entry["outputs"], **refreshed)
            entry["recorded_ns"] = started
            self.store_job(key, entry)
        return entry

    def load_run(self, key: str) -> dict | None:
        return _read_json(self.store, "gen/runs", key)

    def store_run(self, key: str, entry: dict) -> None:
        _write_json(self.store, "gen/runs", key, entry)

    def fresh_run(self, key: str) -> dict | None:
        """The run entry if its configuration, globs and every job are unchanged."""
        run = self.load_run(key)
        if run is None or not inputs_match(run["inputs"]) or not globs_match(run["globs"]):
            return None
        for job_key in run["jobs"]:
            if self.fresh_job(job_key, run["cwd"]) is None:
                return None
        return run


# --------------------------------------------------------------------------- format cache


class FormatCache:
    """black's output by sha256 of its input (and the generator fingerprint, which
    covers black's version and thriftgen's formatting code); zlib-compressed, sealed
    like every entry (a formatted text goes into generated code verbatim)."""

    def __init__(self, root: str | None = None):
        root = cache_root(root)
        self.store = _store(root)
        self._salt = f"{generator_fingerprint(root)}\0".encode()
        self.hits = 0
        self.misses = 0

    def _key(self, text: str) -> str:
        return hashlib.sha256(self._salt + text.encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, text: str) -> str | None:
        blob = self.store.read("fmt", self._key(text)) if self.store is not None else None
        result = None
        if blob is not None:
            try:
                result = zlib.decompress(blob).decode("utf-8", "surrogatepass")
            except (zlib.error, UnicodeDecodeError):
                result = None
        if result is None:
            self.misses += 1
        else:
            self.hits += 1
        return result

    def put(self, text: str, formatted: str) -> None:
        if self.store is not None:
            self.store.write("fmt", self._key(text), zlib.compress(formatted.encode("utf-8", "surrogatepass"), 1))


# --------------------------------------------------------------------------- fast path


def _cache_args(argv: list) -> tuple | None:
    """``(cache dir or None)`` as a 1-tuple; None when caching is off for this run."""
    if os.environ.get("THRIFTGEN_NO_CACHE") or "--no-cache" in argv:
        return None
    cache_dir = None
    for i, arg in enumerate(argv):
        if arg == "--cache-dir" and i + 1 < len(argv):
            cache_dir = argv[i + 1]
        elif arg.startswith("--cache-dir="):
            cache_dir = arg.split("=", 1)[1]
    return (cache_dir,)


def up_to_date_run(argv: list) -> dict | None:
    """The run entry when ``thriftgen argv`` here would change nothing (or, for
    ``check IDL...``, would print the same verdict), else None."""
    if argv and argv[0] in ("trim", "call", "--version", "-h", "--help"):
        return None
    if argv and argv[0] == "check":
        return _fresh_check(argv)
    if argv and argv[0] == "audit":
        # Two files compared; --against reads git, which no recorded input covers.
        return None if any(a.startswith("--against") for a in argv) else _fresh_check(argv)
    if argv and argv[0] == "gen":
        argv = argv[1:]
    cache = _cache_args(argv)
    if cache is None:
        return None
    gen = GenCache(cache[0])
    return gen.fresh_run(gen.run_key(os.getcwd(), argv))


def check_replayable(argv: list) -> bool:
    """Whether ``thriftgen check`` with these arguments may be recorded / answered
    from a run entry: explicit IDL arguments (not the configured jobs, whose
    configuration files are not tracked for check runs), no colour (the entry
    holds plain text), the cache on."""
    if any(a in ("-h", "--help", "--config", "--job") or a.startswith(("--config=", "--job="))
           for a in argv):
        return False
    if os.environ.get("NO_COLOR") is None and os.environ.get("TERM") != "dumb" and sys.stderr.isatty():
        return False
    return _cache_args(argv) is not None


def _fresh_check(argv: list) -> dict | None:
    if not check_replayable(argv):
        return None
    gen = GenCache(_cache_args(argv)[0])
    return gen.fresh_run(gen.run_key(os.getcwd(), argv))


def record_check(argv: list, inputs: dict, stderr: str, exit_code: int, stdout: str = "") -> None:
    """Remember a ``thriftgen check`` (or ``audit OLD NEW``) verdict;
    :func:`up_to_date_run` replays it while every input hashes the same (a warm
    check imports no parser at all)."""
    if not check_replayable(argv):
        return
    gen = GenCache(_cache_args(argv)[0])
    gen.store_run(gen.run_key(os.getcwd(), argv), {
        "cwd": os.getcwd(), "inputs": inputs, "globs": [], "jobs": [],
        "stdout": stdout, "stderr": stderr, "exit": exit_code})


__all__ = ["GenCache", "FormatCache", "cache_root", "generator_fingerprint", "file_digest",
           "inputs_match", "globs_match", "expand_glob", "output_stats", "outputs_match",
           "program_inputs", "record_check", "up_to_date_run"]
