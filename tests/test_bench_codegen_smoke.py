"""The code generation benchmark (``bench/codegen.py``) and the speed-ups it measures,
each held to the plain path it replaces:

* parallel parsing (``load_program(jobs=...)``) gives the same program and diagnostics;
* the streaming / forked render (``render.render_program``) gives the same files and
  diagnostics;
* black verification (``fmt.format_files``): what it checks and what it does on a
  mismatch;
* the skeleton trimming front end (``frontend.load_trimmed_program``) gives the same
  trimmed program, counts and generated code as trimming a full load, and never
  takes a definition the parser would reject or warn about.

Speed goals live in the benchmark, never here.
"""

from __future__ import annotations

import gc
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from bench.codegen import measure_output
from bench.synth_idl import generate as synth
from thriftgen.codegen import fmt, generate, render
from thriftgen.codegen.options import parse_thrift_options
from thriftgen.codegen.builders import make_builder
from thriftgen.diagnostics import DiagnosticSink, IDLError
from thriftgen.idl import skeleton as sk
from thriftgen.idl.cache import ParseCache
from thriftgen.idl.frontend import load_checked_program
from thriftgen.trim.frontend import load_trimmed_program
from thriftgen.idl.grammar import parse_text
from thriftgen.idl.loader import gc_paused, load_program
from thriftgen.trim import TrimOptions, trim_program

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
CORPUS = REPO.parent / "shared" / "corpus" / "apache-thrift"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A small synthetic IDL tree (what the benchmark generates, 300 structs)."""
    return synth(300, tmp_path_factory.mktemp("synth"), seed=11, reach=0.2)


def diag_list(sink) -> list:
    return [(d.severity, d.message, d.loc) for d in sink.diagnostics]


def corpus_files(limit=None) -> list:
    if not CORPUS.is_dir():
        pytest.skip("Apache corpus not present")
    files = sorted(CORPUS.rglob("*.thrift"))
    if limit is not None:
        files = files[:: max(1, len(files) // limit)]
    return files


# --------------------------------------------------------------------------- benchmark


def test_measure_output(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.py").write_text("one\ntwo\n")
    (tmp_path / "y-remote").write_bytes(b"no newline at end")
    (tmp_path / ".thriftgen-manifest.json").write_text("{}\n")
    out = measure_output(tmp_path)
    assert (out.files, out.bytes, out.lines) == (2, 8 + 17, 3)
    (tmp_path / "a" / "x.py").write_text("one\ntwo!\n")
    assert measure_output(tmp_path).digest != out.digest


@pytest.mark.parametrize("via", ["cli", "api"])
def test_codegen_benchmark_runs(tmp_path, via):
    env = {**os.environ, "BENCH_WORK_DIR": str(tmp_path)}
    skip = "full-warm,trim-warm,trim-nofmt" if via == "cli" else "full,full-warm,trim-warm"
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "codegen.py"), "--sizes", "40",
                           "--skip", skip, "--via", via], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "FAILED" not in proc.stderr, proc.stderr[-3000:]
    out = proc.stdout
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("| N structs") and "trim_idl" in line)
    row = [c.strip() for c in lines[lines.index(header) + 2].strip("|").split("|")]
    assert row[0] == "40" and all(c != "-" for c in row[1:]), row
    size_header = next(line for line in lines if "files / bytes / lines" in line)
    size_row = lines[lines.index(size_header) + 2]
    assert " MB / " in size_row or " kB / " in size_row
    if via == "cli":
        assert "full vs full no_fmt output trees are identical" in out
    assert "### Goals" in out and ("PASS" in out or "FAIL" in out)
    assert not any((tmp_path / "tmp").iterdir())  # scratch dirs cleaned up


# --------------------------------------------------------------------------- parallel parse


def _load(roots, includes, jobs, cache=None):
    sink = DiagnosticSink()
    try:
        program = load_program([str(r) for r in roots], [str(i) for i in includes], sink, cache,
                               jobs)
        files = {p: (pf.display, pf.document, pf.includes) for p, pf in program.files.items()}
        locs = {p: [(d.loc, d.span) for d in pf.document.definitions]
                for p, pf in program.files.items()}
    except IDLError:
        files = locs = None
    return files, locs, diag_list(sink), sorted(sink.sources)


def test_parallel_parse_is_the_serial_parse(synthetic, tmp_path):
    root = synthetic.root
    serial = _load([root], [root.parent], 1)
    assert serial[0] is not None and len(serial[0]) == len(synthetic.files)
    assert _load([root], [root.parent], 2) == serial
    assert _load([root], [root.parent], 3) == serial
    # through a parse cache: the worker writes entries, a second load reads them
    cache = ParseCache(str(tmp_path / "cache"))
    assert _load([root], [root.parent], 2, cache) == serial
    assert any((tmp_path / "cache" / "parse").rglob("*"))
    warm = ParseCache(str(tmp_path / "cache"))
    assert _load([root], [root.parent], 2, warm) == serial and warm.misses == 0


def test_parallel_parse_reports_errors_as_serially(tmp_path):
    (tmp_path / "bad.thrift").write_text("struct Bad {\n  1: i32 a\n  2: oops b c\n}\n")
    (tmp_path / "warn.thrift").write_text("senum Old { \"a\" }\nstruct W { i32 noid }\n")
    (tmp_path / "notutf8.thrift").write_bytes(b"struct X { 1: string \xff }\n")
    # an include inside a comment: the pre-scan parses it, the walk must ignore it
    (tmp_path / "unused.thrift").write_text("struct Unused { 1: nope }\n")
    (tmp_path / "root.thrift").write_text(
        'include "warn.thrift"\ninclude "bad.thrift"\ninclude "notutf8.thrift"\n'
        '/*\ninclude "unused.thrift"\n*/\nstruct R { 1: warn.W w }\n')
    serial = _load([tmp_path / "root.thrift"], [], 1)
    assert serial[0] is None and any("unexpected" in d[1] for d in serial[2])
    assert not any("Unused" in str(d) or "nope" in d[1] for d in serial[2])
    assert _load([tmp_path / "root.thrift"], [], 2) == serial
    ok = tmp_path / "ok.thrift"
    ok.write_text('include "warn.thrift"\n/*\ninclude "unused.thrift"\n*/\nstruct R { 1: warn.W w }\n')
    serial_ok = _load([ok], [], 1)
    assert serial_ok[0] is not None and any(d[0] == "warning" for d in serial_ok[2])
    assert _load([ok], [], 2) == serial_ok


def test_parallel_parse_on_corpus_and_fixtures():
    cases = [([FIXTURES / "store" / "service.thrift"], [FIXTURES / "store"])]
    cases += [([f], [f.parent]) for f in corpus_files(limit=25)]
    for roots, includes in cases:
        assert _load(roots, includes, 2) == _load(roots, includes, 1), roots


def test_gc_paused_restores_state():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


# --------------------------------------------------------------------------- forked render


def _render(program, options, jobs, monkeypatch):
    monkeypatch.setattr(render, "PARALLEL_MIN_WEIGHT", 0)
    sink = DiagnosticSink()
    try:
        files, view = render.render_program(make_builder(program, options, sink, True), jobs)
    except IDLError:
        return None, diag_list(sink)
    return (files, view.namespace_packages), diag_list(sink)


def test_forked_render_is_the_serial_render(synthetic, monkeypatch):
    program = load_checked_program([str(synthetic.root)], [], DiagnosticSink())
    options = parse_thrift_options(["no_fmt"])
    serial = _render(program, options, 1, monkeypatch)
    assert serial[0] is not None and len(serial[0][0]) > 20
    assert _render(program, options, 2, monkeypatch) == serial
    assert _render(program, options, 3, monkeypatch) == serial
    # and the old two-step API agrees
    from thriftgen.codegen.render import render as render_view
    from thriftgen.codegen.builders import build_view

    assert render_view(build_view(program, options, DiagnosticSink(), True)) == serial[0][0]


def test_forking_falls_back_without_a_temporary_directory(synthetic, monkeypatch):
    """Workers hand results over through temporary files; without them every
    parallel path degrades to the serial one."""
    import tempfile

    root = synthetic.root
    serial_load = _load([root], [root.parent], 1)
    program = load_checked_program([str(root)], [], DiagnosticSink())
    options = parse_thrift_options(["no_fmt"])
    serial_render = _render(program, options, 1, monkeypatch)

    def no_tmp(*args, **kwargs):
        raise OSError("no temporary directory")

    monkeypatch.setattr(tempfile, "mkdtemp", no_tmp)
    assert _load([root], [root.parent], 2) == serial_load
    assert _render(program, options, 2, monkeypatch) == serial_render
    trimmed = load_trimmed_program([str(root)], [], TrimOptions(), DiagnosticSink(), jobs=2)
    assert trimmed.program.files


def test_forked_render_reports_worker_diagnostics(tmp_path, monkeypatch):
    for i in range(4):  # one module per file; some land in the worker
        (tmp_path / f"m{i}.thrift").write_text(
            f"namespace py pkg.m{i}\nstruct S{i} {{\n  1: i32 __bad{i}\n  2: i32 fine\n}}\n")
    (tmp_path / "root.thrift").write_text(
        "".join(f'include "m{i}.thrift"\n' for i in range(4))
        + "struct Root {\n" + "".join(f"  {i + 1}: m{i}.S{i} s{i}\n" for i in range(4)) + "}\n")
    program = load_checked_program([str(tmp_path / "root.thrift")], [], DiagnosticSink())
    options = parse_thrift_options(["no_fmt"])
    serial = _render(program, options, 1, monkeypatch)
    assert serial[0] is None and sum("__bad" in d[1] for d in serial[1]) == 4
    forked = _render(program, options, 2, monkeypatch)
    assert sorted(forked[1], key=str) == sorted(serial[1], key=str)


# --------------------------------------------------------------------------- black verification


def test_small_output_is_verified_whole():
    good = 'x = 1\n\n\nclass A:\n    pass\n'
    files = {"p/a.py": good, "p/b.py": good.replace("x = 1", "x = 2"), "p/c.txt": "x=1"}
    assert fmt.verify_plan(files) == [("p/a.py", good), ("p/b.py", files["p/b.py"])]
    big = {"p/big.py": _big_module(400)}  # 62 kB: still whole by default, sampled below it
    assert fmt.verify_plan(big) == [("p/big.py", big["p/big.py"])]
    assert len(fmt.verify_plan(big, budget=6000, whole=10_000)) > 3
    assert fmt.format_files(files) == files
    sink = DiagnosticSink()
    bad = dict(files, **{"p/b.py": "x=2\n"})
    out = fmt.format_files(bad, sink=sink)
    assert out["p/b.py"] == "x = 2\n" and out["p/c.txt"] == "x=1"  # formatted, not only seen
    assert len(sink.diagnostics) == 1 and "black would change" in sink.diagnostics[0].message
    with pytest.raises(fmt.FormatError):
        fmt.format_files({"p/broken.py": "def (:\n"})


def _big_module(n: int, bad_at=None) -> str:
    parts = ["# header\nfrom __future__ import annotations\n\nimport os\n"]
    for i in range(n):
        body = (f"class C{i}:\n    \"\"\"Doc {i}.\"\"\"\n\n    x: int = {i}\n\n"
                f"    def f(self, a: int, b: str = \"é\") -> int:\n        return a + {i}\n")
        if i == bad_at:
            body = body.replace("return a + ", "return a+")
        parts.append(body)
        parts.append(f"C{i}.spec = (\n    1,\n    \"s{i}\",\n)\n")
    parts.append("# fmt: off\nodd   =   [1,2]\n# fmt: on\n")
    parts.append("__all__ = [\"C0\"]\n")
    return "\n\n".join(parts)


def test_big_output_is_sampled_at_statements():
    text = _big_module(400)
    assert fmt.format_source(text) == text  # the test module itself is black-clean
    spans = fmt.sample_pieces(text, 6000)
    total = sum(b - a for a, b in spans)
    assert 3000 <= total < 6000 + 4 * fmt.MAX_STATEMENT and len(spans) >= 10
    assert spans[0][0] == 0 and spans[-1][1] == len(text)  # head and tail
    off = text.index("# fmt: off")
    for a, b in spans:
        assert a == 0 or text[a - 1] == "\n" and not text[a].isspace()
        assert not (a <= off < b), "a fmt: off region must never be checked alone"
        piece = fmt._piece_text(text, a, b)
        assert fmt._verify_piece("x.py", piece) is True, piece[:200]
    # a middle statement is in the sample only by chance; one at the head always is
    bad_head = _big_module(400, bad_at=0)
    sink = DiagnosticSink()
    out = fmt.format_files({"m.py": bad_head, "n.py": text}, budget=6000, whole=0, sink=sink)
    assert out == {"m.py": text, "n.py": text} and sink.diagnostics


def test_generated_code_passes_verification(synthetic):
    program = load_checked_program([str(synthetic.root)], [], DiagnosticSink())
    files = generate(program, parse_thrift_options(["no_fmt"]), DiagnosticSink(), True)
    plan = fmt.verify_plan(files, budget=20_000)
    assert len(plan) > len([p for p in files if p.endswith(".py")])  # big files are sampled
    sink = DiagnosticSink()
    assert fmt.format_files(files, budget=20_000, sink=sink) == files and not sink.diagnostics


# --------------------------------------------------------------------------- skeleton trimming


def _trim_both(roots, includes, options):
    roots, includes = [str(r) for r in roots], [str(i) for i in includes]
    results = []
    for skeleton in (False, True):
        sink = DiagnosticSink()
        try:
            if skeleton:
                result = load_trimmed_program(roots, includes, options, sink)
            else:
                result = trim_program(load_checked_program(roots, includes, sink), options, sink)
        except IDLError:
            results.append((None, diag_list(sink)))
            continue
        files = {}
        for path, pf in result.program.files.items():
            doc = pf.document
            files[path] = (pf.display, pf.includes, doc.headers, doc.definitions,
                           [(d.loc, d.span, getattr(d, "extends_loc", None)) for d in doc.definitions],
                           [(f.loc, f.span) for d in doc.definitions for f in getattr(d, "fields", ())])
        results.append(((files, result.stats.before, result.stats.after), diag_list(sink)))
    return results


def _assert_same_trim(roots, includes, options):
    full, skeleton = _trim_both(roots, includes, options)
    if skeleton[0] is None:  # a failing run is the full run
        assert skeleton == full, roots
    elif full[0] is not None:
        assert skeleton[0] == full[0], roots
    missing = [d for d in full[1] if d not in skeleton[1]]
    assert [d for d in skeleton[1] if d in full[1]] == skeleton[1], roots
    if missing:
        _assert_in_removed_definitions(roots, includes, options, missing)
    return full


def _assert_in_removed_definitions(roots, includes, options, diagnostics):
    """The documented gap: a successful skeleton trim skips the semantic checks of
    definitions trimming removes, and only those: every diagnostic the full path
    adds lies inside a definition that trimming a full load removes."""
    sink = DiagnosticSink()
    program = load_program([str(r) for r in roots], [str(i) for i in includes], sink)
    kept = trim_program(program, options).program
    for severity, message, loc in diagnostics:
        assert loc is not None, message
        pf = next(pf for pf in program if pf.display == loc.file)
        src = sink.sources[pf.display]
        starts = [0] + [i + 1 for i, c in enumerate(src.text) if c == "\n"]
        offset = starts[loc.line - 1] + loc.col - 1
        owner = next(d for d in pf.document.definitions if d.span.start <= offset < d.span.end)
        survivors = kept.files.get(pf.path)
        names = {d.name for d in survivors.document.definitions} if survivors else set()
        assert owner.name not in names, (roots, message)


@pytest.mark.parametrize("options", [TrimOptions(), TrimOptions(trim_all=True),
                                     TrimOptions(methods=["get.*"]),
                                     TrimOptions(preserved_structs=["Tiny"])],
                         ids=["default", "all", "methods", "preserved"])
def test_skeleton_trim_is_the_full_trim(synthetic, options):
    full = _assert_same_trim([synthetic.root], [], options)
    assert full[0] is not None


def test_skeleton_trim_generates_the_same_code(synthetic):
    options = parse_thrift_options(["no_fmt"])
    skel = load_trimmed_program([str(synthetic.root)], [], TrimOptions(), DiagnosticSink())
    full = trim_program(load_checked_program([str(synthetic.root)], [], DiagnosticSink()),
                        TrimOptions())
    parsed = sum(len(pf.document.definitions) for pf in skel.original)
    assert parsed < sum(len(pf.document.definitions) for pf in full.original) / 2  # it pays
    assert (generate(skel.program, options, DiagnosticSink(), True)
            == generate(full.program, options, DiagnosticSink(), True))


def test_skeleton_trim_on_fixtures_and_corpus():
    _assert_same_trim([FIXTURES / "store" / "service.thrift"], [FIXTURES / "store"], TrimOptions())
    _assert_same_trim([FIXTURES / "echo" / "echo.thrift"], [], TrimOptions(trim_all=True))
    scanned = 0
    for f in corpus_files():
        scanned += sk.scan(f.read_text(errors="replace")) is not None
        for options in (TrimOptions(), TrimOptions(trim_all=True)):
            _assert_same_trim([f], [f.parent], options)
    assert scanned > 50  # the skeleton path, not only the fallback, is exercised


def test_skeleton_trim_errors_are_the_full_errors(tmp_path):
    (tmp_path / "lib.thrift").write_text(
        "struct Used {\n  1: i32 a\n}\nstruct Unused {\n  1: i32 a,\n  2: i32 a\n}\n")
    root = tmp_path / "root.thrift"
    root.write_text('include "lib.thrift"\nservice S {\n  lib.Used get()\n}\n')
    # What is guaranteed not to be checked: a semantic error in a definition that
    # trimming removes (the duplicate field name in Unused); the full path rejects it.
    full, skeleton = _trim_both([root], [], TrimOptions())
    assert full[0] is None and any("Unused" in d[1] or "'a'" in d[1] for d in full[1])
    assert skeleton[0] is not None
    # Any syntax error, kept or not, and any error in what is kept: the full diagnostics.
    for lib in ("struct Used {\n  1: i32 a\n}\nstruct Unused {\n  1: i32 a b\n}\n",
                "struct Used {\n  1: i32 a\n}\nstruct Unused {\n  1: i32 a\n  2: oops\n}\n",
                "struct Used {\n  1: nope a\n}\nstruct Unused {\n  1: i32 a\n}\n",
                "struct Used {\n  1: i32 a\n}\nstruct Unused {\n  0: i32 a\n}\n",
                "struct Used {\n  1: i32 a\n}\nstruct Unused {\n  40000: i32 a\n}\n"):
        (tmp_path / "lib.thrift").write_text(lib)
        full, skeleton = _trim_both([root], [], TrimOptions())
        assert skeleton == full and (full[0] is None or full[1]), lib


def _mutations(text: str, rng: random.Random, count: int):
    pieces = ["", " ", "\n", "{", "}", "<", ">", ",", ";", ":", "=", "(", ")", "[", "]", "'", '"',
              "/*", "*/", "//", "#", "\\", "0", "-1", "40000", "1.5e3", "0x1F", "list", "map<",
              "required", "optional", "senum", "slist", "async", "&", "i32", "x.y", "é", "\t",
              "const", "typedef", "struct", "enum", "throws", "void", "oneway", "*", "1:"]
    for _ in range(count):
        chars = list(text)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(chars) + 1)
            op = rng.random()
            if op < 0.4 and chars:
                del chars[min(i, len(chars) - 1)]
            elif op < 0.8:
                chars.insert(i, rng.choice(pieces))
            elif chars:
                chars[min(i, len(chars) - 1)] = rng.choice(pieces)
        yield "".join(chars)


def _validated_are_clean(text: str) -> int:
    """Every definition the skeleton would leave out parses alone without a diagnostic."""
    skel = sk.scan(text)
    checked = 0
    for d in skel.defs if skel is not None else ():
        if d.validated:
            sink = DiagnosticSink()
            doc = parse_text(text[d.start:d.end], "x.thrift", sink)
            assert doc is not None and not sink.diagnostics, (text[d.start:d.end], sink.diagnostics)
            assert len(doc.definitions) == 1 and doc.definitions[0].name == d.name
            fields = getattr(doc.definitions[0], "fields", None)
            if fields is not None:
                assert len(fields) == d.fields
            checked += 1
    return checked


SAMPLE_DEFINITIONS = """\
/** doc */ struct A { 1: required i32 a = -3, 2: optional list<map<string, B>> b (x = "y"),
  // c
  3: set cpp_type "s" <i64> c = [1, 2] ; 4: B & d, 5: map<i8,string> e = {1: "a", 2: 'b'} }
