"""``max_depth`` counts the data's nesting, not the caller's: a valid 61-deep value
decodes and encodes even when the caller is already ~960 Python frames deep, on
every codec path (first use compiles there too), and data deeper than the limit
still fails with ``depth_limit``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from test_codegen_util import REPO, gen_into

IDL = """namespace py deepnode
struct Node { 1: optional Node child, 2: i32 v, 3: optional list<Node> more }
service Deep { Node echo(1: Node n) }
"""

SCRIPT = """
import sys
from deepnode.ttypes import Node
from deepnode import Deep
from thriftgen.runtime import (serialize, deserialize, decode_struct, encode_message,
                               decode_message, ProtocolError)
from thriftgen.runtime.fieldmask import FieldMask

def nest(depth):
    n = Node(v=0)
    for i in range(depth - 1):
        n = Node(child=n, v=i) if i % 2 else Node(more=[n], v=i)
    return n

def at(frames, f):
    return at(frames - 1, f) if frames else f()

ok = nest(61)   # 61 structs deep (max_depth 64)
too_deep = nest(70)
mask = FieldMask(Node, "$.child", "$.more", "$.v")
for protocol in ("binary", "compact"):
    # first use happens deep in the stack: compiling must not fail there either
    data = at(960, lambda: serialize(ok, protocol))
    assert at(960, lambda: deserialize(Node, data, protocol)) == ok
    assert at(960, lambda: decode_struct(Node, data, 0, protocol))[0] == ok
    assert at(960, lambda: serialize(ok, protocol, mask=mask)) == data
    assert at(960, lambda: deserialize(Node, data, protocol, mask=mask)) == ok
    msg = at(960, lambda: encode_message("echo", 1, 7, Deep.echo_args(n=ok), protocol))
    assert at(960, lambda: decode_message(msg, Deep.echo_args, protocol)).body.n == ok
    for call in (lambda: deserialize(Node, serialize(too_deep, protocol), protocol),
                 lambda: at(960, lambda: deserialize(Node, serialize(too_deep, protocol), protocol))):
        try:
            call()
        except ProtocolError as e:
            assert e.kind == "depth_limit" and "maximum nesting depth" in str(e), e
        else:
            raise AssertionError("data deeper than max_depth decoded")
print("ok")
"""


@pytest.mark.parametrize("variant", ["", "fast_codec=aot", "template=slim"])
def test_deep_callers_get_the_same_depth_limit(tmp_path, variant):
    (tmp_path / "deep.thrift").write_text(IDL)
    options = {"no_fmt": True}
    if variant:
        key, _, value = variant.partition("=")
        options[key] = value
    gen_into(tmp_path / "gen", tmp_path / "deep.thrift", **options)
    env = dict(os.environ, PYTHONPATH=f"{tmp_path / 'gen'}{os.pathsep}{REPO}")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]
