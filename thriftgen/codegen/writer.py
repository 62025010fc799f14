"""Puts generated files on disk: atomically, only what changed, never outside OUTDIR.

* Every path is validated first (relative, ``/``-separated, no ``..``, only
  identifier-like components); after directories are created, each target
  directory must still resolve inside OUTDIR (a symlink pointing elsewhere is
  refused).
* All or nothing (:func:`thriftgen.fileio.replace_all`): every changed file
  is first written to a temporary file beside its target; only when all of
  them exist are they moved into place with ``os.replace``, each old file kept
  under a second name until the last rename has succeeded. A failure at any
  point rolls back the renames done so far, removes the temporary files and
  the directories this run created: the previous output stays as it was.
  Temporary files left by a killed run are removed by the next one.
* Files whose bytes are unchanged are not touched (timestamps survive, so
  build tools see nothing new).
* ``.thriftgen-manifest.json`` in OUTDIR lists what the last run generated. A
  file listed there that this run no longer generates is deleted (and its
  directory, once empty); nothing that is not in the manifest is ever removed.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

from thriftgen import __version__
from thriftgen.fileio import FileWriteError, replace_all, sweep_stale
from thriftgen.runtime.errors import ThriftgenError

MANIFEST = ".thriftgen-manifest.json"
_COMPONENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.py)?$")


class WriteError(ThriftgenError):
    """Output that cannot be written safely."""


@dataclass
class WriteResult:
    written: list = field(default_factory=list)  # new or changed
    unchanged: list = field(default_factory=list)
    removed: list = field(default_factory=list)  # stale files of an earlier run

    @property
    def changed(self) -> list:
        return sorted(self.written + self.removed)


def check_relpath(rel: str) -> str:
    """``rel`` if it is a safe relative output path, else WriteError."""
    if not rel or rel.startswith("/") or "\\" in rel or "\x00" in rel:
        raise WriteError(f"refusing to write outside the output directory: {rel!r}")
    parts = rel.split("/")
    for i, part in enumerate(parts):
        if part in ("", ".", "..") or not _COMPONENT.match(part) or (
                part.endswith(".py") and i != len(parts) - 1):
            raise WriteError(f"refusing to write outside the output directory: {rel!r}")
    return rel


def _inside(root_real: str, path: str) -> bool:
    real = os.path.realpath(path)
    return real == root_real or real.startswith(root_real + os.sep)


def read_manifest(outdir: str) -> list:
    """Paths the previous run generated (invalid entries are ignored)."""
    try:
        with open(os.path.join(outdir, MANIFEST), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return []
    files = data.get("files") if isinstance(data, dict) else None
    out = []
    for rel in files if isinstance(files, list) else []:
        try:
            out.append(check_relpath(rel))
        except (WriteError, TypeError, AttributeError):
            continue
    return out


def _manifest_bytes(paths: list) -> bytes:
    data = {"generator": "thriftgen", "version": __version__, "files": sorted(paths)}
    return (json.dumps(data, indent=1) + "\n").encode("utf-8")


def _current(path: str):
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def plan(files: dict, outdir: str) -> WriteResult:
    """What writing ``files`` would change (nothing is touched)."""
    result = WriteResult()
    for rel in files:
        check_relpath(rel)
    for rel, text in files.items():
        data = text.encode("utf-8")
        target = os.path.join(outdir, *rel.split("/"))
        (result.unchanged if _current(target) == data else result.written).append(rel)
    for rel in read_manifest(outdir):
        if rel not in files and os.path.isfile(os.path.join(outdir, *rel.split("/"))):
            result.removed.append(rel)
    return result


def _make_dirs(directory: str, outdir: str, created: list) -> None:
    """Create ``directory`` and its missing parents (recorded in ``created``); a
    symlink in the way, even a dangling one, is refused, not followed."""
    missing = []
    d = directory
    while not os.path.isdir(d):
        if os.path.islink(d):
            raise WriteError(f"refusing to write into {d}: it is a symbolic link that points "
                             f"nowhere (or outside {outdir})")
        if os.path.lexists(d):
            raise WriteError(f"cannot write into {d}: it is a file, not a directory")
        missing.append(d)
        d = os.path.dirname(d)
    for d in reversed(missing):
        os.mkdir(d)
        created.append(d)


def write_output(files: dict, outdir: str) -> WriteResult:
    """Write ``{relative path: text}`` under ``outdir``; see the module doc."""
    result = plan(files, outdir)
    created_dirs: list = []
    try:
        _make_dirs(os.path.abspath(outdir), outdir, created_dirs)
        root_real = os.path.realpath(outdir)
        writes: list = []  # (target, bytes)
        for rel in result.written:
            target = os.path.join(outdir, *rel.split("/"))
            directory = os.path.dirname(target)
            _make_dirs(directory, outdir, created_dirs)
            if not _inside(root_real, directory) or os.path.islink(target):
                raise WriteError(f"refusing to write {rel}: it resolves outside {outdir}")
            writes.append((target, files[rel].encode("utf-8")))
        manifest = _manifest_bytes(list(files))
        if _current(os.path.join(outdir, MANIFEST)) != manifest:
            writes.append((os.path.join(outdir, MANIFEST), manifest))
        # Leftovers of killed runs, in every directory this run writes or used to.
        sweep_stale({os.path.dirname(t) for t, _ in writes} | {outdir} | {
            os.path.dirname(os.path.join(outdir, *rel.split("/"))) for rel in result.unchanged})
        replace_all(writes)
    except BaseException as exc:
        for d in reversed(created_dirs):
            try:
                os.rmdir(d)
            except OSError:
                pass
        if isinstance(exc, FileWriteError):
            raise WriteError(str(exc.strerror)) from exc
        raise
    for rel in result.removed:
        target = os.path.join(outdir, *rel.split("/"))
        if not _inside(root_real, os.path.dirname(target)):
            continue
        try:
            os.unlink(target)
        except OSError:
            continue
        _prune_empty_dirs(os.path.dirname(target), root_real)
    return result


def _prune_empty_dirs(directory: str, root_real: str) -> None:
    """Remove ``directory`` and its parents while empty, stopping at OUTDIR."""
    while _inside(root_real, directory) and os.path.realpath(directory) != root_real:
        try:
            os.rmdir(directory)
        except OSError:
            return
        directory = os.path.dirname(directory)
