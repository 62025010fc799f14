"""Hand-written classes shaped like thriftgen's generated code.

They mirror ``IDL`` below (which the tests also feed to Apache's compiler and
to thriftpy2): ``__slots__``, keyword-only-with-defaults ``__init__`` that
sets IDL defaults, ``__eq__``, ``thrift_spec`` attached after the classes
and a fix-up pass that fills ``[Cls, None]`` struct args (recursive types).
"""

import enum
import math
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _ROOT not in sys.path:  # plain ``pytest`` runs: make ``thriftgen`` importable
    sys.path.insert(0, _ROOT)

from thriftgen.runtime import TType  # noqa: E402

IDL = """
namespace py tgapache

enum Color { RED = 1, GREEN = 2, BLUE = 7 }

struct Inner {
  1: string name,
  2: optional i64 n,
  3: binary blob,
}

union U {
  1: i32 a,
  2: string b,
  3: Inner c,
}

struct Node {
  1: i32 v,
  2: optional Node nxt,
}

struct Tree {
  1: i32 v,
  2: list<Tree> kids,
}

exception Oops {
  1: string msg,
  2: i32 code = 5,
}

struct All {
  1: bool b,
  2: i8 by,
  3: i16 s,
  4: i32 i,
  5: i64 l,
  6: double d,
  7: string str,
  8: binary bin,
  9: Color color,
  10: list<i32> li,
  11: set<string> ss,
  12: map<string, i64> m,
  13: list<list<i32>> nested,
  14: Inner inner,
  15: list<Inner> inners,
  16: map<i32, Inner> mi,
  17: U u,
  18: list<Color> colors,
  19: list<bool> bools,
  20: list<double> ds,
  22: map<Color, list<string>> mcl,
  23: set<i64> sl,
  24: list<i8> bys,
  25: list<i16> shs,
  26: list<binary> bins,
  27: map<i16, bool> mb,
  28: list<map<string, i32>> lm,
  29: list<set<i32>> lset,
  30: optional string opt = "x",
}

struct Medium {
  1: i64 id,
  2: string name,
  3: string description,
  4: i32 quantity,
  5: double price,
  6: bool active,
  7: list<string> tags,
  8: list<i64> history,
  9: map<string, string> attrs,
  10: list<Inner> items,
  11: Color color,
  12: i16 version,
  13: binary payload,
  14: list<list<i32>> grid,
  15: optional Inner owner,
}

service Svc {
  i32 ping(1: i32 x),
}
"""


class Color(enum.IntEnum):
    RED = 1
    GREEN = 2
    BLUE = 7


def _eq_value(a, b):
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_eq_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        if len(a) != len(b):
            return False
        for k, v in a.items():
            if k not in b or not _eq_value(v, b[k]):
                return False
        return True
    return a == b


class _Base:
    """What generated classes provide: slots-based __eq__/__repr__."""

    __slots__ = ()

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(_eq_value(getattr(self, s), getattr(other, s)) for s in self.__slots__)

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None

    def __repr__(self):
        parts = ["%s=%r" % (s, getattr(self, s)) for s in self.__slots__ if getattr(self, s) is not None]
        return "%s(%s)" % (self.__class__.__name__, ", ".join(parts))


class Inner(_Base):
    __slots__ = ("name", "n", "blob")

    def __init__(self, *, name=None, n=None, blob=None):
        self.name = name
        self.n = n
        self.blob = blob


class U(_Base):
    __slots__ = ("a", "b", "c")
    _tg_is_union = True

    def __init__(self, *, a=None, b=None, c=None):
        self.a = a
        self.b = b
        self.c = c


class Node(_Base):
    __slots__ = ("v", "nxt")

    def __init__(self, *, v=None, nxt=None):
        self.v = v
        self.nxt = nxt


class Tree(_Base):
    __slots__ = ("v", "kids")

    def __init__(self, *, v=None, kids=None):
        self.v = v
        self.kids = kids


class Oops(Exception):
    __slots__ = ("msg", "code")

    def __init__(self, *, msg=None, code=5):
        super().__init__(msg, code)
        self.msg = msg
        self.code = code

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.msg == other.msg and self.code == other.code

    __hash__ = Exception.__hash__


