"""Lays the view model out as files with the Jinja templates.

Templates live in the top-level ``templates/`` folder of the source tree; a
wheel ships the same folder as ``thriftgen/_templates`` (see pyproject), and
that location wins when it exists.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Optional

import jinja2

from thriftgen.codegen.literals import comment_text
from thriftgen.codegen.viewmodel import GenerationView, ModuleView
from thriftgen.runtime.errors import ThriftgenError

_PACKAGE_DIR = Path(__file__).resolve().parents[1]


def template_dir() -> Path:
    for candidate in (_PACKAGE_DIR / "_templates", _PACKAGE_DIR.parent / "templates"):
        if (candidate / "py" / "ttypes.py.j2").is_file():
            return candidate
    raise ThriftgenError("thriftgen templates not found (looked for thriftgen/_templates and "
                         "templates/ beside the package)")


@functools.lru_cache(maxsize=4)
def environment(root: Optional[str] = None) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(root or str(template_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _sources(module: ModuleView, only: Optional[str] = None) -> str:
    return comment_text(only if only else ", ".join(module.sources))


def render(view: GenerationView, template_root: Optional[str] = None) -> dict:
    """``{relative posix path: text}`` for every generated file, in a stable order."""
    env = environment(template_root)
    init_t = env.get_template("py/__init__.py.j2")
    ttypes_t = env.get_template("py/ttypes.py.j2")
    consts_t = env.get_template("py/constants.py.j2")
    service_t = env.get_template("py/service.py.j2")
    out: dict = {}
    for package in view.namespace_packages:
        out[package.replace(".", "/") + "/__init__.py"] = init_t.render(
            view=view, module=None, sources="thriftgen (namespace package)")
    for module in view.modules:
        base = module.package.replace(".", "/")
        sources = _sources(module)
        out[f"{base}/__init__.py"] = init_t.render(view=view, module=module, sources=sources)
        out[f"{base}/ttypes.py"] = ttypes_t.render(view=view, t=module.ttypes, sources=sources)
        out[f"{base}/constants.py"] = consts_t.render(view=view, c=module.constants,
                                                      sources=sources)
        for svc in module.services:
            out[f"{base}/{svc.file_name}.py"] = service_t.render(
                view=view, s=svc, sources=_sources(module, svc.source))
    return dict(sorted(out.items()))
