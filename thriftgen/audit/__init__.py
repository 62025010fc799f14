"""``thriftgen audit``: wire-breaking (and source-breaking) changes between two
versions of an IDL program.

Stages, each plain data to plain data: load and check both versions (the
front end, with the parse cache), compare them (:mod:`.compare`: every
rule's findings), apply the policy (:mod:`.policy`: which rules count, their
severity, accepted breaks), and render diagnostics or JSON (here).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from thriftgen.audit.compare import Finding, audit_programs
from thriftgen.audit.policy import AuditPolicy
from thriftgen.audit.rules import RULES
from thriftgen.diagnostics import ERROR, NOTE, WARNING, Diagnostic, SourceMap
from thriftgen.idl.ast import Loc
from thriftgen.idl.loader import Program

__all__ = ["AuditResult", "Verdict", "apply_policy", "audit_programs", "Finding", "AuditPolicy",
           "to_diagnostic", "to_json", "cached_audit", "root_pairs"]


@dataclass(frozen=True)
class Verdict:
    """A finding that counts, at the severity the policy gives it."""

    finding: Finding
    severity: str


@dataclass
class AuditResult:
    verdicts: List[Verdict] = field(default_factory=list)
    ignored: int = 0  # findings of active rules matched by an ``ignore`` entry

    @property
    def errors(self) -> int:
        return sum(1 for v in self.verdicts if v.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for v in self.verdicts if v.severity == WARNING)


def apply_policy(findings: Sequence[Finding], policy: AuditPolicy) -> AuditResult:
    result = AuditResult()
    for f in findings:
        rule = RULES[f.rule]
        if not policy.active(rule):
            continue
        if policy.ignored(f.rule, f.subject):
            result.ignored += 1
            continue
        result.verdicts.append(Verdict(f, policy.severity_of(rule)))
    result.verdicts.sort(key=lambda v: _order(v.finding))
    return result


def _order(f: Finding) -> tuple:
    loc = f.loc or f.old_loc
    return (loc.file, loc.line, loc.col, f.rule) if loc else ("", 0, 0, f.rule)


def to_diagnostic(v: Verdict) -> Diagnostic:
    """The compiler-style diagnostic: the change in the new version, ``note: was ...``
    at the old one."""
    f = v.finding
    notes: Tuple[Diagnostic, ...] = ()
    if f.old_loc is not None and f.old_message:
        notes = (Diagnostic(NOTE, f.old_message, f.old_loc, f.width),)
    loc = f.loc if f.loc is not None else f.old_loc
    return Diagnostic(v.severity, f"{f.message} [{f.rule}]", loc, f.width, notes)


def _loc_json(loc) -> Optional[dict]:
    return None if loc is None else {"file": loc.file, "line": loc.line, "col": loc.col}


def to_json(result: AuditResult, files: int) -> dict:
    return {
        "findings": [{
            "rule": v.finding.rule,
            "category": RULES[v.finding.rule].category,
            "severity": v.severity,
            "subject": v.finding.subject,
            "message": v.finding.message,
            "location": _loc_json(v.finding.loc),
            "old_location": _loc_json(v.finding.old_loc),
            "old_message": v.finding.old_message or None,
        } for v in result.verdicts],
        "errors": result.errors,
        "warnings": result.warnings,
        "ignored": result.ignored,
        "files": files,
    }


def merged_sources(*programs_sources: SourceMap) -> SourceMap:
    merged = SourceMap()
    for sources in programs_sources:
        merged.update(sources)
    return merged


def root_pairs(old: Program, new: Program, old_roots: Sequence[Optional[str]],
               new_roots: Sequence[Optional[str]]) -> List[Tuple[str, str]]:
    """The (old, new) real paths of roots given side by side. A root with no old
    version (None) is new: nothing in it can break. One with no new version is a
    deleted file: everything in it is removed (unless found elsewhere)."""
    pairs = []
    for o, n in zip(old_roots, new_roots):
        if o is not None and n is not None:
            pairs.append((os.path.realpath(o), os.path.realpath(n)))
    return [(o, n) for o, n in pairs if o in old.files and n in new.files]


# --------------------------------------------------------------------------- findings cache


def cached_audit(old: Program, new: Program, pairs: List[Tuple[str, str]], cache,
                 texts: Optional[Tuple[dict, dict]] = None) -> List[Finding]:
    """:func:`audit_programs`, answered from ``cache`` when the same two programs (by
    fingerprint: every file's name, bytes and includes) were compared before. The
    entry is JSON checked field by field: a bad one is recomputed, never trusted."""
    if cache is None:
        return audit_programs(old, new, pairs, texts)
    shown = json.dumps([[old.files[o].display, new.files[n].display] for o, n in pairs])
    key = cache.result_key("audit", old.fingerprint(), new.fingerprint(), shown.encode())
    payload = cache.get_result("audit", key)
    if payload is not None:
        findings = _decode_findings(payload)
        if findings is not None:
            return findings
    findings = audit_programs(old, new, pairs, texts)
    cache.put_result("audit", key, json.dumps([_encode_finding(f) for f in findings]).encode())
    return findings


def _encode_finding(f: Finding) -> list:
    return [f.rule, f.subject, f.message, list(f.loc) if f.loc else None, f.width,
            list(f.old_loc) if f.old_loc else None, f.old_message]


def _loc_of(value) -> Optional[Loc]:
    if value is None:
        return None
    file, line, col = value
    if not (isinstance(file, str) and type(line) is int and type(col) is int):
        raise ValueError(value)
    return Loc(file, line, col)


def _decode_findings(payload: bytes) -> Optional[List[Finding]]:
    try:
        out = []
        for rule, subject, message, loc, width, old_loc, old_message in json.loads(payload):
            if rule not in RULES or not all(isinstance(x, str) for x in
                                            (subject, message, old_message)) \
                    or type(width) is not int:
                return None
            out.append(Finding(rule, subject, message, _loc_of(loc), width, _loc_of(old_loc),
                               old_message))
        return out
    except (ValueError, TypeError):
        return None
