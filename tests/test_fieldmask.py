"""FieldMask: paths, errors, the mask tree, and ``-thrift with_field_mask`` codegen."""

from __future__ import annotations

import threading

import pytest

from test_codegen_util import FIXTURES, gen_files
from test_fieldmask_util import generated
from thriftgen.codegen.options import OptionError, parse_thrift_options
from thriftgen.runtime import deserialize, serialize
from thriftgen.runtime.errors import ThriftgenError
from thriftgen.runtime.fieldmask import ALL, DROP, FieldMask, FieldMaskError, Node


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    with generated(tmp_path_factory.mktemp("fieldmask")) as imp:
        yield imp


@pytest.fixture(scope="module")
def m(gen):
    return gen("fmd.fmt.model.ttypes")


def tree(m, **kw):
    leaf = m.Leaf
    base = dict(id=7, name="t", leaves=[leaf(name="l%d" % i, n=i, code=i) for i in range(4)],
                tags={"a", "b"}, by_name={"a": leaf(name="A", code=1), "b": leaf(name="B", code=2)},
                by_num={1: [leaf(code=1)], 3: [leaf(code=3), leaf(code=4)]},
                main=leaf(name="main", n=9, blob=b"xy", code=0), grid=[[1, 2], [3, 4, 5]],
                kinds={m.Kind.A: "a", m.Kind.C: "c"}, flag=True, score=1.5,
                weights={0.5: 1}, nums=[1, 2, 3], must=leaf(name="must", code=9), rank=3)
    base.update(kw)
    return m.Tree(**base)


# --------------------------------------------------------------------------- path errors

ERRORS = [
    (["$.nmae"], "Tree has no field named 'nmae' (did you mean 'name'?)", 3),
    (["$.zzz"], "Tree has no field named 'zzz'", 3),
    (["$.99"], "Tree has no field with id 99", 3),
    (["$.main.nope"], "Leaf has no field named 'nope'", 8),
    (["$.name.x"], "'.' selects struct fields, but this is a string", 7),
    (["$.leaves.name"], "'.' selects struct fields, but this is a list<Leaf>", 9),
    (["$.name[0]"], "'[...]' selects list or set elements, but this is a string", 7),
    (["$.by_name[0]"], "'[...]' selects list or set elements, but this is a map<string,Leaf>", 10),
    (['$.leaves{"a"}'], "'{...}' selects map entries, but this is a list<Leaf>", 9),
    (["$.grid[0]{1}"], "'{...}' selects map entries, but this is a list<i32>", 10),
    (["$.leaves[]"], "empty index list", 10),
    (["$.by_name{}"], "empty key list", 11),
    (["$.by_name{1}"], "map key must be a string (the map has string keys), not an integer", 11),
    (['$.by_num{"a"}'], "map key must be an integer (the map has i32 keys), not a string", 10),
    (['$.kinds{"A"}'], "map key must be an integer (the map has Kind keys), not a string", 9),
    (["$.weights{1}"], "only '{*}' is supported for maps with double keys", 11),
    (["$.tags[0]"], "sets take only '[*]': a Python set has no element positions", 8),
    (["$.leaves[0,*]"], "'*' cannot be mixed with explicit indexes in one selection", 12),
    (["$.leaves[*,0]"], "'*' cannot be mixed with explicit indexes in one selection", 10),
    (['$.by_name{"a",*}'], "'*' cannot be mixed with explicit keys in one selection", 15),
    (["$.leaves[*]", "$.leaves[0]"], "index 0 conflicts with '*' selected by '$.leaves[*]'", 10),
    (["$.leaves[0]", "$.leaves[*]"], "'*' conflicts with index 0 selected by '$.leaves[0]'", 10),
    (["$.by_name{*}", '$.by_name{"a"}'],
     "key \"a\" conflicts with '*' selected by '$.by_name{*}'", 11),
    (["$.by_num{1}", "$.by_num{*}"], "'*' conflicts with key 1 selected by '$.by_num{1}'", 10),
    (["$.*", "$.name"], "field 'name' conflicts with '*' selected by '$.*'", 3),
    (["$.name", "$.*"], "'*' conflicts with field 'name' selected by '$.name'", 3),
    (["$.main.*", "$.main.code"], "field 'code' conflicts with '*' selected by '$.main.*'", 8),
    (["name"], "unexpected 'n', expected '$' (the root)", 1),
    ([""], "unexpected end of path, expected '$' (the root)", 1),
    (["$."], "unexpected end of path, expected a field name, a field id or '*' after '.'", 3),
    (["$.leaves[0"], "unexpected end of path, expected ',' or ']'", 11),
    (["$.leaves[0;"], "unexpected ';', expected ',' or ']'", 11),
    (["$.leaves[a]"], "unexpected 'a', expected an index or '*'", 10),
    (["$.leaves[-1]"], "negative index -1", 10),
    (["$ x"], "unexpected 'x', expected '.', '[' or '{'", 3),
    (["$.*.name"], "'.*' must end the path", 4),
    (['$.by_name{"a}'], "unterminated string", 11),
    (['$.by_name{"\\q"}'], "bad escape '\\q'", 12),
]


