"""black, in-process, with one fixed mode: the judge of the output's layout.

What "black by default" guarantees. The generator lays code out as black does
(:mod:`~thriftgen.codegen.pyexpr` reproduces black's line splitting, the
templates its blank lines), and the test suite proves ``-thrift no_fmt`` output
byte-identical to black's on every fixture, the Apache corpus and synthetic
IDLs. Running black over all of it anyway is unaffordable at scale (black
formats ~90 kB/s; 60k synthetic structs generate ~190 MB, half an hour of
black on two cores), so :func:`format_files` *verifies*:

* Python output up to :data:`VERIFY_WHOLE` bytes in total is checked whole
  (every file through black, as before).
* Larger output is checked on a deterministic sample of about
  :data:`VERIFY_BUDGET` bytes, cut at
  top-level statements (class, assignment, call) so each piece is a module
  black can format alone: every file's head (imports into the first
  definitions) and tail, then pieces spread evenly over each file (in
  proportion to its size), each preferring a nearby statement with unusual
  content (non-ASCII text, a line of 80+ columns, a backslash), each with the
  statement before it so the blank lines between definitions are checked too.
  ``# fmt: off`` regions (black leaves them alone) and single statements over
  :data:`MAX_STATEMENT` (a big module's ``__all__``) are not sampled.
* If black would change any checked piece, the generator has a layout bug:
  every file is then formatted by black in full (slow, but the output is
  exactly black's) and, given a sink, a warning says so. A file black cannot
  parse still raises :class:`FormatError`.

So the output is black's wherever black ran and the templates' (black-stable by
construction and by test) elsewhere; a layout bug the sample misses stays
unformatted until a test or a user finds it. ``-thrift no_fmt`` skips black.

Measured (2 cores, black imported before forking so workers start warm):
store fixture, 25 files / 191 kB, verified whole: 963 ms serial, 697 ms with 2
forked workers; 10k synthetic structs, 31 MB: a 156 kB sample in 0.74 s serial
instead of ~6 minutes of black on two cores.
"""

from __future__ import annotations

import bisect
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from typing import Optional

from thriftgen.runtime.errors import ThriftgenError

_MODE = None

#: Python output up to this many bytes is verified whole (~1.5 s of black) ...
VERIFY_WHOLE = 128 * 1024
#: ... larger output on a sample of about this size plus each file's head and tail
#: (template-level mistakes show in almost every statement; a sample finds them).
VERIFY_BUDGET = 64 * 1024
#: Bytes of each file's start (imports into the first classes) and end always checked.
HEAD_BYTES = 2048
TAIL_BYTES = 1024
#: Statements longer than this (the ``__all__`` and ``fix_specs`` name lists of a big
#: module) are verified only where the whole file is; a neighbour up to
#: MAX_NEIGHBOUR bytes is verified with the statement after it.
MAX_STATEMENT = 16 * 1024
MAX_NEIGHBOUR = 4 * 1024
#: How far from each sample point a statement with unusual content is looked for
#: (the search must not scan a whole 20 MB module).
RISKY_WINDOW = 32 * 1024

# A top-level statement starts at column 0 and is not a closing bracket, the
# continuation of a compound statement or the target of a decorator.
_LINE_START = re.compile(r"\n(?=[^\s)\]}])")
_CONTINUATION = re.compile(r"(?:else|elif|except|finally)\b")
_RISKY = re.compile(r"[^\x00-\x7f]|\\|^[^\n]{80,}$", re.MULTILINE)


class FormatError(ThriftgenError):
    """black rejected generated code (a generator bug)."""


def black_mode():
    global _MODE
    if _MODE is None:
        import black

        _MODE = black.Mode()  # line length 88, double quotes: black's defaults
    return _MODE


def format_source(text: str, path: str = "<generated>") -> str:
    import black

    try:
        return black.format_str(text, mode=black_mode())
    except Exception as e:  # black raises several unrelated types
        raise FormatError(f"black cannot format generated {path}: {e}") from e