union U { 1: string s = "q\\"\\n" (a.b) 2: binary b }
exception E { 32767: i32 code } (annot = "x", y;)
enum Color { RED = 1, GREEN (x), BLUE = 0x10; }
typedef map<string, list<i32>> M (t = "1")
const list<string> L = ["a", 'b'; "c"]
const i64 BIG = +12
const double D = .5e-3
const Color C = Color.RED
"""


def _fuzz(definitions: list, rng: random.Random, per_definition: int) -> int:
    """Mutants of one definition at a time; how many the skeleton accepted (and the
    parser then accepted silently)."""
    accepted = 0
    for d in definitions:
        for mutant in _mutations(d, rng, per_definition):
            if mutant != d and _validated_are_clean(mutant):
                accepted += 1
    return accepted


def _definitions(text: str) -> list:
    skel = sk.scan(text)
    return [text[d.start:d.end] for d in skel.defs]


def test_skeleton_accepts_only_what_the_parser_accepts_silently():
    assert _validated_are_clean(SAMPLE_DEFINITIONS) == 9
    definitions = _definitions(SAMPLE_DEFINITIONS)
    assert _fuzz(definitions, random.Random(4), 300) > 300  # the mutants it took were fine


@pytest.mark.slow
def test_skeleton_soundness_fuzz(synthetic):
    rng = random.Random(7)
    text = (synthetic.root.parent / "domain_00.thrift").read_text()
    assert _fuzz(_definitions(text)[:200], rng, 20) > 200
    assert _fuzz(_definitions(SAMPLE_DEFINITIONS), rng, 3000) > 3000


def test_skeleton_scan_limits():
    assert sk.scan("struct A { 1: i32 a }\ninclude \"late.thrift\"\n") is None  # header late
    assert sk.scan("struct A { 1: list<list<list<i32>>> deep }\n") is None
    assert sk.scan("struct A { i32 noid }\n") is None
    skel = sk.scan('include "a.thrift"\nnamespace py x.y\nservice S extends a.B { void f() }\n'
                   'senum Old { "a" }\n')
    assert skel.includes == ["a.thrift"]
    assert [(d.kind, d.name, d.validated) for d in skel.defs] == [
        ("service", "S", False), ("senum", "Old", False)]
    text = "/** A */\nstruct A {\n  1: i32 a\n}\n// @preserve\nstruct B {\n}\n"
    a, b = sk.scan(text).defs
    assert not a.preserve and b.preserve
    masked = sk.masked(text, [a])
    assert len(masked) == len(text) and masked.count("\n") == text.count("\n")
    assert [i for i, c in enumerate(masked) if c == "\n"] == [i for i, c in enumerate(text) if c == "\n"]
    doc = parse_text(masked, "m.thrift", DiagnosticSink())
    assert [d.name for d in doc.definitions] == ["B"] and doc.definitions[0].doc is None
