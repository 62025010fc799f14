"""Compiler-style diagnostics: ``path:line:col: error: message``, the line, a caret.

Every stage reports problems as :class:`Diagnostic` values collected in a
:class:`DiagnosticSink`; a stage that cannot go on raises :class:`IDLError`
carrying everything collected so far. Nothing the user can feed in should
surface as a Python traceback.
"""

from __future__ import annotations

from bisect import bisect_right
import re
from dataclasses import dataclass, field
from typing import Iterable, Optional

from thriftgen.idl.ast import Loc, _tuple_new
from thriftgen.runtime.errors import ThriftgenError

ERROR = "error"
WARNING = "warning"
NOTE = "note"

#: How many errors one run reports before it stops collecting (the rest are counted).
MAX_ERRORS = 50


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    message: str
    loc: Optional[Loc] = None
    #: caret width (characters); 1 when unknown
    width: int = 1
    notes: tuple = ()  # tuple[Diagnostic, ...] attached "note:" lines

    def sort_key(self) -> tuple:
        loc = self.loc
        return (loc.file, loc.line, loc.col) if loc else ("", 0, 0)


class IDLError(ThriftgenError):
    """Raised when IDL input cannot be processed; carries every diagnostic."""

    def __init__(self, diagnostics: Iterable[Diagnostic], sources: Optional["SourceMap"] = None):
        self.diagnostics = list(diagnostics)
        self.sources = sources
        super().__init__(self.render(color=False))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == ERROR]

    def render(self, color: bool = False) -> str:
        return "\n".join(format_diagnostic(d, self.sources, color) for d in self.diagnostics)


_NEWLINE = re.compile("\n")


class SourceText:
    """A decoded source file with a line table for offset → (line, column)."""

    __slots__ = ("path", "text", "_line_starts")

    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        self._line_starts: Optional[list[int]] = None

    def _starts(self) -> list[int]:
        if self._line_starts is None:
            self._line_starts = [0, *(m.end() for m in _NEWLINE.finditer(self.text))]
        return self._line_starts

    def loc(self, offset: int) -> Loc:
        starts = self._line_starts or self._starts()
        idx = bisect_right(starts, offset) - 1
        return _tuple_new(Loc, (self.path, idx + 1, offset - starts[idx] + 1))  # Loc.of, inlined

    def line_text(self, line: int) -> Optional[str]:
        starts = self._starts()
        if not 1 <= line <= len(starts):
            return None
        start = starts[line - 1]
        end = starts[line] - 1 if line < len(starts) else len(self.text)
        return self.text[start:end].rstrip("\r")


class SourceMap(dict):
    """path → :class:`SourceText`, so diagnostics can quote source lines."""

    def add(self, src: SourceText) -> None:
        self[src.path] = src


_COLORS = {ERROR: "\x1b[1;31m", WARNING: "\x1b[1;35m", NOTE: "\x1b[1;36m"}


def _printable(line: str) -> str:
    # A hostile file may hold control characters; never let them drive the terminal.
    return "".join(ch if ch == "\t" or ch >= " " and ch != "\x7f" else "?" for ch in line)


def format_diagnostic(d: Diagnostic, sources: Optional[SourceMap] = None, color: bool = False) -> str:
    sev = d.severity
    if color:
        sev = f"{_COLORS.get(sev, '')}{sev}\x1b[0m"
    head = f"{d.loc}: {sev}: {d.message}" if d.loc else f"thriftgen: {sev}: {d.message}"
    lines = [head]
    src = sources.get(d.loc.file) if (sources and d.loc) else None
    if src is not None and d.loc is not None:
        text = src.line_text(d.loc.line)
        if text is not None:
            text = _printable(text)
            # Keep tabs in the caret prefix so the caret lines up under the column.
            prefix = "".join("\t" if ch == "\t" else " " for ch in text[: d.loc.col - 1])
            width = max(1, min(d.width, max(1, len(text) - d.loc.col + 1)))
            lines.append(f"    {text}")
            lines.append(f"    {prefix}^{'~' * (width - 1)}")
    for note in d.notes:
        lines.append(format_diagnostic(note, sources, color))
    return "\n".join(lines)


@dataclass
class DiagnosticSink:
    """Collects diagnostics for one run; ``check()`` raises if any error was seen."""

    sources: SourceMap = field(default_factory=SourceMap)
    diagnostics: list = field(default_factory=list)
    max_errors: int = MAX_ERRORS
    suppressed: int = 0
    _seen: set = field(default_factory=set)

    @property
    def error_count(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity == ERROR)

    def add(self, d: Diagnostic) -> None:
        key = (d.severity, d.message, d.loc)
        if key in self._seen:
            return
        self._seen.add(key)
        if d.severity == ERROR and self.error_count >= self.max_errors:
            self.suppressed += 1
            return
        self.diagnostics.append(d)

    def error(self, message: str, loc: Optional[Loc] = None, width: int = 1, notes: tuple = ()) -> None:
        self.add(Diagnostic(ERROR, message, loc, width, notes))

    def warning(self, message: str, loc: Optional[Loc] = None, width: int = 1) -> None:
        self.add(Diagnostic(WARNING, message, loc, width))

    def extend(self, diags: Iterable[Diagnostic]) -> None:
        for d in diags:
            self.add(d)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == ERROR for d in self.diagnostics)

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.diagnostics, key=Diagnostic.sort_key)

    def check(self) -> None:
        if self.has_errors:
            diags = self.sorted()
            if self.suppressed:
                diags.append(Diagnostic(NOTE, f"{self.suppressed} more error(s) not shown"))
            raise IDLError(diags, self.sources)

    def render(self, color: bool = False) -> str:
        return "\n".join(format_diagnostic(d, self.sources, color) for d in self.sorted())
