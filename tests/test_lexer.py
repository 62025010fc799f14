"""The fast token stream must agree with PLY's own lexer token for token."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from thriftgen.idl.lexer import LexError, TokenStream, build_lexer

REPO = Path(__file__).resolve().parents[1]


def ply_tokens(text: str):
    lx = build_lexer()
    lx.input(text)
    out = []
    while True:
        tok = lx.token()
        if tok is None:
            return out, lx.comments
        out.append((tok.type, tok.value, tok.lexpos))


def stream_tokens(text: str):
    ts = TokenStream(text)
    out = []
    while True:
        tok = ts.token()
        if tok is None:
            return out, ts.comments
        out.append((tok.type, tok.value, tok.lexpos))


def sources() -> list[Path]:
    files = sorted(REPO.glob("fixtures/**/*.thrift"))
    corpus = REPO.parent / "shared" / "corpus" / "apache-thrift"
    if corpus.is_dir():
        files += sorted(corpus.glob("**/*.thrift"))
    return files


@pytest.mark.parametrize("path", sources(), ids=lambda p: p.name)
def test_token_stream_matches_ply_lexer(path: Path):
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    try:
        expected = ply_tokens(text)
    except LexError as e:
        with pytest.raises(LexError) as got:
            stream_tokens(text)
        assert (got.value.offset, got.value.message) == (e.offset, e.message)
        return
    assert stream_tokens(text) == expected


def test_token_stream_matches_on_random_snippets():
    rng = random.Random(7)
    alphabet = list('abc_019.xX0o"\'\\/*#\n\t {}()<>[]=,;:&+-e') + ["struct", "//", "/*", "*/", "/**"]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        try:
            expected = ply_tokens(text)
        except LexError as e:
            with pytest.raises(LexError) as got:
                stream_tokens(text)
            assert (got.value.offset, got.value.message) == (e.offset, e.message), text
            continue
        assert stream_tokens(text) == expected, text


def test_keywords_and_numbers():
    toks, _ = stream_tokens("struct S { 1: required i64 x = -0x1F, 2: double d = 1.5e3 } # c")
    types = [t for t, _, _ in toks]
    assert types[:6] == ["STRUCT", "IDENTIFIER", "LBRACE", "INT_CONST", "COLON", "REQUIRED"]
    numbers = [(t, v) for t, v, _ in toks if t in ("INT_CONST", "DUB_CONST")]
    assert numbers == [("INT_CONST", 1), ("INT_CONST", -31), ("INT_CONST", 2), ("DUB_CONST", 1500.0)]
