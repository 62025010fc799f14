"""``thriftgen trim``: files written, report, config files, flags, failures."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from thriftgen.cli import app

REPO = Path(__file__).resolve().parents[1]
STORE = REPO / "fixtures" / "store"

IDL = {
    "common.thrift": """
        enum Kind { A = 1, B = 2 }
        struct Shared { 1: i32 x }
        struct Lonely { 1: i32 y, 2: string z }
    """,
    "svc.thrift": """
        // header comment
        include "common.thrift"

        // @preserve
        struct Keep { 1: i32 k }

        struct Req { 1: common.Shared s }
        struct Other { 1: i32 o }

        service Svc {
          void get(1: Req r),
          void other(1: Other o),
        }
    """,
}


@pytest.fixture
def idl(tmp_path: Path) -> Path:
    for name, text in IDL.items():
        (tmp_path / name).write_text(textwrap.dedent(text).lstrip())
    return tmp_path


def run(*args: str):
    result = CliRunner().invoke(app, ["trim", *args])
    return result.exit_code, result.stdout, result.stderr


def test_writes_trimmed_tree_and_reports(idl, tmp_path):
    out = tmp_path / "out"
    code, stdout, stderr = run(str(idl / "svc.thrift"), "-m", "Svc.get", "-o", str(out))
    assert code == 0, stderr
    assert stdout == ""
    assert sorted(p.name for p in out.iterdir()) == ["common.thrift", "svc.thrift"]
    svc = (out / "svc.thrift").read_text()
    assert "struct Other" not in svc and "void other" not in svc and "// @preserve" in svc
    assert svc.startswith("// header comment\ninclude \"common.thrift\"\n")
    assert "struct Lonely" not in (out / "common.thrift").read_text()
    assert "trim: removed 2 unused structures with 3 fields (2 -> 2 files)" in stderr
    assert "structs    5 -> 3 (-40.0%)" in stderr
    assert "functions  2 -> 1 (-50.0%)" in stderr
    assert f"wrote 2 file(s) to {out}" in stderr
    check = CliRunner().invoke(app, ["check", str(out / "svc.thrift")])
    assert check.exit_code == 0, check.stderr


def test_json_report_on_stdout(idl, tmp_path):
    code, stdout, stderr = run(str(idl / "svc.thrift"), "-o", str(tmp_path / "o"),
                               "--report", "json", "--all")
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data["total"]["structs"] == {"before": 5, "after": 4}
    assert data["total"]["enums"] == {"before": 1, "after": 0}  # --all: Kind is unused
    assert data["removed_structures"] == 1 and data["removed_fields"] == 2
    assert len(data["written"]) == 2 and data["warnings"] == []
    assert set(data["files"]) == {str(idl / "common.thrift"), str(idl / "svc.thrift")}
    assert data["files"][str(idl / "common.thrift")]["structs"] == {"before": 2, "after": 1}


def test_quiet_and_unmatched_pattern(idl, tmp_path):
    code, stdout, stderr = run(str(idl / "svc.thrift"), "-o", str(tmp_path / "o"), "-q")
    assert (code, stdout, stderr) == (0, "", "")
    code, _, stderr = run(str(idl / "svc.thrift"), "-o", str(tmp_path / "o"), "-m", "Svc.get",
                          "-m", "Svc.nope")
    assert code == 0 and "warning: method pattern 'Svc.nope' matches nothing" in stderr
    code, _, stderr = run(str(idl / "svc.thrift"), "-o", str(tmp_path / "o2"), "-m", "Svc.nope",
                          "--strict")
    assert code == 1 and "error: method pattern 'Svc.nope' matches nothing" in stderr
    assert not (tmp_path / "o2").exists()


def test_config_file_beside_idl_and_flags_win(idl, tmp_path):
    (idl / "trim_config.yaml").write_text("methods: [Svc.other]\npreserve: false\n")
    out = tmp_path / "o"
    code, _, stderr = run(str(idl / "svc.thrift"), "-o", str(out))
    assert code == 0, stderr
    svc = (out / "svc.thrift").read_text()
    assert "void other" in svc and "void get" not in svc and "struct Keep" not in svc
    assert f"using trim config: {idl / 'trim_config.yaml'}" in stderr
    code, _, stderr = run(str(idl / "svc.thrift"), "-o", str(out), "-m", "get")
    svc = (out / "svc.thrift").read_text()
    assert code == 0 and "void get" in svc and "void other" not in svc


def test_explicit_config_and_no_preserve(idl, tmp_path):
    cfg = tmp_path / "custom.yaml"
    cfg.write_text("preserved_structs: [Lonely]\n")
    out = tmp_path / "o"
    code, _, stderr = run(str(idl / "svc.thrift"), "-o", str(out), "--trim-config", str(cfg))
    assert code == 0, stderr
    assert "struct Lonely" in (out / "common.thrift").read_text()
    code, _, stderr = run(str(idl / "svc.thrift"), "-o", str(out), "--trim-config", str(cfg),
                          "--no-preserve")
    assert code == 0
    assert "struct Lonely" not in (out / "common.thrift").read_text()
    assert "struct Keep" not in (out / "svc.thrift").read_text()


def test_bad_config_is_an_error_naming_file_and_key(idl, tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("methods: [a]\npreserved: true\n")
    code, _, stderr = run(str(idl / "svc.thrift"), "-o", str(tmp_path / "o"), "--trim-config",
                          str(cfg))
    assert code == 1 and f"{cfg}: unknown key 'preserved'" in stderr


def test_refuses_to_overwrite_inputs_and_reports_idl_errors(idl, tmp_path):
    before = (idl / "svc.thrift").read_text()
    code, _, stderr = run(str(idl / "svc.thrift"), "-o", str(idl))
    assert code == 1 and "refusing to overwrite" in stderr
    assert (idl / "svc.thrift").read_text() == before
    (idl / "broken.thrift").write_text("struct X { 1: Missing m }\nservice S { X get() }\n")
    code, _, stderr = run(str(idl / "broken.thrift"), "-o", str(tmp_path / "o"))
    assert code == 1 and "undefined type 'Missing'" in stderr


def test_store_fixture_with_include_dir(tmp_path):
    if not (STORE / "service.thrift").is_file():
        pytest.skip("fixtures/store not present")
    out = tmp_path / "o"
    code, _, stderr = run(str(STORE / "service.thrift"), "-I", str(STORE), "-o", str(out),
                          "-m", "OrderDesk.getOrder", "-m", "StoreFront.getCart")
    assert code == 0, stderr
    assert (out / "service.thrift").is_file() and (out / "common" / "types.thrift").is_file()
    assert f"(include with -I {out})" in stderr
    check = CliRunner().invoke(app, ["check", str(out / "service.thrift"), "-I", str(out)])
    assert check.exit_code == 0, check.stderr


def test_entry_point_routes_trim(idl, tmp_path):
    out = tmp_path / "o"
    res = subprocess.run([sys.executable, "-m", "thriftgen", "trim", str(idl / "svc.thrift"),
                          "-o", str(out), "-q"], capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stderr
    assert (out / "svc.thrift").is_file()


def test_warns_about_stale_files_in_outdir(idl, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "old.thrift").write_text("struct Old {}\n")
    code, _, stderr = run(str(idl / "svc.thrift"), "-o", str(out))
    assert code == 0 and f"{out / 'old.thrift'} was not written by this run" in stderr
