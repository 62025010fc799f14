"""The pipeline's layering: no module of the tool imports another that imports it back
(also through function-level imports), and a lower stage never imports a higher one
(idl -> trim -> codegen; the runtime imports nothing of the tool).

The runtime is checked on its own (a module importing its own package, such as
``from . import serialize``, is part of the package and not a cycle).
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "thriftgen"
#: stage of each top-level part; an import must go to the same or a lower stage
STAGES = {"runtime": 0, "diagnostics": 2, "fileio": 1, "cachedir": 1, "tomlfile": 1, "argv": 1, "progress": 1,
          "idl": 2, "trim": 3, "codegen": 4, "config": 4, "gencache": 4, "call": 5,
          "integrations": 5, "audit": 5, "cliapp": 6, "commands": 7, "cli": 8, "entry": 9, "__main__": 10,
          "__init__": 0}


def module_name(path: Path) -> str:
    rel = path.relative_to(REPO_ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str) -> set:
    """Every thriftgen module ``path`` imports, at any depth of its code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            for a in node.names:  # ``from pkg import module``
                out.add(f"{mod}.{a.name}")
    return {m for m in out if m == "thriftgen" or m.startswith("thriftgen.")}


def graph() -> dict:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    edges = {}
    for name, path in modules.items():
        edges[name] = {m for m in imports_of(path, name) if m in modules and m != name}
    return edges


def _stage(module: str) -> int:
    parts = module.split(".")
    return STAGES[parts[1] if len(parts) > 1 else "__init__"]


def cycles_among(edges: dict, inside) -> list:
    """Import cycles among the modules ``inside(name)`` accepts."""
    sub = {m: {n for n in e if inside(n)} for m, e in edges.items() if inside(m)}
    cycles = []
    state: dict = {}

    def visit(m, stack):
        state[m] = 1
        stack.append(m)
        for n in sorted(sub.get(m, ())):
            if n not in sub:
                continue
            # a package's __init__ and its own modules are one unit
            if n == m.rpartition(".")[0]:
                continue
            if state.get(n) == 1:
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n, stack)
        stack.pop()
        state[m] = 2

    for m in sorted(sub):
        if m not in state:
            visit(m, [])
    return cycles


def test_no_import_cycles_outside_the_runtime():
    cycles = cycles_among(graph(), lambda m: not m.startswith("thriftgen.runtime"))
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_no_import_cycles_inside_the_runtime():
    """The codec modules form a DAG: helpers <- compiler <- aot facade, the field
    mask tree <- codec / wire <- fieldmask (issue 16, Part 1)."""
    cycles = cycles_among(graph(), lambda m: m.startswith("thriftgen.runtime"))
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle():
    edges = {"thriftgen.runtime.a": {"thriftgen.runtime.b"},
             "thriftgen.runtime.b": {"thriftgen.runtime.a", "thriftgen.runtime"},
             "thriftgen.runtime": {"thriftgen.runtime.a"}}
    assert cycles_among(edges, lambda m: True) == [
        ["thriftgen.runtime.a", "thriftgen.runtime.b", "thriftgen.runtime.a"]]


def test_no_stage_imports_a_higher_one():
    wrong = []
    for m, targets in graph().items():
        for n in targets:
            if n == "thriftgen":
                continue  # the version
            if _stage(n) > _stage(m):
                wrong.append(f"{m} -> {n}")
    assert not wrong, "\n".join(sorted(wrong))


def test_the_runtime_imports_nothing_of_the_tool():
    for m, targets in graph().items():
        if m.startswith("thriftgen.runtime"):
            assert all(n.startswith("thriftgen.runtime") for n in targets), (m, targets)
