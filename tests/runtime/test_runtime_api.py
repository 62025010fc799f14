"""Public API behaviour, plan caching, hooks and import hygiene of thriftgen.runtime."""

import ast
import os
import pickle
import subprocess
import sys
import threading

import pytest

import rt_models as M
from thriftgen import runtime
from thriftgen.runtime import (
    ProtocolError,
    SpecError,
    ThriftgenError,
    TType,
    decode_struct,
    deserialize,
    serialize,
)

RUNTIME_DIR = os.path.dirname(runtime.__file__)
ROOT = os.path.dirname(os.path.dirname(RUNTIME_DIR))
PROTOCOLS = ("binary", "compact")


def runtime_sources():
    for root, _dirs, names in sorted(os.walk(RUNTIME_DIR)):
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as fh:
                    yield path, fh.read()


def _runtime_nodes(tree):
    """Every node except those under ``if TYPE_CHECKING:`` (never executed)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


# ---------------------------------------------------------------------------
# hygiene


def test_runtime_imports_only_the_standard_library():
    stdlib = getattr(sys, "stdlib_module_names", None)
    if stdlib is None:  # pragma: no cover - Python < 3.10
        pytest.skip("needs sys.stdlib_module_names")
    for path, source in runtime_sources():
        for node in _runtime_nodes(ast.parse(source)):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: stays inside thriftgen.runtime
                    continue
                names = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
                arg = node.args[0]
                assert not isinstance(arg, ast.Constant), "%s: import_module(%r)" % (path, arg.value)
                continue
            else:
                continue
            for name in names:
                assert name.split(".")[0] in stdlib, "%s imports %s" % (path, name)


def test_runtime_source_is_python39_compatible():
    for path, source in runtime_sources():
        tree = ast.parse(source, feature_version=(3, 9))
        lazy_annotations = "from __future__ import annotations" in source
        for node in ast.walk(tree):
            assert type(node).__name__ not in ("Match", "TryStar"), path
            if lazy_annotations:
                continue  # annotations are never evaluated: ``X | Y`` is fine there
            if isinstance(node, (ast.arg, ast.AnnAssign)) and node.annotation is not None:
                assert not any(isinstance(n, ast.BinOp) for n in ast.walk(node.annotation)), path
            if isinstance(node, ast.Call):
                # zip(strict=) and dataclass(slots=/kw_only=) are 3.10+ (json's strict= is not)
                func = getattr(node.func, "id", getattr(node.func, "attr", ""))
                newer = ("strict",) if func == "zip" else ("slots", "kw_only")
                assert not any(k.arg in newer for k in node.keywords), path


def test_generated_code_is_python39_compatible():
    for cls in (M.All, M.Medium, M.Node, M.Tree, M.U, M.WithUuid, M.Negative, M.Oops):
        for protocol in PROTOCOLS:
            for strict in (True, False):
                obj = cls()
                deserialize(cls, serialize(obj, protocol, strict_utf8=strict), protocol, strict_utf8=strict)
            plan = cls.__dict__["_tg_plan_" + protocol]
            for fn in plan[1:]:
                ast.parse(fn._tg_source, feature_version=(3, 9))


def test_import_is_cheap_and_pulls_no_third_party_modules():
    code = (
        "import sys; before = set(sys.modules); import thriftgen.runtime as r; "
        "new = sorted(set(sys.modules) - before); print(' '.join(new))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    new = out.stdout.split()
    for mod in new:
        top = mod.split(".")[0]
        assert top not in ("thrift", "thriftpy2", "ply", "jinja2", "uuid", "enum"), mod
        if top == "thriftgen":
            assert mod == "thriftgen" or mod.startswith("thriftgen.runtime"), mod
    assert "thriftgen.runtime._compiler" not in new  # compiled lazily on first use


def test_codec_use_pulls_no_third_party_modules():
    code = (
        "import sys; sys.path.insert(0, 'tests/runtime'); import rt_models as M; "
        "from thriftgen.runtime import serialize, deserialize; "
        "[deserialize(M.All, serialize(M.All(i=1), p), p) for p in ('binary', 'compact')]; "
        "print(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    for mod in out.stdout.split():
        top = mod.split(".")[0]
        assert top not in ("thrift", "thriftpy2", "ply", "jinja2"), mod
        if top == "thriftgen":
            assert mod == "thriftgen" or mod.startswith("thriftgen.runtime"), mod


# ---------------------------------------------------------------------------
# API behaviour


def test_public_names():
    for name in runtime.__all__:
        assert hasattr(runtime, name), name
    assert callable(runtime.skip) and callable(runtime.message_end)
    assert runtime.TType.UUID == 16 and runtime.MessageType.ONEWAY == 4


def test_bad_arguments():
    with pytest.raises(ValueError):
        serialize(M.Inner(), "xml")
    with pytest.raises(ValueError):
        deserialize(M.Inner, b"\x00", "xml")
    for protocol in ("binary", "json"):
        with pytest.raises(SpecError):
            serialize(object(), protocol)
        with pytest.raises(SpecError):
            deserialize(int, b"{}", protocol)
    with pytest.raises(SpecError):
        serialize(object())
    with pytest.raises(SpecError):
        deserialize(int, b"\x00")
    with pytest.raises(TypeError):
        deserialize(M.Inner, "text")
    assert issubclass(SpecError, ThriftgenError) and issubclass(ProtocolError, ThriftgenError)


def test_bad_specs_are_spec_errors():
    class Bad:
        thrift_spec = (None, (1, 99, "x", None, None))

    with pytest.raises(SpecError):
        serialize(Bad())

    class Dup:
        thrift_spec = (None, (1, TType.I32, "x", None, None), (1, TType.I32, "y", None, None))

    with pytest.raises(SpecError):
        serialize(Dup())

    class Kw:
        thrift_spec = (None, (1, TType.I32, "not an identifier", None, None))

    with pytest.raises(SpecError):
        deserialize(Kw, b"\x00")


def test_protocol_error_rendering_and_pickling():
    with pytest.raises(ProtocolError) as info:
        deserialize(M.All, serialize(M.All(inners=[M.Inner(), M.Inner(name="abc")], opt=None))[:-4])
    err = info.value
    assert err.kind == "truncated" and err.path == "All.inners[1].name"
    text = str(err)
    assert "truncated" in text and "All.inners[1].name" in text
    clone = pickle.loads(pickle.dumps(err))
    assert (clone.kind, clone.path, clone.message) == (err.kind, err.path, err.message)
    assert ProtocolError("weird-kind").kind == "unknown"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_accepted_container_types_on_encode(protocol):
    a = M.All(li=(1, 2, 3), ss=frozenset({"a"}), sl=frozenset({1}), nested=((1,), []), opt=None)
    b = M.All(li=[1, 2, 3], ss={"a"}, sl={1}, nested=[[1], []], opt=None)
    assert serialize(a, protocol) == serialize(b, protocol)
    back = deserialize(M.All, serialize(a, protocol), protocol)
    assert type(back.li) is list and type(back.ss) is set and type(back.nested[0]) is list


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_exceptions_roundtrip(protocol):
    err = M.Oops(msg="bad", code=7)
    back = deserialize(M.Oops, serialize(err, protocol), protocol)
    assert isinstance(back, Exception) and back == err
    assert deserialize(M.Oops, serialize(M.Oops(msg="x", code=None), protocol), protocol).code == 5


def test_decode_struct_offsets():
    a, b = serialize(M.Inner(name="a")), serialize(M.Inner(n=2))
    buf = a + b
    obj, end = decode_struct(M.Inner, buf, 0)
    assert (obj, end) == (M.Inner(name="a"), len(a))
    obj, end = decode_struct(M.Inner, buf, end)
    assert (obj, end) == (M.Inner(n=2), len(buf))
    with pytest.raises(ValueError):
        decode_struct(M.Inner, buf, len(buf) + 1)


def test_fields_out_of_order_and_duplicated():
    import struct

    def f(t, fid, payload):
        return struct.pack(">bh", t, fid) + payload

    data = (
        f(TType.I64, 2, struct.pack(">q", 5))
        + f(TType.STRING, 1, b"\x00\x00\x00\x01a")
        + f(TType.I64, 2, struct.pack(">q", 6))
        + b"\x00"
    )
    assert deserialize(M.Inner, data) == M.Inner(name="a", n=6)


# ---------------------------------------------------------------------------
# plans and hooks


def _make_simple():
    class Simple:
        __slots__ = ("a", "b")

        def __init__(self, *, a=None, b=None):
            self.a = a
            self.b = b

        def __eq__(self, other):
            return type(other) is type(self) and (self.a, self.b) == (other.a, other.b)

    Simple.thrift_spec = (None, (1, TType.I32, "a", None, None), (2, TType.STRING, "b", "UTF8", None))
    return Simple


def test_plans_are_per_class_and_not_inherited():
    Simple = _make_simple()

    class Sub(Simple):
        __slots__ = ()

    data = serialize(Simple(a=1, b="x"))
    assert type(deserialize(Simple, data)) is Simple
    assert "_tg_plan_binary" in Simple.__dict__
    assert "_tg_plan_binary" not in Sub.__dict__
    obj = deserialize(Sub, data)
    assert type(obj) is Sub and (obj.a, obj.b) == (1, "x")
    assert Sub.__dict__["_tg_plan_binary"] is not Simple.__dict__["_tg_plan_binary"]


def test_plan_is_rebuilt_when_the_spec_changes():
    Simple = _make_simple()
    assert serialize(Simple(a=1)) == b"\x08\x00\x01\x00\x00\x00\x01\x00"
    Simple.thrift_spec = (None, (1, TType.I64, "a", None, None))
    assert serialize(Simple(a=1)) == b"\x0a\x00\x01" + b"\x00" * 7 + b"\x01\x00"


def test_fast_codec_hooks_are_used_for_the_top_level():
    Simple = _make_simple()
    calls = []

    def enc(obj):
        calls.append("enc")
        return b"HOOK"

    def dec(buf, offset):
        calls.append("dec")
        return Simple(a=42), offset + len(b"anything")  # what it read

    Simple._tg_encode_binary = staticmethod(enc)
    Simple._tg_decode_binary = staticmethod(dec)
    assert serialize(Simple(a=1)) == b"HOOK"
    assert deserialize(Simple, b"anything") == Simple(a=42)
    assert calls == ["enc", "dec"]
    # non-default options and other protocols use the generic codec
    assert deserialize(Simple, serialize(Simple(a=1), "compact"), "compact") == Simple(a=1)
    assert deserialize(Simple, b"\x08\x00\x01\x00\x00\x00\x07\x00", max_depth=10) == Simple(a=7)

    class Sub(Simple):
        __slots__ = ()

    assert serialize(Sub(a=1)) == b"\x08\x00\x01\x00\x00\x00\x01\x00"  # hooks are not inherited


def test_concurrent_first_use():
    classes = []
    for _ in range(8):

        class S(M._Base):
            __slots__ = ("a", "c")

            def __init__(self, *, a=None, c=None):
                self.a, self.c = a, c

        S.thrift_spec = (
            None,
            (1, TType.I32, "a", None, None),
            (2, TType.LIST, "c", (TType.STRUCT, [M.Tree, M.Tree.thrift_spec], False), None),
        )
        classes.append(S)
    errors = []

    def work(S):
        try:
            for p in PROTOCOLS:
                obj = S(a=1, c=[M.Tree(v=1, kids=[])])
                assert deserialize(S, serialize(obj, p), p) == obj
        except Exception as ex:  # pragma: no cover
            errors.append(ex)

    threads = [threading.Thread(target=work, args=(S,)) for S in classes for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_mutually_recursive_classes():
    class A:
        __slots__ = ("b", "v")

        def __init__(self, *, b=None, v=None):
            self.b, self.v = b, v

    class B:
        __slots__ = ("a", "w")

        def __init__(self, *, a=None, w=None):
            self.a, self.w = a, w

    A.thrift_spec = (None, (1, TType.STRUCT, "b", [B, None], None), (2, TType.I32, "v", None, None))
    B.thrift_spec = (None, (1, TType.LIST, "a", (TType.STRUCT, [A, None], False), None), (2, TType.I32, "w", None, None))
    A.thrift_spec[1][3][1] = B.thrift_spec
    B.thrift_spec[1][3][1][1] = A.thrift_spec
    obj = A(v=1, b=B(w=2, a=[A(v=3), A(v=4, b=B(w=5))]))
    for p in PROTOCOLS:
        back = deserialize(A, serialize(obj, p), p)
        assert back.b.a[1].b.w == 5 and back.v == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_lax_utf8_roundtrip(protocol):
    raw = "a\udcff\udc80b"  # surrogate-escaped bytes ff 80
    obj = M.Inner(name=raw)
    data = serialize(obj, protocol, strict_utf8=False)
    assert b"a\xff\x80b" in data
    assert deserialize(M.Inner, data, protocol, strict_utf8=False) == obj
    with pytest.raises(ProtocolError):
        deserialize(M.Inner, data, protocol)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_empty_struct_and_tuple_struct_args(protocol):
    class Empty(M._Base):
        __slots__ = ()

    Empty.thrift_spec = (None,)

    class Holder(M._Base):
        __slots__ = ("e", "es")

        def __init__(self, *, e=None, es=None):
            self.e, self.es = e, es

    Holder.thrift_spec = (
        None,
        (1, TType.STRUCT, "e", (Empty, Empty.thrift_spec), None),
        (2, TType.LIST, "es", (TType.STRUCT, (Empty, Empty.thrift_spec), False), None),
    )
    assert serialize(Empty(), protocol) == b"\x00"
    assert deserialize(Empty, b"\x00", protocol) == Empty()
    obj = Holder(e=Empty(), es=[Empty(), Empty()])
    assert deserialize(Holder, serialize(obj, protocol), protocol) == obj
    # unknown fields of every kind are skipped by an empty struct
    assert deserialize(Empty, serialize(M.All(li=[1], m={"a": 1}, inner=M.Inner(n=1)), protocol), protocol) == Empty()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_lists_and_sets_accept_any_iterable(protocol):
    a = M.All(li=(x for x in (1, 2, 3)), ss=iter(["a", "a"]), inners=map(M.Inner, []), opt=None)
    b = M.All(li=[1, 2, 3], ss={"a"}, inners=[], opt=None)
    assert serialize(a, protocol) == serialize(b, protocol)
    assert serialize(M.All(nested=[iter([1, 2])], opt=None), protocol) == serialize(
        M.All(nested=[[1, 2]], opt=None), protocol)
