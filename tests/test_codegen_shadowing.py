"""IDL names that shadow each other in generated modules: a field named like its
own enum or struct type, with a default that names a member of that type."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from test_codegen_util import REPO, gen_into, gen_files
from thriftgen.codegen.fmt import format_files

IDL = """
namespace py shadowdemo

enum Color { RED = 1, GREEN = 2 }
struct Point { 1: i32 x = 0, 2: i32 y = 0 }

struct Shape {
  1: Color Color = Color.GREEN
  2: Point Point = {"x": 1, "y": 2}
  3: list<Color> colors = [Color.RED]
}

const Color DEFAULT = Color.RED
"""

CHECK = """
import shadowdemo.ttypes as t, shadowdemo.constants as c
from thriftgen.runtime import serialize, deserialize
s = t.Shape()
assert s.Color == t.Color.GREEN and s.Point == t.Point(x=1, y=2) and s.colors == [t.Color.RED]
assert s.Point is not t.Shape().Point  # a fresh default per instance
assert deserialize(t.Shape, serialize(s)) == s
assert c.DEFAULT is t.Color.RED
print("ok")
"""

VARIANTS = {
    "default": {},
    "fast_codec=aot": {"fast_codec": "aot"},
    "no_default_serdes": {"no_default_serdes": True},
    "slim": {"template": "slim"},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_field_named_like_its_type_imports_and_works(tmp_path, variant):
    idl = tmp_path / "shadow.thrift"
    idl.write_text(IDL)
    gen_into(tmp_path / "out", idl, no_fmt=True, **VARIANTS[variant])
    proc = subprocess.run([sys.executable, "-W", "error", "-c", CHECK], cwd=tmp_path / "out",
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_shadowing_output_is_black_stable(tmp_path, variant):
    idl = tmp_path / "shadow.thrift"
    idl.write_text(IDL)
    files = gen_files(idl, no_fmt=True, **VARIANTS[variant])
    py = {p: text for p, text in files.items() if p.endswith(".py")}
    assert format_files(py) == py


# --------------------------------------------------------------------------- packages


def _cli(tmp_path, *args):
    env = dict(os.environ, PYTHONPATH=str(REPO), THRIFTGEN_NO_CACHE="1", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "thriftgen", "-o", "gen", *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("namespace,what", [
    ("thriftgen", "would hide the thriftgen package itself"),
    ("thriftgen.runtime", "would hide the thriftgen package itself"),
    ("os", "would hide the standard library's 'os' module"),
    ("sys", "would hide the standard library's 'sys' module"),
    ("json.codec", "would hide the standard library's 'json' module"),
    ("typing", "would hide the standard library's 'typing' module"),
])
def test_namespaces_that_would_hide_the_runtime_or_the_stdlib_are_located_errors(
        tmp_path, namespace, what):
    (tmp_path / "a.thrift").write_text(f"namespace py {namespace}\nstruct A {{ 1: i32 x }}\n")
    proc = _cli(tmp_path, "a.thrift")
    assert proc.returncode == 1
    assert f"a.thrift:1:14: error: cannot generate Python for a.thrift: namespace py {namespace}: " \
           f"'{namespace.split('.')[0]}' {what}" in proc.stderr, proc.stderr
    assert "package_prefix" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "gen").exists()
    # Under a prefix the same namespace is harmless: the top-level package is the prefix's.
    ok = _cli(tmp_path, "-thrift", "package_prefix=acme", "a.thrift")
    assert ok.returncode == 0, ok.stderr
    run = subprocess.run([sys.executable, "-c", f"import acme.{namespace}.ttypes as t; "
                          "print(t.A(x=1))"], cwd=tmp_path / "gen", capture_output=True, text=True,
                         env={"PYTHONPATH": f"{tmp_path / 'gen'}{os.pathsep}{REPO}"}, timeout=60)
    assert run.returncode == 0, run.stderr


def test_a_file_named_like_a_stdlib_module_needs_a_namespace(tmp_path):
    (tmp_path / "types.thrift").write_text("struct A { 1: i32 x }\n")
    proc = _cli(tmp_path, "types.thrift")
    assert proc.returncode == 1
    assert "its package 'types' (named after the file: it has no 'namespace py')" in proc.stderr
    (tmp_path / "mytypes.thrift").write_text("struct A { 1: i32 x }\n")
    assert _cli(tmp_path, "mytypes.thrift").returncode == 0


@pytest.mark.parametrize("prefix", ["thriftgen", "os", "json"])
def test_a_package_prefix_that_would_hide_a_module_is_refused(tmp_path, prefix):
    (tmp_path / "a.thrift").write_text("struct A { 1: i32 x }\n")
    proc = _cli(tmp_path, "-thrift", f"package_prefix={prefix}", "a.thrift")
    assert proc.returncode == 1
    assert f"-thrift package_prefix: '{prefix}' would hide" in proc.stderr, proc.stderr
