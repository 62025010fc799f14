"""Helpers shared by the field-mask tests (this module holds no tests).

* :data:`FM_IDL` / :data:`KW_IDL`: the test IDLs (the second one uses Python
  keywords as field names, which Apache's compiler rejects);
* :func:`generated`: our classes (default and slim templates, with
  ``-thrift with_field_mask``; default without it) and Apache's, importable
  while the context is open;
* an independent oracle: :func:`oracle_prune` applies paths to a value
  directly (its own little path reader, no FieldMask code), which the tests
  compare masked encode/decode against;
* hypothesis strategies for values and paths of ``Tree``.
"""

from __future__ import annotations

import contextlib
import enum
import importlib
import json
import re
from pathlib import Path

from hypothesis import strategies as st

from test_codegen_util import APACHE, apache_gen, gen_into, importable

FM_IDL = """
namespace py fmt.model

enum Kind { A = 1, B = 2, C = 7 }

struct Leaf {
  1: string name
  2: optional i64 n
  3: binary blob
  4: required i32 code
}

struct Tree {
  1: required i64 id
  2: string name
  3: list<Leaf> leaves
  4: set<string> tags
  5: map<string, Leaf> by_name
  6: map<i32, list<Leaf>> by_num
  7: optional Leaf main
  8: list<list<i32>> grid
  9: map<Kind, string> kinds
  10: bool flag
  11: double score
  12: map<double, i32> weights
  13: list<i64> nums
  14: required Leaf must
  15: i32 rank = 5
  16: list<i32> extra = [1]
}

struct Req {
  1: string q
  2: optional binary field_mask
}

service Svc {
  Tree get(1: Req req)
}
"""

KW_IDL = """
namespace py fmt.kw

struct Kw {
  1: string from
  2: i32 field_mask
  3: required string pass
  4: list<string> items
}
"""

#: (package prefix, thrift options) per variant of our generated code
VARIANTS = {
    "default": ("fmd", "with_field_mask"),
    "slim": ("fms", "template=slim,with_field_mask"),
    "plain": ("fmp", ""),  # no with_field_mask: masks still work, no tables
}


def _options(opts: str) -> dict:
    out = {}
    for item in filter(None, opts.split(",")):
        name, _, value = item.partition("=")
        out[name] = value or True
    return out


@contextlib.contextmanager
def generated(root: Path, apache: bool = False):
    """Generate the test IDLs into ``root``; yield ``import_module``."""
    (root / "fm.thrift").write_text(FM_IDL)
    (root / "kw.thrift").write_text(KW_IDL)
    dirs = []
    for name, (prefix, opts) in VARIANTS.items():
        out = root / name
        gen_into(out, [root / "fm.thrift", root / "kw.thrift"], package_prefix=prefix,
                 no_fmt=True, **_options(opts))
        dirs.append(out)
    if apache and APACHE is not None:
        dirs.append(apache_gen(root / "apache", root / "fm.thrift"))
    with importable(*dirs):
        yield importlib.import_module


# --------------------------------------------------------------------------- oracle

_TOKEN = re.compile(r'\s*(\$|\.|\[|\]|\{|\}|,|\*|"(?:[^"\\]|\\.)*"|-?\d+|[A-Za-z_]\w*)')


def parse_path(text: str) -> list:
    """``$.a[0,1]{"k"}`` -> [("f", "a"), ("i", [0, 1]), ("k", ["k"])] ('*' for all)."""
    toks = [m.group(1) for m in _TOKEN.finditer(text)]
    assert toks[0] == "$"
    out, i = [], 1
    while i < len(toks):
        t = toks[i]
        if t == ".":
            out.append(("f", toks[i + 1]))
            i += 2
            continue
        close = "]" if t == "[" else "}"
        items = []
        i += 1
        while toks[i] != close:
            if toks[i] != ",":
                items.append(toks[i])
            i += 1
        i += 1
        kind = "i" if t == "[" else "k"
        if items == ["*"]:
            out.append((kind, "*"))
        else:
            out.append((kind, [json.loads(x) for x in items]))
    return out


def _spec(cls):
    return {e[2]: e for e in cls.thrift_spec if e is not None}


def _required(cls):
    return set(getattr(cls, "_tg_required", ()) or ())


def _field_of(cls, name):
    for e in cls.thrift_spec:
        if e is not None and (e[2] == name or str(e[0]) == name):
            return e
    idl = getattr(cls, "_tg_idl_names", {}) or {}
    return _spec(cls)[idl[name]]


def _matches(seg, kind, key):
    if seg[0] != kind:
        return False
    return seg[1] == "*" or key in seg[1]


def oracle_prune(value, paths: list, black: bool):
    """``value`` with what ``paths`` (parsed) select kept (white) or removed (black)."""
    if not paths:
        return value
    if black and any(not p for p in paths):  # '$' in a black list: only required fields
        return _prune(value, [[("f", "*")]], True)
    return _prune(value, paths, black)


