"""Trimmed IDL text: the original files with removed parts cut out by source span.

Nothing is re-printed, so what survives keeps its text, order, comments and
formatting byte for byte. What goes with a removed definition, function or
include:

* its own span (keyword to trailing annotations and separator);
* the comments that lead it: those after the previous item that do not sit on
  that item's last line (a comment on the same line as an item's end trails
  that item, and goes with it);
* the whole lines it occupied, when nothing else shares them.

The comments before a file's first header always stay (the file header); before
a first *definition* only the block separated from it by a blank line stays.
Where cuts meet, runs of blank lines shrink to one, and none are left at the
start or end of a file.

Output layout (:func:`plan_layout`): files below the common directory of the
root files keep their path relative to it; a file outside it but inside a ``-I``
directory keeps its path relative to that directory; so relative includes still
resolve, and ``-I`` includes resolve with ``-I OUTDIR`` (or ``-I OUTDIR/sub``
when an include directory sat below the root directory: ``Layout.include_dirs``
lists them). The plan is checked by resolving every kept include the way the
loader does; when that fails (for instance a relative ``../`` include that the
preferred layout would break, or two files landing on one path) every file is
placed relative to the common directory of all the files and include
directories instead, which always preserves resolution.
"""

from __future__ import annotations

import bisect
import os
import posixpath
import re
from dataclasses import dataclass
from typing import Optional

from thriftgen.fileio import FileWriteError, replace_all, sweep_stale
from thriftgen.idl import ast
from thriftgen.runtime.errors import ThriftgenError
from thriftgen.trim.reachability import FileTrim, TrimResult


class TrimWriteError(ThriftgenError):
    """The trimmed IDL cannot be written (source changed, would overwrite input, ...)."""


def read_source(path: str) -> str:
    """The decoded text the spans index into (BOM dropped, newlines untouched)."""
    with open(path, "rb") as fh:
        return fh.read().decode("utf-8-sig")


# --------------------------------------------------------------------------- cutting


class _Comments:
    """The file's comments sorted by position, with range queries."""

    def __init__(self, comments: list):
        self.items = sorted(comments, key=lambda c: c.span.start)
        self.starts = [c.span.start for c in self.items]
        self.by_start = {c.span.start: c.span.end for c in self.items}

    def between(self, start: int, end: int) -> list:
        i = bisect.bisect_left(self.starts, start)
        out = []
        while i < len(self.items) and self.items[i].span.end <= end:
            out.append(self.items[i])
            i += 1
        return out


def _skip_trivia(text: str, pos: int, comments: _Comments) -> int:
    """First position at or after ``pos`` that is neither whitespace nor comment."""
    n = len(text)
    while pos < n:
        end = comments.by_start.get(pos)
        if end is not None:
            pos = end
        elif text[pos].isspace():
            pos += 1
        else:
            return pos
    return pos


def _find_code_char(text: str, start: int, end: int, ch: str, comments: _Comments) -> int:
    pos = start
    while pos < end:
        pos = _skip_trivia(text, pos, comments)
        if pos >= end or text[pos] == ch:
            return pos
        pos += 1
    return end


def _same_line(text: str, a: int, b: int) -> bool:
    return "\n" not in text[a:b]


def _owned_comments(text: str, items: list, comments: _Comments, region: tuple,
                    file_level: bool) -> list:
    """For each item, (first owned comment start, last owned comment end)."""
    owned = []
    n = len(items)
    for i, item in enumerate(items):
        s, e = item.span.start, item.span.end
        gap_start = items[i - 1].span.end if i else region[0]
        lead = comments.between(gap_start, s)
        if i or not file_level:
            # same-line comments after the previous item (or the opening brace) trail it
            lead = [c for c in lead if not _same_line(text, gap_start, c.span.start)]
        else:
            if isinstance(item, (ast.Include, ast.CppInclude, ast.Namespace)):
                lead = []  # before the first header: the file header
            else:  # only the block directly above the definition is its own
                k = len(lead)
                nxt = s
                while k and text[lead[k - 1].span.end:nxt].count("\n") <= 1:
                    k -= 1
                    nxt = lead[k].span.start
                lead = lead[k:]
        if lead:
            s = lead[0].span.start
        gap_end = items[i + 1].span.start if i + 1 < n else region[1]
        for c in comments.between(item.span.end, gap_end):
            if _same_line(text, item.span.end, c.span.start):
                e = max(e, c.span.end)
            else:
                break
        owned.append((s, e))
    return owned


def _line_cut(text: str, s: int, e: int) -> tuple:
    """Widen [s, e) to whole lines when nothing else shares them."""
    ls = text.rfind("\n", 0, s) + 1
    le = text.find("\n", e)
    le = len(text) if le < 0 else le
    left_blank = not text[ls:s].strip()
    right_blank = not text[e:le].strip()
    if left_blank and right_blank:
        return ls, min(le + 1, len(text))
    if right_blank:  # something stays before it on the line: keep the line break
        while s > ls and text[s - 1] in " \t":
            s -= 1
        return s, le
    while e < le and text[e] in " \t":
        e += 1
    return s, e


