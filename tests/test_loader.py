"""Loader: include resolution, parse-once, cycles, cross-file lookup, caches."""

from __future__ import annotations

from pathlib import Path

import pytest

from thriftgen.diagnostics import DiagnosticSink, IDLError
from thriftgen.idl import ast, frontend, grammar, loader
from thriftgen.idl.cache import ParseCache
from thriftgen.idl.frontend import load_checked_program
from thriftgen.idl.loader import load_program


def write(root: Path, files: dict) -> None:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


@pytest.fixture
def count_parses(monkeypatch):
    calls: list[str] = []
    real = grammar.parse_text

    def counting(text, path, sink):
        calls.append(path)
        return real(text, path, sink)

    monkeypatch.setattr(loader, "parse_text", counting)
    return calls


def test_includes_resolve_relative_to_the_includer_before_include_dirs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {
        "src/main.thrift": 'include "shared.thrift"\nstruct M { 1: shared.S s }\n',
        "src/shared.thrift": "struct S { 1: i32 near }\n",
        "inc1/shared.thrift": "struct S { 1: i32 far }\n",
        "inc1/other.thrift": "struct O { 1: i32 first }\n",
        "inc2/other.thrift": "struct O { 1: i32 second }\n",
        "src/uses_other.thrift": 'include "other.thrift"\nstruct U { 1: other.O o }\n',
    })
    prog = load_program(["src/main.thrift"], ["inc1"], DiagnosticSink())
    shared = prog.lookup(prog.roots[0], "shared.S")
    assert shared is not None and shared[1].fields[0].name == "near"
    prog = load_program(["src/uses_other.thrift"], ["inc2", "inc1"], DiagnosticSink())
    found = prog.lookup(prog.roots[0], "other.O")
    assert found is not None and found[1].fields[0].name == "second"  # -I order decides


def test_each_file_is_parsed_once_in_a_dense_include_graph(tmp_path, count_parses):
    # Every file includes the two before it: Apache re-parses per include path
    # (exponential); we parse each file exactly once.
    n = 25
    files = {"f0.thrift": "struct T0 { 1: i32 x }\n", "f1.thrift": 'include "f0.thrift"\nstruct T1 { 1: f0.T0 a }\n'}
    for i in range(2, n):
        files[f"f{i}.thrift"] = (f'include "f{i - 1}.thrift"\ninclude "f{i - 2}.thrift"\n'
                                 f"struct T{i} {{ 1: f{i - 1}.T{i - 1} a, 2: f{i - 2}.T{i - 2} b }}\n")
    write(tmp_path, files)
    prog = load_checked_program([str(tmp_path / f"f{n - 1}.thrift")], [], DiagnosticSink())
    assert len(count_parses) == n
    assert len(set(count_parses)) == n
    # dependency order: every file comes after what it includes
    order = [Path(p).name for p in prog.files]
    for i in range(2, n):
        assert order.index(f"f{i}.thrift") > order.index(f"f{i - 1}.thrift") > order.index(f"f{i - 2}.thrift")


def test_include_cycle_is_reported_with_the_whole_cycle(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {
        "a.thrift": 'include "b.thrift"\nstruct A { 1: i32 x }\n',
        "b.thrift": 'include "c.thrift"\nstruct B { 1: i32 x }\n',
        "c.thrift": 'include "a.thrift"\nstruct C { 1: i32 x }\n',
    })
    with pytest.raises(IDLError) as e:
        load_program(["a.thrift"], [], DiagnosticSink())
    [err] = e.value.errors
    assert err.message == "include cycle: a.thrift -> b.thrift -> c.thrift -> a.thrift"
    assert (err.loc.file, err.loc.line, err.loc.col) == ("c.thrift", 1, 9)


def test_missing_include_names_the_search_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"a.thrift": 'include "nope.thrift"\n'})
    (tmp_path / "incs").mkdir()
    with pytest.raises(IDLError) as e:
        load_program(["a.thrift"], ["incs"], DiagnosticSink())
    assert e.value.errors[0].message == "cannot find included file 'nope.thrift' (searched: ., incs)"


def test_missing_root_file_is_an_error_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(IDLError) as e:
        load_program(["missing.thrift"], [], DiagnosticSink())
    assert e.value.errors[0].message == "no such IDL file: missing.thrift"


