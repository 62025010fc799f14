"""Our accept/reject verdict on every Apache corpus file, held to the expectation
table, and the table held to Apache 0.17's recorded verdicts."""

from __future__ import annotations

import pytest

from apache_baseline import APACHE_017, INCLUDE_DIRS
from corpus_expectations import ACCEPT, DELIBERATE_DIFFERENCES, EXPECTATIONS, REJECT
from thriftgen.cli import load_and_check
from thriftgen.diagnostics import DiagnosticSink, IDLError

#: For rejected files: a line on which we must report an error (the one Apache
#: reports), so a rejection for an unrelated reason does not pass.
ERROR_LINES = {
    "test/BrokenConstants.thrift": 21,
}


def run_pipeline(corpus_dir, rel: str):
    """(verdict, errors) of loader + checker on one corpus file."""
    path = corpus_dir / rel
    include_dirs = [str(path.parent)] + [str(corpus_dir / d) for d in INCLUDE_DIRS.get(rel, [])]
    sink = DiagnosticSink()
    try:
        load_and_check([str(path)], include_dirs, None, True, sink)
    except IDLError as e:
        return REJECT, e.errors
    return ACCEPT, []


def test_table_lists_every_corpus_file(corpus_dir):
    on_disk = {p.relative_to(corpus_dir).as_posix() for p in corpus_dir.rglob("*.thrift")}
    assert on_disk == set(EXPECTATIONS)


def test_table_well_formed():
    assert set(EXPECTATIONS) == set(APACHE_017)
    for rel, (verdict, reason) in EXPECTATIONS.items():
        assert verdict in (ACCEPT, REJECT) and reason, rel
    for rel, why in DELIBERATE_DIFFERENCES.items():
        assert rel in EXPECTATIONS and why, rel
    assert set(ERROR_LINES) <= {r for r, (v, _) in EXPECTATIONS.items() if v == REJECT}


@pytest.mark.parametrize("rel", sorted(EXPECTATIONS))
def test_table_agrees_with_apache_except_deliberate_differences(rel):
    ours = EXPECTATIONS[rel][0]
    apache_py = APACHE_017[rel][0]
    if rel in DELIBERATE_DIFFERENCES:
        assert ours != apache_py, f"{rel} agrees with Apache now: drop it from DELIBERATE_DIFFERENCES"
    else:
        assert ours == apache_py, f"{rel}: Apache 0.17 says {apache_py} ({APACHE_017[rel][1]})"


@pytest.mark.parametrize("rel", sorted(EXPECTATIONS))
def test_pipeline_verdict(corpus_dir, rel):
    expected, reason = EXPECTATIONS[rel]
    verdict, errors = run_pipeline(corpus_dir, rel)
    shown = "\n".join(f"{e.loc}: {e.message}" for e in errors[:5])
    assert verdict == expected, f"{rel}: expected {expected} ({reason})\n{shown}"
    if rel in ERROR_LINES:
        assert ERROR_LINES[rel] in {e.loc.line for e in errors if e.loc}, shown
