"""The classes ``thriftgen call`` builds from the AST agree with the generated ones.

For every fixture: each struct/union/exception and each service function's
args/result class has the same ``thrift_spec`` (ids, wire types, attribute
names, type arguments, defaults) as the generated class, default instances
encode to the same bytes, and sampled values encode to the same bytes in both
protocols and decode back through the generated class to the same bytes.
"""

from __future__ import annotations

import base64
import enum
import importlib
import json
import random
import uuid

import pytest

from test_codegen_util import FIXTURE_ROOTS, FIXTURES, gen_into, importable, load
from thriftgen.call.dynamic import INT_BITS, DynamicTypes, TypeSpec
from thriftgen.call.jsonmap import from_json, struct_from_json, to_json
from thriftgen.idl import ast
from thriftgen.runtime import deserialize, serialize
from thriftgen.runtime.service import function_table

PROTOCOLS = ["binary", "compact"]


def _package(pf) -> str:
    for h in pf.document.headers:
        if isinstance(h, ast.Namespace) and h.scope == "py":
            return h.name
    return pf.path.rsplit("/", 1)[-1][: -len(".thrift")]


@pytest.fixture(scope="module", params=[r[0] for r in FIXTURE_ROOTS])
def fixture(request, tmp_path_factory):
    name, root, incs, _ = next(r for r in FIXTURE_ROOTS if r[0] == request.param)
    idl, includes = FIXTURES / root, [FIXTURES / i for i in incs]
    out = tmp_path_factory.mktemp("dyn_" + name)
    gen_into(out, idl, includes, no_fmt=True)
    program = load(idl, includes)
    with importable(out):
        yield program, DynamicTypes(program), importlib.import_module


def _pairs(program, types, imp):
    """(generated class, dynamic class) for every struct of the program."""
    pairs = []
    for pf in program:
        module = imp(_package(pf) + ".ttypes")
        for d in pf.document.definitions:
            if isinstance(d, ast.Struct):
                pairs.append((getattr(module, d.name), types.struct_class(pf.path, d.name)))
    return pairs


def _service_pairs(program, types, imp):
    pairs = []
    for pf in program:
        for d in pf.document.definitions:
            if isinstance(d, ast.Service):
                module = imp(_package(pf) + "." + d.name)
                pairs.append((module, types.service(pf.path, d.name)))
    return pairs


def _norm(value, seen_classes):
    """A comparable form of a spec piece: classes by name (and their specs, once)."""
    if isinstance(value, type) and issubclass(value, enum.Enum):
        return ("enum", value.__name__, sorted((m.name, m.value) for m in value))
    if isinstance(value, type):
        if value.__name__ not in seen_classes:
            seen_classes.add(value.__name__)
            return ("class", value.__name__, _norm(value.thrift_spec, seen_classes))
        return ("class", value.__name__)
    if isinstance(value, enum.Enum):
        return ("member", type(value).__name__, value.name, value.value)
    if isinstance(value, (list, tuple)):
        # [Cls, spec]: the fixed-up spec is the class's own, compared with the class
        if len(value) == 2 and isinstance(value[0], type) and not issubclass(value[0], enum.Enum):
            return ("ref", _norm(value[0], seen_classes))
        return tuple(_norm(v, seen_classes) for v in value)
    return (type(value).__name__, value)


def _flags(cls):
    return (bool(getattr(cls, "_tg_is_union", False)),
            bool(getattr(cls, "_tg_spec_by_declaration", False)),
            issubclass(cls, Exception), tuple(cls.__slots__))


def test_struct_specs_and_defaults_agree(fixture):
    program, types, imp = fixture
    pairs = _pairs(program, types, imp)
    assert pairs
    for gen_cls, dyn_cls in pairs:
        assert _norm(dyn_cls.thrift_spec, set()) == _norm(gen_cls.thrift_spec, set()), \
            gen_cls.__name__
        assert _flags(dyn_cls) == _flags(gen_cls), gen_cls.__name__
        for protocol in PROTOCOLS:
            if getattr(gen_cls, "_tg_is_union", False):
                continue  # an empty union is invalid on purpose
            assert serialize(dyn_cls(), protocol) == serialize(gen_cls(), protocol), \
                (gen_cls.__name__, protocol)