def _item_cuts(text: str, items: list, removed: set, comments: _Comments, region: tuple,
               file_level: bool) -> list:
    if not any(id(it) in removed for it in items):
        return []
    owned = _owned_comments(text, items, comments, region, file_level)
    return [_line_cut(text, s, e) for it, (s, e) in zip(items, owned) if id(it) in removed]


_TRIVIA = r"(?:\s|/\*.*?\*/|//[^\n]*|#[^\n]*)"
_EXTENDS = re.compile(rf"{_TRIVIA}+extends{_TRIVIA}+[A-Za-z_][\w.]*", re.DOTALL)


def _service_cuts(text: str, svc: ast.Service, ft: FileTrim, comments: _Comments) -> list:
    cuts = []
    brace = _find_code_char(text, svc.span.start, svc.span.end, "{", comments)
    if svc.name in ft.cut_extends:
        m = _EXTENDS.search(text, svc.span.start, brace)
        if m is None:
            raise TrimWriteError(f"cannot find the 'extends' of service {svc.name} to remove it")
        cuts.append((m.start(), m.end()))
    kept = ft.kept_functions.get(svc.name, set())
    removed = {id(f) for f in svc.functions if f.name not in kept}
    if removed:
        fns = svc.functions
        close = _skip_trivia(text, fns[-1].span.end, comments) if fns else brace
        cuts += _item_cuts(text, fns, removed, comments, (brace + 1, close), file_level=False)
    return cuts


def _merge(text: str, cuts: list) -> list:
    """Sorted, non-overlapping cuts; cuts separated only by whitespace become one."""
    cuts.sort()
    merged: list = []
    for s, e in cuts:
        prev_end = merged[-1][1] if merged else 0
        if merged and (s <= prev_end or (
                text[prev_end - 1] == "\n" and not text[prev_end:s].strip())):
            # overlapping, or whole-line cuts with only blank lines between them
            merged[-1] = (merged[-1][0], max(prev_end, e))
        else:
            merged.append((s, e))
    return merged


def _split_trailing_blank_lines(piece: str) -> tuple:
    """``(text through its last non-blank line, number of blank lines after it)``;
    None instead of the text when the piece is blank throughout."""
    stripped = piece.rstrip()
    if not stripped:
        return None, piece.count("\n")
    nl = piece.find("\n", len(stripped))
    if nl < 0:
        return piece, 0
    return piece[:nl + 1], piece.count("\n", nl + 1)


def _split_leading_blank_lines(piece: str) -> tuple:
    stripped = piece.lstrip()
    if not stripped:
        return piece.count("\n"), None
    first = len(piece) - len(stripped)
    line_start = piece.rfind("\n", 0, first) + 1
    return piece.count("\n", 0, line_start), piece[line_start:]


def _join(pieces: list, newline: str) -> str:
    """Join the text left between cuts (``(text, cut before it was whole lines)``). Where pieces meet on line boundaries, the
    blank lines around the seam shrink to at most one; to none at the start or
    end of the file, or next to the brace of a body whose first or last member
    was cut."""
    out = [pieces[0][0]]
    for right, whole_lines in pieces[1:]:
        if not whole_lines:  # the cut was inside a line: glue as is
            out.append(right)
            continue
        left = out.pop()
        while out and not left.strip():  # a blank piece between cuts: look further back
            left = out.pop() + left
        kept_left, blank_left = _split_trailing_blank_lines(left)
        blank_right, kept_right = _split_leading_blank_lines(right)
        at_start = kept_left is None
        at_end = kept_right is None
        brace = (kept_left is not None and kept_left.rstrip().endswith("{")) or (
            kept_right is not None and kept_right.lstrip().startswith("}"))
        blank = 0 if (at_start or at_end or brace) else min(1, blank_left + blank_right)
        out += [kept_left or "", newline * blank, kept_right or ""]
    return "".join(out)


def render_file(text: str, ft: FileTrim) -> str:
    """The trimmed text of one surviving file, cut from its original ``text``."""
    doc = ft.original.document
    if doc.source_len and doc.source_len != len(text):
        raise TrimWriteError(f"{ft.original.display} changed since it was parsed")
    symbols = ft.original.symbols
    removed = {id(h) for h in ft.dropped_includes}
    removed.update(id(d) for d in doc.definitions
                   if d.name not in ft.kept or symbols.get(d.name) is not d)
    comments = _Comments(doc.comments)
    items = sorted([*doc.headers, *doc.definitions], key=lambda n: n.span.start)
    cuts = _item_cuts(text, items, removed, comments, (0, len(text)), file_level=True)
    for d in doc.definitions:
        if isinstance(d, ast.Service) and id(d) not in removed:
            cuts += _service_cuts(text, d, ft, comments)
    if not cuts:
        return text
    pieces, pos, whole_lines = [], 0, True
    for s, e in _merge(text, cuts):
        pieces.append((text[pos:s], whole_lines))
        whole_lines = (s == 0 or text[s - 1] == "\n") and (e == len(text) or text[e - 1] == "\n")
        pos = e
    pieces.append((text[pos:], whole_lines))
    return _join(pieces, "\r\n" if "\r\n" in text else "\n")


