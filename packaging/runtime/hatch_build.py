"""Hatch build hook of thriftgen-runtime: the package files live at the repository
root (``thriftgen/__init__.py``, ``thriftgen/py.typed``, ``thriftgen/runtime/``),
two levels up; an sdist carries them at its own root. Only sources are taken
(no ``__pycache__``)."""

from __future__ import annotations

import os

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

_KEEP = (".py", ".typed")


def package_files(root: str) -> dict:
    """``{source path: path in the archive}`` of the runtime's files."""
    here = os.path.join(root, "thriftgen")
    base = here if os.path.isdir(os.path.join(here, "runtime")) else \
        os.path.join(root, os.pardir, os.pardir, "thriftgen")
    base = os.path.normpath(base)
    files = {os.path.join(base, name): f"thriftgen/{name}" for name in ("__init__.py", "py.typed")}
    runtime = os.path.join(base, "runtime")
    for d, dirs, names in os.walk(runtime):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__")
        for name in sorted(names):
            if name.endswith(_KEEP):
                path = os.path.join(d, name)
                files[path] = "thriftgen/" + os.path.relpath(path, base).replace(os.sep, "/")
    return files


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name == "wheel" and version == "editable":
            return  # dev mode: the checkout itself is put on sys.path
        build_data["force_include"].update(package_files(self.root))
