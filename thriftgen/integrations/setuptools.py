"""setuptools integration: a ``build_thrift`` command run before ``build_py``.

In ``pyproject.toml``::

    [tool.setuptools.cmdclass]
    build = "thriftgen.integrations.setuptools.build"
    build_py = "thriftgen.integrations.setuptools.build_py"
    sdist = "thriftgen.integrations.setuptools.sdist"

(or ``setup(cmdclass=thriftgen.integrations.setuptools.cmdclass())``). The jobs
come from the project's ``[tool.thriftgen]`` (or ``thriftgen.toml``). Each of
these commands generates them first (once per setup() run) and adds every
generated package to the distribution, so wheels get the generated modules
(``build``: even when the project has no package of its own); ``sdist`` also
ships the IDL files the jobs read, so a wheel can be built from the sdist.
"""

from __future__ import annotations

import os

from setuptools import Command
from setuptools.command.build import build as _build
from setuptools.command.build_py import build_py as _build_py
from setuptools.command.sdist import sdist as _sdist

from thriftgen.integrations import generate_for_build


def _root(dist) -> str:
    return os.path.abspath(os.path.dirname(dist.script_name or "setup.py") or os.curdir)


class build_thrift(Command):
    """Generate the jobs configured in [tool.thriftgen]; results are kept on the
    distribution so that every command of one setup() run shares them."""

    description = "generate Python code from Thrift IDL ([tool.thriftgen] jobs)"
    user_options = [("jobs=", None, "comma separated names of the jobs to run (default: all)")]

    def initialize_options(self) -> None:
        self.jobs = None

    def finalize_options(self) -> None:
        if isinstance(self.jobs, str):
            self.jobs = [j.strip() for j in self.jobs.split(",") if j.strip()]

    def run(self) -> None:
        self.results()

    def results(self) -> list:
        dist = self.distribution
        cached = getattr(dist, "_thriftgen_results", None)
        if cached is None:
            cached = generate_for_build(_root(dist), jobs=self.jobs or (), log=self.announce_info)
            dist._thriftgen_results = cached
        return cached

    def announce_info(self, line: str) -> None:
        self.announce(line, level=2)


def _build_thrift(cmd: Command) -> build_thrift:
    # Registered here so that projects only list build_py / sdist in their cmdclass.
    cmd.distribution.cmdclass.setdefault("build_thrift", build_thrift)
    return cmd.get_finalized_command("build_thrift")


def _generated_packages(cmd: Command) -> dict:
    """``{package: directory relative to the project root}`` of every generated package."""
    build = _build_thrift(cmd)
    root = _root(cmd.distribution)
    packages = {}
    for result in build.results():
        for rel in result.files:
            if rel.endswith("/__init__.py"):
                pkg_dir = os.path.dirname(os.path.join(result.outdir, *rel.split("/")))
                packages[rel[: -len("/__init__.py")].replace("/", ".")] = os.path.relpath(pkg_dir,
                                                                                         root)
    return packages


def _add_packages(cmd: Command) -> None:
    dist = cmd.distribution
    generated = _generated_packages(cmd)
    dist.packages = list(dist.packages or [])
    dist.package_dir = dict(dist.package_dir or {})
    for pkg, directory in sorted(generated.items()):
        if pkg not in dist.packages:
            dist.packages.append(pkg)
        dist.package_dir[pkg] = directory.replace(os.sep, "/")


class build_py(_build_py):
    """``build_py`` that runs ``build_thrift`` first and builds the generated packages too."""

    def finalize_options(self) -> None:
        # The package list must be complete before build_py (and sdist, bdist_wheel,
        # editable_wheel, which ask it for files) computes anything from it.
        _add_packages(self)
        super().finalize_options()
        self.packages = self.distribution.packages
        self.package_dir = dict(self.distribution.package_dir)

    def run(self) -> None:
        _build_thrift(self).results()
        super().run()


class build(_build):
    """``build`` that knows the generated packages before it picks its sub-commands
    (a project with no package of its own would otherwise skip build_py)."""

    def run(self) -> None:
        _add_packages(self)
        super().run()


class sdist(_sdist):
    """``sdist`` that lists the generated modules and ships the IDL files the jobs read."""

    def run(self) -> None:
        _add_packages(self)  # before egg_info writes the file list
        super().run()

    def make_distribution(self) -> None:
        root = _root(self.distribution)
        for result in _build_thrift(self).results():
            for path in result.inputs:
                rel = os.path.relpath(path, root)
                if not rel.startswith(".."):
                    self.filelist.append(rel.replace(os.sep, "/"))
        super().make_distribution()


def cmdclass() -> dict:
    """For ``setup(cmdclass=cmdclass())``."""
    return {"build_thrift": build_thrift, "build_py": build_py, "build": build, "sdist": sdist}


__all__ = ["build_thrift", "build_py", "build", "sdist", "cmdclass"]
