"""The generated fast codec (issue 5): with ``-thrift fast_codec=aot``,
``ttypes.py`` carries ahead-of-time encode/decode/size functions emitted by
the runtime compiler (by default the runtime compiles the same functions on
first use).

Differential: for every struct of the fixtures and of Apache corpus files
(a sample by default, all accepted files with ``-m slow``), hypothesis values
must encode to the same bytes through the generated code, the runtime JIT
(the same IDL generated with ``no_fast_codec``) and Apache 0.17's classes
(pure and C-accelerated, binary and compact); every decoder must give back
equal values; the generated size function must equal the encoded length.
Plus: the decoder's out-of-order fallback, hostile input (only
``ProtocolError``, with a field path), a fuzz sample over generated classes,
and the shape of the generated section (black-stable, mypy-skipped, option).
"""

from __future__ import annotations

import ast
import importlib
import random
import re
import sys
from pathlib import Path

import pytest

pytest.importorskip("thrift")
pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, Phase, given, note, settings  # noqa: E402
from thrift.protocol import TBinaryProtocol, TCompactProtocol  # noqa: E402

import test_wire_apache as W  # noqa: E402
from test_codegen_util import (APACHE, CORPUS, FIXTURES, apache_gen, gen_files, gen_into,  # noqa: E402
                               importable, run_python, struct_classes)
from thriftgen.runtime import ProtocolError, decode_struct, deserialize, serialize  # noqa: E402
from thriftgen.runtime import _compiler as C  # noqa: E402

RT_DIR = Path(__file__).resolve().parent / "runtime"

APACHE_PROTOCOLS = {
    ("binary", False): TBinaryProtocol.TBinaryProtocol,
    ("binary", True): TBinaryProtocol.TBinaryProtocolAccelerated,
    ("compact", False): TCompactProtocol.TCompactProtocol,
    ("compact", True): TCompactProtocol.TCompactProtocolAccelerated,
}

#: IDL exercising what the section must survive: recursion (self and mutual),
#: unions, exceptions, uuid/binary/enum defaults, names shadowing builtins the
#: generated code uses, a name with the section's own prefix, negative ids.
TRICKY = """
namespace py tgtricky

enum Kind { A = 1, B = 2 }
typedef i32 len

struct bytes { 1: string s, 2: len n }
struct _tgc_taken { 1: i32 x = 7 }
struct Tree { 1: i32 v, 2: list<Tree> kids, 3: optional Forest forest }
struct Forest { 1: map<string, Tree> trees, 2: optional Tree first }
union Choice { 1: i32 a, 2: string b, 3: Tree c, 4: bool d }
exception Oops { 1: string msg, 2: i32 code = 5 }
struct Defaults {
  1: i32 n = 3,
  2: Kind kind = Kind.B,
  3: uuid id = "00112233-4455-6677-8899-aabbccddeeff",
  4: binary raw = "ab",
  5: double d = 1.5,
  6: list<i32> fresh = [1, 2],
  7: bytes nested,
}
struct Plain {
  1: bool b, 2: i8 y, 3: i16 s, 4: i32 i, 5: i64 l, 6: double d, 7: string str,
  8: binary bin, 9: uuid u, 10: Kind k, 11: set<string> ss, 12: map<Kind, list<i64>> m,
  13: list<list<i32>> grid, 14: Choice c, 15: list<bool> flags, 16: list<double> ds,
}
struct Negative { -1: i32 a, -2: string b, 3: i32 c }
"""


# --------------------------------------------------------------------------- harness


def _rt_fuzz():
    if str(RT_DIR) not in sys.path:  # rt_fuzz imports its siblings lazily
        sys.path.append(str(RT_DIR))
    return importlib.import_module("rt_fuzz")


def _twin_module(module, prefix_from, prefix_to):
    return importlib.import_module(prefix_to + module.__name__[len(prefix_from):])