def test_service_functions_agree(fixture):
    program, types, imp = fixture
    pairs = _service_pairs(program, types, imp)
    if not pairs:
        pytest.skip("no services in this fixture")
    for module, svc in pairs:
        generated = function_table(module.Processor)
        assert sorted(generated) == sorted(svc.functions)
        for name, gfn in generated.items():
            dfn = svc.functions[name].function
            assert (dfn.py_name, dfn.oneway) == (gfn.py_name, gfn.oneway)
            assert _norm(dfn.args_cls.thrift_spec, set()) == _norm(gfn.args_cls.thrift_spec, set())
            assert dfn.args_cls.__slots__ == gfn.args_cls.__slots__
            if gfn.result_cls is not None:
                assert _norm(dfn.result_cls.thrift_spec, set()) == \
                    _norm(gfn.result_cls.thrift_spec, set())
            assert dfn.shape()[0] == gfn.shape()[0]
            assert [a for a, _ in dfn.shape()[1]] == [a for a, _ in gfn.shape()[1]]


# --------------------------------------------------------------------------- sampled values


def _unrepresentable(ts: TypeSpec, seen=None) -> bool:
    """Types Python cannot hold (a struct as a set element or map key)."""
    k = ts.kind
    if k == "set":
        return ts.elem.kind == "struct" or _unrepresentable(ts.elem, seen)
    if k == "map":
        return ts.key.kind == "struct" or _unrepresentable(ts.key, seen) or \
            _unrepresentable(ts.value, seen)
    if k == "list":
        return _unrepresentable(ts.elem, seen)
    return False


def _has_set(types, cls, seen=None) -> bool:
    seen = set() if seen is None else seen
    if cls in seen:
        return False
    seen.add(cls)
    stack = [f.type for f in types.fields(cls)]
    while stack:
        t = stack.pop()
        if t.kind == "set":
            return True
        if t.kind == "struct" and _has_set(types, t.cls, seen):
            return True
        stack.extend(x for x in (t.elem, t.key, t.value) if x is not None)
    return False


def sample_json(ts: TypeSpec, types: DynamicTypes, rng: random.Random, depth: int = 0):
    """A JSON value of type ``ts`` in the canonical form ``to_json`` prints."""
    k = ts.kind
    if k == "bool":
        return rng.random() < 0.5
    if k in INT_BITS:
        bits = INT_BITS[k]
        return rng.choice([-(1 << (bits - 1)), (1 << (bits - 1)) - 1, 0,
                           rng.randint(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)])
    if k == "double":
        return rng.choice([0.0, -1.5, 1e300, 2.0 ** -1074])
    if k == "string":
        return rng.choice(["", "héllo wörld", "a\x00b", "日本"])
    if k == "binary":
        return base64.b64encode(bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 9)))
                                ).decode()
    if k == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128)))
    if k == "enum":
        return rng.choice(ts.definition.values).name
    n = rng.randint(0, 3) if depth < 4 else 0
    if k == "list":
        return [sample_json(ts.elem, types, rng, depth + 1) for _ in range(n)]
    if k == "set":
        items = {json.dumps(sample_json(ts.elem, types, rng, depth + 1)) for _ in range(n)}
        return [json.loads(i) for i in items]
    if k == "map":
        pairs = {}
        for _ in range(n):
            key = sample_json(ts.key, types, rng, depth + 1)
            pairs[json.dumps(key)] = (key, sample_json(ts.value, types, rng, depth + 1))
        if ts.key.kind in ("list", "set", "map"):
            return [[kv[0], kv[1]] for kv in pairs.values()]
        return {(kv[0] if isinstance(kv[0], str) else json.dumps(kv[0])): kv[1]
                for kv in pairs.values()}
    # struct / union / exception
    fields = [f for f in types.fields(ts.cls) if not _unrepresentable(f.type)]
    if getattr(ts.cls, "_tg_is_union", False):
        chosen = [rng.choice(fields)] if fields else []
    else:
        chosen = [f for f in fields
                  if f.required or (depth < 3 and rng.random() < 0.7)]
    return {f.name: sample_json(f.type, types, rng, depth + 1) for f in chosen}


