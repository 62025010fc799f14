"""Semantic checks over a loaded Program (placeholder: being written)."""

from __future__ import annotations


def check_program(program, sink) -> None:
    return None
