"""Compiled scanner patterns are cached like bytecode (thriftgen.idl.recache): the
cached pattern is the pattern ``re.compile`` gives, an entry is used only when its
seal verifies, and every failure falls back to compiling."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from thriftgen.cachedir import forget_stores, open_store
from thriftgen.idl import recache, skeleton

PATTERN = r"(?P<gap>\s*)(?P<word>[A-Za-z_]\w*)(?:\s*=\s*(?P<num>[0-9]+))?|(?P<other>.)"
SAMPLES = ["", "a = 1", "  name=42 rest", "=", "x\n= 7", "_9 =", "é = 3"]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("THRIFTGEN_CACHE_DIR", str(root))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("THRIFTGEN_CACHE_KEY", raising=False)
    monkeypatch.delenv("THRIFTGEN_NO_CACHE", raising=False)
    forget_stores()
    yield root
    forget_stores()


def entries(root: Path) -> list:
    return sorted(p for p in (root / "re").rglob("*") if p.is_file()) if (root / "re").exists() else []


def same_behaviour(got: re.Pattern, want: re.Pattern) -> None:
    assert got.pattern == want.pattern
    assert got.flags == want.flags
    assert got.groups == want.groups and got.groupindex == want.groupindex
    for text in SAMPLES:
        assert [m.groupdict() for m in got.finditer(text)] == \
            [m.groupdict() for m in want.finditer(text)], text


@pytest.mark.parametrize("flags", [0, re.IGNORECASE | re.MULTILINE, re.VERBOSE])
def test_first_call_compiles_and_stores_second_loads(cache: Path, monkeypatch, flags) -> None:
    want = re.compile(PATTERN, flags)
    first = recache.compile_cached(PATTERN, flags)
    same_behaviour(first, want)
    assert len(entries(cache)) == 1

    def no_compiling(*_a):
        raise AssertionError("compiled although the cache holds the pattern")

    monkeypatch.setattr(recache, "_sre_args", no_compiling)
    monkeypatch.setattr(recache.re, "compile", no_compiling)
    second = recache.compile_cached(PATTERN, flags)
    same_behaviour(second, want)


def test_skeleton_patterns_from_the_cache_scan_alike(cache: Path, fixtures_dir: Path) -> None:
    skeleton._patterns.cache_clear()
    try:
        fresh = [skeleton.scan(p.read_text(errors="replace")) for p in sorted(fixtures_dir.rglob("*.thrift"))]
        assert entries(cache), "the definition pattern was not stored"
        skeleton._patterns.cache_clear()
        cached = [skeleton.scan(p.read_text(errors="replace")) for p in sorted(fixtures_dir.rglob("*.thrift"))]
    finally:
        skeleton._patterns.cache_clear()
    assert cached == fresh
    assert any(s is not None and s.defs for s in cached)


def test_a_tampered_entry_is_not_used(cache: Path) -> None:
    recache.compile_cached(PATTERN)
    (path,) = entries(cache)
    blob = bytearray(path.read_bytes())
    blob[-3] ^= 0xFF  # one code word changed: the seal no longer verifies
    path.write_bytes(bytes(blob))
    same_behaviour(recache.compile_cached(PATTERN), re.compile(PATTERN))


def test_sealed_but_invalid_code_falls_back(cache: Path) -> None:
    import marshal

    store = open_store()
    key = None
    recache.compile_cached(PATTERN)
    (path,) = entries(cache)
    key = path.parent.name + path.name
    flags, code, groups, groupindex, indexgroup = marshal.loads(store.read("re", key))
    store.write("re", key, marshal.dumps((flags, [999999] + code[1:], groups, groupindex,
                                          indexgroup)))
    same_behaviour(recache.compile_cached(PATTERN), re.compile(PATTERN))


def test_no_cache_env_writes_nothing(cache: Path, monkeypatch) -> None:
    monkeypatch.setenv("THRIFTGEN_NO_CACHE", "1")
    same_behaviour(recache.compile_cached(PATTERN), re.compile(PATTERN))
    assert entries(cache) == []


def test_unsafe_cache_dir_is_silent_and_unused(cache: Path, capsys) -> None:
    cache.mkdir(parents=True)
    cache.chmod(0o777)  # writable by others: not trusted
    try:
        same_behaviour(recache.compile_cached(PATTERN), re.compile(PATTERN))
        assert entries(cache) == []
        assert capsys.readouterr().err == ""
    finally:
        cache.chmod(0o700)


def test_internals_that_moved_fall_back_to_re_compile(cache: Path, monkeypatch) -> None:
    def moved(*_a):
        raise AttributeError("_code")

    monkeypatch.setattr(recache, "_sre_args", moved)
    same_behaviour(recache.compile_cached(PATTERN), re.compile(PATTERN))
    assert entries(cache) == []


# --------------------------------------------------------------------------- templates


def test_compiled_templates_come_from_the_sealed_cache(cache: Path, monkeypatch) -> None:
    import jinja2

    from thriftgen.codegen import render

    def fresh_env():
        render.environment.cache_clear()
        forget_stores()
        return render.environment()

    try:
        env = fresh_env()
        assert isinstance(env.bytecode_cache, render.SealedBytecodeCache)
        first = env.get_template("py/ttypes.py.j2")
        stored = sorted(p for p in (cache / "jinja").rglob("*") if p.is_file())
        assert stored, "no compiled template stored"

        env = fresh_env()
        compiled = []
        real = jinja2.Environment.compile
        monkeypatch.setattr(jinja2.Environment, "compile",
                            lambda self, *a, **k: compiled.append(a) or real(self, *a, **k))
        second = env.get_template("py/ttypes.py.j2")
        assert compiled == [], "recompiled although the cache holds the template"
        assert second.root_render_func.__code__.co_code == first.root_render_func.__code__.co_code

        for path in stored:  # a tampered entry is ignored and the template compiled
            blob = bytearray(path.read_bytes())
            blob[-1] ^= 0xFF
            path.write_bytes(bytes(blob))
        env = fresh_env()
        env.get_template("py/ttypes.py.j2")
        assert compiled, "a tampered entry was used"
    finally:
        render.environment.cache_clear()


def test_no_template_cache_with_no_cache_env(cache: Path, monkeypatch) -> None:
    from thriftgen.codegen import render

    monkeypatch.setenv("THRIFTGEN_NO_CACHE", "1")
    render.environment.cache_clear()
    try:
        assert render.environment().bytecode_cache is None
    finally:
        render.environment.cache_clear()
