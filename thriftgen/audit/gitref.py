"""The old side of ``thriftgen audit --against REF``: the IDL files as they were at
a git revision, without a checkout.

Each root and everything it includes (as the loader would resolve it: beside the
including file first, then each ``-I`` directory) is read with one
``git cat-file --batch`` process and written under a temporary directory that
mirrors the repository; the loader then reads that tree, naming its files
``REF:path`` in diagnostics (which also keeps parse-cache keys stable across
runs). A root that did not exist at ``REF`` has no old side.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from thriftgen.runtime.errors import ThriftgenError

# Over-approximates the include directives (one in a comment only costs a lookup).
_INCLUDE = re.compile(rb"""(?<![\w.])include\s+["']([^"'\n]+)["']""")


class GitError(ThriftgenError):
    """git is missing, the directory is not a repository, or the revision is unknown."""


def _git(args: List[str], cwd: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except OSError as e:
        raise GitError(f"cannot run git: {e.strerror or e}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {' '.join(args)}: {message[-1] if message else 'failed'}")
    return done.stdout.decode("utf-8", "surrogateescape").strip()


class _Blobs:
    """Reads ``commit:path`` blobs through one ``git cat-file --batch``."""

    def __init__(self, repo: str, commit: str):
        self.commit = commit
        try:
            self.proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=repo,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        except OSError as e:
            raise GitError(f"cannot run git: {e.strerror or e}") from None

    def read(self, path: str) -> Optional[bytes]:
        """The file's bytes at the commit, or None when it is not a file there."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if "\n" in path:
            return None
        self.proc.stdin.write(f"{self.commit}:{path}\n".encode("utf-8", "surrogateescape"))
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split()
        if len(header) != 3:  # "<what> missing" / "ambiguous"
            return None
        size = int(header[2])
        data = self.proc.stdout.read(size)
        self.proc.stdout.read(1)  # the newline after the contents
        return data if header[1] == b"blob" else None

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait()


@dataclass
class OldTree:
    """The files of the old side, written under ``root``."""

    ref: str
    commit: str
    root: str  # the temporary mirror of the repository
    roots: List[Optional[str]] = field(default_factory=list)  # per new root; None: new file
    include_dirs: List[str] = field(default_factory=list)
    names: Dict[str, str] = field(default_factory=dict)  # real path -> "REF:path"


def materialize(ref: str, roots: Sequence[str], include_dirs: Sequence[str], into: str) -> OldTree:
    """Write the files ``roots`` include at ``ref`` under directory ``into``."""
    start = os.path.dirname(os.path.abspath(roots[0])) if roots else os.getcwd()
    top = os.path.realpath(_git(["rev-parse", "--show-toplevel"], start))
    try:
        commit = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], top)
    except GitError:
        raise GitError(f"unknown git revision {ref!r} in {top}") from None
    tree = OldTree(ref, commit, os.path.realpath(into))

    def inside(path: str) -> Optional[str]:
        rel = os.path.relpath(os.path.realpath(path), top)
        return None if rel == ".." or rel.startswith(".." + os.sep) else rel.replace(os.sep, "/")

    # -I directories inside the repository are read at ref; the others stay as they are.
    mapped_dirs = []
    for d in include_dirs:
        rel = inside(d)
        mapped_dirs.append(os.path.join(tree.root, rel) if rel is not None else os.path.abspath(d))
        if rel is not None:
            os.makedirs(mapped_dirs[-1], exist_ok=True)
    tree.include_dirs = mapped_dirs
    repo_dirs = [inside(d) for d in include_dirs]
    blobs = _Blobs(top, commit)
    done: Dict[str, bool] = {}
    try:
        def fetch(rel: str) -> bool:
            if rel in done:
                return done[rel]
            data = blobs.read(rel)
            done[rel] = data is not None
            if data is None:
                return False
            target = os.path.join(tree.root, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as fh:
                fh.write(data)
            tree.names[os.path.realpath(target)] = f"{ref}:{rel}"
            here = os.path.dirname(rel)
            for m in _INCLUDE.finditer(data):
                inc = m.group(1).decode("utf-8", "surrogateescape")
                if os.path.isabs(inc):
                    continue
                for base in [here, *repo_dirs]:
                    if base is None:
                        continue
                    cand = os.path.normpath(os.path.join(base, inc)).replace(os.sep, "/")
                    if not cand.startswith("../") and fetch(cand):
                        break
            return True

        for r in roots:
            rel = inside(r)
            if rel is not None and fetch(rel):
                tree.roots.append(os.path.join(tree.root, rel))
            else:
                tree.roots.append(None)
    finally:
        blobs.close()
    return tree


def repository_idls(ref: str, where: Optional[str] = None) -> List[str]:
    """Every ``.thrift`` file under ``where`` (default: the working directory) that git
    knows now (tracked or untracked, not ignored) or knew at ``ref``: a file deleted
    since is compared too (all of it removed)."""
    here = os.path.abspath(where or os.getcwd())
    now = _git(["ls-files", "-co", "--exclude-standard", "--", "*.thrift"], here).splitlines()
    try:
        then = _git(["ls-tree", "-r", "--name-only", "--full-name", ref, "--", "."],
                    here).splitlines()
    except GitError:
        raise GitError(f"unknown git revision {ref!r}") from None
    top = os.path.realpath(_git(["rev-parse", "--show-toplevel"], here))
    paths = {os.path.normpath(os.path.join(here, p)) for p in now}
    paths |= {os.path.normpath(os.path.join(top, p)) for p in then if p.endswith(".thrift")}
    return [os.path.relpath(p) for p in sorted(paths)]
