"""The view model's fast line builders agree with the expression layout (and with black)."""

from __future__ import annotations

import keyword

import black
from hypothesis import given, settings, strategies as st

from thriftgen.codegen.pyexpr import Atom, assign, assign_tuple, call, def_line, kwarg, tuple_

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,30}", fullmatch=True).filter(
    lambda n: not keyword.iskeyword(n) and not keyword.issoftkeyword(n))
STRINGS = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters='"\\'),
                  max_size=60).map(lambda s: f'"{s}"')
ITEMS = st.one_of(NAMES, STRINGS, st.builds(lambda f, a: call(f, [a]), NAMES, STRINGS))
MODE = black.Mode()


def black_stable(code: str) -> bool:
    return black.format_str(code, mode=MODE) == code


@settings(max_examples=150, deadline=None)
@given(NAMES, st.lists(ITEMS, max_size=12), st.sampled_from(["", "    ", "        "]))
def test_assign_tuple_equals_assign_of_a_tuple(target, items, indent):
    fast = assign_tuple(target, items, indent)
    assert fast == assign(target, tuple_(items), indent)
    if not indent:
        assert black_stable(fast + "\n")


@settings(max_examples=150, deadline=None)
@given(NAMES, st.lists(st.tuples(NAMES, ITEMS), max_size=10), NAMES)
def test_def_line_takes_strings_or_expressions(name, params, returns):
    as_text = [f"{p}={v if isinstance(v, str) else v.flat()}" for p, v in params]
    as_expr = [kwarg(p, v if not isinstance(v, str) else Atom(v)) for p, v in params]
    line = def_line(name, as_text, returns, "    ")
    assert line == def_line(name, as_expr, returns, "    ")
    assert black_stable(f"class C:\n{line}\n        pass\n")
