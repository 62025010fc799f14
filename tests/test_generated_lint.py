"""Generated code passes ruff's classic rules (``E4,E7,E9,F``: imports at the top,
no unused imports or names, no ambiguous names, no syntax errors) in every output
variant, on every fixture and a slice of the Apache corpus (all of it with -m slow).
mypy --strict is tested in test_codegen.py, type hints at run time in test_slim.py."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from test_black_corpus import ACCEPTED, INCLUDE_DIRS
from test_codegen_util import FIXTURE_ROOTS, FIXTURES, gen_into
from conftest import CORPUS_DIR

VARIANTS = {"default": {}, "fast_codec=aot": {"fast_codec": "aot"}, "slim": {"template": "slim"},
            "no_default_serdes": {"no_default_serdes": True},
            "with_field_mask": {"with_field_mask": True},
            "slim+with_field_mask": {"template": "slim", "with_field_mask": True}}
RULES = "E4,E7,E9,F"


def ruff(root) -> subprocess.CompletedProcess:
    exe = shutil.which("ruff")
    cmd = [exe] if exe else [sys.executable, "-m", "ruff"]
    return subprocess.run([*cmd, "check", "--no-cache", "--isolated", "--select", RULES,
                           "--output-format", "concise", str(root)],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module", autouse=True)
def _need_ruff():
    if shutil.which("ruff") is None:
        try:
            import ruff  # noqa: F401
        except ImportError:
            pytest.skip("ruff is not installed (pip install -e '.[test]')")


@pytest.mark.parametrize("variant", VARIANTS)
def test_fixtures_pass_ruff(tmp_path, variant):
    for name, root, incs, _ in FIXTURE_ROOTS:
        gen_into(tmp_path / name, FIXTURES / root, [FIXTURES / i for i in incs], no_fmt=True,
                 **VARIANTS[variant])
    proc = ruff(tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr


def _corpus(tmp_path, files, options):
    if not CORPUS_DIR.is_dir():
        pytest.skip(f"Apache Thrift corpus not found at {CORPUS_DIR}")
    for i, rel in enumerate(files):
        path = CORPUS_DIR / rel
        incs = [path.parent] + [CORPUS_DIR / d for d in INCLUDE_DIRS.get(rel, [])]
        gen_into(tmp_path / str(i), path, incs, no_fmt=True, **options)
    return ruff(tmp_path)


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_corpus_slice_passes_ruff(tmp_path, variant):
    files = ACCEPTED[list(VARIANTS).index(variant)::12]
    proc = _corpus(tmp_path, files, VARIANTS[variant])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_the_whole_corpus_passes_ruff(tmp_path, variant):
    proc = _corpus(tmp_path, ACCEPTED, VARIANTS[variant])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
