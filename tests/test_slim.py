"""``-thrift template=slim``: output shape, option rules, laziness, wire bytes vs Apache.

The wire checks reuse the differential machinery of ``test_wire_apache``:
random instances of every slim class (fixtures and a corpus sample) must
encode - through the runtime codec *and* through Apache's protocol objects
(the inherited ``write``) - to exactly the bytes Apache's own generated class
writes for the same values, and decode back equal.
"""

from __future__ import annotations

import importlib
import inspect
import sys

import pytest

from test_codegen_util import (APACHE, CORPUS, FIXTURE_ROOTS, FIXTURES, apache_gen, gen_files,
                               gen_into, importable, module_names, run_python, struct_classes)
from thriftgen.codegen.fmt import format_source
from thriftgen.codegen.options import OptionError, parse_thrift_options
from thriftgen.codegen.slim import first_line
import thriftgen.runtime as rt


def _fixture(name):
    for n, root, incs, _ in FIXTURE_ROOTS:
        if n == name:
            return FIXTURES / root, [FIXTURES / i for i in incs]
    raise KeyError(name)


# --------------------------------------------------------------------------- options


def test_option_rules():
    slim = parse_thrift_options(["template=slim"])
    assert slim.template == "slim" and not slim.no_default_serdes
    both = parse_thrift_options(["template=slim,no_default_serdes"])
    assert both.no_default_serdes
    assert parse_thrift_options(["no_default_serdes"]).template == "default"
    with pytest.raises(OptionError, match="template=slim"):
        parse_thrift_options(["template=slim", "fast_codec=aot"])


def test_slim_with_no_fast_codec_is_a_no_op():
    idl, incs = _fixture("store")
    plain = gen_files(idl, incs, template="slim", no_fmt=True)
    assert plain == gen_files(idl, incs, template="slim", no_fast_codec=True, no_fmt=True)
    # and it is really different from the default output
    assert plain != gen_files(idl, incs, no_fmt=True, no_fast_codec=True)


@pytest.mark.parametrize("name", [r[0] for r in FIXTURE_ROOTS])
def test_no_fmt_output_is_black_clean(name):
    idl, incs = _fixture(name)
    for extra in ({}, {"no_default_serdes": True}):
        files = gen_files(idl, incs, template="slim", no_fmt=True, **extra)
        for path, text in files.items():
            assert format_source(text, path) == text, path


def test_shape_is_slim():
    idl, incs = _fixture("store")
    files = gen_files(idl, incs, template="slim", no_fmt=True)
    default = gen_files(idl, incs, no_fmt=True, no_fast_codec=True)
    ttypes = files["store/catalog/ttypes.py"]
    assert "from thriftgen.runtime import slim as _tg" in ttypes
    for absent in ("def read", "def write", "def __init__", "def __eq__", "thrift_spec =",
                   "__slots__", "fix_specs"):
        assert absent not in ttypes, absent
    assert 'class Dimensions(_tg.SerdesStruct):' in ttypes
    assert '    weight_g: Optional[int] = 0\n' in ttypes
    assert '_tg_spec = "1h 2h 3h 4i 5d"' in ttypes
    svc = files["store/service/StoreFront.py"]
    for absent in ("def send_", "def recv_", "def process_"):
        assert absent not in svc
    assert "class Client(_tg_base.Client, Iface):" in svc
    assert sum(map(len, files.values())) < 0.35 * sum(map(len, default.values()))
    serdes_less = gen_files(idl, incs, template="slim", no_default_serdes=True, no_fmt=True)
    assert "class Dimensions(_tg.Struct):" in serdes_less["store/catalog/ttypes.py"]
    assert "(_tg.Error):" in serdes_less["store/common/errors/ttypes.py"]


def test_first_line_of_docs():
    assert first_line("A product.  Defaults here\nare fresh.\n\nMore.") == "A product."
    assert first_line("\n  Two lines\n  no stop\n\nother") == "Two lines no stop"
    assert first_line(None) == ""