def _prune(v, paths, black):
    if any(not p for p in paths):  # a path ended here
        return _DROP if black else v
    spec = getattr(type(v), "thrift_spec", None)
    if spec is not None:
        cls = type(v)
        new = cls.__new__(cls)
        req = _required(cls)
        for e in spec:
            if e is None:
                continue
            attr = e[2]
            subs = [p[1:] for p in paths if p[0] == ("f", "*")
                    or (p[0][0] == "f" and _field_of(cls, p[0][1])[2] == attr)]
            x = getattr(v, attr)
            if subs:
                r = _prune(x, subs, black) if x is not None else None
            else:
                r = x if black else _DROP
            if r is _DROP:
                r = x if attr in req else None
            setattr(new, attr, r)
        return new
    if isinstance(v, list):
        out = []
        for i, x in enumerate(v):
            subs = [p[1:] for p in paths if _matches(p[0], "i", i)]
            r = _prune(x, subs, black) if subs else (x if black else _DROP)
            if r is not _DROP:
                out.append(r)
        return out
    if isinstance(v, (set, frozenset)):
        subs = [p[1:] for p in paths if _matches(p[0], "i", None)]
        keep = (not subs and black) or (subs and not black)
        return v if keep else set()
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            key = int(k) if isinstance(k, enum.Enum) else k
            subs = [p[1:] for p in paths if _matches(p[0], "k", key)]
            r = _prune(x, subs, black) if subs else (x if black else _DROP)
            if r is not _DROP:
                out[k] = r
        return out
    raise AssertionError("path goes below a scalar")


_DROP = object()


def plain(value):
    """Ours, Apache's or thriftpy2's value as plain data (for comparisons)."""
    spec = getattr(type(value), "thrift_spec", None)
    if isinstance(spec, dict):  # thriftpy2
        return {e[1]: plain(getattr(value, e[1])) for e in spec.values()}
    if spec is not None:
        return {e[2]: plain(getattr(value, e[2])) for e in spec if e is not None}
    if isinstance(value, enum.Enum):
        return int(value)
    if isinstance(value, (list, tuple)):
        return [plain(x) for x in value]
    if isinstance(value, (set, frozenset)):
        return sorted(plain(x) for x in value)
    if isinstance(value, dict):
        return {plain(k): plain(x) for k, x in value.items()}
    return value


# --------------------------------------------------------------------------- strategies

KEYS = ["a", "b", "c"]


def leaf_strategy(m):
    return st.builds(m.Leaf, name=st.none() | st.sampled_from(["x", "yy", "é"]),
                     n=st.none() | st.integers(-3, 3), blob=st.none() | st.binary(max_size=3),
                     code=st.integers(-5, 5))


def tree_strategy(m):
    leaf = leaf_strategy(m)
    small = dict(max_size=3)
    return st.builds(
        m.Tree,
        id=st.integers(-(1 << 40), 1 << 40),
        name=st.none() | st.text(max_size=4),
        leaves=st.none() | st.lists(leaf, **small),
        tags=st.none() | st.sets(st.sampled_from(KEYS), **small),
        by_name=st.none() | st.dictionaries(st.sampled_from(KEYS), leaf, **small),
        by_num=st.none() | st.dictionaries(st.integers(0, 3), st.lists(leaf, max_size=2), **small),
        main=st.none() | leaf,
        grid=st.none() | st.lists(st.lists(st.integers(-9, 9), max_size=3), **small),
        kinds=st.none() | st.dictionaries(st.sampled_from(list(m.Kind)), st.text(max_size=2),
                                          **small),
        flag=st.none() | st.booleans(),
        score=st.none() | st.floats(allow_nan=False),
        weights=st.none() | st.dictionaries(st.floats(-2, 2, allow_nan=False),
                                            st.integers(0, 9), **small),
        nums=st.none() | st.lists(st.integers(-5, 5), **small),
        must=leaf,
        rank=st.none() | st.integers(0, 9),
        extra=st.none() | st.lists(st.integers(0, 3), max_size=2),
    )


LEAF_PATHS = [".name", ".n", ".blob", ".code", ".*", "", ".1", ".3"]


@st.composite
def tree_paths(draw):
    """One path into Tree (conflicts with '*' are possible: tests skip them)."""
    def idx():
        return draw(st.sampled_from(["[*]", "[0]", "[1]", "[0,2]", "[2,0]"]))

    leaf = draw(st.sampled_from(LEAF_PATHS))
    choice = draw(st.sampled_from([
        "$", "$.id", "$.name", "$.2", "$.tags", "$.tags[*]", "$.flag", "$.score", "$.rank",
        "$.weights", "$.weights{*}", "$.nums", "$.extra[1]", "LEAVES", "BY_NAME", "BY_NUM",
        "MAIN", "GRID", "KINDS", "MUST", "$.*"]))
    if choice == "LEAVES":
        return "$.leaves" + draw(st.sampled_from(["", idx() + leaf]))
    if choice == "BY_NAME":
        keys = draw(st.sampled_from(['{*}', '{"a"}', '{"b","c"}']))
        return "$.by_name" + draw(st.sampled_from(["", keys + leaf]))
    if choice == "BY_NUM":
        keys = draw(st.sampled_from(["{*}", "{0}", "{1,3}"]))
        return "$.by_num" + draw(st.sampled_from(["", keys, keys + idx(), keys + idx() + leaf]))
    if choice == "MAIN":
        return "$.main" + leaf
    if choice == "MUST":
        return "$.must" + leaf
    if choice == "GRID":
        return "$.grid" + draw(st.sampled_from(["", idx(), idx() + idx()]))
    if choice == "KINDS":
        return "$.kinds" + draw(st.sampled_from(["", "{*}", "{1}", "{2,7}"]))
    return choice