def _to_twin(value, twin_of):
    """``value`` with every struct rebuilt as its class twin (enums kept: same ints)."""
    if isinstance(value, list):
        return [_to_twin(v, twin_of) for v in value]
    if isinstance(value, set):
        return {_to_twin(v, twin_of) for v in value}
    if isinstance(value, dict):
        return {_to_twin(k, twin_of): _to_twin(v, twin_of) for k, v in value.items()}
    twin = twin_of.get(type(value))
    if twin is None:
        return value
    obj = twin()
    for e in W._entries(type(value)):
        setattr(obj, e[2], _to_twin(getattr(value, e[2]), twin_of))
    return obj


def _size(cls, obj, proto):
    if proto == "binary":
        return cls._tg_size_binary(obj)
    return C.get_function(cls, proto, C.SIZE)(obj)


def check_value(cls, obj, jit_of, peer):
    """Every invariant for one value of generated class ``cls``."""
    jobj = _to_twin(obj, jit_of)
    expected = W.norm(W.with_defaults(obj))
    apache_twin = peer.apache.get(cls) if peer is not None else None
    for proto in ("binary", "compact"):
        data = serialize(obj, proto)
        assert serialize(jobj, proto) == data, f"{proto}: fast vs JIT bytes"
        assert _size(cls, obj, proto) == len(data), f"{proto}: size"
        got = deserialize(cls, data, proto)
        assert type(got) is cls
        assert W.norm(got) == expected, f"{proto}: fast decode"
        assert W.norm(deserialize(jit_of[cls], data, proto)) == expected, f"{proto}: JIT decode"
        if apache_twin is None:
            continue
        apache_fresh = lambda c: peer.from_apache(c, peer.apache[c]())  # noqa: E731
        expected_apache = W.norm(W.with_defaults(obj, apache_fresh))
        for accel in (False, True):
            pcls = APACHE_PROTOCOLS[proto, accel]
            theirs = peer.to_apache(obj, enum_names=peer.enum_names and not accel)
            assert W.encode(theirs, pcls) == data, f"{proto} accel={accel}: Apache bytes"
            back = peer.from_apache(cls, W.decode_apache(apache_twin, data, pcls))
            assert W.norm(back) == expected_apache, f"{proto} accel={accel}: Apache decode"


def run_differential(tmp: Path, idl: Path, incs, apache_opts, examples: int) -> int:
    gen_into(tmp / "fast", idl, incs, package_prefix="tgf", no_fmt=True, fast_codec="aot")
    gen_into(tmp / "jit", idl, incs, package_prefix="tgj", no_fmt=True)
    roots = [tmp / "fast", tmp / "jit"]
    if apache_opts is not None:
        roots.append(apache_gen(tmp / "apache", idl, incs, apache_opts))
    checked = 0
    with importable(*roots):
        pairs = (W._pairs(tmp / "fast", roots[2], "tgf") if apache_opts is not None else
                 [(importlib.import_module(m), None) for m in _ttypes_modules(tmp / "fast")])
        pairs = [(ours, theirs) for ours, theirs in pairs if ours.__name__.endswith(".ttypes")]
        jit_of, mapping = {}, {}
        for ours, theirs in pairs:
            jmod = _twin_module(ours, "tgf", "tgj")
            for cls in struct_classes(ours):
                assert "_tg_encode_binary" in cls.__dict__, cls  # the section is installed
                assert "_tg_encode_binary" not in getattr(jmod, cls.__name__).__dict__
                jit_of[cls] = getattr(jmod, cls.__name__)
                if theirs is not None and not getattr(cls, "_tg_spec_by_declaration", False):
                    mapping[cls] = getattr(theirs, cls.__name__)
        peer = (W.Peer("tgf", mapping, {}, enum_names="enum" in apache_opts)
                if apache_opts is not None else None)
        for ours, _ in pairs:
            for cls in struct_classes(ours):

                @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                          phases=(Phase.explicit, Phase.generate),
                          suppress_health_check=list(HealthCheck))
                @given(obj=W.struct_strategy(cls))
                def check(obj):
                    note(repr(obj))
                    check_value(cls, obj, jit_of, peer)

                check()
                checked += 1
    return checked