def render_trimmed(result: TrimResult) -> dict:
    """real path -> trimmed text, for every surviving file."""
    return {path: render_file(read_source(path), ft) for path, ft in result.files.items()}


# --------------------------------------------------------------------------- layout


@dataclass
class Layout:
    out_paths: dict  # real path -> path relative to the output directory (posix)
    include_dirs: list  # directories (relative to the output dir) to pass as -I
    base: str  # the source directory the output directory stands for


def _under(path: str, d: str) -> bool:
    return path == d or path.startswith(d.rstrip(os.sep) + os.sep)


def _posix_rel(path: str, base: str) -> str:
    return os.path.relpath(path, base).replace(os.sep, "/")


def _resolves(result: TrimResult, out_paths: dict, include_dirs: list) -> bool:
    """Would every kept include find the same file in the output tree?"""
    if len(set(out_paths.values())) != len(out_paths):
        return False
    present = {v: k for k, v in out_paths.items()}
    for path, ft in result.files.items():
        pf = ft.original
        dropped = {id(h) for h in ft.dropped_includes}
        for inc in pf.document.includes:
            if id(inc) in dropped:
                continue
            want = out_paths.get(pf.includes.get(inc.alias))
            got = None
            for d in [posixpath.dirname(out_paths[path]), *include_dirs]:
                cand = posixpath.normpath(posixpath.join(d, inc.path.replace("\\", "/")))
                if cand in present:
                    got = cand
                    break
            if got is None or got != want:
                return False
    return True


def plan_layout(result: TrimResult) -> Layout:
    """Where each surviving file goes under the output directory (see module doc)."""
    files = list(result.files)
    inc_dirs = [os.path.realpath(d) for d in result.original.include_dirs]
    root_dirs = [os.path.dirname(r) for r in result.original.roots]
    base = os.path.commonpath(root_dirs)
    out: dict = {}
    for _ in range(2):
        out, stray = {}, []
        for f in files:
            if _under(f, base):
                out[f] = _posix_rel(f, base)
                continue
            d = next((d for d in inc_dirs if _under(f, d)), None)
            if d is None:
                stray.append(f)
            else:
                out[f] = _posix_rel(f, d)
        if not stray:
            break
        base = os.path.commonpath([base, *(os.path.dirname(f) for f in stray)])
    new_inc = []
    for d in inc_dirs:
        rel = _posix_rel(d, base) if _under(d, base) else "."
        if rel not in new_inc:
            new_inc.append(rel)
    if _resolves(result, out, new_inc):
        return Layout(out, new_inc, base)
    used = [d for d in inc_dirs if any(_under(f, d) for f in files)]
    base = os.path.commonpath([*(os.path.dirname(f) for f in files), *used])
    out = {f: _posix_rel(f, base) for f in files}
    new_inc = []
    for d in used:
        rel = _posix_rel(d, base)
        if rel not in new_inc:
            new_inc.append(rel)
    if not _resolves(result, out, new_inc):  # pragma: no cover - relative layout preserved
        raise TrimWriteError("cannot lay out the trimmed files so that includes still resolve")
    return Layout(out, new_inc, base)


# --------------------------------------------------------------------------- writing


def write_trimmed(result: TrimResult, outdir: str, layout: Optional[Layout] = None) -> list:
    """Write every surviving file under ``outdir``; returns the written paths.

    All texts are rendered before the first write, and the files are replaced
    all or nothing (:func:`thriftgen.fileio.replace_all`): a failure leaves the
    previous files as they were. Refuses to overwrite any input file.
    """
    layout = layout or plan_layout(result)
    texts = render_trimmed(result)
    inputs = set(result.original.files)
    targets = {}
    for path, rel in layout.out_paths.items():
        target = os.path.join(os.path.abspath(outdir), *rel.split("/"))
        if os.path.realpath(target) in inputs:
            raise TrimWriteError(f"refusing to overwrite the input file {target} "
                                 f"(choose another output directory)")
        targets[path] = target
    for target in targets.values():
        os.makedirs(os.path.dirname(target), exist_ok=True)
    sweep_stale({os.path.dirname(t) for t in targets.values()})
    try:
        replace_all([(target, texts[path].encode("utf-8")) for path, target in targets.items()])
    except FileWriteError as e:
        raise TrimWriteError(str(e.strerror)) from e
    return list(targets.values())


__all__ = ["render_file", "render_trimmed", "read_source", "plan_layout", "Layout",
           "write_trimmed", "TrimWriteError"]
