"""Reading TOML files on every supported Python: ``tomllib`` (3.11+), else ``tomli``
(the same parser, a dependency of the tool on 3.10 only)."""

from __future__ import annotations

try:
    import tomllib as _toml
except ModuleNotFoundError:  # Python 3.10
    import tomli as _toml


class TomlError(Exception):
    """A TOML file that cannot be read or parsed; the message names it."""


def read_toml(path: str, display: str | None = None) -> dict:
    """The parsed ``path``; :class:`TomlError` with a one-line reason otherwise."""
    shown = display or path
    try:
        with open(path, "rb") as fh:
            return _toml.load(fh)
    except OSError as e:
        raise TomlError(f"cannot read {shown}: {e.strerror or e}") from None
    except _toml.TOMLDecodeError as e:
        raise TomlError(f"{shown}: invalid TOML: {e}") from None
