"""``thriftgen audit OLD NEW`` and ``thriftgen audit --against REF [IDL...]``.

Reports the changes from the old version to the new one that break the wire
(on by default) or the generated code (``--enable source``), as compiler-style
diagnostics located in the new version with a ``note: was ...`` in the old
one, or as JSON. Exit code 1 when a finding at error severity remains.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import List, Optional, Sequence

import typer

from thriftgen import cliapp
from thriftgen.cliapp import CACHE_DIR_OPT, INCLUDE_OPT, NO_CACHE_OPT, app, make_cache, use_color


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"thriftgen: error: {message}", err=True)
    raise typer.Exit(code)


def _list_rules() -> None:
    from thriftgen.audit.rules import RULES

    width = max(len(r) for r in RULES)
    for rule in RULES.values():
        typer.echo(f"{rule.id:<{width}}  {rule.category:<6}  {rule.severity:<7}  {rule.doc}")


@app.command("audit")
def audit_cmd(
    idls: Optional[List[str]] = typer.Argument(
        None, metavar="OLD NEW | IDL...",
        help="Two files, the old version and the new one; with --against, the new "
             "version's root files (none: those of the configured jobs)."),
    against: Optional[str] = typer.Option(
        None, "--against", metavar="REF",
        help="Compare with the files as they are at this git revision (HEAD, origin/main, "
             "a tag, a commit), read with git without a checkout."),
    include: List[str] = INCLUDE_OPT,
    old_include: List[str] = typer.Option(
        [], "--old-include", "--old-I", metavar="DIR",
        help="Include directory of the old version (repeatable; default: those of -I)."),
    enable: List[str] = typer.Option(
        [], "--enable", metavar="RULE|CATEGORY",
        help="Also report this rule or category ('source'); repeatable."),
    disable: List[str] = typer.Option(
        [], "--disable", metavar="RULE|CATEGORY", help="Do not report this rule or category."),
    ignore: List[str] = typer.Option(
        [], "--ignore", metavar="RULE:SUBJECT",
        help="Accept this break (e.g. field-type-changed:Span.tags; wildcards allowed)."),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON on stdout."),
    github: bool = typer.Option(
        False, "--github",
        help="Also print GitHub Actions annotations (::error file=...) on stdout, so the "
             "findings show on the pull request's diff."),
    werror: bool = typer.Option(False, "--werror", help="Treat warnings as errors."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only print errors."),
    config: Optional[str] = typer.Option(
        None, "--config", metavar="FILE",
        help="Configuration file with [tool.thriftgen.audit] (default: the one found from "
             "the working directory)."),
    job_names: List[str] = typer.Option(
        [], "--job", metavar="NAME", help="With --against and no IDL: only this configured job."),
    list_rules: bool = typer.Option(False, "--list-rules", help="List the rules and exit."),
    cache_dir: Optional[str] = CACHE_DIR_OPT,
    no_cache: bool = NO_CACHE_OPT,
) -> None:
    """Report wire-breaking changes between two versions of an IDL."""
    if list_rules:
        _list_rules()
        return
    from thriftgen.audit.gitref import GitError
    from thriftgen.audit.policy import PolicyError, load_policy
    from thriftgen.config import ConfigError

    try:
        policy = load_policy(config).merged(enable, disable, ignore)
    except (PolicyError, ConfigError) as e:
        _fail(str(e), 2)
    idls = list(idls or [])
    runs = []  # (old roots, new roots, old -I, new -I); a root missing on one side is None
    old_dirs = list(old_include or include)
    if against is None:
        if len(idls) != 2:
            _fail("give the old and the new version (thriftgen audit OLD NEW: two files or two "
                  "directories), or --against REF", 2)
        runs.append((*_side_by_side(idls[0], idls[1]), old_dirs, list(include)))
    elif idls:
        runs.append((None, idls, old_dirs, list(include)))
    else:
        from thriftgen.config import NoConfigError, configured_jobs
        from thriftgen.runtime.errors import ThriftgenError

        try:
            _, jobs, _ = configured_jobs(config, job_names)
        except NoConfigError:
            jobs = None  # no configuration: every .thrift file git knows here, then or now
        except ThriftgenError as e:
            _fail(str(e), 2)
        if jobs is None:
            from thriftgen.audit.gitref import GitError, repository_idls

            try:
                runs.append((None, repository_idls(against), old_dirs, list(include)))
            except GitError as e:
                _fail(str(e))
        else:
            for job in jobs:
                dirs = [*job.include_dirs, *include]
                runs.append((None, list(job.roots), dirs, dirs))
    cache = make_cache(cache_dir, no_cache)
    try:
        outcome = [_run(against, *run, cache) for run in runs]
    except GitError as e:
        _fail(str(e))
    out, err, code = _render(outcome, policy, as_json, quiet, werror, github)
    if out:
        typer.echo(out)
    if err:
        typer.echo(err, err=True)
    replayable = against is None and all(os.path.isfile(p) for p in idls)  # no dir listings
    if replayable and cliapp.FULL_ARGV is not None and not use_color():
        _record(out, err, code, outcome)
    if code:
        raise typer.Exit(code)


def _record(out: str, err: str, code: int, outcome: list) -> None:
    """Let the same command on unchanged files (and policy file) be answered before
    anything is imported (:func:`thriftgen.gencache.record_check`)."""
    from thriftgen.config import find_config
    from thriftgen.gencache import file_digest, program_inputs, record_check

    inputs: dict = {}
    for _, _, _, programs in outcome:
        for program, roots, dirs in programs:
            inputs.update(program_inputs(program, roots, dirs))
    for path in find_config()[1]:  # where the policy came from, or would come from
        inputs[os.path.abspath(path)] = file_digest(path)
    try:
        record_check(cliapp.FULL_ARGV, inputs, err + "\n" if err else "", code,
                     out + "\n" if out else "")
    except OSError:
        pass  # the record is an optimisation


def _side_by_side(old: str, new: str) -> tuple:
    """Roots of ``audit OLD NEW``: the two files, or the ``.thrift`` files of two
    directories paired by relative path (None where a side has no such file)."""
    if os.path.isdir(old) and os.path.isdir(new):
        rels = sorted(set(_idl_files(old)) | set(_idl_files(new)))
        return ([os.path.join(old, r) if os.path.isfile(os.path.join(old, r)) else None
                 for r in rels],
                [os.path.join(new, r) if os.path.isfile(os.path.join(new, r)) else None
                 for r in rels])
    if os.path.isdir(old) or os.path.isdir(new):
        _fail("OLD and NEW must both be files or both be directories", 2)
    return [old], [new]


def _idl_files(top: str) -> List[str]:
    found = []
    for d, subdirs, names in os.walk(top):
        subdirs[:] = sorted(x for x in subdirs if not x.startswith("."))
        found += [os.path.relpath(os.path.join(d, n), top) for n in names if n.endswith(".thrift")]
    return found


def _run(against: Optional[str], old_roots: Optional[List[Optional[str]]],
         new_roots: List[str], old_dirs: List[str], new_dirs: List[str], cache):
    """Load both versions and compare them: ``(findings, sources, files compared,
    [(program, roots, include dirs)])``."""
    from thriftgen.audit import cached_audit, merged_sources, root_pairs
    from thriftgen.audit.gitref import materialize

    # Only --against writes the old version's files (into a temporary tree).
    scratch = (tempfile.TemporaryDirectory(prefix="thriftgen-audit-") if against is not None
               else contextlib.nullcontext())
    with scratch as tmp:
        names = None
        if against is not None:
            tree = materialize(against, new_roots, old_dirs, tmp)
            old_given, old_dirs, names = tree.roots, tree.include_dirs, tree.names
        else:
            old_given = list(old_roots or [])
        new_given = [r if r is not None and os.path.isfile(r) else None for r in new_roots]
        old_present = [r for r in old_given if r is not None]
        new_present = [r for r in new_given if r is not None]
        old, old_sources = _load(old_present, old_dirs, cache, names,
                                 "old version" + (f" ({against})" if against else ""))
        new, new_sources = _load(new_present, new_dirs, cache, None, "new version")
        findings = cached_audit(old, new, root_pairs(old, new, old_given, new_given), cache,
                                (old_sources, new_sources))
        # Quote lines later: keep the texts, the temporary tree goes away.
        loaded = [(old, old_present, old_dirs), (new, new_present, new_dirs)]
        return findings, merged_sources(old_sources, new_sources), len(new.files), loaded


def _load(roots: Sequence[str], dirs: Sequence[str], cache, names, what: str):
    from thriftgen.cliapp import report
    from thriftgen.diagnostics import DiagnosticSink, IDLError
    from thriftgen.idl.frontend import load_checked_program
    from thriftgen.idl.loader import Program

    sink = DiagnosticSink()
    if not roots:
        return Program([], {}), sink.sources
    try:
        program = load_checked_program(roots, dirs, sink, cache, names=names)
    except IDLError:
        report(sink, quiet=True)
        _fail(f"the {what} does not check; nothing was compared")
    return program, sink.sources


def _render(outcome: list, policy, as_json: bool, quiet: bool, werror: bool,
            github: bool = False) -> tuple:
    """``(stdout text, stderr text, exit code)`` of the findings."""
    from thriftgen.audit import AuditResult, apply_policy, merged_sources, to_diagnostic
    from thriftgen.audit import to_json as result_json
    from thriftgen.diagnostics import format_diagnostic

    result = AuditResult()
    files = 0
    sources = merged_sources(*(o[1] for o in outcome))
    for findings, _, count, _ in outcome:
        part = apply_policy(findings, policy)
        result.verdicts.extend(part.verdicts)
        result.ignored += part.ignored
        files += count
    code = 1 if result.errors or (werror and result.warnings) else 0
    if as_json:
        return json.dumps(result_json(result, files), indent=2), "", code
    annotations = "\n".join(_annotation(v) for v in result.verdicts) if github else ""
    color = use_color()
    shown = [v for v in result.verdicts if not quiet or v.severity == "error"]
    lines = [format_diagnostic(to_diagnostic(v), sources, color) for v in shown]
    lines.append(_summary(result, files, policy))
    return annotations, "\n".join(lines), code


def _annotation(v) -> str:
    """A GitHub Actions workflow command for one finding (new version's location)."""
    f = v.finding
    loc = f.loc or f.old_loc
    where = f"file={_escape(loc.file, True)},line={loc.line},col={loc.col}," if loc else ""
    return (f"::{v.severity} {where}title={_escape(f.rule, True)}::"
            f"{_escape(f.message + ('; ' + f.old_message if f.old_message else ''), False)}")


def _escape(text: str, prop: bool) -> str:
    # The escaping GitHub's workflow commands define for data and for properties.
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def _summary(result, files: int, policy) -> str:
    rules = ", ".join(dict.fromkeys(policy.enable))
    ignored = f"; {result.ignored} accepted by ignore" if result.ignored else ""
    if not result.verdicts:
        return f"audit: no breaking changes in {files} file(s) (rules: {rules}{ignored})"
    return (f"audit: {result.errors} error(s), {result.warnings} warning(s) in {files} file(s) "
            f"(rules: {rules}{ignored})")
