"""Generation jobs from ``[tool.thriftgen]`` (``pyproject.toml``) or ``thriftgen.toml``.

One job::

    [tool.thriftgen]
    idl = ["idl/*.thrift"]          # paths or globs (``**`` too), relative to the file
    include = ["idl/common"]        # -I directories
    out = "gen"                     # output directory (default gen-py)
    thrift = ["package_prefix=x"]   # -thrift options
    methods = ["Store\\.get.*"]     # -m patterns (imply trim_idl)
    recursive = false               # -r
    trim = { all = true }           # trim settings (the keys of trim_config.yaml)

Several jobs: ``[[tool.thriftgen.jobs]]`` tables with the same keys plus
``name``; keys given at the top level are every job's defaults (``trim``
tables merge key by key). ``thriftgen.toml`` holds the same keys at its top
level, for repositories without a ``pyproject.toml``. Relative paths are
relative to the directory of the file that names them.

Every problem is a :class:`ConfigError` naming the file and the key, e.g.
``pyproject.toml: tool.thriftgen.jobs[1]: unknown key 'outdir' (expected one of: ...)``.
"""

from __future__ import annotations

import glob
import os
from typing import List, Optional, Sequence

from thriftgen.runtime.errors import ThriftgenError

CONFIG_FILE = "thriftgen.toml"
PYPROJECT = "pyproject.toml"
DEFAULT_OUT = "gen-py"

#: job key -> what its value must be (for the error message)
JOB_KEYS = {
    "name": "a string",
    "idl": "a string or a list of strings",
    "include": "a string or a list of strings",
    "out": "a string",
    "thrift": "a string or a list of strings",
    "methods": "a string or a list of strings",
    "recursive": "true or false",
    "trim": "a table of trim settings",
}
#: ``audit`` is read by :mod:`thriftgen.audit.policy`; jobs ignore it.
TOP_KEYS = tuple(JOB_KEYS) + ("jobs", "audit")
_GLOB_CHARS = frozenset("*?[")


class ConfigError(ThriftgenError):
    """A configuration file that cannot be read, or a bad key or value in it."""


class NoConfigError(ConfigError):
    """No IDL was given and no configuration file was found (a usage error)."""


class Job:
    """One generation run: what ``thriftgen [flags] IDL...`` would do.

    Paths are absolute. ``globs`` records how ``roots`` were found,
    ``(base dir, pattern, sorted matches)`` per glob, so a later run can tell
    whether a file appeared or vanished without reading the configuration.
    """

    def __init__(self, name: str, roots: Sequence[str], include_dirs: Sequence[str] = (),
                 outdir: str = DEFAULT_OUT, thrift: Sequence[str] = (),
                 methods: Sequence[str] = (), recursive: bool = False,
                 trim: Optional[dict] = None, source: Optional[str] = None,
                 keypath: str = "", globs: Sequence[tuple] = ()):
        self.name = name
        self.roots = list(roots)
        self.include_dirs = list(include_dirs)
        self.outdir = outdir
        self.thrift = list(thrift)
        self.methods = list(methods)
        self.recursive = recursive
        self.trim = dict(trim or {})
        self.source = source  # the configuration file, None for a command line job
        self.keypath = keypath  # e.g. "tool.thriftgen.jobs[0]", for error messages
        self.globs = [tuple(g) for g in globs]
        self.out_display = _display(outdir)  # how messages name the output directory

    @property
    def base_dir(self) -> str:
        """Where the settings of this job are relative to (and trim settings are searched)."""
        return os.path.dirname(self.source) if self.source else os.getcwd()

    def where(self, key: str) -> str:
        """``file: keypath.key`` for messages about one key of this job."""
        dotted = f"{self.keypath}.{key}" if self.keypath else key
        return f"{_display(self.source)}: {dotted}" if self.source else f"--{key}"

    def gen_options(self):
        """The parsed ``-thrift`` options; a bad one is a ConfigError naming the key."""
        from thriftgen.codegen.options import parse_thrift_options

        try:
            return parse_thrift_options(self.thrift)
        except ThriftgenError as e:
            if self.source is None:
                raise
            raise ConfigError(f"{self.where('thrift')}: {e}") from None

    def spec(self) -> dict:
        """Everything that decides this job's output besides the files it reads."""
        return {"roots": self.roots, "include": self.include_dirs, "out": self.outdir,
                "thrift": self.thrift, "methods": self.methods, "recursive": self.recursive,
                "trim": self.trim, "base": self.base_dir if self.trim or self.wants_trim() else ""}

    def wants_trim(self) -> bool:
        """Whether the generator trims first (``-thrift trim_idl`` or methods)."""
        if self.methods:
            return True
        return any(item.strip().partition("=")[0].strip() == "trim_idl"
                   for value in self.thrift for item in value.split(","))

    def __repr__(self) -> str:
        return f"Job({self.name!r}, roots={self.roots!r}, out={self.outdir!r})"


