"""Build-system integrations: generate the configured jobs while a package is built.

* :mod:`thriftgen.integrations.hatch`: a hatchling build hook,
  ``[tool.hatch.build.hooks.thriftgen]``;
* :mod:`thriftgen.integrations.setuptools`: ``build_py`` / ``sdist`` commands
  for ``[tool.setuptools.cmdclass]`` (or ``setup(cmdclass=...)``).

Both read the jobs from the project's ``[tool.thriftgen]`` (or ``thriftgen.toml``),
generate them incrementally (:func:`thriftgen.codegen.incremental.run_job`) and
put every generated file into the wheel at its import path and into the sdist
at its place in the source tree, so a project can keep only ``.thrift`` files in
version control.
"""

from __future__ import annotations

import os
from typing import List, Optional, Sequence

from thriftgen.runtime.errors import ThriftgenError


class BuildError(ThriftgenError):
    """Generation failed during a build (the message carries the diagnostics)."""


def project_config(root: str, config: Optional[str] = None) -> str:
    """The configuration file of the project at ``root``: ``config`` (relative to
    ``root``) when given, else ``thriftgen.toml`` or ``pyproject.toml`` there."""
    from thriftgen.config import CONFIG_FILE, PYPROJECT

    if config:
        path = os.path.join(root, config)
        if not os.path.isfile(path):
            raise BuildError(f"thriftgen configuration file not found: {path}")
        return path
    for name in (CONFIG_FILE, PYPROJECT):
        path = os.path.join(root, name)
        if os.path.isfile(path):
            return path
    raise BuildError(f"no {CONFIG_FILE} or {PYPROJECT} in {root}")


def generate_for_build(root: str, config: Optional[str] = None, jobs: Sequence[str] = (),
                       log=None) -> List:
    """Run the configured jobs of the project at ``root``; their ``JobResult`` list.

    ``log``: called with one line per job. Raises :class:`BuildError` with every
    diagnostic when a job fails.
    """
    from thriftgen.codegen.incremental import run_job
    from thriftgen.config import load_config
    from thriftgen.diagnostics import DiagnosticSink, IDLError, format_diagnostic

    root = os.path.abspath(root)
    try:
        selected = load_config(project_config(root, config)).select(list(jobs))
    except ThriftgenError as e:
        raise BuildError(str(e)) from None
    results = []
    for job in selected:
        sink = DiagnosticSink()
        try:
            result = run_job(job, sink=sink)
        except IDLError:
            text = "\n".join(format_diagnostic(d, sink.sources, False) for d in sink.sorted())
            raise BuildError(f"thriftgen job '{job.name}' failed:\n{text}") from None
        except (ThriftgenError, OSError) as e:
            raise BuildError(f"thriftgen job '{job.name}' failed: {e}") from None
        if log is not None:
            state = "up to date" if not result.changed else f"{len(result.written)} written"
            log(f"thriftgen: job '{job.name}': {len(result.files)} file(s) in "
                f"{os.path.relpath(job.outdir, root)} ({state})")
        results.append(result)
    return results


__all__ = ["BuildError", "generate_for_build", "project_config"]
