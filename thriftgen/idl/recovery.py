"""Where parsing may start again after a syntax error: declaration boundaries.

After a syntax error the parser does not try to repair the declaration it was
in; it resumes at the next declaration (a definition or header keyword that
starts a line, or follows a ``}``), with everything before masked by blanks so
lines and columns stay the file's own. Each error reported is then in a
different declaration, so one mistake never produces a cascade of follow-on
errors, and a file with several broken declarations reports every one.
"""

from __future__ import annotations

import re
from typing import List

MAX_SYNTAX_ERRORS = 20  # per file; beyond, the rest is not parsed

# Comments and string literals, whose text must not be mistaken for keywords.
_OPAQUE = re.compile(r"""/\*.*?(?:\*/|\Z)|//[^\n]*|\#[^\n]*|"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?""",
                     re.S)
_KEYWORDS = ("typedef", "const", "enum", "senum", "struct", "union", "exception", "service",
             "include", "cpp_include", "namespace")
_BOUNDARY = re.compile(r"(?:^[ \t]*|(?<=\})[ \t]*)\b(%s)\b" % "|".join(_KEYWORDS), re.M)


def _blank(match: "re.Match[str]") -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def declaration_starts(text: str) -> List[int]:
    """Offsets of the keywords that may start a declaration, in order."""
    visible = _OPAQUE.sub(_blank, text)
    return [m.start(1) for m in _BOUNDARY.finditer(visible)]


def masked_from(text: str, start: int) -> str:
    """``text`` with everything before ``start`` blanked (newlines kept)."""
    head = text[:start]
    return re.sub(r"[^\n]", " ", head) + text[start:]
