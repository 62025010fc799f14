"""The trim report: one summary by default (kept of what, what went, named when few),
the table per file with -v, everything as JSON; the same whichever front end parsed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import REPO_ROOT
from thriftgen.diagnostics import DiagnosticSink
from thriftgen.idl.frontend import load_checked_program
from thriftgen.trim import TrimOptions, format_summary, format_text, trim_program
from thriftgen.trim.frontend import load_trimmed_program

STORE = REPO_ROOT / "fixtures" / "store"
MONO = REPO_ROOT / "fixtures" / "monorepo"


def trimmed(options: TrimOptions, root=STORE / "service.thrift", incs=(STORE,)):
    return load_trimmed_program([str(root)], [str(i) for i in incs], options, DiagnosticSink(), None)


def test_few_removed_are_named():
    stats = trimmed(TrimOptions()).stats
    assert format_summary(stats) == ("trim: kept 43 of 44 structs, 229 of 235 fields; 6 of 6 files\n"
                                     "      removed: struct catalog.ReviewComment")


def test_many_removed_are_counted_and_listed_per_file_in_the_table():
    stats = trimmed(TrimOptions(methods=["StoreFront.getProduct"], trim_all=True)).stats
    summary = format_summary(stats)
    assert summary.startswith("trim: kept 7 of 44 structs, 61 of 235 fields, ")
    assert "removed 116 definitions, 2 files whole (-v lists them per file)" in summary
    assert len(summary.splitlines()) == 2
    table = format_text(stats)
    assert "  removed: " in table and "function service.StoreFront.addToCart" in table


def test_nothing_to_remove(tmp_path):
    idl = tmp_path / "all_used.thrift"
    idl.write_text("struct A { 1: i32 x }\nservice S { A get() }\n")
    stats = trimmed(TrimOptions(), idl, ()).stats
    assert format_summary(stats) == "trim: kept 1 of 1 struct, 1 of 1 field; 1 of 1 files; nothing to remove"


def test_the_skeleton_front_end_reports_what_the_full_one_does():
    for options in (TrimOptions(), TrimOptions(methods=["StoreFront.getProduct"], trim_all=True)):
        fast = trimmed(options).stats
        program = load_checked_program([str(STORE / "service.thrift")], [str(STORE)], DiagnosticSink())
        full = trim_program(program, options).stats
        assert fast.removed == full.removed and fast.to_json() == full.to_json()


def test_generator_report_json_for_tools(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), THRIFTGEN_NO_CACHE="1")
    proc = subprocess.run([sys.executable, "-m", "thriftgen", "-o", "out", "-thrift", "trim_idl",
                           "--report", "json", "-q", str(MONO / "service.thrift")], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["cached"] is False and report["files"] == len(report["written"]) > 0
    assert report["bytes"] == sum(p.stat().st_size for p in (tmp_path / "out").rglob("*.py"))
    trim = report["trim"]
    kinds = ("structs", "unions", "exceptions")
    assert [sum(trim["total"][k][w] for k in kinds) for w in ("before", "after")] == [400, 53]
    assert sum(len(v) for v in trim["removed"].values()) == 359
