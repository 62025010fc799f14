"""Counts before and after trimming, per file and in total, as text or JSON.

thriftgo prints ``removed N unused structures with M fields`` for the root file
only; here every count covers every file of the program, dropped files included.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from thriftgen.idl import ast

#: The kinds counted, in report order. Senums count as enums; ``fields`` are the
#: fields of structs, unions and exceptions; ``functions`` those of services.
KINDS = ("structs", "unions", "exceptions", "enums", "typedefs", "consts", "services",
         "functions", "fields")

_STRUCT_KIND = {ast.STRUCT: "structs", ast.UNION: "unions", ast.EXCEPTION: "exceptions"}


def count_document(doc: ast.Document) -> dict:
    counts = dict.fromkeys(KINDS, 0)
    for d in doc.definitions:
        if isinstance(d, ast.Struct):
            counts[_STRUCT_KIND[d.kind]] += 1
            counts["fields"] += len(d.fields)
        elif isinstance(d, ast.Service):
            counts["services"] += 1
            counts["functions"] += len(d.functions)
        elif isinstance(d, (ast.Enum, ast.Senum)):
            counts["enums"] += 1
        elif isinstance(d, ast.Typedef):
            counts["typedefs"] += 1
        elif isinstance(d, ast.Const):
            counts["consts"] += 1
    return counts


@dataclass
class TrimStats:
    """``before``/``after``: file display path -> {kind: count}. A file missing
    from ``after`` was dropped whole."""

    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    #: file display path -> ["struct Name", "function Svc.m", ...] that trimming removed
    removed: dict = field(default_factory=dict)

    def total(self, which: str) -> dict:
        out = dict.fromkeys(KINDS, 0)
        for counts in getattr(self, which).values():
            for k in KINDS:
                out[k] += counts[k]
        return out

    def file_after(self, name: str) -> dict:
        return self.after.get(name) or dict.fromkeys(KINDS, 0)

    @property
    def dropped_files(self) -> list:
        return [f for f in self.before if f not in self.after]

    def removed_structures(self) -> tuple:
        """(structs+unions+exceptions removed, fields they held) over all files."""
        b, a = self.total("before"), self.total("after")
        n = sum(b[k] - a[k] for k in ("structs", "unions", "exceptions"))
        return n, b["fields"] - a["fields"]

    def headline(self) -> str:
        n, m = self.removed_structures()
        return (f"removed {n} unused structures with {m} fields "
                f"({len(self.before)} -> {len(self.after)} files)")

    def to_json(self) -> dict:
        def pair(b: dict, a: dict) -> dict:
            return {k: {"before": b[k], "after": a[k]} for k in KINDS}

        n, m = self.removed_structures()
        return {
            "files": {f: pair(b, self.file_after(f)) for f, b in self.before.items()},
            "total": pair(self.total("before"), self.total("after")),
            "files_before": len(self.before),
            "files_after": len(self.after),
            "dropped_files": self.dropped_files,
            "removed_structures": n,
            "removed_fields": m,
            "removed": {f: list(names) for f, names in self.removed.items() if names},
        }


def _change(before: int, after: int) -> str:
    if before == 0:
        return ""
    return f"({(after - before) * 100.0 / before:+.1f}%)".replace("+0.0%", "0.0%")


def _rows(before: dict, after: dict, only_present: bool) -> list:
    rows = []
    width = max(len(str(before[k])) for k in KINDS)
    for k in KINDS:
        if only_present and before[k] == 0 and after[k] == 0:
            continue
        rows.append(f"  {k:<10} {before[k]:>{width}} -> {after[k]:<{width}} "
                    f"{_change(before[k], after[k])}".rstrip())
    return rows


#: Names are listed in the summary up to this many; beyond, only counted.
NAMED_UP_TO = 5
_SINGULAR = {"structs": "struct", "unions": "union", "exceptions": "exception", "enums": "enum",
             "typedefs": "typedef", "consts": "const", "services": "service",
             "functions": "function", "fields": "field"}


def _count(n: int, kind: str) -> str:
    return f"{n:,} {_SINGULAR[kind] if n == 1 else kind}"


def format_summary(stats: TrimStats) -> str:
    """The report in one line (two when names are listed): what was kept of what, and
    what went, named when there are few (``-v`` shows :func:`format_text`)."""
    b, a = stats.total("before"), stats.total("after")
    kept = []
    for kinds in (("structs", "unions", "exceptions"), ("fields",), ("enums",), ("typedefs",),
                  ("consts",), ("services",), ("functions",)):
        nb, na = sum(b[k] for k in kinds), sum(a[k] for k in kinds)
        if nb and (na != nb or kinds[0] in ("structs", "fields")):
            kept.append(f"{na:,} of {_count(nb, kinds[0])}")
    line = f"trim: kept {', '.join(kept)}; {len(stats.after)} of {len(stats.before)} files"
    names = [n for ns in stats.removed.values() for n in ns]
    if not names:
        return line + "; nothing to remove"
    if len(names) <= NAMED_UP_TO:
        return line + "\n      removed: " + ", ".join(names)
    dropped = len(stats.dropped_files)
    whole = f", {dropped} file{'' if dropped == 1 else 's'} whole" if dropped else ""
    return line + f"\n      removed {len(names):,} definitions{whole} (-v lists them per file)"


def format_text(stats: TrimStats) -> str:
    """A block per file (kinds that occur in it) and a total block (every kind)."""
    lines = [f"trim: {stats.headline()}"]
    for name, before in stats.before.items():
        if name not in stats.after:
            n = sum(before[k] for k in KINDS if k not in ("functions", "fields"))
            lines.append(f"{name}: dropped ({n} definitions)")
            continue
        lines.append(f"{name}:")
        lines.extend(_rows(before, stats.after[name], only_present=True))
        if stats.removed.get(name):
            lines.append(f"  removed: {', '.join(stats.removed[name])}")
    lines.append(f"total ({len(stats.before)} -> {len(stats.after)} files):")
    lines.extend(_rows(stats.total("before"), stats.total("after"), only_present=False))
    return "\n".join(lines)


__all__ = ["KINDS", "TrimStats", "count_document", "format_text", "format_summary"]
