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
