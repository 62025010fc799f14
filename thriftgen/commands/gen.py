"""The generator command line, Kitex style (it is thriftgen's default command)::

    thriftgen [-o OUTDIR] [-I DIR]... [-thrift OPT[=VALUE][,OPT...]]... [-m PATTERN]...
              [-r] [--check | --fail-on-change] [-q|-v] IDL...
    thriftgen [flags] [--config FILE] [--job NAME]...     # the configured jobs

``-thrift`` is a single-dash long option, as in Kitex (click treats a single
dash followed by several letters as a long option name). Without IDL arguments
the jobs of ``[tool.thriftgen]`` / ``thriftgen.toml`` run (see
:mod:`thriftgen.config`), the flags overriding their settings. Every job runs
through :func:`thriftgen.codegen.incremental.run_job`, and a run that changed
nothing is remembered so that the next identical one is answered by
:mod:`thriftgen.gencache` before this module is even imported.
"""

from __future__ import annotations

import gc
import os
from typing import List, Optional

import typer

from thriftgen.cliapp import CACHE_DIR_OPT, NO_CACHE_OPT, app, report

DEFAULT_OUTDIR = "gen-py"


def _fail(message: str) -> None:
    typer.echo(f"thriftgen: error: {message}", err=True)
    raise typer.Exit(1)


