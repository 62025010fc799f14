"""Two distributions from one checkout: thriftgen-runtime (what generated code imports,
stdlib only, Python 3.9+) and thriftgen-toolchain (the tool, pinned to the runtime of
its own version); generated code checks the runtime's API level.

The fresh-venv installs of the runtime wheel with wheels built by each build
integration are in ``tests/test_build_plugins.py``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO_ROOT, fresh_venv, pip_install
from test_codegen_util import FIXTURES, gen_into
from thriftgen import __version__
from thriftgen.runtime import _api
from thriftgen.tomlfile import read_toml

RUNTIME_PYPROJECT = REPO_ROOT / "packaging" / "runtime" / "pyproject.toml"


def test_versions_agree():
    runtime = read_toml(str(RUNTIME_PYPROJECT))["project"]
    tool = read_toml(str(REPO_ROOT / "pyproject.toml"))["project"]
    assert runtime["name"] == "thriftgen-runtime" and tool["name"] == "thriftgen-toolchain"
    assert runtime["version"] == __version__
    assert f"thriftgen-runtime=={__version__}" in tool["dependencies"]
    assert runtime["requires-python"] == ">=3.9" and runtime["dependencies"] == []
    assert tool["requires-python"] == ">=3.10"


def _wheel_names(wheelhouse: Path, dist: str) -> set:
    [wheel] = wheelhouse.glob(f"{dist}-{__version__}-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return {n for n in zf.namelist() if ".dist-info/" not in n}


def test_the_two_wheels_split_the_package_without_overlap(wheelhouse):
    runtime = _wheel_names(wheelhouse, "thriftgen_runtime")
    tool = _wheel_names(wheelhouse, "thriftgen_toolchain")
    assert not runtime & tool
    assert {"thriftgen/__init__.py", "thriftgen/py.typed", "thriftgen/runtime/__init__.py",
            "thriftgen/runtime/rpc/server.py"} <= runtime
    assert all(n.startswith("thriftgen/runtime/") or n in ("thriftgen/__init__.py",
                                                            "thriftgen/py.typed") for n in runtime)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in runtime | tool)
    assert {"thriftgen/cli.py", "thriftgen/codegen/viewmodel.py",
            "thriftgen/_templates/py/ttypes.py.j2"} <= tool
    on_disk = {p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "thriftgen").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert on_disk <= runtime | tool, sorted(on_disk - runtime - tool)


def test_tool_and_runtime_install_side_by_side_and_generate(tmp_path, wheelhouse):
    """The tool from its wheel (pulling in the runtime), in a fresh venv: it generates
    code that imports there; uninstalling the tool leaves a working runtime."""
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, wheelhouse, "thriftgen-toolchain")
    thriftgen = python.parent / "thriftgen"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["THRIFTGEN_NO_CACHE"] = "1"
    proc = subprocess.run([str(thriftgen), "-o", "gen", str(FIXTURES / "echo" / "echo.thrift")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    code = ("import echo.ttypes as t; from thriftgen.runtime import serialize; "
            "print(serialize(t.EchoRequest(message='x')).hex())")
    first = subprocess.run([str(python), "-c", code], cwd=tmp_path / "gen", env=env,
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    proc = subprocess.run([str(python), "-m", "pip", "uninstall", "-y", "-q", "thriftgen-toolchain"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    again = subprocess.run([str(python), "-c", code], cwd=tmp_path / "gen", env=env,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and again.stdout == first.stdout, again.stderr
    assert not thriftgen.exists()


# --------------------------------------------------------------------------- API level


def _with_level(files: dict, level: int) -> dict:
    """The generated files, claiming runtime API ``level``."""
    out = {}
    for rel, text in files.items():
        text = re.sub(r"_tg\.require_api\(\d+,", f"_tg.require_api({level},", text)
        text = re.sub(r"attach\(globals\(\), _TG_LAZY, \(\d+,", f"attach(globals(), _TG_LAZY, ({level},",
                      text)
        out[rel] = text
    return out


@pytest.mark.parametrize("template", ["default", "slim"])
def test_code_for_another_runtime_api_fails_with_one_sentence(tmp_path, template):
    from thriftgen.codegen.writer import write_output

    files = gen_into(tmp_path / "ok", FIXTURES / "echo" / "echo.thrift", template=template,
                     no_fmt=True)
    assert any("require_api(" in t or "_TG_LAZY, (" in t for t in files.values())
    for level, expect in ((_api.API_LEVEL + 1, "upgrade it (pip install 'thriftgen-runtime>="),
                          (0, "no longer serves")):
        out = tmp_path / f"level{level}"
        write_output(_with_level(files, level), str(out))
        code = "import echo.ttypes as t\nt.EchoRequest(message='x')\n"
        proc = subprocess.run([sys.executable, "-c", code], cwd=out, capture_output=True,
                              text=True, timeout=60,
                              env=dict(os.environ, PYTHONPATH=f"{out}{os.pathsep}{REPO_ROOT}"))
        assert proc.returncode == 1
        last = proc.stderr.strip().splitlines()[-1]
        assert last.startswith("ImportError: echo.ttypes was generated by thriftgen "
                               f"{__version__} for runtime API {level}"), last
        assert expect in last
    ok = subprocess.run([sys.executable, "-c", "import echo.ttypes as t; t.EchoRequest()"],
                        cwd=tmp_path / "ok", capture_output=True, text=True, timeout=60,
                        env=dict(os.environ, PYTHONPATH=f"{tmp_path / 'ok'}{os.pathsep}{REPO_ROOT}"))
    assert ok.returncode == 0, ok.stderr
