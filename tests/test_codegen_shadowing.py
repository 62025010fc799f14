"""IDL names that shadow each other in generated modules: a field named like its
own enum or struct type, with a default that names a member of that type."""

from __future__ import annotations

import subprocess
import sys

import pytest

from test_codegen_util import gen_into, gen_files
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