# --------------------------------------------------------------------------- behaviour


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    out = tmp_path_factory.mktemp("slim_store")
    idl, incs = _fixture("store")
    gen_into(out, idl, incs, package_prefix="tgs", template="slim", no_fmt=True)
    with importable(out):
        yield lambda name: importlib.import_module(f"tgs.store.{name}")


def materialized(module) -> object:
    """``module`` with every public name built (a slim module builds them on access)."""
    for name in getattr(module, "__all__", ()):
        getattr(module, name, None)  # a package's __all__ names submodules too
    return module


def test_import_does_no_per_class_work(tmp_path):
    """Importing builds no class; first access builds one class (not its module), first
    construction compiles its __init__, first codec use its spec - each once."""
    idl, incs = _fixture("store")
    gen_into(tmp_path, idl, incs, package_prefix="tgl", template="slim", no_fmt=True)
    with importable(tmp_path):
        catalog = importlib.import_module("tgl.store.catalog.ttypes")
        assert not [n for n, v in vars(catalog).items() if isinstance(v, type)]
        assert set(catalog.__all__) <= set(dir(catalog))
        assert "Dimensions" not in vars(catalog)
        cls = catalog.Dimensions
        assert vars(catalog)["Dimensions"] is cls is catalog.Dimensions
        assert "Product" not in vars(catalog) and "ProductKind" not in vars(catalog)
        assert "thrift_spec" not in cls.__dict__ and "__init__" not in cls.__dict__
        dims = catalog.Dimensions(1, 2)
        assert "__init__" in catalog.Dimensions.__dict__
        assert "thrift_spec" not in catalog.Dimensions.__dict__
        spec = catalog.Dimensions.thrift_spec
        assert catalog.Dimensions.__dict__["thrift_spec"] is spec is dims.thrift_spec
        assert spec[4] == (4, rt.TType.I32, "weight_g", None, 0)


def test_constructor_signature_defaults_and_fresh_values(store):
    catalog = store("catalog.ttypes")
    sig = inspect.signature(catalog.Dimensions)
    assert list(sig.parameters) == ["length_mm", "width_mm", "height_mm", "weight_g",
                                    "volumetric_divisor"]
    assert sig.parameters["volumetric_divisor"].default == 5000.0
    assert catalog.Dimensions.__slots__ == tuple(sig.parameters)
    a, b = catalog.Product(), catalog.Product()
    assert a.badges == ["free-returns"] and a.badges is not b.badges
    assert a.list_price == b.list_price and a.list_price is not b.list_price
    assert a.kind is catalog.ProductKind.PHYSICAL
    d = catalog.Dimensions(1, 2, height_mm=3)
    assert (d.length_mm, d.height_mm, d.weight_g) == (1, 3, 0)
    with pytest.raises(TypeError):
        catalog.Dimensions(nope=1)
    with pytest.raises(AttributeError):
        d.nope = 1  # slots


def test_recursive_and_mutually_recursive_specs(store):
    catalog = store("catalog.ttypes")
    node = catalog.CategoryNode("root", "Root", [catalog.CategoryNode("a", "A")])
    back = rt.deserialize(catalog.CategoryNode, rt.serialize(node, "compact"), "compact")
    assert back == node
    bundle = catalog.Bundle("b", [catalog.BundleComponent(2, None, catalog.Bundle("inner"))])
    assert rt.deserialize(catalog.Bundle, rt.serialize(bundle)) == bundle
    assert catalog.Bundle.thrift_spec[2][3][1][1] is catalog.BundleComponent.thrift_spec


def test_exceptions_and_hashing(store):
    errors = materialized(store("common.errors.ttypes"))
    cls = next(c for c in vars(errors).values()
               if isinstance(c, type) and issubclass(c, Exception) and "_tg_spec" in c.__dict__)
    exc = cls()
    assert hash(exc) == hash(exc)
    assert str(exc) == repr(exc)
    with pytest.raises(cls):
        raise exc
    catalog = store("catalog.ttypes")
    with pytest.raises(TypeError):
        hash(catalog.Dimensions())