def _ttypes_modules(root: Path) -> list:
    return sorted(".".join(p.relative_to(root).with_suffix("").parts)
                  for p in root.rglob("ttypes.py"))


# --------------------------------------------------------------------------- differential


FIXTURE_CASES = [
    ("store", "store/service.thrift", ["store"], "py:slots,enum"),
    ("echo", "echo/echo.thrift", [], "py:slots,enum"),
    ("crossref", "crossref/palette.thrift", [], "py:slots"),
    ("modern", "extensions/modern.thrift", [], None),
]


@pytest.mark.skipif(APACHE is None, reason="Apache thrift compiler not installed")
@pytest.mark.parametrize("name,root,incs,apache_opts", FIXTURE_CASES, ids=[c[0] for c in FIXTURE_CASES])
def test_fixtures_fast_codec_matches_jit_and_apache(tmp_path, name, root, incs, apache_opts):
    n = run_differential(tmp_path, FIXTURES / root, [FIXTURES / i for i in incs], apache_opts,
                         examples=6)
    assert n > 0


def test_tricky_idl_fast_codec_matches_jit(tmp_path):
    idl = tmp_path / "tricky.thrift"
    idl.write_text(TRICKY)
    assert run_differential(tmp_path, idl, [], None, examples=12) >= 9


def _corpus(tmp_path, rel, extra, examples):
    if not CORPUS.is_dir():
        pytest.skip("Apache corpus not present")
    if APACHE is None:
        pytest.skip("Apache thrift compiler not installed")
    idl = CORPUS / rel
    incs = [idl.parent] + [CORPUS / d for d in extra]
    for opts in ("py:slots,enum", "py:slots"):
        try:
            return run_differential(tmp_path / opts.replace(":", "_").replace(",", "_"), idl,
                                    incs, opts, examples)
        except W.ApacheBroken:
            continue
    pytest.skip("Apache's generated code does not import")


@pytest.mark.parametrize("rel,extra", W._corpus_cases(True), ids=lambda v: str(v))
def test_corpus_sample_fast_codec(tmp_path, rel, extra):
    assert _corpus(tmp_path, rel, extra, examples=3) > 0


@pytest.mark.slow
@pytest.mark.parametrize("rel,extra", W._corpus_cases(False), ids=lambda v: str(v))
def test_corpus_fast_codec(tmp_path, rel, extra):
    _corpus(tmp_path, rel, extra, examples=10)


# --------------------------------------------------------------------------- decoder paths


def _scalar_bytes(ttype, fid, value):
    """Independent binary encoding of one scalar field (header + value)."""
    import struct
    import uuid

    head = struct.pack(">bh", ttype, fid)
    if ttype == 2:
        return head + (b"\x01" if value else b"\x00")
    fmt = {3: ">b", 6: ">h", 8: ">i", 10: ">q", 4: ">d"}.get(ttype)
    if fmt:
        return head + struct.pack(fmt, value)
    if ttype == 16:
        return head + uuid.UUID(str(value)).bytes
    raw = value.encode() if isinstance(value, str) else value
    return head + struct.pack(">i", len(raw)) + raw


