"""Hypothesis strategies derived from a class's ``thrift_spec``."""

from hypothesis import strategies as st

from thriftgen.runtime import TType

INT_BOUNDS = {TType.BYTE: 8, TType.I16: 16, TType.I32: 32, TType.I64: 64}


def int_strategy(bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    edges = [lo, lo + 1, -1, 0, 1, hi - 1, hi, 127, -128, 128, -129]
    edges = [e for e in edges if lo <= e <= hi]
    return st.one_of(st.sampled_from(edges), st.integers(lo, hi))


DOUBLES = st.one_of(
    st.sampled_from([0.0, -0.0, float("nan"), float("inf"), float("-inf"), 5e-324, 1.7976931348623157e308]),
    st.floats(allow_nan=True, allow_infinity=True),
)
TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "héllo wörld", "日本語", "emoji \U0001f600", "\x00nul", "\ufeffbom"]),
)


def value_strategy(ttype, targs, depth, max_size=4):
    """Strategy for one value; None when the type cannot be built at ``depth``."""
    if ttype == TType.BOOL:
        return st.booleans()
    if ttype in INT_BOUNDS:
        ints = int_strategy(INT_BOUNDS[ttype])
        if ttype == TType.I32 and isinstance(targs, type):
            # enum: known members and unknown plain ints
            return st.one_of(st.sampled_from(list(targs)), ints)
        return ints
    if ttype == TType.DOUBLE:
        return DOUBLES
    if ttype == TType.STRING:
        return st.binary(max_size=16) if targs == "BINARY" else TEXT
    if ttype == TType.UUID:
        return st.uuids()
    if ttype == TType.STRUCT:
        if depth <= 0:
            return None
        return struct_strategy(targs[0], depth - 1, max_size)
    if ttype in (TType.LIST, TType.SET):
        elem = value_strategy(targs[0], targs[1], depth, max_size)
        if elem is None:
            return st.just([] if ttype == TType.LIST else set())
        if ttype == TType.SET:
            return st.sets(elem, max_size=max_size)
        return st.lists(elem, max_size=max_size)
    if ttype == TType.MAP:
        key = value_strategy(targs[0], targs[1], depth, max_size)
        val = value_strategy(targs[2], targs[3], depth, max_size)
        if key is None or val is None:
            return st.just({})
        return st.dictionaries(key, val, max_size=max(1, max_size - 1))
    raise AssertionError(ttype)


def struct_strategy(cls, depth=3, max_size=4):
    entries = [e for e in cls.thrift_spec if e is not None]
    fields = {}
    for fid, ttype, attr, targs, default in entries:
        s = value_strategy(ttype, targs, depth, max_size)
        if s is not None:
            fields[attr] = s
    if getattr(cls, "_tg_is_union", False):
        options = [st.just(None).map(lambda _: cls())]
        for attr, s in fields.items():
            options.append(s.map(lambda v, attr=attr: cls(**{attr: v})))
        return st.one_of(options)

    def build(kw):
        obj = cls()
        for k, v in kw.items():
            setattr(obj, k, v)
        return obj

    # every field may be unset (None) -- including ones with IDL defaults
    return st.fixed_dictionaries({}, optional={a: st.one_of(st.none(), s) for a, s in fields.items()}).map(build)