def test_bad_spec_is_a_clear_error():
    from thriftgen.runtime import slim

    class Broken(slim.Struct):
        x: int = 0
        _tg_spec = "1<Nowhere>"

    with pytest.raises(rt.SpecError, match="Nowhere"):
        Broken.thrift_spec


def test_no_default_serdes_has_no_apache_path(tmp_path):
    idl, incs = _fixture("echo")
    for template in ("default", "slim"):
        out = tmp_path / template
        gen_into(out, idl, incs, package_prefix="tgn", template=template,
                 no_default_serdes=True, no_fmt=True)
        with importable(out):
            ttypes = importlib.import_module("tgn.echo.ttypes")
            req = ttypes.EchoRequest(message="m")
            assert not hasattr(req, "read") and not hasattr(req, "write")
            assert rt.deserialize(ttypes.EchoRequest, rt.serialize(req)) == req
            if template == "slim":
                thrift_mod = pytest.importorskip("thrift")  # noqa: F841
                from thrift.protocol import TBinaryProtocol
                from thrift.transport import TTransport

                echo = importlib.import_module("tgn.echo.Echo")
                prot = TBinaryProtocol.TBinaryProtocol(TTransport.TMemoryBuffer())
                with pytest.raises(rt.ThriftgenError, match="no_default_serdes"):
                    echo.Client(prot).echo(req)


def test_modules_import_on_every_python(tmp_path):
    """Warnings as errors, on this interpreter and the oldest supported one (3.9)."""
    import glob
    import os

    roots = []
    for name, root, incs, _ in FIXTURE_ROOTS:
        out = tmp_path / name
        gen_into(out, FIXTURES / root, [FIXTURES / i for i in incs], template="slim",
                 no_fmt=True)
        roots.append(out)
    code = ("import importlib, sys, thriftgen.runtime as rt\n"
            "for root, mods in ROOTS:\n"
            "    sys.path.insert(0, root)\n"
            "    for m in mods:\n"
            "        mod = importlib.import_module(m)\n"
            "        for c in [getattr(mod, n, None) for n in getattr(mod, '__all__', ())]:\n"
            "            if isinstance(c, type) and '_tg_spec' in c.__dict__:\n"
            "                obj = c()\n"
            "                assert rt.deserialize(c, rt.serialize(obj)) == obj, repr(obj)\n"
            "    for m in list(sys.modules):\n"
            "        if getattr(sys.modules[m], '__file__', '') and "
            "sys.modules[m].__file__.startswith(root): del sys.modules[m]\n"
            "    sys.path.remove(root)\n")
    roots_arg = repr([(str(r), module_names(r)) for r in roots])
    interpreters = [sys.executable] + sorted(glob.glob(os.path.expanduser(
        "~/.pyenv/versions/3.9*/bin/python")))[:1]
    for python in interpreters:
        proc = run_python(f"ROOTS = {roots_arg}\n" + code, tmp_path, python)
        assert proc.returncode == 0, f"{python}: {proc.stderr}"


# --------------------------------------------------------------------------- lazy modules

LAZY_IDL = """
namespace py lazydemo

enum Color { RED = 1, GREEN = 2 }

struct Point { 1: i32 x = 0, 2: i32 y = 0 }

struct Shape {
  1: Color Color = Color.GREEN
  2: Point origin = {"x": 1, "y": 2}
  3: list<Shape> children
  4: Later later = {"n": 3}
}

struct Later { 1: i32 n }

struct Holder { 1: Tail tail }

struct Tail { 1: i32 n }

exception Oops { 1: string why }

typedef Point Where
typedef list<Point> Path

const Point ORIGIN = {"x": 0, "y": 0}
const i32 LIMIT = 3
const list<Tail> NO_TAILS = []
const Color RED = Color.RED

service Base { i32 ping() }
service Drawing extends Base { Shape draw(1: Path path) throws (1: Oops oops) }
"""