def test_fused_runs_every_presence_subset(tmp_path):
    """Runs of canonical-order fields are read and written by one struct call when all
    are present, field by field otherwise: every subset of ten scalar fields (both
    paths and every switch between them) encodes to the independent bytes and decodes
    back, generated and JIT-compiled alike; every truncation is a ProtocolError."""
    import uuid

    idl = tmp_path / "tricky.thrift"
    idl.write_text(TRICKY)
    gen_into(tmp_path / "fast", idl, [], package_prefix="tgf", no_fmt=True, fast_codec="aot")
    gen_into(tmp_path / "jit", idl, [], package_prefix="tgj", no_fmt=True)
    with importable(tmp_path / "fast", tmp_path / "jit"):
        mods = [importlib.import_module(p + ".tgtricky.ttypes") for p in ("tgf", "tgj")]
        values = {"b": True, "y": -7, "s": -300, "i": 1 << 30, "l": -(1 << 40), "d": -2.5,
                  "str": "héllo", "bin": b"\x00\xff", "u": uuid.UUID(int=1 << 100),
                  "k": mods[0].Kind.B}
        spec = {e[2]: e for e in mods[0].Plain.thrift_spec if e is not None}
        names = list(values)
        for mask in range(1 << len(names)):
            chosen = {n: values[n] for k, n in enumerate(names) if mask >> k & 1}
            expected = b"".join(_scalar_bytes(spec[n][1], spec[n][0], v)
                                for n, v in chosen.items()) + b"\x00"
            for mod in mods:
                obj = mod.Plain(**chosen)
                data = serialize(obj)
                assert data == expected, (mod.__name__, sorted(chosen))
                back = deserialize(mod.Plain, data)
                assert all(getattr(back, n) == chosen.get(n) for n in names), sorted(chosen)
                if mask % 97 == 0:
                    for cut in range(len(data)):
                        with pytest.raises(ProtocolError):
                            deserialize(mod.Plain, data[:cut])



@pytest.fixture(scope="module")
def tricky(tmp_path_factory):
    work = tmp_path_factory.mktemp("fc-tricky")
    idl = work / "tricky.thrift"
    idl.write_text(TRICKY)
    gen_into(work / "out", idl, [], no_fmt=True, fast_codec="aot")
    with importable(work / "out"):
        yield importlib.import_module("tgtricky.ttypes")


def _fields_reversed(obj):
    """Binary encoding of ``obj`` with its fields in reverse id order (and an unknown field)."""
    cls = type(obj)
    body = serialize(obj)
    pieces, pos = [], 0
    from thriftgen.runtime import skip

    while body[pos] != 0:
        end = skip(body, pos + 3, body[pos], "binary")
        pieces.append(body[pos:end])
        pos = end
    unknown = b"\x08\x7f\x00" + (123).to_bytes(4, "big")  # i32 field 32512
    return cls, b"".join(reversed(pieces)) + unknown + b"\x00"


def test_out_of_order_and_unknown_fields_take_the_general_loop(tricky):
    T = tricky
    tree = T.Tree(v=1, kids=[T.Tree(v=2, kids=[])], forest=T.Forest(trees={"x": T.Tree(v=3)}))
    plain = T.Plain(b=True, y=-1, s=300, i=-5, l=1 << 40, d=2.5, str="héllo", bin=b"\x00\xff",
                    k=T.Kind.B, ss={"a"}, m={T.Kind.A: [1, 2]}, grid=[[1], []], flags=[True],
                    ds=[0.5], c=T.Choice(b="x"))
    for obj in (tree, plain, T.Defaults(), T.Oops(msg="m", code=1)):
        cls, data = _fields_reversed(obj)
        got = deserialize(cls, data)
        assert W.norm(got) == W.norm(deserialize(cls, serialize(obj)))
        assert W.norm(got) == W.norm(W.with_defaults(obj))


def test_absent_fields_get_init_defaults_including_fresh_containers(tricky):
    T = tricky
    a = deserialize(T.Defaults, b"\x00")
    b = deserialize(T.Defaults, b"\x00")
    ref = T.Defaults()
    assert W.norm(a) == W.norm(ref)
    assert a.fresh == [1, 2] and a.fresh is not b.fresh
    assert deserialize(T.Oops, b"\x00").code == 5
    assert deserialize(T._tgc_taken, b"\x00").x == 7


def test_union_with_two_fields_is_rejected(tricky):
    T = tricky
    data = b"\x08\x00\x01" + (5).to_bytes(4, "big") + b"\x02\x00\x04\x01\x00"
    with pytest.raises(ProtocolError) as info:
        deserialize(T.Choice, data)
    assert "Choice" in str(info.value)
    with pytest.raises(ProtocolError):
        serialize(T.Choice(a=1, b="x"))


