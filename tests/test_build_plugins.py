"""Build-system plugins: a sample project that keeps only .thrift files, built with
the real backends (hatchling, setuptools) offline, installed into a fresh venv,
and its generated package imported and used there.

Each sample's pyproject.toml is the README's snippet file, verbatim."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from thriftgen.integrations import BuildError, generate_for_build

REPO_ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = REPO_ROOT / "docs" / "integrations"
ECHO = REPO_ROOT / "fixtures" / "echo" / "echo.thrift"
GENERATED = ["echo/Echo.py", "echo/__init__.py", "echo/constants.py", "echo/ttypes.py"]

USE_IT = """
import echo, echo.ttypes as t
from echo import Echo
from thriftgen.runtime import deserialize, serialize
assert "site-packages" in echo.__file__, echo.__file__
req = t.EchoRequest(message="hi", repeat=3, payload=b"\\x00\\xff")
data = serialize(req)
assert deserialize(t.EchoRequest, data) == req
assert deserialize(t.EchoRequest, serialize(req, "compact"), "compact") == req
assert issubclass(t.EchoError, Exception) and hasattr(Echo, "Client")
print(data.hex())
"""


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("THRIFTGEN_CACHE_DIR", str(tmp_path / "cache"))


def sample(tmp_path: Path, snippet: str) -> Path:
    root = tmp_path / "sample"
    (root / "idl").mkdir(parents=True)
    shutil.copy(ECHO, root / "idl" / "echo.thrift")
    shutil.copy(SNIPPETS / snippet, root / "pyproject.toml")
    return root


def build(root: Path) -> tuple:
    """``python -m build --no-isolation``: the sdist, then the wheel built from it."""
    try:
        import build  # noqa: F401
    except ImportError:
        pytest.skip("the 'build' package is not installed (pip install -e '.[test]')")
    env = {**os.environ, "PIP_NO_INDEX": "1"}
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "-o", "dist", "."],
                          cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    [sdist] = (root / "dist").glob("*.tar.gz")
    [wheel] = (root / "dist").glob("*.whl")
    return sdist, wheel


#: what a service's environment must not need: the tool's own dependencies
TOOL_ONLY = ["ply", "jinja2", "black", "typer", "platformdirs", "yaml", "thriftgen.cli",
             "thriftgen.codegen", "thriftgen.idl"]
CHECK_ALONE = """
import importlib.util, sys
present = [m for m in %r if importlib.util.find_spec(m.split(".")[0]) is not None
           and importlib.util.find_spec(m) is not None]