# Runs in a fresh interpreter: what a module built nothing of yet does on each access.
LAZY_CHECKS = """
import pickle, sys, threading, typing
from typing import List
import lazydemo.ttypes as t
import lazydemo.constants as c  # a struct constant: built on first access too

# importing generated modules imports no runtime: the first use does
assert not [m for m in sys.modules if m.startswith("thriftgen")], sorted(sys.modules)
assert not [n for n, v in vars(t).items() if isinstance(v, type)], sorted(vars(t))

# concurrent first accesses (the first of them attaches the runtime) build one class
seen, barrier = [], threading.Barrier(8)
def grab():
    barrier.wait()
    seen.append(t.Later)
threads = [threading.Thread(target=grab) for _ in range(8)]
for th in threads: th.start()
for th in threads: th.join()
assert len(seen) == 8 and all(c is seen[0] for c in seen)
assert "Shape" not in vars(t) and "Point" not in vars(t)  # one class, not the module

import thriftgen.runtime as rt
from thriftgen.runtime.slim import StructMeta

assert set(t.__all__) <= set(dir(t)) and "Later" in dir(t)
assert "ORIGIN" not in vars(c) and "ORIGIN" in dir(c) and c.LIMIT == 3 and c.NO_TAILS == []

# the names of its annotations: get_type_hints looks them up in the module dict
assert typing.get_type_hints(t.Holder) == {"tail": typing.Optional[t.Tail]}

# defaults naming classes not built yet: a shadowed enum, same-module structs
s = t.Shape()
assert s.Color is t.Color.GREEN and s.origin == t.Point(1, 2) and s.later == t.Later(3)
assert s.origin is not t.Shape().origin
assert type(t.Shape) is StructMeta and t.Shape.__module__ == "lazydemo.ttypes"
assert t.Shape.__qualname__ == "Shape" and t.Shape.__doc__ is None
assert t.Where is t.Point and t.Path == List[t.Point]
assert isinstance(t.Oops(why="x"), Exception)

# recursion through the spec, the codec, pickling by qualified name
s.children = [t.Shape(origin=t.Point(5, 6))]
assert rt.deserialize(t.Shape, rt.serialize(s, "compact"), "compact") == s
assert pickle.loads(pickle.dumps(s)) == s
assert pickle.loads(pickle.dumps(t.Color.RED)) is t.Color.RED

ns = {}
exec("from lazydemo.ttypes import *", ns)
assert {n for n in ns if not n.startswith("__")} == set(t.__all__)
assert not hasattr(t, "Nope")
try:
    t.Nope
except AttributeError as ex:
    assert "lazydemo.ttypes" in str(ex) and "Nope" in str(ex)

# a service module: no RPC runtime until a client or processor is asked for
import lazydemo.Drawing as d
assert "thriftgen.runtime.service" not in sys.modules, "service runtime imported"
# introspection of the service interface sees its own file's types at once
assert typing.get_type_hints(d.Iface.draw) == {"path": typing.Optional[List[t.Point]],
                                               "return": t.Shape}
assert "Client" not in vars(d)
assert [f for f in ("draw", "ping") if not callable(getattr(d.Client, f, None))] == []
assert {"AsyncClient", "Processor"} <= set(vars(d))
from thriftgen.runtime.service import function_table
assert sorted(function_table(d.Processor)) == ["draw", "ping"]
assert issubclass(d.Client, d.Iface) and issubclass(d.Iface, sys.modules["lazydemo.Base"].Iface)
assert d.draw_result.thrift_spec[1][3][0] is t.Oops

assert c.ORIGIN == t.Point(0, 0) and c.ORIGIN is c.ORIGIN and c.RED is t.Color.RED
print("ok")
"""