@pytest.mark.parametrize("paths,reason,column", ERRORS, ids=[" ".join(e[0]) for e in ERRORS])
def test_path_errors(m, paths, reason, column):
    with pytest.raises(FieldMaskError) as info:
        FieldMask(m.Tree, *paths)
    err = info.value
    assert (err.reason, err.column, err.path) == (reason, column, paths[-1])
    assert isinstance(err, ThriftgenError)


def test_error_text_quotes_the_path_with_a_caret(m):
    with pytest.raises(FieldMaskError) as info:
        FieldMask(m.Tree, "$.leaves[0].nmae")
    assert str(info.value) == (
        "field mask path '$.leaves[0].nmae', column 13: Leaf has no field named 'nmae' "
        "(did you mean 'name'?)\n"
        "    $.leaves[0].nmae\n"
        "                ^")


def test_non_string_path_and_non_generated_class(m):
    with pytest.raises(FieldMaskError, match="must be a str, not int"):
        FieldMask(m.Tree, 3)
    with pytest.raises(ThriftgenError, match="no thrift_spec"):
        FieldMask(dict, "$")


# --------------------------------------------------------------------------- the tree


def test_tree_shapes(m):
    f = FieldMask(m.Tree, "$.name", "$.leaves[1,3].name", '$.by_name{"a"}', "$.by_num{*}[0]")
    root = f.root
    assert root.kind == "struct" and root.rest is DROP
    assert root.picks[2] is ALL and root.picks[5] == Node("map", 13, None, {"a": ALL}, DROP)
    leaves = root.picks[3]
    assert set(leaves.picks) == {1, 3} and leaves.rest is DROP
    assert leaves.picks[1].picks == {1: ALL}
    assert root.picks[6].rest.picks == {0: ALL} and root.picks[6].picks == {}


def test_absorption_and_equivalent_spellings(m):
    # a path ending on a node absorbs longer ones, in either order
    assert FieldMask(m.Tree, "$.main", "$.main.name") == FieldMask(m.Tree, "$.main")
    assert FieldMask(m.Tree, "$.main.name", "$.main") == FieldMask(m.Tree, "$.main")
    # names, ids, attribute names and whitespace
    assert FieldMask(m.Tree, "$.2", "$ . main . 1") == FieldMask(m.Tree, "$.name", "$.main.name")
    # selecting every field is the same as selecting everything
    every = FieldMask(m.Tree, *["$.%d" % i for i in range(1, 17)])
    assert every.root is ALL and every.passes_all
    assert FieldMask(m.Tree, "$").passes_all and FieldMask(m.Tree, "$.*").passes_all
    assert FieldMask(m.Tree).passes_all and FieldMask(m.Tree, black=True).passes_all