assert not present, present
print(sys.version_info[:2])
""" % (TOOL_ONLY,)


def install_and_use(wheel: Path, tmp_path: Path, wheelhouse: Path, python: str = None) -> str:
    """Install ``wheel`` into a fresh virtualenv (no system site-packages): pip takes
    its only dependency, thriftgen-runtime, from the wheelhouse. Then use the
    generated package there, and show that none of the tool is installed."""
    from conftest import fresh_venv, pip_install

    venv_python = fresh_venv(tmp_path / "venv", python)
    pip_install(venv_python, wheelhouse, str(wheel))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([str(venv_python), "-c", CHECK_ALONE], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([str(venv_python), "-c", USE_IT], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _installed() -> set:
    return {d.metadata["Name"] for d in importlib.metadata.distributions()}


def apache_bytes() -> str:
    """The bytes of USE_IT's request as Apache's own serializer writes them."""
    thrift = pytest.importorskip("thrift")
    del thrift
    from thrift.protocol import TBinaryProtocol
    from thrift.transport import TTransport
    from test_codegen_util import gen_into

    import tempfile

    with tempfile.TemporaryDirectory() as d:
        gen_into(Path(d), ECHO)
        sys.path.insert(0, d)
        try:
            for m in [m for m in sys.modules if m == "echo" or m.startswith("echo.")]:
                del sys.modules[m]
            import echo.ttypes as t

            req = t.EchoRequest(message="hi", repeat=3, payload=b"\x00\xff")
            buf = TTransport.TMemoryBuffer()
            req.write(TBinaryProtocol.TBinaryProtocol(buf))
            return buf.getvalue().hex()
        finally:
            sys.path.remove(d)
            for m in [m for m in sys.modules if m == "echo" or m.startswith("echo.")]:
                del sys.modules[m]


def interpreters() -> list:
    from conftest import find_python

    out = [pytest.param(None, id="this-python")]
    for v in ("3.9",):
        found = find_python(v)
        out.append(pytest.param(found, id=f"python{v}", marks=pytest.mark.skipif(
            found is None, reason=f"python{v} is not installed")))
    return out


def sdist_names(sdist: Path) -> set:
    with tarfile.open(sdist) as tf:
        return {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}


@pytest.mark.parametrize("python", interpreters())
def test_hatch_build_hook(tmp_path, wheelhouse, python):
    pytest.importorskip("hatchling")
    if not any(ep.name == "thriftgen" for ep in importlib.metadata.entry_points(group="hatch")):
        pytest.skip("thriftgen's hatch plugin is not registered (pip install -e .)")
    root = sample(tmp_path, "pyproject-hatch.toml")
    sdist, wheel = build(root)
    names = sdist_names(sdist)
    assert {"idl/echo.thrift", "pyproject.toml"} <= names
    assert {f"gen/{rel}" for rel in GENERATED} <= names
    with zipfile.ZipFile(wheel) as zf:
        in_wheel = set(zf.namelist())
        assert set(GENERATED) <= in_wheel
        assert zf.read("echo/ttypes.py") == (root / "gen" / "echo" / "ttypes.py").read_bytes()
    assert not any(n.startswith(("gen/", "idl/")) for n in in_wheel)
    assert install_and_use(wheel, tmp_path, wheelhouse, python) == apache_bytes()


@pytest.mark.parametrize("python", interpreters())
def test_setuptools_build_commands(tmp_path, wheelhouse, python):
    setuptools = pytest.importorskip("setuptools")
    if tuple(int(x) for x in setuptools.__version__.split(".")[:2]) < (70, 1):
        pytest.skip("setuptools >= 70.1 builds wheels without the 'wheel' package")
    root = sample(tmp_path, "pyproject-setuptools.toml")
    sdist, wheel = build(root)
    names = sdist_names(sdist)
    assert {"idl/echo.thrift", "pyproject.toml"} <= names
    assert {f"gen/{rel}" for rel in GENERATED} <= names
    with zipfile.ZipFile(wheel) as zf:
        assert set(GENERATED) <= set(zf.namelist())
        assert zf.read("echo/ttypes.py") == (root / "gen" / "echo" / "ttypes.py").read_bytes()
    assert install_and_use(wheel, tmp_path, wheelhouse, python) == apache_bytes()


def test_build_fails_with_the_diagnostic(tmp_path):
    root = sample(tmp_path, "pyproject-hatch.toml")
    (root / "idl" / "echo.thrift").write_text("struct Broken {\n  1: i32 x\n")
    with pytest.raises(BuildError) as exc:
        generate_for_build(str(root))
    message = str(exc.value)
    assert message.startswith("thriftgen job 'default' failed:\n")
    assert "idl/echo.thrift:2:11: error: unexpected end of file" in message


def test_build_reports_configuration_errors(tmp_path):
    root = sample(tmp_path, "pyproject-hatch.toml")
    (root / "pyproject.toml").write_text('[tool.thriftgen]\nidl = ["idl/*.thrift"]\noutput = "x"\n')
    with pytest.raises(BuildError, match=r"pyproject\.toml: tool\.thriftgen: unknown key 'output'"):
        generate_for_build(str(root))
    with pytest.raises(BuildError, match="configuration file not found"):
        generate_for_build(str(root), config="thriftgen.toml")
