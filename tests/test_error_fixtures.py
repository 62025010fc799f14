"""Every malformed IDL under ``fixtures/errors`` fails with exactly the diagnostic it names.

A fixture is either ``fixtures/errors/<name>.thrift`` or a folder
``fixtures/errors/<name>/`` whose entry file is ``main.thrift`` (multi-file cases).
The expected first error is the fixture's first line, ``# expect: LINE:COL: error:
MESSAGE`` (location in the entry file) or ``# expect: FILE:LINE:COL: error: MESSAGE``
(location in another file of the fixture, path relative to the fixture's folder).
Files that cannot carry that comment (bad bytes on line 1) use a sidecar
``<name>.expect`` holding the same text. Adding a fixture file adds a test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from thriftgen.cli import load_and_check
from thriftgen.diagnostics import DiagnosticSink, IDLError, format_diagnostic

REPO = Path(__file__).resolve().parents[1]
ERRORS = REPO / "fixtures" / "errors"
_EXPECT_RE = re.compile(r"#\s*expect:\s*(.+?)\s*$")
_QUALIFIED_RE = re.compile(r"^[^:\s]+\.thrift:\d+:\d+: ")


def _entries() -> list:
    out = []
    for p in sorted(ERRORS.iterdir()):
        if p.is_dir():
            out.append(p / "main.thrift")
        elif p.suffix == ".thrift":
            out.append(p)
    return out


ENTRIES = _entries()
IDS = [e.parent.name if e.name == "main.thrift" else e.stem for e in ENTRIES]


def expected_line(entry: Path) -> str:
    """The expected ``FILE:LINE:COL: error: MESSAGE`` (FILE relative to the entry's folder)."""
    sidecar = entry.with_suffix(".expect")
    if sidecar.exists():
        text = sidecar.read_text(encoding="utf-8").strip()
    else:
        first = entry.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace")
        m = _EXPECT_RE.match(first)
        assert m, f"{entry}: first line must be '# expect: LINE:COL: error: MESSAGE' (or add a .expect file)"
        text = m.group(1)
    return text if _QUALIFIED_RE.match(text) else f"{entry.name}:{text}"


def run_pipeline(entry: Path, monkeypatch) -> DiagnosticSink:
    # Display paths are relative to the working directory: run from the fixture's folder.
    monkeypatch.chdir(entry.parent)
    sink = DiagnosticSink()
    with pytest.raises(IDLError):
        load_and_check([entry.name], [], None, True, sink)
    return sink


def _line(d) -> str:
    assert d.loc is not None, d.message
    return f"{d.loc.file}:{d.loc.line}:{d.loc.col}: {d.severity}: {d.message}"


def test_there_are_enough_fixtures():
    assert len(ENTRIES) >= 45
    assert any(e.name == "main.thrift" for e in ENTRIES), "multi-file fixtures live in subfolders"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_fixture_first_error(entry: Path, monkeypatch):
    sink = run_pipeline(entry, monkeypatch)
    errors = [d for d in sink.sorted() if d.severity == "error"]
    assert errors, "IDLError raised without an error diagnostic"
    first = errors[0]
    assert first.loc is not None, f"unlocated error: {first.message}"
    assert _line(first) == expected_line(entry)
    # Never a checker crash disguised as a diagnostic.
    assert not any("internal error" in d.message for d in sink.diagnostics)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_fixture_error_renders_source_line_and_caret(entry: Path, monkeypatch):
    sink = run_pipeline(entry, monkeypatch)
    first = [d for d in sink.sorted() if d.severity == "error"][0]
    rendered = format_diagnostic(first, sink.sources).split("\n")
    assert rendered[0] == _line(first) and first.loc is not None
    src = sink.sources.get(first.loc.file)
    if src is None:  # undecodable files have no text to quote
        assert len(rendered) == 1
        return
    source_line, caret = rendered[1], rendered[2]
    assert source_line.startswith("    ") and caret.startswith("    ")
    col = caret.index("^") - 4 + 1
    assert col == first.loc.col
    assert set(caret[4:].strip()) <= {"^", "~"}


# A few fixtures end to end through the real command: exit code, stderr, no traceback.
CLI_SAMPLE = [
    "syntax_unterminated_string",
    "lex_invalid_utf8",
    "lex_nul_byte",
    "include_cycle",
    "const_ref_incompatible_type",
    "service_override_base_function",
]


def _cli_check(entry: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "thriftgen", "check", "--no-cache", entry.name],
                          cwd=entry.parent, env=env, capture_output=True, text=True, timeout=60)


def _check_cli(entry: Path) -> None:
    proc = _cli_check(entry)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    first_error = next(line for line in proc.stderr.splitlines() if ": error: " in line)
    assert first_error == expected_line(entry)
    assert proc.stderr.rstrip().splitlines()[-1].startswith("thriftgen: ")
    assert proc.stdout == ""


@pytest.mark.parametrize("name", CLI_SAMPLE)
def test_cli_sample(name: str):
    entry = ERRORS / name if (ERRORS / name).is_dir() else ERRORS / f"{name}.thrift"
    if entry.is_dir():
        entry = entry / "main.thrift"
    _check_cli(entry)


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_cli_every_fixture(entry: Path):
    _check_cli(entry)
