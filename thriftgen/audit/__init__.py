"""``thriftgen audit``: wire-breaking (and source-breaking) changes between two
versions of an IDL program.

Stages, each plain data to plain data: load and check both versions (the
front end, with the parse cache), compare them (:mod:`.compare`: every
rule's findings), apply the policy (:mod:`.policy`: which rules count, their
severity, accepted breaks), and render diagnostics or JSON (here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from thriftgen.audit.compare import Finding, audit_programs
from thriftgen.audit.policy import AuditPolicy
from thriftgen.audit.rules import RULES
from thriftgen.diagnostics import ERROR, NOTE, WARNING, Diagnostic, SourceMap
from thriftgen.idl.loader import Program

__all__ = ["AuditResult", "Verdict", "apply_policy", "audit_programs", "Finding", "AuditPolicy",
           "to_diagnostic", "to_json"]


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
               new_roots: Sequence[str]) -> List[Tuple[str, str]]:
    """The (old, new) real paths of roots given side by side; a root without an old
    version (None) is new: nothing of it can break."""
    import os

    pairs = []
    for o, n in zip(old_roots, new_roots):
        if o is not None:
            pairs.append((os.path.realpath(o), os.path.realpath(n)))
    return [(o, n) for o, n in pairs if o in old.files and n in new.files]
