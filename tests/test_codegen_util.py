"""Helpers shared by the code generator tests (this module holds no tests)."""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Iterator, Optional

from thriftgen.codegen import generate
from thriftgen.codegen.options import GenOptions
from thriftgen.codegen.writer import write_output
from thriftgen.diagnostics import DiagnosticSink
from thriftgen.idl.checker import check_program
from thriftgen.idl.loader import load_program

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
CORPUS = REPO.parent / "shared" / "corpus" / "apache-thrift"
APACHE = shutil.which("thrift")

#: (name, root IDL relative to fixtures/, include dirs relative to fixtures/, Apache options)
#: crossref uses plain ``py:slots``: Apache's ``py:enum`` output for it fails to import.
FIXTURE_ROOTS = [
    ("echo", "echo/echo.thrift", [], "py:slots,enum"),
    ("store", "store/service.thrift", ["store"], "py:slots,enum"),
    ("crossref", "crossref/palette.thrift", [], "py:slots"),
    ("modern", "extensions/modern.thrift", [], None),  # Apache 0.17 rejects it
    ("legacy", "extensions/legacy.thrift", [], None),
]


def load(idl, includes: Iterable[os.PathLike] = ()):
    """Load and check one root IDL (or a list of roots)."""
    roots = [str(i) for i in idl] if isinstance(idl, (list, tuple)) else [str(idl)]
    sink = DiagnosticSink()
    program = load_program(roots, [str(i) for i in includes], sink)
    check_program(program, sink)
    sink.check()
    return program


def gen_files(idl: os.PathLike, includes: Iterable[os.PathLike] = (), **options) -> dict:
    recursive = options.pop("recursive", True)
    return generate(load(idl, includes), GenOptions(**options), DiagnosticSink(),
                    recursive=recursive)


def gen_into(outdir: os.PathLike, idl: os.PathLike, includes: Iterable[os.PathLike] = (),
             **options) -> dict:
    files = gen_files(idl, includes, **options)
    write_output(files, str(outdir))
    return files


def apache_gen(outdir: Path, idl: os.PathLike, includes: Iterable[os.PathLike] = (),
               gen: str = "py:slots,enum") -> Path:
    """Run Apache's compiler (``thrift -r --gen ...``); returns its gen-py dir."""
    outdir.mkdir(parents=True, exist_ok=True)
    cmd = [APACHE, "-r", "--gen", gen]
    for inc in includes:
        cmd += ["-I", str(inc)]
    cmd += ["-o", str(outdir), str(idl)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return outdir / "gen-py"


def module_names(root: Path) -> list:
    """Dotted names of every module under ``root``."""
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts and all(p.isidentifier() for p in parts):
            out.append(".".join(parts))
    return out


@contextlib.contextmanager
def importable(*dirs: Path) -> Iterator[None]:
    """Put ``dirs`` first on sys.path; afterwards forget every module loaded from them."""
    paths = [str(d) for d in dirs]
    sys.path[:0] = paths
    importlib.invalidate_caches()
    try:
        yield
    finally:
        for p in paths:
            if p in sys.path:
                sys.path.remove(p)
        for name, mod in list(sys.modules.items()):
            f = getattr(mod, "__file__", None) or ""
            if any(f.startswith(p + os.sep) for p in paths):
                del sys.modules[name]
        importlib.invalidate_caches()


def struct_classes(module) -> list:
    """Generated classes (those with a thrift_spec) defined in ``module``."""
    return [v for k, v in sorted(vars(module).items())
            if isinstance(v, type) and v.__module__ == module.__name__
            and getattr(v, "thrift_spec", None) is not None]


def run_python(code: str, cwd: Path, python: Optional[str] = None, env_extra=None,
               timeout: int = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(cwd), str(REPO)])
    env.update(env_extra or {})
    return subprocess.run([python or sys.executable, "-W", "error", "-c", code], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)