class Config:
    """A loaded configuration file: its path and its jobs, in file order."""

    def __init__(self, path: str, jobs: List[Job]):
        self.path = path
        self.jobs = jobs

    def select(self, names: Sequence[str]) -> List[Job]:
        """The jobs called ``names`` (all of them when empty); unknown names are errors."""
        if not names:
            return list(self.jobs)
        known = {j.name: j for j in self.jobs}
        missing = [n for n in names if n not in known]
        if missing:
            raise ConfigError(f"{_display(self.path)}: no job named {', '.join(map(repr, missing))} "
                              f"(jobs: {', '.join(known) or 'none'})")
        return [known[n] for n in dict.fromkeys(names)]


def _display(path: Optional[str]) -> str:
    if not path:
        return "<command line>"
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


# --------------------------------------------------------------------------- finding


def find_config(start: Optional[str] = None) -> tuple:
    """``(config path or None, files looked at)``, searching ``start`` and its parents.

    In each directory ``thriftgen.toml`` wins, then a ``pyproject.toml`` that
    has a ``[tool.thriftgen]`` table. The search stops at the repository root
    (a directory holding ``.git`` or ``.hg``). ``files looked at`` lists every
    candidate path examined, present or not, in order: whether a later run
    would find the same file depends on exactly those.
    """
    d = os.path.abspath(start or os.getcwd())
    looked: list = []
    while True:
        cand = os.path.join(d, CONFIG_FILE)
        looked.append(cand)
        if os.path.isfile(cand):
            return cand, looked
        cand = os.path.join(d, PYPROJECT)
        looked.append(cand)
        if os.path.isfile(cand) and _read_toml(cand).get("tool", {}).get("thriftgen") is not None:
            return cand, looked
        parent = os.path.dirname(d)
        if parent == d or any(os.path.exists(os.path.join(d, v)) for v in (".git", ".hg")):
            return None, looked
        d = parent


def _read_toml(path: str) -> dict:
    from thriftgen.tomlfile import TomlError, read_toml

    try:
        return read_toml(path, _display(path))
    except TomlError as e:
        raise ConfigError(str(e)) from None


# --------------------------------------------------------------------------- loading


def load_config(path: str) -> Config:
    """Read and validate a ``pyproject.toml`` (its ``[tool.thriftgen]``) or ``thriftgen.toml``."""
    path = os.path.abspath(path)
    data = _read_toml(path)
    if os.path.basename(path) == PYPROJECT:
        table = data.get("tool", {}).get("thriftgen")
        prefix = "tool.thriftgen"
        if table is None:
            raise ConfigError(f"{_display(path)}: no [tool.thriftgen] table")
    else:
        table, prefix = data, ""
        if set(data) == {"tool"}:
            raise ConfigError(f"{_display(path)}: put the settings at the top level of "
                              f"{CONFIG_FILE} (not under [tool.thriftgen])")
    if not isinstance(table, dict):
        raise ConfigError(f"{_display(path)}: {prefix or 'the file'} must be a table")
    _check_keys(table, TOP_KEYS, path, prefix)
    jobs_value = table.get("jobs")
    defaults = {k: v for k, v in table.items() if k not in ("jobs", "audit")}
    if jobs_value is None:
        if "idl" not in table:
            raise ConfigError(f"{_display(path)}: {prefix or 'the file'} defines no job: give "
                              f"'idl' (one job) or [[{_join(prefix, 'jobs')}]] tables")
        raw_jobs = [(prefix, defaults, {})]  # the table itself, its audit settings aside
    else:
        where = _join(prefix, "jobs")
        if not isinstance(jobs_value, list) or not all(isinstance(j, dict) for j in jobs_value):
            raise ConfigError(f"{_display(path)}: {where}: must be an array of tables "
                              f"([[{where}]])")
        if not jobs_value:
            raise ConfigError(f"{_display(path)}: {where}: is empty")
        for key in ("idl", "name"):
            if key in defaults:
                raise ConfigError(f"{_display(path)}: {_join(prefix, key)}: give '{key}' in "
                                  f"each [[{where}]] table, not at the top level")
        raw_jobs = [(f"{where}[{i}]", job, defaults) for i, job in enumerate(jobs_value)]
    jobs = [_make_job(path, keypath, prefix, own, job_defaults, index, len(raw_jobs))
            for index, (keypath, own, job_defaults) in enumerate(raw_jobs)]
    _check_unique(jobs, path)
    return Config(path, jobs)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _check_keys(table: dict, allowed: Sequence[str], path: str, keypath: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{_display(path)}: {keypath or 'top level'}: unknown key '{key}' "
                              f"(expected one of: {', '.join(allowed)})")


