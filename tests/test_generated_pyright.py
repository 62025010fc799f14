"""Generated code passes pyright in strict mode (Python 3.9 as the target), in every
output variant, on the small 'modern' fixture (keywords and builtins as names,
uuid, fields without ids) and, with -m slow, on every fixture. mypy --strict is
tested in test_codegen.py, ruff in test_generated_lint.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from test_codegen_util import FIXTURE_ROOTS, FIXTURES, REPO, gen_into
from test_generated_lint import VARIANTS

pytest.importorskip("pyright", reason="pyright is not installed (pip install -e '.[test]')")


def pyright(root, packages: list) -> subprocess.CompletedProcess:
    # thriftgen itself is found through extraPaths; only the generated code is checked.
    (root / "pyrightconfig.json").write_text(json.dumps({
        "typeCheckingMode": "strict", "pythonVersion": "3.9", "include": packages,
        "extraPaths": [str(REPO)]}))
    return subprocess.run([sys.executable, "-m", "pyright", "--project", str(root)],
                          cwd=root, capture_output=True, text=True, timeout=600)


def packages_of(root) -> list:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


@pytest.mark.parametrize("variant", VARIANTS)
def test_pyright_strict_small(tmp_path, variant):
    name, root, incs, _ = next(f for f in FIXTURE_ROOTS if f[0] == "modern")
    gen_into(tmp_path, FIXTURES / root, [FIXTURES / i for i in incs], **VARIANTS[variant])
    proc = pyright(tmp_path, packages_of(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 errors" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_pyright_strict_all_fixtures(tmp_path, variant):
    for name, root, incs, _ in FIXTURE_ROOTS:
        out = tmp_path / name
        gen_into(out, FIXTURES / root, [FIXTURES / i for i in incs], **VARIANTS[variant])
        proc = pyright(out, packages_of(out))
        assert proc.returncode == 0, name + "\n" + proc.stdout + proc.stderr