def test_sampled_values_encode_like_generated_classes(fixture):
    program, types, imp = fixture
    rng = random.Random(8)
    checked = 0
    for gen_cls, dyn_cls in _pairs(program, types, imp):
        ts = TypeSpec("struct", cls=dyn_cls, definition=None)
        for _ in range(5):
            data = sample_json(ts, types, rng)
            obj = struct_from_json(data, dyn_cls, types)
            for protocol in PROTOCOLS:
                wire = serialize(obj, protocol)
                again = serialize(deserialize(gen_cls, wire, protocol), protocol)
                if not _has_set(types, dyn_cls):  # a set's order may change on re-insertion
                    assert again == wire, (gen_cls.__name__, protocol, data)
                assert deserialize(dyn_cls, again, protocol) == obj
                back = deserialize(dyn_cls, wire, protocol)
                assert back == obj
                assert to_json(back, ts, types) == to_json(obj, ts, types)
            checked += 1
    assert checked >= 5


def test_generated_instances_decode_into_dynamic_classes(fixture):
    """The other direction: a generated instance's bytes decode into the dynamic class
    and re-encode identically (defaults applied by the generated __init__ included)."""
    program, types, imp = fixture
    for gen_cls, dyn_cls in _pairs(program, types, imp):
        if getattr(gen_cls, "_tg_is_union", False):
            continue
        for protocol in PROTOCOLS:
            wire = serialize(gen_cls(), protocol)
            again = serialize(deserialize(dyn_cls, wire, protocol), protocol)
            if _has_set(types, dyn_cls):  # a set rebuilt may iterate in another order
                assert deserialize(gen_cls, again, protocol) == gen_cls()
            else:
                assert again == wire


def test_from_json_builds_containers_python_can_hash(fixture):
    """Set elements and map keys come out frozen (tuples, frozensets, FrozenDicts)."""
    program, types, _ = fixture
    ts = TypeSpec("set", elem=TypeSpec("list", elem=TypeSpec("i32")))
    assert from_json([[1, 2], [3]], ts, types) == {(1, 2), (3,)}


def test_dynamic_processor_serves_generated_clients(tmp_path):
    """Classes built from the IDL can serve, too (``DynamicService.processor``)."""
    from test_rpc_util import TIMEOUT, generated
    from thriftgen.runtime import rpc

    program = load(FIXTURES / "echo/echo.thrift")
    types = DynamicTypes(program)
    svc = types.service(program.roots[0], "Echo")
    response = types.struct_class(program.roots[0], "EchoResponse")
    error = types.struct_class(program.roots[0], "EchoError")

    class Handler:
        def echo(self, req):
            if req.repeat < 0:
                raise error(code=req.repeat, reason="no")
            return response(message=req.message * req.repeat, server_time_ms=7)

        def shout(self, req):
            pass

    with generated(tmp_path, apache=False) as imp:
        echo_mod, t = imp("tgr.echo.Echo"), imp("tgr.echo.ttypes")
        with rpc.ThreadedServer(svc.processor(Handler()), protocol="compact") as server:
            with rpc.connect("127.0.0.1", server.port, protocol="compact",
                             timeout=TIMEOUT) as ch:
                client = echo_mod.Client(ch)
                reply = client.echo(t.EchoRequest(message="ab", repeat=2))
                assert (reply.message, reply.server_time_ms) == ("abab", 7)
                with pytest.raises(t.EchoError) as info:
                    client.echo(t.EchoRequest(message="x", repeat=-3))
                assert (info.value.code, info.value.reason) == (-3, "no")
