"""Shared pytest fixtures: where the repository, its fixtures and the Apache corpus are."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES_DIR = REPO_ROOT / "fixtures"
#: The Apache Thrift test corpus lives next to the checkout, never inside it.
CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus" / "apache-thrift"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES_DIR


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The Apache corpus directory; skips the test when it is not present."""
    if not CORPUS_DIR.is_dir():
        pytest.skip(f"Apache Thrift corpus not found at {CORPUS_DIR}")
    return CORPUS_DIR


# --------------------------------------------------------------------------- packaging

#: Interpreters the generated code and the runtime must work on (3.9+), where present.
OTHER_PYTHONS = ["3.9", "3.10", "3.12", "3.13"]


def find_python(version: str):
    """A ``pythonX.Y`` executable (PATH, then pyenv's versions), or None."""
    import glob
    import os
    import shutil

    import subprocess

    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    cands = sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}")))
    cands.reverse()
    if shutil.which(f"python{version}"):
        cands.append(shutil.which(f"python{version}"))  # may be a shim of a version not set
    for cand in cands:
        try:
            ok = subprocess.run([cand, "-c", "import venv"], capture_output=True, timeout=60)
        except OSError:
            continue
        if ok.returncode == 0:
            return cand
    return None


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory) -> Path:
    """Wheels of thriftgen-runtime, thriftgen-toolchain, their dependencies and the
    build backends, so fresh virtualenvs install offline from them (``pip wheel``;
    its dependencies come from the package index or pip's cache)."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("wheelhouse")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
                           "--wheel-dir", str(out), str(REPO_ROOT / "packaging" / "runtime"),
                           str(REPO_ROOT), "hatchling>=1.18", "setuptools>=70.1"],
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        pytest.skip("cannot build the wheelhouse (no package index?): " + proc.stderr[-500:])
    return out


def fresh_venv(path: Path, python: str = None) -> Path:
    """A new virtualenv at ``path`` without system site-packages; its python."""
    import subprocess
    import sys

    subprocess.run([python or sys.executable, "-m", "venv", str(path)], check=True,
                   capture_output=True, timeout=300)
    return path / "bin" / "python"


def pip_install(python: Path, wheelhouse: Path, *requirements: str) -> None:
    """``pip install`` into ``python``'s environment from ``wheelhouse`` only."""
    import subprocess

    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-index",
                           "--disable-pip-version-check", "--find-links", str(wheelhouse),
                           *requirements], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
