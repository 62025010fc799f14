"""Long chains of typedefs and of constants: what ``check`` accepts, generation
generates (no hop limit on either side, no false "undefined" or "refers to itself")."""

from __future__ import annotations

import importlib
import sys

import pytest

from thriftgen.codegen import generate
from thriftgen.codegen.options import GenOptions
from thriftgen.codegen.writer import write_output
from thriftgen.diagnostics import DiagnosticSink
from thriftgen.idl.frontend import load_checked_program


def typedef_chain(n: int) -> str:
    lines = ["namespace py chains", "typedef i32 T0"]
    lines += [f"typedef T{i - 1} T{i}" for i in range(1, n)]
    lines += [f"struct S {{ 1: T{n - 1} a = 7, 2: list<T{n - 1}> b }}"]
    return "\n".join(lines) + "\n"


def const_chain(n: int, alternate: bool = False) -> str:
    lines = ["namespace py chains", "const i32 C0 = 42"]
    lines += [f"const {'i64' if alternate and i % 2 else 'i32'} C{i} = C{i - 1}" for i in range(1, n)]
    lines += ["enum E { A = 3 }", "const E E0 = E.A"]
    lines += [f"const E E{i} = E{i - 1}" for i in range(1, n)]
    return "\n".join(lines) + "\n"


def generated_module(tmp_path, text: str, module: str):
    idl = tmp_path / "chains.thrift"
    idl.write_text(text)
    sink = DiagnosticSink()
    program = load_checked_program([str(idl)], [], sink)  # raises IDLError on errors
    files = generate(program, GenOptions(no_fmt=True), sink)
    assert not sink.has_errors
    out = tmp_path / "out"
    write_output(files, str(out))
    sys.path.insert(0, str(out))
    try:
        for name in [m for m in sys.modules if m == "chains" or m.startswith("chains.")]:
            del sys.modules[name]
        return importlib.import_module(module)
    finally:
        sys.path.remove(str(out))


@pytest.mark.parametrize("n", [102, 5000])
def test_typedef_chains_generate(tmp_path, n):
    ttypes = generated_module(tmp_path, typedef_chain(n), "chains.ttypes")
    s = ttypes.S(b=[1, 2])
    assert s.a == 7
    from thriftgen.runtime import deserialize, serialize

    assert deserialize(ttypes.S, serialize(s)) == s


@pytest.mark.parametrize("n,alternate", [(120, False), (5000, False), (3000, True)])
def test_const_chains_generate(tmp_path, n, alternate):
    constants = generated_module(tmp_path, const_chain(n, alternate), "chains.constants")
    assert getattr(constants, f"C{n - 1}") == 42
    assert getattr(constants, "C0") == 42
    assert int(getattr(constants, f"E{n - 1}")) == 3


def test_a_const_cycle_is_still_an_error(tmp_path):
    idl = tmp_path / "cycle.thrift"
    idl.write_text("const i32 A = B\nconst i32 B = A\n")
    from thriftgen.diagnostics import IDLError

    with pytest.raises(IDLError) as info:
        load_checked_program([str(idl)], [], DiagnosticSink())
    assert any("refers to itself" in d.message or "cycle" in d.message
               for d in info.value.errors), info.value


def test_a_long_extends_chain_checks_in_linear_time(tmp_path, monkeypatch):
    """``service S{i} extends S{i-1}``: each service is checked against all its ancestors
    without walking the chain again (it was ~2 ms per service at 5,000); counted in
    lookups, not timed. The nearest redefinition is still reported."""
    from thriftgen.diagnostics import IDLError
    from thriftgen.idl import checker

    n = 3000
    lines = ["service S0 { void m0() }"]
    lines += [f"service S{i} extends S{i - 1} {{ void m{i}() }}" for i in range(1, n)]
    lines += [f"service X extends S{n - 1} {{ void m17() }}"]
    idl = tmp_path / "svc.thrift"
    idl.write_text("\n".join(lines) + "\n")
    calls = []
    real = checker._Checker.base_service

    def counting(self, pf, svc):
        calls.append(svc)
        return real(self, pf, svc)

    monkeypatch.setattr(checker._Checker, "base_service", counting)
    with pytest.raises(IDLError) as info:
        load_checked_program([str(idl)], [], DiagnosticSink())
    [err] = info.value.errors
    assert "function 'm17' of service 'X' is already defined in base service 'S17'" in err.message
    assert len(calls) <= 4 * n, len(calls)