def test_black_list_tree(m):
    f = FieldMask(m.Tree, "$.name", "$.leaves[0]", "$.main.*", black=True)
    root = f.root
    assert root.rest is ALL and root.picks[2] is DROP
    assert root.picks[3].picks == {0: DROP} and root.picks[3].rest is ALL
    assert root.picks[7].rest is DROP  # every field of main dropped: an empty struct
    # '$' in a black list drops everything (required fields stay, see the codec tests)
    assert FieldMask(m.Tree, "$", black=True).root == Node("struct", 12, [m.Tree, None], {},
                                                          DROP)


def test_apply(m):
    t = tree(m)
    out = FieldMask(m.Tree, "$.name", "$.leaves[1,3].n", '$.by_name{"b"}').apply(t)
    assert out.name == "t" and out.main is None and out.grid is None
    assert [(x.name, x.n, x.code) for x in out.leaves] == [(None, 1, 1), (None, 3, 3)]
    assert list(out.by_name) == ["b"] and out.by_name["b"] is t.by_name["b"]
    assert out.id == 7 and out.must is t.must  # required: kept
    assert t.leaves[1].name == "l1"  # the original is untouched
    zero = FieldMask(m.Tree, "$.name", zero_required=True).apply(t)
    assert zero.id == 0 and zero.must == m.Leaf(code=0) and zero.must.name is None


def test_map_keys_of_enum_maps(m):
    t = tree(m)
    f = FieldMask(m.Tree, "$.kinds{7}")
    assert FieldMask(m.Tree, "$.kinds{7}").apply(t).kinds == {m.Kind.C: "c"}
    assert deserialize(m.Tree, serialize(t, mask=f)).kinds == {m.Kind.C: "c"}


def test_masks_are_reusable_and_thread_safe(m):
    f = FieldMask(m.Tree, "$.leaves[*].name", "$.by_num{1,3}[0].code")
    values = [tree(m, id=i) for i in range(8)]
    expected = [serialize(f.apply(v)) for v in values]
    errors = []

    def work():
        try:
            for _ in range(20):
                for proto in ("binary", "compact"):
                    for v, e in zip(values, expected):
                        data = serialize(v, proto, mask=f)
                        if proto == "binary" and data != e:
                            errors.append("encode")
                        if deserialize(m.Tree, data, proto, mask=f) != f.apply(v):
                            errors.append("decode")
        except Exception as ex:  # pragma: no cover - reported below
            errors.append(repr(ex))

    with pytest.raises(AttributeError, match="immutable"):
        f.root = ALL
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_mask_for_another_class_is_rejected(m):
    f = FieldMask(m.Leaf, "$.name")
    with pytest.raises(TypeError, match="the mask is for Leaf, not Tree"):
        serialize(tree(m), mask=f)
    with pytest.raises(TypeError, match="the mask is for Leaf, not Tree"):
        deserialize(m.Tree, serialize(tree(m)), mask=f)


# --------------------------------------------------------------------------- codegen


def test_option_parses_and_combines():
    assert parse_thrift_options(["with_field_mask"]).with_field_mask
    slim = parse_thrift_options(["template=slim,with_field_mask"])
    assert slim.template == "slim" and slim.with_field_mask
    with pytest.raises(OptionError, match="takes no value"):
        parse_thrift_options(["with_field_mask=1"])