def test_hostile_input_raises_protocol_error_with_path(tricky):
    T = tricky
    obj = T.Tree(v=1, kids=[T.Tree(v=2), T.Tree(v=3, kids=[T.Tree(v=4)])])
    data = serialize(obj)
    with pytest.raises(ProtocolError) as info:
        deserialize(T.Tree, data[:-4])
    assert info.value.kind == "truncated"
    assert info.value.path.startswith("Tree.kids[")
    bad = bytearray(serialize(T.bytes(s="ok", n=1)))
    bad[3:7] = b"\x7f\xff\xff\xff"  # huge string length
    with pytest.raises(ProtocolError) as info:
        deserialize(T.bytes, bytes(bad))
    assert info.value.path == "bytes.s"
    deep = b"\x0c\x00\x03" * 200 + b"\x00" * 201  # Forest/Tree nesting through 'forest'
    with pytest.raises(ProtocolError) as info:
        deserialize(T.Tree, deep)
    assert info.value.kind in ("depth_limit", "truncated")
    with pytest.raises(ProtocolError) as info:
        serialize(T.Plain(i="nope"))
    assert info.value.path == "Plain.i"
    with pytest.raises(ProtocolError) as info:
        serialize(T.Tree(kids=[T.Tree(v=1), T.Tree(v="x")]))
    assert info.value.path == "Tree.kids[1].v"


def _error_of(call):
    try:
        call()
    except ProtocolError as e:
        return e.kind, e.path
    return None


def test_error_paths_are_rebuilt_like_the_jits(tmp_path):
    """Generated functions carry no error-context tables: on an error the table is
    rebuilt by running the generator again. Every path must equal the JIT's."""
    idl = tmp_path / "tricky.thrift"
    idl.write_text(TRICKY)
    gen_into(tmp_path / "aot", idl, [], no_fmt=True, fast_codec="aot", package_prefix="tga")
    gen_into(tmp_path / "jit", idl, [], no_fmt=True, package_prefix="tgj")
    with importable(tmp_path / "aot", tmp_path / "jit"):
        mods = [importlib.import_module(f"{p}.tgtricky.ttypes") for p in ("tga", "tgj")]
        A, J = mods
        assert "_tg_encode_binary" in A.Plain.__dict__
        assert "_tg_encode_binary" not in J.Plain.__dict__

        def values(T):
            return [T.Plain(b=True, y=-1, s=300, i=-5, l=1 << 40, d=2.5, str="héllo",
                            bin=b"\x00\xff", k=T.Kind.B, ss={"a"}, m={T.Kind.A: [1, 2]},
                            grid=[[1], [2, 3]], flags=[True], ds=[0.5], c=T.Choice(c=T.Tree(v=1))),
                    T.Tree(v=1, kids=[T.Tree(v=2), T.Tree(v=3, kids=[T.Tree(v=4)])],
                           forest=T.Forest(trees={"x": T.Tree(v=5, kids=[T.Tree(v=6)])})),
                    T.Defaults(nested=T.bytes(s="s", n=2))]

        with_path = 0
        for a, j in zip(values(A), values(J)):
            data = serialize(a)
            assert data == serialize(j)
            for cut in range(len(data)):  # every truncation fails alike
                got = _error_of(lambda: deserialize(type(a), data[:cut]))
                assert got == _error_of(lambda: deserialize(type(j), data[:cut])), cut
                with_path += bool(got and "." in got[1])
        assert with_path > 100
        bad = [lambda T: T.Plain(m={T.Kind.A: [1, "x"]}), lambda T: T.Plain(grid=[[1], [2, "y"]]),
               lambda T: T.Tree(kids=[T.Tree(v=1),
                                      T.Tree(forest=T.Forest(trees={"k": T.Tree(v="z")}))]),
               lambda T: T.Plain(ss={"a", 3}), lambda T: T.Plain(ds=[1.0, "q"]),
               lambda T: T.Defaults(nested=T.bytes(n="n"))]
        for make in bad:
            got = _error_of(lambda: serialize(make(A)))
            assert got is not None and got[1].count(".") >= 1
            assert got == _error_of(lambda: serialize(make(J)))
            # size functions check less (a list of i32 is sized by its length)
            sized = _error_of(lambda: C.get_function(type(make(A)), "binary", C.SIZE)(make(A)))
            assert sized == _error_of(
                lambda: C.get_function(type(make(J)), "binary", C.SIZE)(make(J)))
        assert _error_of(lambda: serialize(bad[2](A)))[1] == "Tree.kids[1].forest.trees['k'].v"


