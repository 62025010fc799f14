"""Every independent syntax error of a file is reported, with no follow-on errors.

``fixtures/syntax_recovery/`` holds files with 2 to 5 broken declarations among
valid ones; each line where an error must be reported ends with
``// expect-error``. After a syntax error the parser resumes at the next
declaration (``thriftgen/idl/recovery.py``), so the errors reported are exactly
those lines: none missed, none invented.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from thriftgen.diagnostics import DiagnosticSink
from thriftgen.idl.grammar import parse_text
from thriftgen.idl.recovery import MAX_SYNTAX_ERRORS, declaration_starts

REPO = Path(__file__).resolve().parents[1]
CORPUS = sorted((REPO / "fixtures" / "syntax_recovery").glob("*.thrift"))
ERRORS = REPO / "fixtures" / "errors"


def error_lines(text: str, name: str = "f.thrift") -> list:
    sink = DiagnosticSink()
    parse_text(text, name, sink)
    return [d for d in sink.sorted() if d.severity == "error"]


def test_the_corpus_is_big_enough():
    assert len(CORPUS) >= 30
    counts = [p.read_text().count("// expect-error") for p in CORPUS]
    assert min(counts) >= 2 and max(counts) <= 5


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_every_error_at_its_line_and_no_other(path):
    text = path.read_text()
    expected = [i + 1 for i, line in enumerate(text.splitlines()) if "// expect-error" in line]
    errors = error_lines(text, path.name)
    assert [d.loc.line for d in errors] == expected, "\n".join(
        f"{d.loc}: {d.message}" for d in errors)


def test_single_error_fixtures_report_exactly_one_syntax_error():
    """The existing one-mistake fixtures: recovery adds nothing after their error."""
    checked = 0
    for path in sorted(ERRORS.glob("syntax_*.thrift")):
        text = path.read_bytes().decode("utf-8")
        errors = error_lines(text, path.name)
        assert len(errors) == 1, (path.name, [f"{d.loc}: {d.message}" for d in errors])
        checked += 1
    assert checked >= 10


def test_one_broken_declaration_does_not_hide_the_next():
    text = "struct A {\n  1: i32 a\n\nstruct B {\n  1: i32 b\n}\nenum C {\n  X = = 1\n}\n"
    errors = error_lines(text)
    assert [(d.loc.line, d.message.split(";")[0]) for d in errors] == [
        (4, "unexpected 'struct'"), (8, "unexpected '='")]
    assert "missing '}' before 'struct'" in errors[0].message


def test_keywords_in_comments_and_strings_are_not_boundaries():
    text = ('/* struct Fake */\nconst string S = "} struct InString"\n'
            '# enum Hidden\n// union Gone\nstruct Real {\n  1: i32 a\n}\n')
    starts = declaration_starts(text)
    assert [text[s:s + 6] for s in starts] == ["const ", "struct"]
    assert text[starts[1]:].startswith("struct Real")


def test_errors_are_capped_per_file():
    text = "".join(f"struct S{i} {{\n  1 i32 a\n}}\n" for i in range(MAX_SYNTAX_ERRORS + 10))
    assert len(error_lines(text)) == MAX_SYNTAX_ERRORS


def test_the_command_line_reports_them_all(tmp_path):
    import subprocess
    import sys

    path = CORPUS[3]
    proc = subprocess.run([sys.executable, "-m", "thriftgen", "check", "--no-cache", str(path)],
                          capture_output=True, text=True, timeout=60)
    expected = path.read_text().count("// expect-error")
    assert proc.returncode == 1
    assert proc.stderr.count(": error: ") == expected
    assert proc.stderr.rstrip().endswith(f"thriftgen: {expected} error(s)")
    assert "Traceback" not in proc.stderr