def test_lazy_modules_behave_like_eager_ones(tmp_path):
    """Identity, defaults, aliases, pickling, ``import *``, threads and services of
    modules whose definitions are built on first access."""
    idl = tmp_path / "demo.thrift"
    idl.write_text(LAZY_IDL)
    gen_into(tmp_path / "out", idl, [], template="slim", no_fmt=True)
    proc = run_python(LAZY_CHECKS, tmp_path / "out")
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_lazy_layout_keeps_classes_visible_to_type_checkers():
    idl, incs = _fixture("store")
    files = gen_files(idl, incs, template="slim", no_fmt=True)
    ttypes = files["store/catalog/ttypes.py"]
    head, _, lazy = ttypes.partition("\nelse:\n")
    assert "\nif TYPE_CHECKING:\n" in head and "TYPE_CHECKING" in head.split("__all__")[0]
    assert "\n    class Dimensions(_tg.SerdesStruct):\n" in head
    assert '"Dimensions": "_tg.SerdesStruct",' in lazy and '"VariantList": "=List[str]",' in lazy
    assert "class " not in lazy
    svc = files["store/catalog/CatalogReader.py"]
    assert "\nclass Iface:" in svc  # not lazy: the service's own class, no runtime import
    assert '"Client": "_tg.Client, Iface",' in svc
    assert '("getProduct", "getProduct", "getProduct_args", "getProduct_result"),' in svc


@pytest.mark.parametrize("default", ["{}", "Point(x=1, y=2)", "[1, 2, 3, 4, 5, 6, 7, 8]"])
def test_field_lines_are_black_stable(default):
    """``name: hint = _tg.fresh(...)`` at every length around the line limit, up to
    names and hints so long that black splits the hint itself."""
    from thriftgen.codegen.pyexpr import Atom, call, seq
    from thriftgen.codegen.slim import field_line

    value = call("_tg.fresh", [seq("lambda: ", Atom(default))])
    for n in range(1, 100, 2):
        for hint in ("Optional[Dict[str, int]]", "Optional[int]"):
            line = field_line(f"f{'x' * n}: {hint} = ", value, "        ")
            src = f"if TYPE_CHECKING:\n\n    class A:\n{line}\n"
            assert format_source(src, "x.py") == src, line


def test_outputs_bench_times_import_and_first_use(tmp_path):
    """``bench/outputs.py`` measures the import and, separately, the first use of every
    name (where a slim module builds its classes)."""
    from bench import outputs

    idl = tmp_path / "demo.thrift"
    idl.write_text(LAZY_IDL)
    gen_into(tmp_path / "out", idl, [], template="slim", no_fmt=True)
    imported, used = outputs.import_time(tmp_path / "out", 1)
    assert 0 < imported < used < 30


# --------------------------------------------------------------------------- wire vs Apache


def slim_wire_checks(tmp_path, idl, includes, apache_opts, examples):
    """Every slim class of ``idl``: runtime codec and Apache-protocol path vs Apache."""
    wire = pytest.importorskip("test_wire_apache")
    from hypothesis import HealthCheck, Phase, given, note, settings
    from thrift.protocol import TBinaryProtocol, TCompactProtocol

    ours_root = tmp_path / "ours"
    gen_into(ours_root, idl, includes, package_prefix="tgw", template="slim", no_fmt=True)
    apache_root = apache_gen(tmp_path / "apache", idl, includes, apache_opts)
    checked = 0
    with importable(ours_root, apache_root):
        pairs = [(materialized(ours), theirs)
                 for ours, theirs in wire._pairs(ours_root, apache_root, "tgw")]
        mapping = {}
        for ours, theirs in pairs:
            for cls in struct_classes(ours):
                mapping[cls] = getattr(theirs, cls.__name__)
        peer = wire.Peer("tgw", mapping, {}, enum_names="enum" in apache_opts)
        for ours, _ in pairs:
            for cls in struct_classes(ours):
                if getattr(cls, "_tg_spec_by_declaration", False):
                    continue  # Apache 0.17 emits an empty spec for negative ids

                @settings(max_examples=examples, deadline=None, derandomize=True,
                          database=None, phases=(Phase.generate,),
                          suppress_health_check=list(HealthCheck))
                @given(obj=wire.struct_strategy(cls))
                def check(obj):
                    note(repr(obj))
                    wire.check_instance(peer, cls, obj)  # obj.write / cls().read paths
                    expected = wire.norm(wire.with_defaults(obj))
                    for name, proto in (("binary", TBinaryProtocol.TBinaryProtocol),
                                        ("compact", TCompactProtocol.TCompactProtocol)):
                        theirs = wire.encode(peer.to_apache(obj, peer.enum_names), proto)
                        ours_bytes = rt.serialize(obj, name)
                        assert ours_bytes == theirs, f"{cls.__name__}: {name} bytes differ"
                        assert wire.norm(rt.deserialize(cls, ours_bytes, name)) == expected

                check()
                checked += 1
    return checked


