"""The trimmer against oracles: the synthetic generator's own reachable set, an
independent brute-force reachability written here from scratch, and a
round trip (write, re-parse, check, compare ASTs) on fixtures and the corpus."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from thriftgen.diagnostics import DiagnosticSink, IDLError
from thriftgen.idl import ast
from thriftgen.idl.checker import check_program
from thriftgen.idl.loader import load_program
from thriftgen.trim import TrimOptions, plan_layout, render_trimmed, trim_program, write_trimmed

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
GENERATOR = SHARED / "bench" / "gen_big_idl.py"
CORPUS = SHARED / "corpus" / "apache-thrift"
STORE = REPO / "fixtures" / "store" / "service.thrift"


def load(roots, include_dirs=()):
    sink = DiagnosticSink()
    program = load_program([str(r) for r in roots], [str(d) for d in include_dirs], sink)
    check_program(program, sink)
    sink.check()
    return program


# --------------------------------------------------------------------------- brute force
# Deliberately naive and independent of thriftgen.trim: resolve names by scanning
# definition lists, and grow the kept set by repeated full passes until nothing changes.

_PRESERVE = re.compile(r"^\s*(//|#)\s*@preserve\s*$", re.I | re.M)


def _find(program, path, name):
    doc = program.files[path].document
    for d in doc.definitions:
        if d.name == name:
            return path, d
    parts = name.split(".")
    for i in range(1, len(parts)):  # include aliases may contain dots
        target = program.files[path].includes.get(".".join(parts[:i]))
        if target is not None and i == len(parts) - 1:
            for d in program.files[target].document.definitions:
                if d.name == parts[-1]:
                    return target, d
    return None


def _type_names(t):
    if isinstance(t, ast.NamedType):
        yield t.name
    elif isinstance(t, (ast.ListType, ast.SetType)):
        yield from _type_names(t.elem)
    elif isinstance(t, ast.MapType):
        yield from _type_names(t.key)
        yield from _type_names(t.value)


def _value_names(v):
    if isinstance(v, ast.ConstRef):
        yield v.name
    elif isinstance(v, ast.ConstList):
        for x in v.items:
            yield from _value_names(x)
    elif isinstance(v, ast.ConstMap):
        for k, x in v.items:
            yield from _value_names(k)
            yield from _value_names(x)


def _refs(program, path, d, only_functions=None):
    """(path, definition) pairs that definition d needs (a service: through the
    functions named in ``only_functions`` when given, and then not its base)."""
    types, values = [], []
    fields = []
    if isinstance(d, ast.Struct):
        fields = d.fields
    elif isinstance(d, ast.Typedef):
        types.append(d.type)
    elif isinstance(d, ast.Const):
        types.append(d.type)
        values.append(d.value)
    elif isinstance(d, ast.Service):
        for fn in d.functions:
            if only_functions is not None and fn.name not in only_functions:
                continue
            if fn.return_type is not None:
                types.append(fn.return_type)
            fields += fn.args + fn.throws
        if d.extends and only_functions is None:
            found = _find(program, path, d.extends)
            if found:
                yield found
    for f in fields:
        types.append(f.type)
        if f.default is not None:
            values.append(f.default)
    for t in types:
        for name in _type_names(t):
            found = _find(program, path, name)
            if found:
                yield found
    for v in values:
        for name in _value_names(v):
            found = _find(program, path, name)
            if found and isinstance(found[1], ast.Const):
                yield found
            if "." in name:
                found = _find(program, path, name.rsplit(".", 1)[0])
                if found and isinstance(found[1], (ast.Enum, ast.Senum)):
                    yield found


def brute_force_kept(program, trim_all=False, preserve=True, only=None):
    """{(path, name)} kept when every root service is kept whole, or, with
    ``only={(path, service): {function names}}``, just those functions."""
    kept = {}
    for root in program.roots:
        for d in program.files[root].document.definitions:
            if isinstance(d, ast.Service) and only is None:
                kept[(root, d.name)] = d
    for (path, name) in only or {}:
        kept[(path, name)] = program.files[path].symbols[name]
    if preserve:
        for path, pf in program.files.items():
            for d in pf.document.definitions:
                if any(_PRESERVE.search(c) for c in d.leading_comments):
                    kept[(path, d.name)] = d
    changed = True
    while changed:
        changed = False
        live = {p for p, _ in kept} | set(program.roots)
        if not trim_all:
            for path in live:
                for d in program.files[path].document.definitions:
                    if isinstance(d, (ast.Const, ast.Enum, ast.Senum, ast.Typedef)):
                        if (path, d.name) not in kept:
                            kept[(path, d.name)] = d
                            changed = True
        for (path, name), d in list(kept.items()):
            fns = None if only is None or isinstance(d, ast.Struct) else only.get((path, name))
            for rpath, rd in _refs(program, path, d, fns):
                if (rpath, rd.name) not in kept:
                    kept[(rpath, rd.name)] = rd
                    changed = True
    return set(kept)


def trimmer_kept(result):
    return {(path, d.name) for path, pf in result.program.files.items()
            for d in pf.document.definitions}


# --------------------------------------------------------------------------- round trip

def assert_round_trip(result, tmp_path):
    """Written trimmed files re-parse, pass the checker, and every kept definition
    is AST-identical to what the trimmer kept (structs: to the original)."""
    layout = plan_layout(result)
    out = tmp_path / "trimmed"
    write_trimmed(result, str(out), layout)
    roots = [out / layout.out_paths[r] for r in result.program.roots]
    again = load(roots, [out / d for d in layout.include_dirs])
    by_out = {layout.out_paths[p]: pf for p, pf in result.program.files.items()}
    assert len(again.files) == len(result.program.files)
    for path, pf in again.files.items():
        rel = os.path.relpath(path, os.path.realpath(out)).replace(os.sep, "/")
        kept = by_out[rel]
        assert pf.document.headers == kept.document.headers
        assert len(pf.document.definitions) == len(kept.document.definitions)
        original = result.original.files[kept.path].symbols
        for i, (d, want) in enumerate(zip(pf.document.definitions, kept.document.definitions)):
            if i == 0 and d != want and d.doc != want.doc:
                # Known limit: a /** */ file header that ends up directly above the
                # first kept definition (everything between was cut) is taken as its
                # doc by the parser. The header is kept on purpose; only doc moves.
                header = pf.document.comments[0]
                assert header.doc and not Path(path).read_text()[:header.span.start].strip()
                assert not any(h.span.start < d.span.start for h in pf.document.headers)
                assert dataclasses.replace(d, doc=want.doc) == want
                continue
            assert d == want
            if isinstance(d, ast.Struct):
                assert d == original[d.name]
    texts = render_trimmed(result)
    for path, text in texts.items():
        src = Path(path).read_text(encoding="utf-8-sig")
        if "\n\n\n" not in src:
            assert "\n\n\n" not in text, path
        assert text.endswith("\n") or not src.endswith("\n")
        assert not text.startswith("\n")
        for d in result.program.files[path].document.definitions:
            if isinstance(d, ast.Struct):  # kept structs: byte-identical source text
                assert src[d.span.start:d.span.end] in text
    return again


# --------------------------------------------------------------------------- generator oracle

def generate(n, seed, outdir):
    if not GENERATOR.is_file():
        pytest.skip(f"synthetic IDL generator not found at {GENERATOR}")
    res = subprocess.run([sys.executable, str(GENERATOR), str(n), str(outdir), "--seed", str(seed),
                          "--print-reachable"], check=True, capture_output=True, text=True)
    line = next(x for x in res.stdout.splitlines() if x.startswith("REACHABLE_STRUCTS:"))
    return set(line.split(":", 1)[1].split())


def check_against_oracle(n, seed, tmp_path):
    reachable = generate(n, seed, tmp_path / "idl")
    program = load([tmp_path / "idl" / "service.thrift"])
    for trim_all in (False, True):
        result = trim_program(program, TrimOptions(trim_all=trim_all))
        structs = {d.name for pf in result.program for d in pf.document.structs()
                   if d.kind == ast.STRUCT}
        assert structs == reachable
        assert trimmer_kept(result) == brute_force_kept(program, trim_all=trim_all)
        assert result.stats.total("after")["structs"] == len(reachable)
    # the default mode keeps every enum of base.thrift (it is live); --all only used ones
    default = trim_program(program, TrimOptions())
    all_ = trim_program(program, TrimOptions(trim_all=True))
    assert all_.stats.total("after")["enums"] <= default.stats.total("after")["enums"]
    assert_round_trip(all_, tmp_path / "all")
    assert_round_trip(default, tmp_path / "default")


@pytest.mark.parametrize("n,seed", [(200, 1), (200, 42), (500, 7)])
def test_generator_oracle(n, seed, tmp_path):
    check_against_oracle(n, seed, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 11])
def test_generator_oracle_large(seed, tmp_path):
    check_against_oracle(5000, seed, tmp_path)


def test_generator_method_selection_keeps_only_that_closure(tmp_path):
    generate(300, 5, tmp_path / "idl")
    program = load([tmp_path / "idl" / "service.thrift"])
    root = program.files[program.roots[0]]
    svc = next(root.document.services())
    fn = next(f for f in svc.functions if f.args)
    result = trim_program(program, TrimOptions(methods=[f"{svc.name}.{fn.name}"], trim_all=True))
    single = brute_force_kept(program, trim_all=True, only={(root.path, svc.name): {fn.name}})
    assert trimmer_kept(result) == single
    assert single < brute_force_kept(program, trim_all=True)
    assert [f.name for f in result.program.files[root.path].symbols[svc.name].functions] == [fn.name]
    assert_round_trip(result, tmp_path)


# --------------------------------------------------------------------------- fixtures & corpus

def test_store_fixture(tmp_path):
    if not STORE.is_file():
        pytest.skip("fixtures/store/service.thrift not written yet")
    program = load([STORE], [STORE.parent])
    for trim_all in (False, True):
        result = trim_program(program, TrimOptions(trim_all=trim_all))
        assert trimmer_kept(result) == brute_force_kept(program, trim_all=trim_all)
        assert_round_trip(result, tmp_path / str(trim_all))
    result = trim_program(program, TrimOptions(methods=["StoreFront.getCart"], trim_all=True))
    again = assert_round_trip(result, tmp_path / "m")
    assert result.stats.total("after")["functions"] == 1
    assert len(again.files) < len(program.files)


def corpus_programs():
    if not CORPUS.is_dir():
        return []
    from tests.apache_baseline import INCLUDE_DIRS

    out = []
    for f in sorted(CORPUS.rglob("*.thrift")):
        rel = f.relative_to(CORPUS).as_posix()
        if "service" not in f.read_text(encoding="utf-8", errors="replace"):
            continue
        out.append(pytest.param(f, [f.parent, *(CORPUS / d for d in INCLUDE_DIRS.get(rel, []))],
                                id=rel))
    return out


def test_corpus_brute_force_agreement_and_round_trip(tmp_path):
    if not CORPUS.is_dir():
        pytest.skip(f"Apache corpus not found at {CORPUS}")
    checked = 0
    for param in corpus_programs():
        f, include_dirs = param.values
        try:
            program = load([f], include_dirs)
        except IDLError:
            continue  # files the checker rejects are the corpus tests' business
        if not any(True for _ in program.files[program.roots[0]].document.services()):
            continue
        for trim_all in (False, True):
            result = trim_program(program, TrimOptions(trim_all=trim_all))
            assert trimmer_kept(result) == brute_force_kept(program, trim_all=trim_all), param.id
        assert_round_trip(result, tmp_path / str(checked))
        # one function of the last service (its own, so its base is cut): cuts inside
        # service bodies on real-world formatting
        root = program.files[program.roots[0]]
        svc = list(root.document.services())[-1]
        if svc.functions:
            fn = svc.functions[len(svc.functions) // 2]
            result = trim_program(program, TrimOptions(methods=[re.escape(f"{svc.name}.{fn.name}")],
                                                       trim_all=True))
            only = {(root.path, svc.name): {fn.name}}
            assert trimmer_kept(result) == brute_force_kept(program, True, only=only), param.id
            assert_round_trip(result, tmp_path / f"m{checked}")
        checked += 1
    assert checked >= 50


def test_store_fixture_random_method_subsets(tmp_path):
    """Seeded random selections of methods: every cut pattern of the store's
    service bodies re-parses to exactly what the trimmer kept."""
    import random

    if not STORE.is_file():
        pytest.skip("fixtures/store/service.thrift not written yet")
    program = load([STORE], [STORE.parent])
    names = sorted({f"{s.name}.{f.name}" for pf in program for s in pf.document.services()
                    for f in s.functions})
    rnd = random.Random(1234)
    for i in range(12):
        picked = rnd.sample(names, rnd.randint(1, 6))
        result = trim_program(program, TrimOptions(methods=[re.escape(n) for n in picked],
                                                   trim_all=bool(i % 2)))
        assert_round_trip(result, tmp_path / str(i))