def display(path: str) -> str:
    """A path as messages show it: relative to the working directory when inside it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def make_jobs(idls: List[str], outdir: Optional[str], include: List[str], thrift: List[str],
              method: List[str], recursive: bool, config: Optional[str],
              job_names: List[str]) -> tuple:
    """``(jobs, configuration files consulted {path: sha256 or None}, globs)``.

    IDL arguments make one job from the flags alone. Without them the jobs come
    from the configuration (``--config FILE``, else found from the working
    directory upwards), and the flags override: ``-o`` (one job only), ``-m`` and
    ``-r`` replace, ``-I`` and ``-thrift`` add to the configured values.
    """
    from thriftgen.config import ConfigError, Job, configured_jobs
    from thriftgen.gencache import file_digest

    if idls:
        if config or job_names:
            raise ConfigError("--config and --job select configured jobs; they cannot be "
                              "combined with IDL arguments")
        out = outdir or DEFAULT_OUTDIR
        job = Job("command line", [os.path.abspath(i) for i in idls],
                  [os.path.abspath(d) for d in include], os.path.abspath(out), thrift, method,
                  recursive)
        job.out_display = out
        return [job], {}, []
    cfg, jobs, looked = configured_jobs(config, job_names)
    if outdir and len(jobs) > 1:
        raise ConfigError(f"-o names one output directory but {len(jobs)} jobs are selected "
                          f"({', '.join(j.name for j in jobs)}); pick one with --job")
    for job in jobs:
        if outdir:
            job.outdir = os.path.abspath(outdir)
        job.include_dirs += [os.path.abspath(d) for d in include]
        job.thrift += thrift
        if method:
            job.methods = list(method)
        job.recursive = job.recursive or recursive
        job.out_display = display(job.outdir)
    consulted = {p: file_digest(p) for p in looked}
    consulted[os.path.abspath(cfg.path)] = file_digest(cfg.path)
    globs = [g for job in jobs for g in job.globs]
    return jobs, consulted, globs


@app.command(
    "gen",
    context_settings={"ignore_unknown_options": False, "allow_interspersed_args": True},
)
def gen_cmd(
    idls: Optional[List[str]] = typer.Argument(
        None, metavar="IDL...",
        help="Root IDL files. None: run the jobs configured in pyproject.toml "
             "(tool.thriftgen) or thriftgen.toml, found from here upwards."),
    outdir: Optional[str] = typer.Option(None, "-o", "--out", metavar="OUTDIR",
                                         help="Output directory (default: gen-py, like Apache)."),
    include: List[str] = typer.Option([], "-I", "--include", metavar="DIR",
                                      help="Add a directory to the include search path."),
    thrift: List[str] = typer.Option(
        [], "-thrift", "--thrift", metavar="OPT[=VALUE][,OPT...]",
        help="Generator options, comma separated, repeatable: trim_idl[=all], no_fmt, "
             "package_prefix=PKG, template=default|slim, fast_codec=jit|aot, "
             "with_field_mask, no_default_serdes, no_fast_codec (an unknown option "
             "lists them all)."),
    method: List[str] = typer.Option(
        [], "-m", "--method", metavar="PATTERN",
        help="With trimming: keep only matching methods (regular expression on "
             "'Service.method' or 'method'; repeatable). Implies -thrift trim_idl."),
    recursive: bool = typer.Option(
        False, "-r", "--recursive",
        help="Also generate included files nothing generated imports (those the root "
             "needs are always generated)."),
    check: bool = typer.Option(
        False, "--check",
        help="Write nothing; exit 1 listing the files a run would change."),
    fail_on_change: bool = typer.Option(
        False, "--fail-on-change",
        help="Exit 1 when this run wrote or removed a file (pre-commit's convention)."),
    config: Optional[str] = typer.Option(
        None, "--config", metavar="FILE",
        help="Configuration file (pyproject.toml or thriftgen.toml) instead of searching."),
    job_names: List[str] = typer.Option(
        [], "--job", metavar="NAME", help="Run only this configured job (repeatable)."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only print errors."),
    verbose: bool = typer.Option(False, "-v", "--verbose",
                                 help="List every file, and the trim report per IDL file."),
    report_format: str = typer.Option("text", "--report", metavar="text|json",
                                      help="json: one JSON object per job on stdout (what "
                                           "was trimmed and written) for tools."),
    cache_dir: Optional[str] = CACHE_DIR_OPT,
    no_cache: bool = NO_CACHE_OPT,
) -> None:
    """Generate Python code (Apache `thrift --gen py` layout) from IDL files or configured jobs."""
    import time

    from thriftgen.codegen.incremental import cache_enabled, run_job
    from thriftgen.diagnostics import DiagnosticSink, IDLError
    from thriftgen.idl.loader import gc_paused
    from thriftgen.progress import Progress
    from thriftgen.runtime.errors import ThriftgenError

    if quiet and verbose:
        _fail("-q and -v cannot be used together")
    if report_format not in ("text", "json"):
        _fail(f"--report must be 'text' or 'json', not '{report_format}'")
    try:
        jobs, consulted, globs = make_jobs(idls or [], outdir, include, thrift, method, recursive,
                                           config, job_names)
    except ThriftgenError as e:
        from thriftgen.config import NoConfigError

        typer.echo(f"thriftgen: error: {e}", err=True)
        raise typer.Exit(2 if isinstance(e, NoConfigError) else 1)  # 2: usage error
    failed = changed = False
    keys: list = []
    replay: list = []  # what an up-to-date run prints on stderr
    for job in jobs:
        sink = DiagnosticSink()
        started = time.perf_counter()
        try:
            # a job builds big acyclic structures: see gc_paused
            with gc_paused(), Progress.for_terminal(quiet) as progress:
                result = run_job(job, check=check, cache_dir=cache_dir, no_cache=no_cache,
                                 sink=sink, fmt_jobs=0, progress=progress)
        except IDLError:
            report(sink, quiet)
            failed = True
            continue
        except (ThriftgenError, OSError) as e:
            report(sink, quiet)
            typer.echo(f"thriftgen: error: {e}", err=True)
            failed = True
            continue
        keys.append(result.key)
        if result.cached:
            if result.warnings and not quiet:
                typer.echo("\n".join(result.warnings), err=True)
        else:
            report(sink, quiet)
        seconds = time.perf_counter() - started
        if report_format == "json":
            _print_json(result, job, seconds)
        if not quiet:
            if result.warnings:
                replay.append("\n".join(result.warnings))
            if result.trim:
                text = result.trim["table" if verbose else "summary"]
                typer.echo(text, err=True)
                replay.append(text)
        changed |= _print_outcome(result, job.out_display, check, quiet, verbose, replay, seconds)
    _spare_final_collection()
    # After a successful run (that wrote, not merely checked) the output is up to date.
    # (Not --report json: its seconds and "cached" are this run's, so it is never replayed.)
    if (not failed and not (check and changed) and keys and all(keys) and cache_enabled(no_cache)
            and report_format == "text"):
        _remember_run(keys, consulted, globs, replay, cache_dir)
    if failed or (changed and (check or fail_on_change)):
        raise typer.Exit(1)


def _spare_final_collection() -> None:
    """As the command line (``cli.main``), about to exit: move everything to the
    collector's permanent generation so the interpreter's final collection does not
    traverse the jobs' leftovers (measured: 2.3 s of a 9.3 s run at 10k synthetic
    structs; ~15 s at 60k). A library caller's heap is left alone."""
    from thriftgen import cliapp

    if cliapp.ARGV is not None:
        gc.freeze()


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB" if n >= 1e3 else f"{n} B"


