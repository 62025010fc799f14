"""hatchling build hook: ``[tool.hatch.build.hooks.thriftgen]``.

Options (all optional): ``config`` (the configuration file, relative to the
project root; default ``thriftgen.toml``, else ``pyproject.toml``) and ``jobs``
(names of the configured jobs to run; default all). Registered through the
``hatch`` entry point group, so ``thriftgen`` must be in the build
requirements (``[build-system] requires``).

Wheels get every generated file at its import path; sdists get them at their
place in the source tree (beside the IDL files, which the sdist already
holds), so a wheel built from the sdist generates nothing new. Editable
installs get a ``.pth`` file that puts the output directories on ``sys.path``,
so regenerating updates them in place.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.plugin import hookimpl

from thriftgen.integrations import BuildError, generate_for_build


class ThriftgenBuildHook(BuildHookInterface):
    PLUGIN_NAME = "thriftgen"

    def _options(self) -> tuple:
        config = self.config.get("config")
        jobs = self.config.get("jobs", [])
        if config is not None and not isinstance(config, str):
            raise BuildError("[tool.hatch.build.hooks.thriftgen] config: must be a string")
        if isinstance(jobs, str):
            jobs = [jobs]
        if not isinstance(jobs, list) or not all(isinstance(j, str) for j in jobs):
            raise BuildError("[tool.hatch.build.hooks.thriftgen] jobs: must be a list of job names")
        return config, jobs

    def initialize(self, version: str, build_data: dict) -> None:
        config, jobs = self._options()
        results = generate_for_build(self.root, config, jobs, log=self.app.display_info)
        if self.target_name == "wheel" and version == "editable":
            self._scratch = tempfile.mkdtemp(prefix="thriftgen-hatch-")
            pth = os.path.join(self._scratch, f"_thriftgen_{self.metadata.core.name}.pth")
            with open(pth, "w", encoding="utf-8") as fh:
                fh.write("".join(f"{r.outdir}\n" for r in results))
            build_data.setdefault("force_include_editable", {})[pth] = os.path.basename(pth)
            return
        for result in results:
            for rel, path in zip(result.files, result.paths()):
                if self.target_name == "wheel":
                    build_data["force_include"][path] = rel
                else:
                    build_data["force_include"][path] = os.path.relpath(path, self.root)

    def finalize(self, version: str, build_data: dict, artifact_path: str) -> None:
        scratch = getattr(self, "_scratch", None)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


@hookimpl
def hatch_register_build_hook():
    return ThriftgenBuildHook
