"""The code generator: output shape, formatting, typing, naming, hostile input."""

from __future__ import annotations

import glob
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from test_codegen_util import (FIXTURE_ROOTS, FIXTURES, REPO, gen_files, gen_into, importable,
                               load, module_names, run_python)
from thriftgen.codegen import generate
from thriftgen.codegen.fmt import format_source
from thriftgen.codegen.naming import assign_names, escape, module_path_error
from thriftgen.codegen.options import GenOptions, OptionError, parse_thrift_options
from thriftgen.diagnostics import DiagnosticSink, IDLError


def _fixture(name):
    for n, root, incs, _ in FIXTURE_ROOTS:
        if n == name:
            return FIXTURES / root, [FIXTURES / i for i in incs]
    raise KeyError(name)


def write_idl(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- layout


def test_apache_layout_and_imports(tmp_path):
    idl, incs = _fixture("store")
    files = gen_files(idl, incs, no_fmt=True)
    assert {"store/catalog/__init__.py", "store/catalog/ttypes.py", "store/catalog/constants.py",
            "store/catalog/CatalogReader.py", "store/service/StoreFront.py",
            "store/service/OrderDesk.py", "store/common/errors/ttypes.py",
            "store/shipping/carriers/ttypes.py", "store/__init__.py",
            "store/common/__init__.py"} <= set(files)
    init = files["store/service/__init__.py"]
    assert '__all__ = ["ttypes", "constants", "StoreFront", "OrderDesk", "EventSink"]' in init
    # includes become imports of the included packages
    assert "import store.common.types.ttypes as _tg_types" in files["store/catalog/ttypes.py"]
    assert "import store.catalog.CatalogReader as _tg_base" in files["store/service/StoreFront.py"]
    assert not any(re.search(r"^\s*(import|from) thrift[\s.]", text, re.M)
                   for text in files.values())


@pytest.mark.parametrize("name", [r[0] for r in FIXTURE_ROOTS])
def test_no_fmt_output_is_black_clean_and_identical(name):
    idl, incs = _fixture(name)
    raw = gen_files(idl, incs, no_fmt=True)
    formatted = gen_files(idl, incs)
    assert raw == formatted
    for path, text in raw.items():
        assert format_source(text, path) == text, path


def test_every_fixture_module_imports_with_warnings_as_errors(tmp_path):
    roots = []
    for name, root, incs, _ in FIXTURE_ROOTS:
        out = tmp_path / name
        gen_into(out, FIXTURES / root, [FIXTURES / i for i in incs])
        roots.append(out)
    code = ("import importlib, sys\n"
            "for root, mods in ROOTS:\n"
            "    sys.path.insert(0, root)\n"
            "    for m in mods: importlib.import_module(m)\n"
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


def _mypy(paths, cwd):
    config = cwd / "mypy.ini"
    # thriftgen itself is not what is checked here; only the generated code
    config.write_text("[mypy]\nstrict = True\n[mypy-thriftgen.*]\nfollow_imports = silent\n")
    env = dict(os.environ, MYPYPATH=f"{REPO}{os.pathsep}{cwd}")
    return subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(config),
                           "--no-incremental", "--cache-dir", str(cwd / ".mypy_cache")]
                          + [a for p in paths for a in ("-p", p)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_mypy_strict_small(tmp_path):
    pytest.importorskip("mypy")
    idl, incs = _fixture("modern")  # keywords, builtins as field names, uuid, no ids
    # fast_codec=aot: the default output plus the generated codec section
    gen_into(tmp_path, idl, incs, fast_codec="aot")
    assert "# fmt: off" in (tmp_path / "extensions" / "modern" / "ttypes.py").read_text()
    proc = _mypy(["extensions"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_mypy_strict_all_fixtures(tmp_path):
    pytest.importorskip("mypy")
    for name, root, incs, _ in FIXTURE_ROOTS:
        out = tmp_path / name
        gen_into(out, FIXTURES / root, [FIXTURES / i for i in incs], fast_codec="aot")
        packages = sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
        proc = _mypy(packages, out)
        assert proc.returncode == 0, name + "\n" + proc.stdout + proc.stderr


# --------------------------------------------------------------------------- behaviour


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    out = tmp_path_factory.mktemp("store_gen")
    idl, incs = _fixture("store")
    gen_into(out, idl, incs, package_prefix="tgb")
    with importable(out):
        yield lambda name: importlib.import_module(f"tgb.store.{name}")


def test_struct_defaults_are_fresh_and_apache_ordered(store):
    catalog = store("catalog.ttypes")
    a, b = catalog.Product(), catalog.Product()
    assert a.variants == [] and a.variants is not b.variants  # Apache shares these
    assert a.search_keywords == {"new"} and a.list_price.amount == 0
    assert a.list_price is not b.list_price
    assert a.kind is catalog.ProductKind.PHYSICAL and a.rank == -50
    assert a.label_path == 'C:\\labels\\"final"\\v2'
    assert a.care_label == "Wash cold.\tDo not tumble dry.\nLine dry in shade."
    assert a.max_per_order == 9223372036854775807
    # parameter order is the declaration order (id 31 sits between 18 and 19)
    params = list(catalog.Product.__init__.__code__.co_varnames[1:32])
    assert params[17:20] == ["fit_note", "label_path", "taxable"]
    assert catalog.Product(variants=None).variants is None  # explicit None stays None


def test_validate_required_and_unions(store):
    catalog, types = store("catalog.ttypes"), store("common.types.ttypes")
    with pytest.raises(Exception, match="sku"):
        catalog.Variant(label="x").validate()
    catalog.Variant(sku="s", label="x").validate()
    catalog.ProductQuery(by_sku="x").validate()
    with pytest.raises(Exception, match="exactly one"):
        catalog.ProductQuery().validate()
    with pytest.raises(Exception, match="exactly one"):
        catalog.ProductQuery(by_sku="x", category_slug="y").validate()
    assert catalog.ProductQuery._tg_is_union is True
    assert types.Money(amount=1) == types.Money(amount=1) != types.Money(amount=2)
    assert "amount=1" in repr(types.Money(amount=1))


def test_exceptions_enums_constants_typedefs(store):
    errors, types = store("common.errors.ttypes"), store("common.types.ttypes")
    err = errors.NotFound(entity_id="42")
    assert isinstance(err, Exception) and "entity_id='42'" in str(err)
    with pytest.raises(errors.NotFound):
        raise err
    assert err.code is errors.ErrorCode.NOT_FOUND and hash(err) == hash(err)
    assert issubclass(types.Currency, int) and types.Currency(978) is types.Currency.EUR
    consts = store("catalog.constants")
    assert consts.SHOE_SIZE_TABLE["men"]["EU"] == [40, 41, 42, 43, 44]
    assert consts.PLACEHOLDER_PRODUCT.variants[0].label == "Default"
    assert consts.PLACEHOLDER_PRODUCT.kind is store("catalog.ttypes").ProductKind.DIGITAL
    assert consts.MAX_SEARCH_TERMS == 500  # a const referring to another file's const
    tconsts = store("common.types.constants")
    assert tconsts.BIG_BANG == -(2 ** 63) and tconsts.AVOGADRO_OF_SOCKS == 6.022e23
    assert tconsts.CURRENCY_SYMBOLS[types.Currency.EUR] == "€"
    assert store("catalog.ttypes").VariantSku is str
    assert store("orders.ttypes").OrderLines.__args__[0] is store("orders.ttypes").OrderLine


def test_keywords_are_escaped(tmp_path):
    idl, incs = _fixture("modern")
    gen_into(tmp_path, idl, incs, package_prefix="tgk")
    with importable(tmp_path):
        m = importlib.import_module("tgk.extensions.modern.ttypes")
        assert m.Truthiness.None_ == 0 and m.Truthiness.in_ == 7
        k = m.Keywords(from_="a", lambda_=2)
        assert (k.from_, k.lambda_, k.global_, k.is_) == ("a", 2, "g", m.Truthiness.True_)
        assert m.Builtins(self_="me").self_ == "me"
        assert [e[2] for e in m.Keywords.thrift_spec if e][:3] == ["from_", "class_", "lambda_"]
        assert m.NoIds._tg_spec_by_declaration and m.NoIds._tg_no_c_codec
        assert [e[0] for e in m.NoIds.thrift_spec] == [-4, -3, -2, -1, 5]
        svc = importlib.import_module("tgk.extensions.modern.Streams")
        assert hasattr(svc.Iface, "def_") and svc.Processor._tg_methods["def"] == "process_def_"


def test_naming_rule():
    assert escape("from") == "from_" and escape("type") == "type" and escape("match") == "match"
    assert assign_names(["from", "from_", "x"]) == ["from__", "from_", "x"]
    assert assign_names(["read", "self"], {"read", "self"}) == ["read_", "self_"]
    assert module_path_error("a.b") is None
    for bad in ("a..b", "a/b", "a.class", "", "a.b-c", "1a"):
        assert module_path_error(bad)


def test_thrift_options():
    opts = parse_thrift_options(["trim_idl,no_fmt", "package_prefix=x.y"])
    assert (opts.trim_idl, opts.no_fmt, opts.package_prefix) == (True, True, "x.y")
    assert parse_thrift_options(["trim_idl=all"]).trim_all
    assert parse_thrift_options(["template=slim"]).template == "slim"
    with pytest.raises(OptionError, match="known options: trim_idl"):
        parse_thrift_options(["nope"])
    assert parse_thrift_options(["fast_codec=aot"]).fast_codec == "aot"
    for bad in ("template=fancy", "package_prefix=a..b", "no_fmt=1", "trim_idl=some",
                "package_prefix", "fast_codec=fast", "fast_codec"):
        with pytest.raises(OptionError):
            parse_thrift_options([bad])


def test_same_namespace_merges_or_errors(tmp_path):
    write_idl(tmp_path, "a.thrift", 'namespace py shared.pkg\nstruct A { 1: i32 x }\n')
    write_idl(tmp_path, "b.thrift", 'include "a.thrift"\nnamespace py shared.pkg\n'
                                    'struct B { 1: a.A a }\nconst i32 N = 1\n')
    files = gen_files(tmp_path / "b.thrift", no_fmt=True)
    ttypes = files["shared/pkg/ttypes.py"]
    assert "class A:" in ttypes and "class B:" in ttypes and "_tg_pkg" not in ttypes
    write_idl(tmp_path, "c.thrift", 'include "a.thrift"\nnamespace py shared.pkg\n'
                                    'struct A { 1: i32 y }\n')
    with pytest.raises(IDLError, match="defined in both"):
        gen_files(tmp_path / "c.thrift")


@pytest.mark.parametrize("ns,problem", [
    ("a..b", "not a valid Python identifier"), ("evil.class", "keyword"),
    ("x/y", "not a valid Python identifier"), ("../../etc", "not a valid Python identifier")])
def test_bad_namespace_is_rejected(tmp_path, ns, problem):
    # The parser already refuses most of these; the generator must too, whatever
    # the AST it is handed holds.
    idl = write_idl(tmp_path, "n.thrift", "namespace py ok\nstruct S { 1: i32 x }\n")
    program = load(idl)
    program.files[str(idl.resolve())].document.namespaces[0].name = ns
    with pytest.raises(IDLError, match=problem):
        generate(program, GenOptions(), DiagnosticSink())


HOSTILE = [
    'a"""b', "tri'''ple", "back\\slash\\", "new\nline\r", "\\N{BULLET} \\u1234 \\x00",
    "nul\x00byte", "lone\ud800surrogate", "\u202eRLO", "\x1b[31mansi", '"', "\\", "'",
    '"""', "é€\U0001F600",
]


def test_hostile_strings_and_docs_cannot_break_out(tmp_path):
    idl = write_idl(tmp_path, "h.thrift", 'namespace py hostile\n'
                    '/** doc */\nstruct S { /** d */ 1: string s = "x" }\n'
                    'const list<string> VALUES = ["x"]\nconst binary BIN = "x"\n'
                    '/** svc */ service Svc { /** f */ void f(1: string a = "x") }\n')
    program = load(idl)
    doc = program.files[str(idl.resolve())].document
    struct, values, binary, svc = doc.definitions
    from thriftgen.idl import ast
    hostile_doc = "\n".join(HOSTILE) + ' """; import os; os.system("x") #'
    for node in (struct, struct.fields[0], svc, svc.functions[0]):
        node.doc = hostile_doc
    struct.fields[0].default = ast.ConstString(HOSTILE[0])
    values.value = ast.ConstList([ast.ConstString(h) for h in HOSTILE])
    binary.value = ast.ConstString("".join(h for h in HOSTILE if "\ud800" not in h))
    svc.functions[0].args[0].default = ast.ConstString(HOSTILE[4])
    files = generate(program, GenOptions(no_fmt=True), DiagnosticSink())
    for path, text in files.items():
        compile(text, path, "exec")  # valid Python, whatever the payload
        text.encode("utf-8")  # no lone surrogate reaches the file
        assert format_source(text, path) == text
        assert "import os" not in text.replace('import os; os.system(\\"x\\")', "")
    gen_into(tmp_path / "out", idl, no_fmt=True)  # the real files, for import
    (tmp_path / "out" / "hostile" / "constants.py").write_text(files["hostile/constants.py"])
    (tmp_path / "out" / "hostile" / "ttypes.py").write_text(files["hostile/ttypes.py"])
    with importable(tmp_path / "out"):
        consts = importlib.import_module("hostile.constants")
        ttypes = importlib.import_module("hostile.ttypes")
        assert consts.VALUES == HOSTILE
        assert consts.BIN == "".join(h for h in HOSTILE if "\ud800" not in h).encode()
        assert ttypes.S().s == HOSTILE[0]
        assert ttypes.S.__doc__.startswith(HOSTILE[0])


def test_outputs_never_leave_outdir(tmp_path):
    write_idl(tmp_path, "p.thrift", "namespace py ok.pkg\nstruct S { 1: i32 x }\n")
    outdir = tmp_path / "out"
    files = gen_into(outdir, tmp_path / "p.thrift", package_prefix="safe")
    assert all(not p.startswith(("/", "..")) and ".." not in p.split("/") for p in files)
    assert (outdir / "safe/ok/pkg/ttypes.py").is_file()