class All(_Base):
    __slots__ = (
        "b", "by", "s", "i", "l", "d", "str", "bin", "color", "li", "ss", "m",
        "nested", "inner", "inners", "mi", "u", "colors", "bools", "ds", "mcl",
        "sl", "bys", "shs", "bins", "mb", "lm", "lset", "opt",
    )

    def __init__(self, *, b=None, by=None, s=None, i=None, l=None, d=None, str=None,
                 bin=None, color=None, li=None, ss=None, m=None, nested=None, inner=None,
                 inners=None, mi=None, u=None, colors=None, bools=None, ds=None, mcl=None,
                 sl=None, bys=None, shs=None, bins=None, mb=None, lm=None, lset=None,
                 opt="x"):
        self.b = b
        self.by = by
        self.s = s
        self.i = i
        self.l = l
        self.d = d
        self.str = str
        self.bin = bin
        self.color = color
        self.li = li
        self.ss = ss
        self.m = m
        self.nested = nested
        self.inner = inner
        self.inners = inners
        self.mi = mi
        self.u = u
        self.colors = colors
        self.bools = bools
        self.ds = ds
        self.mcl = mcl
        self.sl = sl
        self.bys = bys
        self.shs = shs
        self.bins = bins
        self.mb = mb
        self.lm = lm
        self.lset = lset
        self.opt = opt


class Medium(_Base):
    __slots__ = (
        "id", "name", "description", "quantity", "price", "active", "tags", "history",
        "attrs", "items", "color", "version", "payload", "grid", "owner",
    )

    def __init__(self, *, id=None, name=None, description=None, quantity=None, price=None,
                 active=None, tags=None, history=None, attrs=None, items=None, color=None,
                 version=None, payload=None, grid=None, owner=None):
        self.id = id
        self.name = name
        self.description = description
        self.quantity = quantity
        self.price = price
        self.active = active
        self.tags = tags
        self.history = history
        self.attrs = attrs
        self.items = items
        self.color = color
        self.version = version
        self.payload = payload
        self.grid = grid
        self.owner = owner


class WithUuid(_Base):
    """Not in IDL (Apache 0.17 has no uuid): ``1: uuid id, 2: list<uuid> ids, 3: map<uuid, i32> m``."""

    __slots__ = ("id", "ids", "m")

    def __init__(self, *, id=None, ids=None, m=None):
        self.id = id
        self.ids = ids
        self.m = m


class Negative(_Base):
    """Declared with negative ids: ``-1: i32 a, 2: string b, -3: list<i16> c``."""

    __slots__ = ("a", "b", "c")
    _tg_spec_by_declaration = True

    def __init__(self, *, a=None, b=None, c=None):
        self.a = a
        self.b = b
        self.c = c


class Ping_args(_Base):
    __slots__ = ("x",)

    def __init__(self, *, x=None):
        self.x = x


class Ping_result(_Base):
    __slots__ = ("success",)

    def __init__(self, *, success=None):
        self.success = success


all_structs = []