def test_recursive_depth_limit_and_max_depth_argument(tricky):
    T = tricky
    t = T.Tree(v=0)
    for i in range(70):
        t = T.Tree(v=i, kids=[t])
    data = serialize(t)
    with pytest.raises(ProtocolError) as info:
        deserialize(T.Tree, data)
    assert info.value.kind == "depth_limit"
    assert W.norm(deserialize(T.Tree, data, max_depth=200)) == W.norm(W.with_defaults(t))
    assert decode_struct(T.Tree, data, 0, max_depth=200)[1] == len(data)


def test_fuzz_sample_over_generated_classes(tricky):
    rt_fuzz = _rt_fuzz()
    targets = [c for c in struct_classes(tricky) if c.__name__ != "Negative"]
    outcomes = rt_fuzz.run(3000, seed=7, targets=targets)
    assert sum(outcomes.values()) == 3000
    assert outcomes.get("ok", 0) > 0 and any(k.startswith("err:") for k in outcomes)


# --------------------------------------------------------------------------- the section


def test_option_and_section_shape(tmp_path):
    idl = tmp_path / "tricky.thrift"
    idl.write_text(TRICKY)
    with_fc = gen_files(idl, [], no_fmt=True, fast_codec="aot")["tgtricky/ttypes.py"]
    without = gen_files(idl, [], no_fmt=True, no_fast_codec=True)["tgtricky/ttypes.py"]
    assert gen_files(idl, [], no_fmt=True)["tgtricky/ttypes.py"] == without  # JIT by default
    assert "# fmt: off" in with_fc and "# fmt: off" not in without and "_tgc0_" not in without
    head, section = with_fc[:with_fc.index("# fmt: off")], with_fc[with_fc.index("# fmt: off"):]
    # the section's TYPE_CHECKING joins the typing import at the top; nothing else changes
    assert re.sub(r"\bTYPE_CHECKING\b,? ?", "", head).replace(", \n", "\n").rstrip() == \
        re.sub(r"\bTYPE_CHECKING\b,? ?", "", without).replace(", \n", "\n").rstrip()
    ast.parse(section, feature_version=(3, 9))
    assert "ctx" not in section  # error-context tables are rebuilt on demand, not emitted
    # the IDL took ``_tgc_``: the section picked another prefix for all its names
    assert "if not TYPE_CHECKING:" in section and not re.findall(r"\b_tgc_\w+ =", section)
    # builtins shadowed by IDL names (``bytes``, ``len``) are reached under private names
    assert "_tgc0_bi_bytes" in section and "_tgc0_bi_len(" in section
    formatted = gen_files(idl, [], no_fmt=False, fast_codec="aot")
    assert formatted["tgtricky/ttypes.py"] == with_fc  # black-stable


@pytest.mark.parametrize("values,error", [
    (["fast_codec=aot,no_fast_codec"], "contradicts"),
    (["template=slim", "fast_codec=aot"], "template=slim"),
    (["fast_codec=fast"], "jit, aot"),
    (["fast_codec"], "needs a value"),
])
def test_fast_codec_option_errors(values, error):
    from thriftgen.codegen.options import OptionError, parse_thrift_options

    assert parse_thrift_options(["fast_codec=aot"]).fast_codec == "aot"
    assert parse_thrift_options([]).fast_codec == "jit"
    with pytest.raises(OptionError, match=error):
        parse_thrift_options(values)