def _print_json(result, job, seconds: float) -> None:
    import json

    typer.echo(json.dumps({
        "job": job.name, "outdir": result.outdir, "cached": result.cached,
        "files": len(result.files), "written": result.written, "unchanged": len(result.unchanged),
        "removed": result.removed, "bytes": result.out_bytes, "seconds": round(seconds, 3),
        "trim": result.trim["json"] if result.trim else None}, sort_keys=True))


def _print_outcome(result, out: str, check: bool, quiet: bool, verbose: bool,
                   replay: list, seconds: float = 0.0) -> bool:
    """Print what the job did (or, with --check, would do); True if anything changed."""
    if check:
        for rel in result.changed:
            state = "stale" if rel in result.removed else (
                "new" if not os.path.exists(os.path.join(result.outdir, rel)) else "changed")
            typer.echo(f"{os.path.join(out, rel)} ({state})")
        if result.changed:
            if not quiet:
                typer.echo(f"thriftgen: {len(result.changed)} file(s) would change", err=True)
            return True
        line = f"thriftgen: {len(result.files)} file(s) up to date"
    else:
        if verbose:
            for rel in result.written:
                typer.echo(f"wrote {os.path.join(out, rel)}", err=True)
            for rel in result.removed:
                typer.echo(f"removed {os.path.join(out, rel)}", err=True)
        if not quiet:
            if result.cached:
                typer.echo(f"thriftgen: {out} is up to date ({len(result.files)} files, "
                           f"{_size(result.out_bytes)}; cached: no input changed since the last "
                           f"run)", err=True)
            else:
                typer.echo(f"thriftgen: {len(result.written)} written, {len(result.unchanged)} "
                           f"unchanged, {len(result.removed)} removed in {out} "
                           f"({len(result.files)} files, {_size(result.out_bytes)}, "
                           f"{seconds:.2f} s)", err=True)
        line = (f"thriftgen: {out} is up to date ({len(result.files)} files, "
                f"{_size(result.out_bytes)}; cached: no input changed since the last run)")
    if not quiet:
        if check:
            typer.echo(line, err=True)
        replay.append(line)
    return bool(result.changed)


def _remember_run(keys: list, consulted: dict, globs: list, replay: list,
                  cache_dir: Optional[str]) -> None:
    """Record this command line so that the next identical run is answered from the
    cache before the CLI is even imported (see thriftgen.entry)."""
    from thriftgen import cliapp
    from thriftgen.gencache import GenCache

    argv = cliapp.ARGV
    if argv is None:  # invoked without thriftgen.cli.main (e.g. a test runner): no argv to key
        return
    gen = GenCache(cache_dir)
    gen.store_run(gen.run_key(os.getcwd(), argv), {
        "cwd": os.getcwd(), "inputs": consulted, "globs": [list(g) for g in globs], "jobs": keys,
        "stdout": "", "stderr": "".join(text + "\n" for text in replay), "exit": 0})
