"""``to_dict`` / ``from_dict`` / ``to_json`` / ``from_json`` on generated classes.

Every struct of the fixtures and of the Apache corpus sample, in each template
(default, slim, ahead-of-time fast codec), round-trips through the mapping with
random values (hypothesis, from ``thrift_spec``), the JSON text is standard JSON,
and the mapping is the one ``thriftgen call`` uses (tests/test_call.py pins its
messages; here the same messages come from generated classes).
"""

from __future__ import annotations

import importlib
import json
import math

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, Phase, given, note, settings  # noqa: E402

from test_codegen_util import CORPUS, FIXTURE_ROOTS, FIXTURES, gen_into, importable  # noqa: E402
from test_codegen_util import struct_classes  # noqa: E402
from test_wire_apache import norm, struct_strategy, with_defaults  # noqa: E402
from thriftgen.runtime import JsonMappingError, from_dict, from_json, to_dict, to_json  # noqa: E402

TEMPLATES = {"default": {}, "slim": {"template": "slim"}, "aot": {"fast_codec": "aot"}}
CORPUS_SAMPLE = ["test/v0.16/ThriftTest.thrift", "test/v0.16/DebugProtoTest.thrift"]


def _modules(root, prefix):
    out = []
    for path in sorted((root / prefix).rglob("ttypes.py")):
        rel = path.relative_to(root).with_suffix("")
        out.append(importlib.import_module(".".join(rel.parts)))
    return out


def _classes(module) -> list:
    """The struct classes of a ttypes module (slim modules build them on first access)."""
    names = getattr(module, "__all__", None)
    if names is None:
        return struct_classes(module)
    found = [getattr(module, n) for n in names]
    return [c for c in found if isinstance(c, type) and getattr(c, "thrift_spec", None) is not None]


def _missing_required(obj) -> bool:
    for name in getattr(type(obj), "_tg_required", None) or ():
        if getattr(obj, name) is None:
            return True
    for name in getattr(type(obj), "__slots__", ()):
        v = getattr(obj, name, None)
        vals = v if isinstance(v, (list, tuple)) else (
            list(v.values()) if isinstance(v, dict) else [v])
        if any(getattr(type(x), "thrift_spec", None) is not None and _missing_required(x)
               for x in vals):
            return True
    return False


def check_round_trip(cls, obj):
    if _missing_required(obj):
        with pytest.raises(JsonMappingError, match="missing required field"):
            from_dict(cls, to_dict(obj))
        return
    expected = norm(with_defaults(obj))
    assert norm(from_dict(cls, to_dict(obj))) == expected
    text = to_json(obj)
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    assert norm(from_json(cls, text)) == expected


def run_round_trips(tmp_path, idl, includes, options, examples):
    gen_into(tmp_path, idl, includes, package_prefix="tgj", no_fmt=True, **options)
    checked = 0
    with importable(tmp_path):
        for module in _modules(tmp_path, "tgj"):
            for cls in _classes(module):
                @settings(max_examples=examples, deadline=None, derandomize=True,
                          database=None, phases=(Phase.generate,),
                          suppress_health_check=list(HealthCheck))
                @given(obj=struct_strategy(cls))
                def check(obj):
                    note(repr(obj))
                    check_round_trip(cls, obj)

                check()
                checked += 1
    return checked


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("name,root,incs", [r[:3] for r in FIXTURE_ROOTS],
                         ids=[r[0] for r in FIXTURE_ROOTS])
def test_fixture_structs_round_trip(tmp_path, template, name, root, incs):
    n = run_round_trips(tmp_path, FIXTURES / root, [FIXTURES / i for i in incs],
                        TEMPLATES[template], examples=10)
    assert n > 0


@pytest.mark.parametrize("rel", CORPUS_SAMPLE)
def test_corpus_sample_structs_round_trip(tmp_path, rel):
    if not CORPUS.is_dir():
        pytest.skip("Apache corpus not present")
    idl = CORPUS / rel
    assert run_round_trips(tmp_path, idl, [idl.parent], {}, examples=6) > 10


IDL = """
enum Color { RED = 1, BLUE = 2 }
struct Kw {
  1: required string from
  2: optional i64 big
  3: map<Color, double> weights
  4: binary raw
  5: set<i16> small
  6: i32 count = 7
}
union Pick { 1: i32 a, 2: string b }
"""


@pytest.fixture(scope="module", params=sorted(TEMPLATES))
def kw(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("jsonapi")
    (tmp / "kw.thrift").write_text("namespace py kwmod\n" + IDL)
    prefix = "tgk" + request.param
    gen_into(tmp / "out", tmp / "kw.thrift", package_prefix=prefix, no_fmt=True,
             **TEMPLATES[request.param])
    with importable(tmp / "out"):
        yield importlib.import_module(f"{prefix}.kwmod.ttypes")


def test_idl_names_enums_base64_and_exact_integers(kw):
    obj = kw.Kw(from_="x", big=2 ** 63 - 1, weights={kw.Color.BLUE: math.inf}, raw=b"\x00\xff",
                small={3, -1})
    assert to_dict(obj) == {"from": "x", "big": 9223372036854775807,
                            "weights": {"BLUE": "Infinity"}, "raw": "AP8=", "small": [-1, 3],
                            "count": 7}
    assert '"big": 9223372036854775807' in to_json(obj)  # not rounded through a double
    assert from_json(kw.Kw, to_json(obj)) == obj
    # the attribute name is accepted too; absent fields take their IDL defaults
    assert from_dict(kw.Kw, {"from_": "y"}) == kw.Kw(from_="y", count=7)


@pytest.mark.parametrize("value,message", [
    ({}, 'missing required field "from" of Kw'),
    ({"from": 1}, "$.from: expected string, got number 1"),
    ({"from": "x", "nope": 1}, 'unknown field "nope" for Kw (fields: from, big, weights, raw, '
                               'small, count)'),
    ({"from": "x", "weights": {"GREEN": 1}},
     '$.weights["GREEN"]: string "GREEN" is not a member of enum Color (RED=1, BLUE=2)'),
    ({"from": "x", "big": "12x"}, "$.big: expected i64 (an integer from"),
    ({"from": "x", "small": [1, 1]}, "$.small[1]: duplicate set element"),
    ({"from": "x", "raw": "!!"}, "$.raw: expected binary (a base64 string)"),
    ({"from": "x", "from_": "y"}, 'field "from" of Kw given twice'),
])
def test_errors_name_the_path(kw, value, message):
    with pytest.raises(JsonMappingError) as info:
        from_dict(kw.Kw, value)
    assert message in str(info.value)


def test_unions_take_exactly_one_field(kw):
    assert to_dict(kw.Pick(b="s")) == {"b": "s"}
    assert from_dict(kw.Pick, {"a": 1}) == kw.Pick(a=1)
    with pytest.raises(JsonMappingError, match="union Pick needs exactly one field, got 2"):
        from_dict(kw.Pick, {"a": 1, "b": "x"})


def test_bad_json_text(kw):
    with pytest.raises(JsonMappingError, match=r"^\$: not valid JSON"):
        from_json(kw.Kw, "{")