@pytest.mark.parametrize("template", ["default", "slim"])
def test_output_without_the_option_is_unchanged(template):
    idl, incs = FIXTURES / "store/service.thrift", [FIXTURES / "store"]
    plain = gen_files(idl, incs, template=template, no_fmt=True)
    masked = gen_files(idl, incs, template=template, no_fmt=True, with_field_mask=True)
    assert plain.keys() == masked.keys()
    changed = {k for k in plain if plain[k] != masked[k]}
    assert changed and all(k.endswith("ttypes.py") for k in changed)
    for k in plain:
        if "fieldmask" in plain[k] or "field_mask" in plain[k]:
            pytest.fail(f"{k} mentions field masks without the option")
    # the option only adds lines: removing them gives back the plain output
    for k in changed:
        lines, kept = masked[k].splitlines(), []
        for i, ln in enumerate(lines):
            if "fieldmask" not in ln:  # the name tables are in both (the JSON mapping reads them)
                kept.append(ln)
            elif (ln.startswith(("import ", "from ")) and kept and kept[-1] == ""
                  and i + 1 < len(lines) and lines[i + 1] == ""):
                kept.pop()  # an import alone in its group: the group's blank line goes too
        assert "\n".join(kept) == plain[k].rstrip("\n")


@pytest.mark.parametrize("variant", ["fmd", "fms"])
def test_generated_classes_carry_the_tables(gen, variant):
    kw = gen(f"{variant}.fmt.kw.ttypes").Kw
    model = gen(f"{variant}.fmt.model.ttypes")
    assert kw._tg_idl_names == {"from": "from_", "pass": "pass_"}
    # Kw has an IDL field called field_mask: it keeps the name, no classmethod
    assert "field_mask" in kw.__slots__
    f = FieldMask(kw, "$.from", "$.field_mask")
    assert f == FieldMask(kw, "$.from_", "$.2")
    obj = kw(from_="a", field_mask=3, pass_="p", items=["x"])
    back = deserialize(kw, serialize(obj, mask=f))
    assert (back.from_, back.field_mask, back.pass_, back.items) == ("a", 3, "p", None)
    with pytest.raises(FieldMaskError, match="did you mean 'pass'"):
        FieldMask(kw, "$.pas")
    f = model.Leaf.field_mask("$.name")
    assert isinstance(f, FieldMask) and f == FieldMask(model.Leaf, "$.1") and f.cls is model.Leaf
    black = model.Tree.field_mask("$.id", "$.must", black=True)
    t = model.Tree(id=1, must=model.Leaf(code=2), name="n")
    assert deserialize(model.Tree, serialize(t, mask=black)) == t  # required: always written


def test_plain_classes_carry_the_tables_but_no_method(gen):
    kw = gen("fmp.fmt.kw.ttypes").Kw
    # without the option: no classmethod (the IDL field keeps the name field_mask), but
    # the name tables are there (the JSON mapping reads them too)
    assert "field_mask" in kw.__slots__
    assert kw._tg_idl_names == {"from": "from_", "pass": "pass_"}
    assert kw._tg_required == ("pass_",)
    obj = kw(from_="a", pass_="p")
    for path in ("$.from", "$.from_"):
        f = FieldMask(kw, path)
        assert deserialize(kw, serialize(obj, mask=f)) == kw(from_="a", pass_="p")  # required kept


def test_classes_without_tables_work(gen):
    """Classes generated by others (Apache) have no tables: no renames, nothing required."""
    kw = gen("fmp.fmt.kw.ttypes").Kw
    bare = type("Bare", (), {"__slots__": kw.__slots__, "thrift_spec": kw.thrift_spec,
                             "__init__": kw.__init__, "__eq__": kw.__eq__})
    f = FieldMask(bare, "$.from_")
    obj = bare(from_="a", pass_="p")
    assert deserialize(bare, serialize(obj, mask=f)) == bare(from_="a")  # no required table
    with pytest.raises(FieldMaskError, match="no field named 'from'"):
        FieldMask(bare, "$.from")


def test_bench_runs(tmp_path):
    import os
    import subprocess
    import sys

    from test_codegen_util import REPO

    env = dict(os.environ, BENCH_WORK_DIR=str(tmp_path), PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "fieldmask.py"), "--quick"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "| medium binary decode" in proc.stdout and "### Goals" in proc.stdout
    assert proc.stdout.count("1-field mask >= 5x") == 4
