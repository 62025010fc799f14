"""Trim settings from files, merged with the command line.

Sources, lowest to highest precedence (a higher one replaces a key wholesale):

1. ``[tool.thriftgen.trim]`` in the nearest ``pyproject.toml`` (searched from the
   working directory upwards): project-wide defaults;
2. ``trim_config.yaml`` beside the (first) root IDL, thriftgo's file name and
   keys; or instead of it, the file given with ``--trim-config`` (YAML, or TOML
   when it ends in ``.toml``: its ``[tool.thriftgen.trim]`` table or its top level);
3. command-line flags (``-m``, ``--no-preserve``, ``--all``, ``--strict``).

Keys: ``methods`` (list of patterns), ``preserve`` (bool, default true),
``preserved_structs`` (list of ``Name`` / ``alias.Name``), ``preserved_files``
(list of paths, relative to the file that names them),
``disable_preserve_comment`` (bool), and our additions ``all`` (bool: trim
unreferenced consts/enums/typedefs too) and ``strict`` (bool). Unknown keys and
wrong types are errors naming the file and the key.
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

from thriftgen.runtime.errors import ThriftgenError
from thriftgen.trim.reachability import TrimOptions

CONFIG_NAME = "trim_config.yaml"

_LIST_KEYS = ("methods", "preserved_structs", "preserved_files")
_BOOL_KEYS = ("preserve", "disable_preserve_comment", "all", "strict")
KEYS = _LIST_KEYS + _BOOL_KEYS


class TrimConfigError(ThriftgenError):
    """A trim configuration file cannot be read or holds a bad key or value."""


def _validate(data: object, source: str, path: str) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TrimConfigError(f"{source}: expected a mapping of trim settings, "
                              f"got {type(data).__name__}")
    out = {}
    base = os.path.dirname(os.path.abspath(path))
    for key, value in data.items():
        if key not in KEYS:
            raise TrimConfigError(f"{source}: unknown key '{key}' "
                                  f"(expected one of: {', '.join(KEYS)})")
        if key in _BOOL_KEYS:
            if not isinstance(value, bool):
                raise TrimConfigError(f"{source}: key '{key}' must be true or false, "
                                      f"got {value!r}")
        elif not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TrimConfigError(f"{source}: key '{key}' must be a list of strings, "
                                  f"got {value!r}")
        if key == "preserved_files":
            value = [os.path.normpath(os.path.join(base, v)) for v in value]
        out[key] = value
    return out


def _read_yaml(path: str) -> dict:
    import yaml  # type: ignore[import-untyped]

    try:
        with open(path, "r", encoding="utf-8-sig") as fh:
            data = yaml.safe_load(fh)
    except OSError as e:
        raise TrimConfigError(f"cannot read {path}: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise TrimConfigError(f"{path}: invalid YAML: {e}") from None
    return _validate(data, path, path)


def _read_toml(path: str, pyproject: bool) -> Optional[dict]:
    from thriftgen.tomlfile import TomlError, read_toml

    try:
        data = read_toml(path)
    except TomlError as e:
        raise TrimConfigError(str(e)) from None
    table = data.get("tool", {}).get("thriftgen", {}).get("trim")
    if table is None:
        return None if pyproject else _validate(data, path, path)
    return _validate(table, f"{path} [tool.thriftgen.trim]", path)


def find_pyproject(start: str) -> Optional[str]:
    d = os.path.abspath(start)
    while True:
        cand = os.path.join(d, "pyproject.toml")
        if os.path.isfile(cand):
            return cand
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def load_trim_config(idl_path: str, explicit_config: Optional[str] = None,
                     pyproject_search_from: Optional[str] = None) -> dict:
    """Merged settings from the files (see module doc); ``"_files"`` lists the files read."""
    merged: dict = {}
    files = []
    pyproject = find_pyproject(pyproject_search_from or os.getcwd())
    if pyproject is not None:
        table = _read_toml(pyproject, pyproject=True)
        if table is not None:
            merged.update(table)
            files.append(pyproject)
    if explicit_config is not None:
        if not os.path.isfile(explicit_config):
            raise TrimConfigError(f"trim config file not found: {explicit_config}")
        if explicit_config.endswith(".toml"):
            merged.update(_read_toml(explicit_config, pyproject=False) or {})
        else:
            merged.update(_read_yaml(explicit_config))
        files.append(explicit_config)
    else:
        beside = os.path.join(os.path.dirname(os.path.abspath(idl_path)), CONFIG_NAME)
        if os.path.isfile(beside):
            merged.update(_read_yaml(beside))
            files.append(beside)
    merged["_files"] = files
    return merged


def resolve_options(idl_paths: Sequence[str], *, methods: Optional[Sequence[str]] = None,
                    trim_all: Optional[bool] = None, preserve: Optional[bool] = None,
                    strict: Optional[bool] = None, config_file: Optional[str] = None,
                    use_files: bool = True,
                    pyproject_search_from: Optional[str] = None) -> tuple:
    """``(TrimOptions, files read)`` from the config files and the flags given.

    ``None`` (or an empty ``methods``) means "not given on the command line".
    Shared by ``thriftgen trim`` and the generator's ``-thrift trim_idl``.
    """
    cfg = (load_trim_config(idl_paths[0], config_file, pyproject_search_from)
           if use_files and idl_paths else {"_files": []})
    opts = TrimOptions(
        methods=list(methods) if methods else list(cfg.get("methods", [])),
        trim_all=trim_all if trim_all is not None else cfg.get("all", False),
        preserve=preserve if preserve is not None else cfg.get("preserve", True),
        preserved_structs=list(cfg.get("preserved_structs", [])),
        preserved_files=list(cfg.get("preserved_files", [])),
        disable_preserve_comment=cfg.get("disable_preserve_comment", False),
        strict=strict if strict is not None else cfg.get("strict", False),
    )
    return opts, cfg["_files"]


__all__ = ["load_trim_config", "resolve_options", "TrimConfigError", "CONFIG_NAME", "KEYS"]
