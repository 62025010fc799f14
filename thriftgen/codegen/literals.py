"""Python literals and docstrings for values that come from the IDL.

Nothing from the IDL is ever pasted into code as is: strings become escaped
literals (the value survives exactly, whatever it holds: quotes, backslashes,
newlines, NUL, lone surrogates), doc comments become docstrings in which
backslashes, quotes and non-printable characters are escaped. The literal
forms are the ones black produces, so formatting leaves them alone.
"""

from __future__ import annotations

import math

_SIMPLE_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(ch: str) -> str:
    """Python's ``repr`` escape for one non-printable character."""
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _plain(value: str, quote: str) -> bool:
    """Nothing in ``value`` needs escaping inside ``quote`` quotes (the common case;
    checked at C speed)."""
    return value.isprintable() and "\\" not in value and quote not in value


def _escape_str(value: str, quote: str) -> str:
    if _plain(value, quote):
        return value
    out = []
    for ch in value:
        if ch in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[ch])
        elif ch == quote:
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(_escape_char(ch))
    return "".join(out)


def _choose_quotes(double_body: str, single_body: str, prefix: str = "") -> str:
    # black prefers double quotes unless they need more escaping
    if double_body.count("\\") <= single_body.count("\\"):
        return f'{prefix}"{double_body}"'
    return f"{prefix}'{single_body}'"


def str_literal(value: str) -> str:
    """A Python string literal whose value is exactly ``value``."""
    if _plain(value, '"'):
        return f'"{value}"'
    return _choose_quotes(_escape_str(value, '"'), _escape_str(value, "'"))


def _escape_bytes(value: bytes, quote: str) -> str:
    out = []
    for b in value:
        ch = chr(b)
        if ch in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[ch])
        elif ch == quote:
            out.append("\\" + ch)
        elif 0x20 <= b < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\x{b:02x}")
    return "".join(out)


def bytes_literal(value: bytes) -> str:
    return _choose_quotes(_escape_bytes(value, '"'), _escape_bytes(value, "'"), "b")


def float_literal(value: float) -> str:
    """A float literal (``float("inf")`` for what has no literal form)."""
    if math.isnan(value):
        return 'float("nan")'
    if math.isinf(value):
        return 'float("inf")' if value > 0 else 'float("-inf")'
    return repr(float(value)).replace("e+", "e")


def int_literal(value: int) -> str:
    return str(int(value))


def _doc_line(line: str) -> str:
    """One docstring line: backslashes and quotes escaped, no control chars."""
    if _plain(line, '"'):
        return line
    out = []
    for ch in line:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch.isprintable():
            out.append(ch)
        else:
            # shown, not interpreted: the docstring gets the six characters
            # ``\u202e``, never the control character itself
            out.append("\\" + _escape_char(ch))
    return "".join(out)


def docstring(text: str | None, indent: str) -> str:
    """A docstring statement (first line indented by ``indent``), or ''.

    Escaping every quote means a ``\"\"\"`` in the doc can never end the
    string early; a doc that ends with a quote gets the space black would add.
    """
    if not text:
        return ""
    raw_lines = text.expandtabs().replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [_doc_line(line).rstrip() for line in raw_lines]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return ""
    # Dedent everything after the first line (PEP 257, as black does it).
    rest = [ln for ln in lines[1:] if ln.strip()]
    margin = min((len(ln) - len(ln.lstrip()) for ln in rest), default=0)
    first = lines[0].strip()
    if len(lines) == 1:
        if first.endswith('"'):
            first += " "
        return f'{indent}"""{first}"""'
    body = [f'{indent}"""{first}']
    for ln in lines[1:]:
        body.append(f"{indent}{ln[margin:]}" if ln.strip() else "")
    body.append(f'{indent}"""')
    return "\n".join(body)


def comment_text(text: str) -> str:
    """Text safe inside a one-line ``#`` comment."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)
