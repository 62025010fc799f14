"""Smoke tests of the benchmark tooling: the synthetic IDL generator, the shared
harness and one tiny ``bench/parse.py`` run. Speed goals live in the benchmarks
themselves, never here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import _harness as h
from bench.synth_idl import generate
from thriftgen.diagnostics import DiagnosticSink
from thriftgen.idl import ast
from thriftgen.idl.frontend import load_checked_program
from thriftgen.idl.loader import load_program

REPO_ROOT = Path(__file__).resolve().parents[1]
SYNTH = REPO_ROOT / "bench" / "synth_idl.py"
N = 50


def _files(d: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(d.glob("*.thrift"))}


def ast_reachable(root: Path) -> set:
    """Structs reachable from the root file's services, computed independently of
    the generator: a fixpoint over the parsed AST (typedefs followed, containers
    opened, exceptions reached through ``throws``)."""
    program = load_program([str(root)], [str(root.parent)], DiagnosticSink())
    root_file = program.file(program.roots[0])
    reached: set = set()
    pending: list = []  # (path, Struct) still to expand

    def visit(path: str, t) -> None:
        for sub in ast.walk_type(t):
            if not isinstance(sub, ast.NamedType):
                continue
            where, target = program.resolve_type(path, sub)
            if isinstance(target, ast.Struct):
                key = f"{program.file(where).alias}.{target.name}"
                if key not in reached:
                    reached.add(key)
                    pending.append((where, target))
            elif isinstance(target, (ast.ListType, ast.SetType, ast.MapType)):
                visit(where, target)  # a typedef of a container

    for service in root_file.document.services():
        for fn in service.functions:
            if fn.return_type is not None:
                visit(root_file.path, fn.return_type)
            for f in fn.args + fn.throws:
                visit(root_file.path, f.type)
    while pending:
        path, struct = pending.pop()
        for f in struct.fields:
            visit(path, f.type)
    return reached


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return generate(N, tmp_path_factory.mktemp("synth"), seed=7)


def test_same_seed_gives_identical_bytes(generated, tmp_path):
    again = generate(N, tmp_path / "again", seed=7)
    assert _files(again.root.parent) == _files(generated.root.parent)
    assert again.reachable == generated.reachable
    other = generate(N, tmp_path / "other", seed=8)
    assert _files(other.root.parent) != _files(generated.root.parent)


def test_shape(generated):
    d = generated.root.parent
    names = sorted(p.name for p in d.glob("*.thrift"))
    assert names[0] == "base.thrift" and "common.thrift" in names and "service.thrift" in names
    assert any(n.startswith("domain_") for n in names)
    program = load_program([str(generated.root)], [str(d)], DiagnosticSink())
    structs = [s for pf in program for s in pf.document.structs()]
    assert len(structs) == generated.n_structs == N
    services = list(program.file(program.roots[0]).document.services())
    assert len(services) >= 2 and any(s.extends for s in services)
    fields = [f for s in structs for f in s.fields]
    assert {f.requiredness for f in fields} == {"required", "optional", "default"}
    assert any(f.default is not None for f in fields) and any(f.doc for f in fields)
    kinds = {type(t).__name__ for f in fields for t in ast.walk_type(f.type)}
    assert {"BaseType", "NamedType", "ListType", "MapType", "SetType"} <= kinds


def test_accepted_by_thriftgen_check(generated):
    sink = DiagnosticSink()
    load_checked_program([str(generated.root)], [str(generated.root.parent)], sink)
    assert sink.diagnostics == []  # not even a warning


def test_accepted_by_thriftpy2(generated):
    thriftpy2 = pytest.importorskip("thriftpy2")
    module = thriftpy2.load(str(generated.root), include_dirs=[str(generated.root.parent)])
    assert len(module.__thrift_meta__["services"]) >= 2


@pytest.mark.skipif(shutil.which("thrift") is None, reason="Apache thrift compiler not installed")
def test_accepted_by_apache(generated, tmp_path):
    proc = subprocess.run(["thrift", "-r", "--gen", "py", "-out", str(tmp_path), str(generated.root)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ERROR" not in proc.stderr


@pytest.mark.parametrize("reach", [None, "0.3"])
def test_print_reachable_matches_ast(tmp_path, reach):
    extra = ["--reach", reach] if reach else []
    proc = subprocess.run([sys.executable, str(SYNTH), str(N), str(tmp_path), "--seed", "3",
                           "--print-reachable", *extra], capture_output=True, text=True, check=True)
    printed = set(proc.stdout.split())
    assert printed, "the services reach nothing"
    assert printed == ast_reachable(tmp_path / "service.thrift")
    if reach:
        # A fraction, not everything: the set is what trimming tests will lean on.
        assert len(printed) < N and len(printed) >= 0.2 * N


def test_harness_measures_and_reports_failures():
    run = h.run_python("x = bytearray(64 * 1024 * 1024); print('hi')")
    assert run.ok and run.stdout.strip() == "hi" and run.wall > 0
    assert run.peak_rss_mb is not None and run.peak_rss_mb >= 64
    with pytest.raises(h.BenchError):
        h.run_python("import sys; sys.exit(3)")
    stats = h.measure(lambda: h.run_python("import sys; sys.exit(3)"), repeat=3)
    assert not stats.ok and len(stats.runs) == 0 and "exit 3" in stats.error
    with pytest.raises(h.BenchTimeout):
        h.run_python("import time; time.sleep(60)", timeout=0.5)


def test_table_ratios():
    table = h.Table.comparison("N", ["ours", "peer"], [("1,000", {"ours": 1.0, "peer": 4.0}),
                                                      ("2,000", {"ours": None, "peer": 2.0})],
                               baseline="peer")
    lines = table.render().splitlines()
    assert lines[0].startswith("| N") and set(lines[1]) <= set("|-:")
    assert "1.00 s (0.25x)" in lines[2] and "4.00 s" in lines[2]
    assert [c.strip() for c in lines[3].strip("|").split("|")] == ["2,000", "-", "2.00 s"]
    assert len({len(line) for line in lines[:4]}) == 1  # columns line up
    assert h.parse_sizes("60000,1k,10k") == [1000, 10000, 60000]


def test_parse_benchmark_runs(tmp_path):
    env = {**os.environ, "BENCH_WORK_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "parse.py"), "--sizes", "200",
                           "--repeat", "1"], capture_output=True, text=True, env=env, cwd=REPO_ROOT,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "FAILED" not in proc.stderr, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| N structs") and "thriftpy2" in line)
    row = lines[lines.index(header) + 2]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[0] == "200" and len(cells) >= 5
    assert all(c != "-" and c.split()[0].replace(".", "").isdigit() for c in cells[1:]), row
    assert "### Goals" in proc.stdout and ("PASS" in proc.stdout or "FAIL" in proc.stdout)
    assert not any((tmp_path / "tmp").iterdir())  # scratch cache/output dirs cleaned up


def test_shared_generator_idl(tmp_path, monkeypatch):
    """``--generator shared`` feeds the benchmarks the issue tracker's own generator."""
    if not h.SHARED_GENERATOR.is_file():
        pytest.skip("../shared/bench/gen_big_idl.py is absent")
    monkeypatch.setattr(h, "WORK_DIR", tmp_path)
    idl = h.shared_idl(120, seed=3)
    assert idl.root.name == "service.thrift" and idl.root in idl.files
    assert 0 < len(idl.reachable) < 120
    assert h.shared_idl(120, seed=3).files == idl.files  # reused from the cache
    proc = subprocess.run([sys.executable, "-m", "thriftgen", "check", "-q", "--no-cache", str(idl.root)],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_codec_family_benchmark_runs(tmp_path):
    """bench/codec_family.py on two members: every writer's bytes agree (asserted by
    the script), every cell is measured, the minimum table and the goals print."""
    pytest.importorskip("thrift")
    if shutil.which("thrift") is None:
        pytest.skip("Apache thrift compiler not installed")
    env = {**os.environ, "BENCH_WORK_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "codec_family.py"), "--quick",
                           "--rounds", "1", "--only", "sparse90,span"], capture_output=True,
                          text=True, env=env, cwd=REPO_ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith(("| sparse90", "| span"))]
    assert len(rows) == 8, proc.stdout  # 2 members x 2 protocols x encode/decode
    assert all("µs" in r for r in rows)
    assert "minimum over the family" in proc.stdout and "### Goals" in proc.stdout