def _make_job(path: str, keypath: str, top: str, own: dict, defaults: dict, index: int,
              count: int) -> Job:
    _check_keys(own, tuple(JOB_KEYS), path, keypath)
    base = os.path.dirname(path)

    def value(key: str):
        return own[key] if key in own else defaults.get(key)

    def where(key: str) -> str:
        # Name the table the value came from: the job's own, or the top-level default.
        owner = keypath if key in own else top
        return f"{_display(path)}: {_join(owner, key)}"

    def strings(key: str) -> list:
        v = value(key)
        if v is None:
            return []
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise ConfigError(f"{where(key)}: must be {JOB_KEYS[key]} (non-empty), got {v!r}")
        return v

    name = value("name") if "name" in own else (f"jobs[{index}]" if count > 1 else "default")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where('name')}: must be a non-empty string, got {name!r}")

    patterns = strings("idl")
    if not patterns:
        raise ConfigError(f"{_display(path)}: {keypath or 'top level'}: 'idl' is required")
    roots: list = []
    globs: list = []
    for pattern in patterns:
        full = os.path.normpath(os.path.join(base, pattern))
        if _GLOB_CHARS & set(pattern):
            matches = sorted(p for p in glob.glob(full, recursive=True) if os.path.isfile(p))
            if not matches:
                raise ConfigError(f"{where('idl')}: '{pattern}' matches no file")
            globs.append((base, pattern, matches))
            roots.extend(m for m in matches if m not in roots)
        elif not os.path.isfile(full):
            raise ConfigError(f"{where('idl')}: no such file '{pattern}'")
        elif full not in roots:
            roots.append(full)

    include = []
    for d in strings("include"):
        full = os.path.normpath(os.path.join(base, d))
        if not os.path.isdir(full):
            raise ConfigError(f"{where('include')}: no such directory '{d}'")
        include.append(full)

    out = value("out")
    if out is None:
        out = DEFAULT_OUT
    if not isinstance(out, str) or not out:
        raise ConfigError(f"{where('out')}: must be {JOB_KEYS['out']} (non-empty), got {out!r}")

    recursive = value("recursive")
    if recursive is None:
        recursive = False
    if not isinstance(recursive, bool):
        raise ConfigError(f"{where('recursive')}: must be true or false, got {recursive!r}")

    trim = _trim_settings(path, keypath, top, own, defaults)
    return Job(name, roots, include, os.path.normpath(os.path.join(base, out)), strings("thrift"),
               strings("methods"), recursive, trim, source=path, keypath=keypath, globs=globs)


def _trim_settings(path: str, keypath: str, top: str, own: dict, defaults: dict) -> dict:
    """The top-level ``trim`` table overlaid by the job's own, each validated."""
    from thriftgen.trim.config import TrimConfigError, _validate

    merged: dict = {}
    sources = [(defaults.get("trim"), _join(top, "trim")), (own.get("trim"), _join(keypath, "trim"))]
    for table, where in sources:
        if table is None:
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"{_display(path)}: {where}: must be a table of trim settings, "
                              f"got {table!r}")
        try:
            merged.update(_validate(table, f"{_display(path)}: {where}", path))
        except TrimConfigError as e:
            raise ConfigError(str(e)) from None
    return merged


def _check_unique(jobs: List[Job], path: str) -> None:
    names: dict = {}
    outs: dict = {}
    for job in jobs:
        if job.name in names:
            raise ConfigError(f"{_display(path)}: two jobs are named '{job.name}'")
        names[job.name] = job
        other = outs.get(job.outdir)
        if other is not None:
            # Each output directory has one manifest: a second job would delete the first's files.
            raise ConfigError(f"{_display(path)}: jobs '{other.name}' and '{job.name}' both write "
                              f"to {_display(job.outdir)}; give each its own 'out'")
        outs[job.outdir] = job


def configured_jobs(config_path: Optional[str] = None, names: Sequence[str] = (),
                    start: Optional[str] = None) -> tuple:
    """``(Config, selected jobs, files looked at)``: the explicit file or the one found
    from ``start`` (default: the working directory) upwards."""
    looked: list = []
    if config_path is None:
        config_path, looked = find_config(start)
        if config_path is None:
            raise NoConfigError("no IDL given and no configuration found: add [tool.thriftgen] to "
                              f"{PYPROJECT} or a {CONFIG_FILE} (searched from "
                              f"{_display(os.path.abspath(start or os.getcwd()))} upwards)")
    elif not os.path.isfile(config_path):
        raise ConfigError(f"configuration file not found: {config_path}")
    config = load_config(config_path)
    return config, config.select(names), looked


__all__ = ["Job", "Config", "ConfigError", "NoConfigError", "find_config", "load_config", "configured_jobs",
           "CONFIG_FILE", "DEFAULT_OUT", "JOB_KEYS"]