def test_generated_module_imports_with_warnings_as_errors(tmp_path):
    idl = tmp_path / "tricky.thrift"
    idl.write_text(TRICKY)
    gen_into(tmp_path / "out", idl, [], fast_codec="aot")
    proc = run_python("import tgtricky.ttypes as T; from thriftgen.runtime import serialize, "
                      "deserialize; t = T.Tree(v=1, kids=[]); "
                      "assert deserialize(T.Tree, serialize(t)) == t; print('ok')", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_size_of_jit_classes_matches_encoding():
    rt_fuzz = _rt_fuzz()
    rng = random.Random(3)
    for cls in rt_fuzz.TARGETS:
        for proto in ("binary", "compact"):
            size = C.get_function(cls, proto, C.SIZE)
            for _ in range(40):
                obj = rt_fuzz.random_struct(rng, cls, depth=3)
                assert size(obj) == len(serialize(obj, proto)), (cls.__name__, proto)


@pytest.mark.slow
def test_fuzz_100k_over_generated_classes(tricky):
    rt_fuzz = _rt_fuzz()
    targets = [c for c in struct_classes(tricky) if c.__name__ != "Negative"]
    outcomes = rt_fuzz.run(100_000, seed=11, targets=targets)
    assert sum(outcomes.values()) == 100_000


def test_codecs_give_the_same_bytes_on_the_oldest_supported_python(tmp_path):
    """Generated, JIT-compiled and masked codecs run on Python 3.9 (the oldest the
    runtime supports) and write what this interpreter writes."""
    import glob
    import os

    pythons = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.9*/bin/python")))[:1]
    if not pythons:
        pytest.skip("no Python 3.9 interpreter found")
    idl = tmp_path / "tricky.thrift"
    idl.write_text(TRICKY)
    gen_into(tmp_path / "fast", idl, [], package_prefix="tgf", no_fmt=True, fast_codec="aot")
    gen_into(tmp_path / "jit", idl, [], package_prefix="tgj", no_fmt=True)
    code = f"""
import sys, uuid
sys.path[:0] = [{str(tmp_path / "fast")!r}, {str(tmp_path / "jit")!r}]
from thriftgen.runtime import serialize, deserialize
from thriftgen.runtime.fieldmask import FieldMask
out = []
for prefix in ("tgf", "tgj"):
    T = __import__(prefix + ".tgtricky.ttypes", fromlist=["x"])
    plain = T.Plain(b=True, y=-1, s=300, i=-5, l=1 << 40, d=2.5, str="h\\u00e9llo",
                    bin=b"\\x00\\xff", u=uuid.UUID(int=7), k=T.Kind.B, ss={{"a"}},
                    m={{T.Kind.A: [1, 2]}}, grid=[[1], []], flags=[True], ds=[0.5],
                    c=T.Choice(b="x"))
    tree = T.Tree(v=1, kids=[T.Tree(v=2, kids=[])], forest=T.Forest(trees={{"x": T.Tree(v=3)}}))
    for obj in (plain, tree, T.Defaults()):
        for proto in ("binary", "compact"):
            data = serialize(obj, proto)
            assert deserialize(type(obj), data, proto) == obj
            out.append(data.hex())
    mask = FieldMask(T.Plain, "$.i", "$.m", "$.grid[0]")
    for proto in ("binary", "compact"):
        data = serialize(plain, proto, mask=mask)
        out.append(data.hex())
        got = deserialize(T.Plain, serialize(plain, proto), proto, mask=mask)
        assert got == mask.apply(plain)
print(" ".join(out))
"""
    here = run_python(code, tmp_path)
    old = run_python(code, tmp_path, pythons[0])
    assert here.returncode == 0, here.stderr
    assert old.returncode == 0, old.stderr
    assert old.stdout == here.stdout


CHAIN = """
namespace py tgchain

enum Kind { A = 1, B = 2 }
struct Leaf { 1: string name, 2: optional i64 n, 3: binary blob }
struct Fixed { 1: i32 a, 2: bool b, 3: Kind k, 4: double d, 5: uuid u, 6: i8 y }
struct Mixed { 1: i16 h, 2: string s, 3: string t, 4: i64 l }
struct Holder {
  1: list<Leaf> leaves, 2: list<Fixed> fixed, 3: set<string> tags, 4: list<binary> blobs,
  5: map<string, string> attrs, 6: list<Mixed> mixed, 7: map<binary, binary> raw,
  8: Leaf one, 9: optional Fixed two, 10: i32 after,
}
"""


def _chain_holder(T, big):
    import uuid

    return T.Holder(
        leaves=[T.Leaf(name="a", n=1, blob=b"\x00"), T.Leaf(name="é" * 3, blob=b""),
                T.Leaf(name=big, n=-1, blob=b"z" * 300)],
        fixed=[T.Fixed(a=1, b=True, k=T.Kind.B, d=0.5, u=uuid.UUID(int=5), y=-1),
               T.Fixed(a=2), T.Fixed(a=3, b=False, k=9, d=-0.0, u=uuid.UUID(int=0), y=127)],
        tags={"x", "", "ü" * 10, big}, blobs=[b"", b"\xff" * 10, big.encode()],
        attrs={"k": "v", "": "", "ключ": big}, raw={b"\x00": b"\x01", b"": big.encode()},
        mixed=[T.Mixed(h=1, s="s", t=big, l=2), T.Mixed(s="only"), T.Mixed(h=-1, s="", t="", l=0)],
        one=T.Leaf(name="o", n=3, blob=b"b"), two=T.Fixed(a=7), after=9)


def test_leaf_chains_and_string_runs_match_the_field_by_field_path(tmp_path, monkeypatch):
    """Leaf structs read by one chain of unpacks (in lists and as fields) and lists,
    sets and maps of strings read body-with-next-length must decode exactly as the
    field-by-field code does: values (long strings past the length-table cache,
    empty and non-ASCII ones, sparse elements, unknown enum values), and the error
    (kind and path) of every truncation and of every byte set to 0x00 or 0xFF."""
    idl = tmp_path / "chain.thrift"
    idl.write_text(CHAIN)
    for prefix, opts in (("tcf", {"fast_codec": "aot"}), ("tcj", {}), ("tcn", {})):
        gen_into(tmp_path / prefix, idl, [], package_prefix=prefix, no_fmt=True, **opts)
    with importable(*(tmp_path / p for p in ("tcf", "tcj", "tcn"))):
        fast, jit, plain = (importlib.import_module(p + ".tgchain.ttypes")
                            for p in ("tcf", "tcj", "tcn"))
        # the reference: the same JIT with chains turned off (compiled on first use)
        with monkeypatch.context() as m:
            m.setattr(C, "_chainable", lambda fields: False)
            serialize(plain.Holder(one=plain.Leaf()))
            deserialize(plain.Holder, serialize(plain.Holder(leaves=[plain.Leaf(name="")])))
        src = C.get_function(jit.Holder, "binary", C.DEC)._tg_source
        assert "_chain_miss" in src and "_chain_miss" not in \
            C.get_function(plain.Holder, "binary", C.DEC)._tg_source

        def outcome(mod, data):
            try:
                return W.norm(deserialize(mod.Holder, data))
            except ProtocolError as e:
                return e.kind, e.path

        big = "long " * 1000  # past _aot._STRING_RUN_CACHE
        for text in (big, "short"):
            values = [_chain_holder(mod, text) for mod in (fast, jit, plain)]
            data = serialize(values[2])
            assert serialize(values[0]) == serialize(values[1]) == data
            for mod, value in zip((fast, jit, plain), values):
                assert deserialize(mod.Holder, data) == value
        kinds = set()
        for cut in range(len(data)):
            want = outcome(plain, data[:cut])
            assert want[0] == "truncated", cut
            assert outcome(fast, data[:cut]) == outcome(jit, data[:cut]) == want, cut
        for at in range(len(data)):
            for byte in (0x00, 0xFF):
                bad = data[:at] + bytes([byte]) + data[at + 1:]
                want = outcome(plain, bad)
                kinds.add(want[0])
                assert outcome(fast, bad) == outcome(jit, bad) == want, (at, byte)
        assert {"negative_size", "truncated", "invalid_data"} <= kinds, kinds