def _pool_map(func, *iterables, jobs: int, n: int) -> list:
    """``map`` over ``jobs`` forked workers, or serially (see :func:`format_all`)."""
    if jobs > 1 and n > 1 and "fork" in multiprocessing.get_all_start_methods():
        black_mode()  # imported before forking: workers start warm
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
            return list(pool.map(func, *iterables, chunksize=max(1, n // (jobs * 4))))
    return list(map(func, *iterables))


def _jobs(jobs: int, n: int) -> int:
    if jobs == 0:
        jobs = min(os.cpu_count() or 1, 4, n)
    return jobs


def format_all(files: dict, jobs: int = 1) -> dict:
    """``{path: text}`` with every ``.py`` text run through black, whole.

    ``jobs > 1`` formats in that many forked worker processes (falls back to
    serial where ``fork`` is unavailable); ``jobs == 0`` picks from the CPU
    count. The library default stays serial: forking inside a caller's threaded
    process is not ours to decide.
    """
    paths = [p for p in files if p.endswith(".py")]
    out = dict(files)
    texts = _pool_map(format_source, [files[p] for p in paths], paths,
                      jobs=_jobs(jobs, len(paths)), n=len(paths))
    out.update(zip(paths, texts))
    return out


# --------------------------------------------------------------------------- verification


def _is_start(text: str, i: int) -> bool:
    """Whether a top-level statement starts at line start ``i`` (or the text ends)."""
    if i == 0 or i >= len(text):
        return True
    if text[i] in " \t\r\n)]}" or _CONTINUATION.match(text, i):
        return False
    return text[text.rfind("\n", 0, i - 1) + 1] != "@"


def _start_at_or_before(text: str, pos: int, floor: int) -> Optional[int]:
    """The statement start at or before ``pos``; None if there is none down to ``floor``."""
    i = text.rfind("\n", 0, pos) + 1
    while not _is_start(text, i):
        if i <= floor:
            return None
        i = text.rfind("\n", 0, i - 1) + 1
    return i if i >= floor else None


def _start_after(text: str, pos: int, ceiling: int) -> Optional[int]:
    """The first statement start after ``pos``; None if there is none up to ``ceiling``."""
    ceiling = min(ceiling, len(text))
    m = _LINE_START.search(text, pos, ceiling)
    while m is not None:
        if _is_start(text, m.start() + 1):
            return m.start() + 1
        m = _LINE_START.search(text, m.start() + 1, ceiling)
    return len(text) if ceiling == len(text) else None


class _Sampler:
    """Statement-aligned pieces of one text, avoiding ``# fmt: off`` regions (black
    leaves those alone, so a piece of one, formatted alone, would not be)."""

    def __init__(self, text: str):
        self.text = text
        self.off = []  # (start, end) of each ``# fmt: off`` ... ``# fmt: on`` region
        start = 0 if text.startswith("# fmt: off\n") else text.find("\n# fmt: off\n")
        while start >= 0:
            on = text.find("\n# fmt: on\n", start + 1)
            end = len(text) if on < 0 else on + len("\n# fmt: on\n")
            self.off.append((start, end))
            start = text.find("\n# fmt: off\n", end - 1)
        self.off_starts = [a for a, _ in self.off]

    def in_off(self, start: int, end: int) -> Optional[int]:
        """End of a ``fmt: off`` region overlapping [start, end), or None."""
        i = bisect.bisect_right(self.off_starts, end) - 1
        if i >= 0 and self.off[i][1] > start:
            return self.off[i][1]
        return None

    def piece(self, pos: int) -> tuple:
        """``(start, end)`` of the statement holding ``pos`` with the one before it when
        that is small (the blank lines between them are then checked too), or
        ``(None, resume)`` when it is too big to sample or in a ``fmt: off`` region."""
        text = self.text
        block = _start_at_or_before(text, pos, pos - MAX_STATEMENT)
        if block is None:
            return None, _start_after(text, pos, len(text))
        end = _start_after(text, block, block + MAX_STATEMENT)
        if end is None:
            return None, _start_after(text, pos, len(text))
        before = _start_at_or_before(text, block - 1, block - MAX_NEIGHBOUR) if block else None
        start = before if before is not None else block
        off = self.in_off(start, end)
        if off is not None:
            return None, max(end, off)
        return start, end


def sample_pieces(text: str, budget: int) -> list:
    """``[(start, end)]`` spans of ``text`` to verify: its head and tail plus about
    ``budget`` bytes of statements in between (the whole text when that is about as
    much); sorted and disjoint. Only the sampled neighbourhoods are scanned."""
    n = len(text)
    if n <= budget + HEAD_BYTES + TAIL_BYTES:
        return [(0, n)]
    sampler = _Sampler(text)
    head_end = 0  # small statements from the top
    while head_end < min(HEAD_BYTES, n):
        nxt = _start_after(text, head_end, HEAD_BYTES + MAX_NEIGHBOUR)
        if nxt is None or sampler.in_off(head_end, nxt) is not None:
            break
        head_end = nxt
    tail_start = n  # small statements from the bottom
    while tail_start > max(head_end, n - TAIL_BYTES):
        prev = _start_at_or_before(text, tail_start - 1, n - TAIL_BYTES - MAX_NEIGHBOUR)
        if prev is None or prev < head_end or sampler.in_off(prev, tail_start) is not None:
            break
        tail_start = prev
    spans = [(0, head_end), (tail_start, n)]
    spans.extend(_spread(sampler, head_end, tail_start, budget))
    return _merge([s for s in spans if s[1] > s[0]])


def _spread(sampler: _Sampler, lo: int, hi: int, budget: int) -> list:
    """Pieces spread evenly over [lo, hi) outside fmt: off regions, as many as
    ``budget`` buys at the size of a piece from the middle. In each stretch a
    statement with unusual content (non-ASCII, a long line, a backslash), if any,
    is preferred to the one in the middle."""
    gaps, pos = [], lo
    for a, b in sampler.off:
        if b <= lo or a >= hi:
            continue
        if a > pos:
            gaps.append((pos, a))
        pos = max(pos, b)
    if pos < hi:
        gaps.append((pos, hi))
    total = sum(b - a for a, b in gaps)
    if budget <= 0 or total <= 0:
        return []
    probe = None
    for a, b in gaps:
        start, end = sampler.piece((a + b) // 2)
        if start is not None:
            probe = end - start
            break
    count = max(1, int(budget / max(256, probe or 4096)))
    step = total / count
    out, left, offset = [], budget, 0.0
    text = sampler.text
    for a, b in gaps:
        while offset < b - a and left > 0:
            cell = int(a + offset)
            m = _RISKY.search(text, cell, min(b, int(cell + step), cell + RISKY_WINDOW))
            start, end = sampler.piece(m.start() if m else int(cell + step / 2))
            if start is None and m is not None:
                start, end = sampler.piece(int(cell + step / 2))
            if start is not None and lo <= start and end <= hi:
                out.append((start, end))
                left -= end - start
            offset += step
        offset -= b - a
    return out


def _merge(spans: list) -> list:
    out: list = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _piece_text(text: str, start: int, end: int) -> str:
    # Alone, a piece starts a module: black drops blank lines before it and wants one
    # newline at its end, whatever separates it from the next statement in the file.
    return text[start:end].lstrip("\n").rstrip("\n") + "\n"


def _verify_piece(path: str, piece: str) -> Optional[bool]:
    """True: black leaves it alone; False: black changes it; None: black cannot
    parse it alone (an unusual statement split; the caller checks the file whole)."""
    import black

    try:
        return black.format_str(piece, mode=black_mode()) == piece
    except Exception:
        return None


def verify_plan(files: dict, budget: int = VERIFY_BUDGET, whole: int = VERIFY_WHOLE) -> list:
    """``[(path, piece text)]``: what :func:`format_files` runs black on."""
    paths = [p for p in files if p.endswith(".py")]
    total = sum(len(files[p]) for p in paths)
    plan = []
    for p in paths:
        text = files[p]
        if not text:
            continue
        share = len(text) if total <= whole else int(budget * len(text) / total)
        for start, end in sample_pieces(text, share):
            plan.append((p, _piece_text(text, start, end) if (start, end) != (0, len(text))
                         else text))
    return plan


def format_files(files: dict, jobs: int = 1, sink=None, budget: int = VERIFY_BUDGET,
                 whole: int = VERIFY_WHOLE) -> dict:
    """``{path: text}`` that black leaves unchanged: verified, and formatted by black
    where needed (see the module doc for exactly what is checked).

    ``jobs``: as :func:`format_all`. ``sink``: a DiagnosticSink that gets a warning
    when black disagrees with the generator's layout.
    """
    plan = verify_plan(files, budget, whole)
    whole = {p for p, piece in plan if piece is files[p]}
    verdicts = _pool_map(_verify_piece, [p for p, _ in plan], [piece for _, piece in plan],
                         jobs=_jobs(jobs, len(plan)), n=len(plan))
    changed = sorted({p for (p, _), ok in zip(plan, verdicts) if ok is False})
    unsplittable = sorted({p for (p, _), ok in zip(plan, verdicts) if ok is None})
    for p in unsplittable:
        if p in whole:
            format_source(files[p], p)  # raises FormatError: black cannot parse the file
    if changed:
        if sink is not None:
            sink.warning(f"black would change the layout of {len(changed)} generated file(s) "
                         f"(first: {changed[0]}): a thriftgen bug, please report it; "
                         "formatting every file with black")
        return format_all(files, jobs)
    if unsplittable:
        out = dict(files)
        out.update(format_all({p: files[p] for p in unsplittable}, jobs))
        return out
    return dict(files)