def test_qualified_lookup_typedef_chains_consts_and_dotted_aliases(tmp_path):
    write(tmp_path, {
        "base.types.thrift": "enum Color { RED = 1, BLUE = 2 }\ntypedef Color Hue\nconst i32 ANSWER = 42\n",
        "main.thrift": ('include "base.types.thrift"\ntypedef base.types.Hue Tint\n'
                        "struct S { 1: Tint t = base.types.Color.BLUE }\n"),
    })
    prog = load_program([str(tmp_path / "main.thrift")], [], DiagnosticSink())
    root = prog.roots[0]
    path, resolved = prog.resolve_type(root, ast.NamedType("Tint"))
    assert isinstance(resolved, ast.Enum) and resolved.name == "Color"
    assert Path(path).name == "base.types.thrift"
    pf, enum, member = prog.lookup_const(root, "base.types.Color.BLUE")
    assert (enum.name, member.value) == ("Color", 2)
    pf, const = prog.lookup_const(root, "base.types.ANSWER")
    assert const.value == ast.ConstInt(42)
    assert prog.lookup(root, "base.types.Nope") is None


def test_namespace_py_falls_back_to_star():
    doc = grammar.parse_text("namespace * fallback.ns\nnamespace java j.ns\n", "t.thrift", DiagnosticSink())
    assert doc.namespace("py") == "fallback.ns"
    assert doc.namespace("java") == "j.ns"
    doc = grammar.parse_text("namespace py p.ns\nnamespace * s.ns\n", "t.thrift", DiagnosticSink())
    assert doc.namespace("py") == "p.ns"


def test_warm_cache_neither_parses_nor_checks(tmp_path, monkeypatch, count_parses):
    write(tmp_path, {
        "a.thrift": 'include "b.thrift"\nstruct A { 1: b.B b }\n',
        "b.thrift": "struct B { 1: i32 x }\n",
    })
    checks: list[int] = []
    real_check = frontend.check_program

    def counting_check(program, sink):
        checks.append(1)
        real_check(program, sink)

    monkeypatch.setattr(frontend, "check_program", counting_check)
    root = str(tmp_path / "a.thrift")
    cache_dir = str(tmp_path / "cache")
    load_checked_program([root], [], DiagnosticSink(), ParseCache(cache_dir))
    assert (len(count_parses), len(checks)) == (2, 1)
    cache = ParseCache(cache_dir)
    prog = load_checked_program([root], [], DiagnosticSink(), cache)
    assert (len(count_parses), len(checks)) == (2, 1)  # nothing parsed or checked again
    assert (cache.hits, cache.misses) == (2, 0)
    # the ASTs are still there when a later stage asks for them
    assert [d.name for pf in prog for d in pf.document.definitions] == ["B", "A"]
    # editing one file re-parses that file only and re-checks the program
    (tmp_path / "b.thrift").write_text("struct B { 1: i32 x, 2: i32 y }\n")
    load_checked_program([root], [], DiagnosticSink(), ParseCache(cache_dir))
    assert (len(count_parses), len(checks)) == (3, 2)


def test_cached_warnings_are_reported_again(tmp_path):
    write(tmp_path, {"a.thrift": "struct A { string noid }\n"})
    root = str(tmp_path / "a.thrift")
    cache_dir = str(tmp_path / "cache")
    for _ in range(2):
        sink = DiagnosticSink()
        load_checked_program([root], [], sink, ParseCache(cache_dir))
        assert [d.message for d in sink.diagnostics if d.severity == "warning"] == [
            "no field id given for 'noid' in struct 'A'; assigned -1 (ids change if fields are reordered)"]


def test_cached_errors_are_reported_again(tmp_path):
    write(tmp_path, {"a.thrift": "struct A { 1: Missing m }\n"})
    root = str(tmp_path / "a.thrift")
    cache_dir = str(tmp_path / "cache")
    for _ in range(2):
        with pytest.raises(IDLError) as e:
            load_checked_program([root], [], DiagnosticSink(), ParseCache(cache_dir))
        assert e.value.errors[0].message == "undefined type 'Missing'"
