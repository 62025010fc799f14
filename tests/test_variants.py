"""The same user code runs unchanged against every output variant.

Variants: ``default`` (the codec compiled on first use), ``fast_codec=aot``
(generated into the module), ``no_fast_codec``, ``no_default_serdes``,
``with_field_mask``, ``slim`` and ``slim,no_default_serdes``. Each is
generated from the fixtures into its own package prefix, so all of them import
side by side; :func:`user_code` - construct, compare, repr, validate, raise,
serialize, deserialize, call a service - runs against each, and what it
observes (reprs, bytes, signatures, replies) must be identical to what it
observes with the default variant.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

from test_codegen_util import FIXTURES, gen_into, importable
import thriftgen.runtime as rt
from thriftgen.runtime.errors import ProtocolError
from thriftgen.runtime.rpc.dispatch import Dispatcher
from thriftgen.runtime.service import function_table

VARIANTS = {
    "default": {},
    "fast_codec_aot": {"fast_codec": "aot"},
    "no_fast_codec": {"no_fast_codec": True},
    "with_field_mask": {"with_field_mask": True},
    "no_default_serdes": {"no_default_serdes": True},
    "slim": {"template": "slim"},
    "slim_no_serdes": {"template": "slim", "no_default_serdes": True},
}


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    """variant name -> import function for its modules (``mod("echo.ttypes")``)."""
    root = tmp_path_factory.mktemp("variants")
    for name, opts in VARIANTS.items():
        gen_into(root / name, [FIXTURES / "store/service.thrift", FIXTURES / "echo/echo.thrift"],
                 [FIXTURES / "store"], package_prefix=f"tgv_{name}", no_fmt=True, **opts)
    with importable(*(root / name for name in VARIANTS)):
        yield {name: (lambda mod, _n=name: importlib.import_module(f"tgv_{_n}.{mod}"))
               for name in VARIANTS}


class EchoHandler:
    def __init__(self, errors):
        self.errors = errors
        self.shouted = []

    def echo(self, req):
        if req.repeat < 0:
            raise self.errors.EchoError(code=400, reason="negative repeat")
        if req.repeat == 0:
            raise ValueError("undeclared")
        return self.errors.EchoResponse(message=req.message * req.repeat, server_time_ms=7,
                                        payload=req.payload)

    def shout(self, req):
        self.shouted.append(req.message)


class LoopbackChannel:
    """A thriftgen rpc channel stand-in that hands each message to a Dispatcher."""

    _tg_is_channel = True

    def __init__(self, dispatcher):
        self.dispatcher = dispatcher
        self.reply = None

    def send_message(self, name, mtype, seqid, args):
        self.reply = self.dispatcher.handle(rt.encode_message(name, mtype, seqid, args))

    def recv_reply(self, name, seqid, result_cls):
        msg = rt.decode_message(self.reply, result_cls)
        if isinstance(msg.body, rt.ApplicationError):
            raise msg.body
        return msg.body


def user_code(mod) -> list:
    """Ordinary use of the generated API; returns what it observed."""
    seen = []
    catalog, types, echo_t = mod("store.catalog.ttypes"), mod("store.common.types.ttypes"), \
        mod("echo.ttypes")

    # construct: keywords, positionals, defaults (fresh per instance)
    dims = catalog.Dimensions(10, 20, height_mm=30)
    product = catalog.Product(sku="sku-1", title="Tent", kind=catalog.ProductKind.DIGITAL,
                              list_price=types.Money(amount=1999), variants=[
                                  catalog.Variant(sku="v1", label="Green", package_size=dims,
                                                  options={"colour": "green"})])
    fresh = catalog.Product()
    fresh.badges.append("mutated")
    seen += [repr(dims), repr(product), catalog.Product().badges, repr(fresh)]
    seen.append([(p.name, repr(p.default), p.kind)
                 for p in inspect.signature(catalog.Product).parameters.values()])
    seen.append(catalog.Product.__slots__)

    # compare
    seen += [dims == catalog.Dimensions(10, 20, 30), dims != catalog.Dimensions(10, 20, 31),
             dims == "x", product == catalog.Product(sku="sku-1")]

    # validate, unions
    for obj in (catalog.Variant(), catalog.ProductQuery(),
                catalog.ProductQuery(by_sku="a", full_text="b"), catalog.ProductQuery(by_sku="a")):
        try:
            obj.validate()
            seen.append("valid")
        except ProtocolError as ex:
            seen.append(str(ex))

    # exceptions
    try:
        raise echo_t.EchoError(code=3, reason="no")
    except echo_t.EchoError as ex:
        seen += [str(ex), ex.code, hash(ex) == hash(ex)]

    # serialize / deserialize
    for proto in ("binary", "compact"):
        data = rt.serialize(product, proto)
        back = rt.deserialize(catalog.Product, data, proto)
        seen += [data, back == product, repr(back)]
    try:
        rt.deserialize(catalog.Product, b"\x0b\x00\x01", "binary")
    except ProtocolError as ex:
        seen.append(ex.kind)

    # enums, constants, typedefs
    seen += [catalog.ProductKind(2).name, int(catalog.Condition.USED), catalog.VariantList,
             sorted(n for n in mod("store.catalog.constants").__all__)]

    # a service: client -> channel -> dispatcher -> processor -> handler
    echo_svc = mod("echo.Echo")
    handler = EchoHandler(echo_t)
    client = echo_svc.Client(LoopbackChannel(Dispatcher(echo_svc.Processor(handler))))
    seen.append(repr(client.echo(echo_t.EchoRequest(message="ab", repeat=2))))
    client.shout(echo_t.EchoRequest(message="hey"))
    seen.append(handler.shouted)
    for bad in (-1, 0):
        try:
            client.echo(echo_t.EchoRequest(message="x", repeat=bad))
        except echo_t.EchoError as ex:
            seen.append(("declared", repr(ex)))
        except rt.ApplicationError as ex:
            seen.append(("application", ex.type, ex.message))
    store_front = mod("store.service.StoreFront")
    seen.append(sorted(function_table(store_front.Processor)))  # inherited functions too
    return seen


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_same_user_code_same_results(variants, variant):
    observed = user_code(variants[variant])
    assert observed == user_code(variants["default"])


def test_observations_are_not_trivial(variants):
    seen = user_code(variants["slim"])
    assert "Dimensions(length_mm=10, width_mm=20, height_mm=30, weight_g=0" in seen[0]
    assert seen[2] == ["free-returns"]
    assert any("required field Variant.sku is unset" in str(s) for s in seen)
    assert ("declared", "EchoError(code=400, reason='negative repeat')") in seen
    assert any(isinstance(s, tuple) and s[0] == "application" for s in seen)
    assert "getProduct" in seen[-1]  # inherited from CatalogReader


@pytest.mark.parametrize("variant", [v for v, o in VARIANTS.items()
                                     if not o.get("no_default_serdes")])
def test_apache_protocol_processor_same_bytes(variants, variant):
    """Serdes variants answer Apache-protocol requests with identical bytes."""
    pytest.importorskip("thrift")
    from thrift.protocol import TBinaryProtocol, TCompactProtocol
    from thrift.transport import TTransport

    def replies(mod):
        echo_t, echo_svc = mod("echo.ttypes"), mod("echo.Echo")
        out = []
        for proto in (TBinaryProtocol.TBinaryProtocol, TCompactProtocol.TCompactProtocol):
            for repeat in (2, -1, 0):
                request = TTransport.TMemoryBuffer()
                prot = proto(request)
                prot.writeMessageBegin("echo", 1, 9)
                echo_svc.echo_args(req=echo_t.EchoRequest(message="ab", repeat=repeat)).write(prot)
                prot.writeMessageEnd()
                reply = TTransport.TMemoryBuffer()
                processor = echo_svc.Processor(EchoHandler(echo_t))
                processor.process(proto(TTransport.TMemoryBuffer(request.getvalue())),
                                  proto(reply))
                out.append(reply.getvalue())
        return out

    got = replies(variants[variant])
    assert got == replies(variants["default"])
    assert len(set(got)) == len(got)  # result, declared error, application error differ