all_structs.append(Inner)
Inner.thrift_spec = (
    None,
    (1, TType.STRING, "name", "UTF8", None),
    (2, TType.I64, "n", None, None),
    (3, TType.STRING, "blob", "BINARY", None),
)
all_structs.append(U)
U.thrift_spec = (
    None,
    (1, TType.I32, "a", None, None),
    (2, TType.STRING, "b", "UTF8", None),
    (3, TType.STRUCT, "c", [Inner, None], None),
)
all_structs.append(Node)
Node.thrift_spec = (
    None,
    (1, TType.I32, "v", None, None),
    (2, TType.STRUCT, "nxt", [Node, None], None),
)
all_structs.append(Tree)
Tree.thrift_spec = (
    None,
    (1, TType.I32, "v", None, None),
    (2, TType.LIST, "kids", (TType.STRUCT, [Tree, None], False), None),
)
all_structs.append(Oops)
Oops.thrift_spec = (
    None,
    (1, TType.STRING, "msg", "UTF8", None),
    (2, TType.I32, "code", None, 5),
)
all_structs.append(All)
All.thrift_spec = (
    None,
    (1, TType.BOOL, "b", None, None),
    (2, TType.BYTE, "by", None, None),
    (3, TType.I16, "s", None, None),
    (4, TType.I32, "i", None, None),
    (5, TType.I64, "l", None, None),
    (6, TType.DOUBLE, "d", None, None),
    (7, TType.STRING, "str", "UTF8", None),
    (8, TType.STRING, "bin", "BINARY", None),
    (9, TType.I32, "color", Color, None),
    (10, TType.LIST, "li", (TType.I32, None, False), None),
    (11, TType.SET, "ss", (TType.STRING, "UTF8", False), None),
    (12, TType.MAP, "m", (TType.STRING, "UTF8", TType.I64, None, False), None),
    (13, TType.LIST, "nested", (TType.LIST, (TType.I32, None, False), False), None),
    (14, TType.STRUCT, "inner", [Inner, None], None),
    (15, TType.LIST, "inners", (TType.STRUCT, [Inner, None], False), None),
    (16, TType.MAP, "mi", (TType.I32, None, TType.STRUCT, [Inner, None], False), None),
    (17, TType.STRUCT, "u", [U, None], None),
    (18, TType.LIST, "colors", (TType.I32, Color, False), None),
    (19, TType.LIST, "bools", (TType.BOOL, None, False), None),
    (20, TType.LIST, "ds", (TType.DOUBLE, None, False), None),
    None,
    (22, TType.MAP, "mcl", (TType.I32, Color, TType.LIST, (TType.STRING, "UTF8", False), False), None),
    (23, TType.SET, "sl", (TType.I64, None, False), None),
    (24, TType.LIST, "bys", (TType.BYTE, None, False), None),
    (25, TType.LIST, "shs", (TType.I16, None, False), None),
    (26, TType.LIST, "bins", (TType.STRING, "BINARY", False), None),
    (27, TType.MAP, "mb", (TType.I16, None, TType.BOOL, None, False), None),
    (28, TType.LIST, "lm", (TType.MAP, (TType.STRING, "UTF8", TType.I32, None, False), False), None),
    (29, TType.LIST, "lset", (TType.SET, (TType.I32, None, False), False), None),
    (30, TType.STRING, "opt", "UTF8", "x"),
)
all_structs.append(Medium)
Medium.thrift_spec = (
    None,
    (1, TType.I64, "id", None, None),
    (2, TType.STRING, "name", "UTF8", None),
    (3, TType.STRING, "description", "UTF8", None),
    (4, TType.I32, "quantity", None, None),
    (5, TType.DOUBLE, "price", None, None),
    (6, TType.BOOL, "active", None, None),
    (7, TType.LIST, "tags", (TType.STRING, "UTF8", False), None),
    (8, TType.LIST, "history", (TType.I64, None, False), None),
    (9, TType.MAP, "attrs", (TType.STRING, "UTF8", TType.STRING, "UTF8", False), None),
    (10, TType.LIST, "items", (TType.STRUCT, [Inner, None], False), None),
    (11, TType.I32, "color", Color, None),
    (12, TType.I16, "version", None, None),
    (13, TType.STRING, "payload", "BINARY", None),
    (14, TType.LIST, "grid", (TType.LIST, (TType.I32, None, False), False), None),
    (15, TType.STRUCT, "owner", [Inner, None], None),
)
all_structs.append(WithUuid)
WithUuid.thrift_spec = (
    None,
    (1, TType.UUID, "id", None, None),
    (2, TType.LIST, "ids", (TType.UUID, None, False), None),
    (3, TType.MAP, "m", (TType.UUID, None, TType.I32, None, False), None),
)
all_structs.append(Negative)
Negative.thrift_spec = (
    (-1, TType.I32, "a", None, None),
    (2, TType.STRING, "b", "UTF8", None),
    (-3, TType.LIST, "c", (TType.I16, None, False), None),
)
all_structs.append(Ping_args)
Ping_args.thrift_spec = (
    None,
    (1, TType.I32, "x", None, None),
)
all_structs.append(Ping_result)
Ping_result.thrift_spec = (
    (0, TType.I32, "success", None, None),
)


def _fix_spec(structs):
    """Fill ``[Cls, None]`` struct args with ``Cls.thrift_spec`` (like TRecursive)."""

    def fix(ttype, args):
        if ttype == TType.STRUCT and isinstance(args, list) and args[1] is None:
            args[1] = args[0].thrift_spec
        elif ttype in (TType.LIST, TType.SET):
            fix(args[0], args[1])
        elif ttype == TType.MAP:
            fix(args[0], args[1])
            fix(args[2], args[3])

    for cls in structs:
        for entry in cls.thrift_spec:
            if entry is not None:
                fix(entry[1], entry[3])


_fix_spec(all_structs)
del all_structs