@pytest.mark.skipif(APACHE is None, reason="Apache thrift compiler not installed")
@pytest.mark.parametrize("name", ["echo", "store", "crossref"])
def test_slim_wire_matches_apache(tmp_path, name):
    root, incs, opts = next((FIXTURES / r[1], [FIXTURES / i for i in r[2]], r[3])
                            for r in FIXTURE_ROOTS if r[0] == name)
    assert slim_wire_checks(tmp_path, root, incs, opts, examples=6) > 0


@pytest.mark.skipif(APACHE is None, reason="Apache thrift compiler not installed")
def test_slim_wire_matches_apache_corpus_sample(tmp_path):
    if not CORPUS.is_dir():
        pytest.skip("Apache corpus not present")
    idl = CORPUS / "test/v0.16/ThriftTest.thrift"
    assert slim_wire_checks(tmp_path, idl, [idl.parent], "py:slots,enum", examples=3) > 0


@pytest.mark.slow
@pytest.mark.skipif(APACHE is None, reason="Apache thrift compiler not installed")
def test_slim_wire_matches_apache_debug_proto(tmp_path):
    if not CORPUS.is_dir():
        pytest.skip("Apache corpus not present")
    idl = CORPUS / "test/v0.16/DebugProtoTest.thrift"
    assert slim_wire_checks(tmp_path, idl, [idl.parent], "py:slots,enum", examples=20) > 0


@pytest.mark.slow
def test_mypy_strict_sees_constructors(tmp_path):
    """Type checkers get the constructor from the annotations + defaults
    (``dataclass_transform``): good calls pass ``--strict``, a wrong type fails."""
    pytest.importorskip("mypy")
    import os
    import subprocess

    from test_codegen_util import REPO

    idl, incs = _fixture("echo")
    gen_into(tmp_path, idl, incs, template="slim")
    (tmp_path / "good.py").write_text(
        "from echo.ttypes import EchoRequest, EchoError\n"
        "from echo import Echo\n"
        "req = EchoRequest('hi', repeat=2)\n"
        "n: int = req.repeat or 0\n"
        "err = EchoError(code=1)\n"
        "def call(c: Echo.Client) -> str:\n"
        "    return c.echo(req).message or ''\n")
    (tmp_path / "bad.py").write_text("from echo.ttypes import EchoRequest\n"
                                     "EchoRequest(repeat='two')\n")
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\n[mypy-thriftgen.*]\nfollow_imports = silent\n")
    env = dict(os.environ, MYPYPATH=f"{REPO}{os.pathsep}{tmp_path}")

    def mypy(*targets):
        return subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(config),
                               "--no-incremental", "--cache-dir", str(tmp_path / ".mc"),
                               *targets], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=600)

    good = mypy("echo", "good.py")
    assert good.returncode == 0, good.stdout + good.stderr
    bad = mypy("bad.py")
    assert bad.returncode != 0 and "repeat" in bad.stdout, bad.stdout


def test_attach_needs_a_loader_that_gives_the_code():
    """A module whose loader cannot hand back its code object (so its class bodies)
    gets a clear error on first use, not a crash."""
    from thriftgen.runtime.errors import SpecError
    from thriftgen.runtime.slim import attach

    ns = {"__name__": "gen.ttypes", "__loader__": object()}
    with pytest.raises(SpecError, match="gen.ttypes: its loader cannot give its code object"):
        attach(ns, ({"A": "_tg.SerdesStruct"},))
    assert "__getattr__" not in ns
