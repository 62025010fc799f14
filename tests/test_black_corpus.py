"""``-thrift no_fmt`` output is black's, byte for byte, on the whole Apache corpus and
every output variant: black leaves every generated file unchanged.

The default run checks a deterministic slice (a different twentieth of the corpus per
variant, plus the files that once broke it); ``-m slow`` checks every accepted file
with every variant (about three minutes on two cores).
"""

from __future__ import annotations

import hashlib

import pytest

from apache_baseline import INCLUDE_DIRS
from conftest import CORPUS_DIR
from corpus_expectations import ACCEPT, EXPECTATIONS
from thriftgen.codegen import generate
from thriftgen.codegen.fmt import format_source
from thriftgen.codegen.options import parse_thrift_options
from thriftgen.diagnostics import DiagnosticSink
from thriftgen.idl.frontend import load_checked_program

VARIANTS = ["", "fast_codec=aot", "template=slim", "no_default_serdes", "with_field_mask",
            "template=slim,with_field_mask"]
ACCEPTED = sorted(rel for rel, (verdict, _) in EXPECTATIONS.items() if verdict == ACCEPT)
#: files that once made black re-wrap a line (issue 22: an annotated AsyncClient call)
ALWAYS = ["test/audit/break8.thrift"]
SLICES = 20


def _slice(variant_index: int) -> list:
    def bucket(rel: str) -> int:
        return int(hashlib.sha256(rel.encode()).hexdigest(), 16) % SLICES

    return sorted(set(ALWAYS) | {r for r in ACCEPTED if bucket(r) == variant_index % SLICES})


def _check(rel: str, variant: str) -> list:
    """Generated files of ``rel`` that black would change."""
    if not CORPUS_DIR.is_dir():
        pytest.skip(f"Apache Thrift corpus not found at {CORPUS_DIR}")
    path = CORPUS_DIR / rel
    incs = [str(path.parent)] + [str(CORPUS_DIR / d) for d in INCLUDE_DIRS.get(rel, [])]
    program = load_checked_program([str(path)], incs, DiagnosticSink())
    options = parse_thrift_options([f"{variant},no_fmt" if variant else "no_fmt"])
    files = generate(program, options, DiagnosticSink(), recursive=True)
    return [p for p, text in files.items() if p.endswith(".py") and format_source(text, p) != text]


@pytest.mark.parametrize("variant", VARIANTS)
def test_black_leaves_a_corpus_slice_unchanged(variant):
    changed = {rel: bad for rel in _slice(VARIANTS.index(variant)) if (bad := _check(rel, variant))}
    assert not changed, changed


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("rel", ACCEPTED)
def test_black_leaves_every_corpus_file_unchanged(rel, variant):
    assert _check(rel, variant) == []
