"""Where thriftgen's caches live, and why an entry found there can be trusted.

Standard library (+ platformdirs) only: the generation cache's fast path uses
this before anything else is imported.

Trust model. A cache entry can decide what ends up in generated code (a
formatted module, a parsed AST, a check verdict, which packages are already up
to date), so an entry is used only when it was written by this user's
thriftgen:

* every entry is sealed with an HMAC-SHA256 over its part, its key and its
  bytes, under a secret key that only the user can read: the file
  ``<user config dir>/thriftgen/cache-key`` (created 0600 on first use), or
  the value of ``THRIFTGEN_CACHE_KEY`` (for CI machines that share a cache:
  set it from a secret). An entry whose seal does not verify (edited,
  copied from another machine or user, moved to another key, written by an
  older thriftgen) is a miss, never an error;
* the cache directory, the key file and every directory above them must be
  owned by the user (or root, above) and not writable by other users, unless
  the directory is sticky (``/tmp``) or the group is the user's own private
  group, as ssh requires of ``~/.ssh``. Otherwise the run goes on with no
  cache, and says so once.

A cache that cannot be created or written never fails a run.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import sys
import time

#: the head of a sealed entry; the MAC follows it
SEAL_MAGIC = b"TGC2\n"
_MAC_SIZE = 32
KEY_ENV = "THRIFTGEN_CACHE_KEY"
_stores: dict = {}
_warned: set = set()


def default_cache_dir() -> str:
    """``THRIFTGEN_CACHE_DIR``, else ``<user cache dir>/thriftgen/parse``."""
    env = os.environ.get("THRIFTGEN_CACHE_DIR")
    if env:
        return env
    try:
        import platformdirs

        return os.path.join(platformdirs.user_cache_dir("thriftgen"), "parse")
    except Exception:  # pragma: no cover
        return os.path.join(os.path.expanduser("~"), ".cache", "thriftgen", "parse")


def default_key_file() -> str:
    try:
        import platformdirs

        base = platformdirs.user_config_dir("thriftgen")
    except Exception:  # pragma: no cover
        base = os.path.join(os.path.expanduser("~"), ".config", "thriftgen")
    return os.path.join(base, "cache-key")


# --------------------------------------------------------------------------- permissions


def _private_group(gid: int) -> bool:
    """Whether ``gid`` is this user's own group (a user private group, as Debian and
    Ubuntu create with umask 002): group write then grants nobody else anything."""
    try:
        import grp
        import pwd
    except ImportError:  # pragma: no cover - not POSIX
        return False
    try:
        me = pwd.getpwuid(os.geteuid()).pw_name
        group = grp.getgrgid(gid)
    except KeyError:
        return False
    if gid != os.getegid() or any(m != me for m in group.gr_mem):
        return False
    return not any(p.pw_gid == gid and p.pw_name != me for p in pwd.getpwall())


def unsafe_reason(path: str) -> str | None:
    """Why another user could change what is at ``path`` (a directory or file that
    exists), or None. ``path`` itself must be the user's; the directories above it
    the user's or root's; none writable by others (sticky directories above are fine).
    Both the path as given and its real path are walked: a symlink is only as safe
    as the directory it sits in."""
    if not hasattr(os, "geteuid"):  # pragma: no cover - Windows: ACLs, not modes
        return None
    given = os.path.abspath(path)
    real = os.path.realpath(path)
    for chain in ((given, real) if given != real else (real,)):
        why = _chain_reason(chain)
        if why is not None:
            return why
    return None


def _chain_reason(path: str) -> str | None:
    uid = os.geteuid()
    current, first = path, True
    while True:
        try:
            st = os.stat(current)
        except OSError as e:
            return f"cannot inspect {current}: {e.strerror}"
        sticky_above = bool(st.st_mode & stat.S_ISVTX) and not first
        if st.st_uid not in ((uid,) if first else (uid, 0)):
            return f"{current} is owned by another user (uid {st.st_uid})"
        if st.st_mode & stat.S_IWOTH and not sticky_above:
            return f"{current} is writable by other users (mode {stat.S_IMODE(st.st_mode):04o})"
        if st.st_mode & stat.S_IWGRP and not sticky_above and not _private_group(st.st_gid):
            return f"{current} is writable by its group (mode {stat.S_IMODE(st.st_mode):04o})"
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current, first = parent, False


def _makedirs_private(path: str) -> None:
    """``os.makedirs`` giving every directory it creates mode 0700 (makedirs applies
    its mode to the last one only)."""
    missing = []
    d = os.path.abspath(path)
    while not os.path.isdir(d):
        missing.append(d)
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            pass


# --------------------------------------------------------------------------- the key


def _load_key() -> tuple:
    """``(key bytes, None)`` or ``(None, why the cache is off)``."""
    env = os.environ.get(KEY_ENV)
    if env:
        return hashlib.sha256(b"thriftgen cache key\0" + env.encode("utf-8", "surrogatepass")).digest(), None
    path = default_key_file()
    try:
        _makedirs_private(os.path.dirname(path))
        if not os.path.exists(path):
            tmp = f"{path}.{os.getpid()}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, os.urandom(32).hex().encode() + b"\n")
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)  # first writer wins
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
    except OSError as e:
        return None, f"cannot create the cache key {path}: {e.strerror}"
    why = unsafe_reason(path)
    if why is None and hasattr(os, "geteuid"):
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            why = f"the cache key {path} is readable by other users (mode {mode:04o}; chmod 600 it)"
    if why is not None:
        return None, why
    try:
        with open(path, "rb") as fh:
            data = fh.read(4096).strip()
    except OSError as e:
        return None, f"cannot read the cache key {path}: {e.strerror}"
    if len(data) < 32:
        return None, f"the cache key {path} is too short (delete it to make a new one)"
    return hashlib.sha256(b"thriftgen cache key\0" + data).digest(), None


# --------------------------------------------------------------------------- the store


class CacheStore:
    """The sealed entries under one verified cache root: ``<root>/<part>/<key[:2]>/<key[2:]>``."""

    __slots__ = ("root", "_key")

    def __init__(self, root: str, key: bytes):
        self.root = root
        self._key = key

    def path(self, part: str, key: str) -> str:
        return os.path.join(self.root, *part.split("/"), key[:2], key[2:])

    def _mac(self, part: str, key: str, data: bytes) -> bytes:
        mac = hmac.new(self._key, digestmod=hashlib.sha256)
        mac.update(f"{part}\0{key}\0".encode("utf-8", "surrogatepass"))
        mac.update(data)
        return mac.digest()

    def seal(self, part: str, key: str, data: bytes) -> bytes:
        return SEAL_MAGIC + self._mac(part, key, data) + data

    def unseal(self, part: str, key: str, blob: bytes) -> bytes | None:
        head = len(SEAL_MAGIC) + _MAC_SIZE
        if len(blob) < head or not blob.startswith(SEAL_MAGIC):
            return None
        data = blob[head:]
        if not hmac.compare_digest(blob[len(SEAL_MAGIC):head], self._mac(part, key, data)):
            return None
        return data

    def read(self, part: str, key: str) -> bytes | None:
        """The entry's bytes if it is there and its seal verifies, else None."""
        try:
            with open(self.path(part, key), "rb") as fh:
                blob = fh.read()
        except (OSError, ValueError):
            return None
        return self.unseal(part, key, blob)

    def write(self, part: str, key: str, data: bytes) -> None:
        """Store an entry atomically; a read-only or full cache never fails the run."""
        path = self.path(part, key)
        tmp = f"{path}.{os.getpid()}.{time.monotonic_ns()}.tmp"
        try:
            _makedirs_private(os.path.dirname(path))
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(self.seal(part, key, data))
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError:
            pass


def open_store(cache_dir: str | None = None, warn: bool = True) -> CacheStore | None:
    """The store of ``cache_dir`` (the default root when None), or None when it may not
    be used: the directory or the key is not safe, or cannot be made. The reason is
    printed once per process, to stderr, unless ``warn`` is false (a cache the user
    did not ask for, such as compiled scanner patterns)."""
    root = os.path.abspath(cache_dir or default_cache_dir())
    if root in _stores:
        return _stores[root]
    store = None
    key, why = _load_key()
    if key is not None:
        try:
            _makedirs_private(root)
            why = unsafe_reason(root)
        except OSError as e:
            why = f"cannot create {root}: {e.strerror}"
        if why is None:
            store = CacheStore(root, key)
    if store is None and not warn:
        return None  # not memoised: a later call that warns still says why
    if store is None and root not in _warned:
        _warned.add(root)
        sys.stderr.write(f"thriftgen: warning: not using the cache {root}: {why}\n")
    _stores[root] = store
    return store


def forget_stores() -> None:
    """Drop the per-process memo of verified roots (tests change permissions)."""
    _stores.clear()
    _warned.clear()


__all__ = ["CacheStore", "open_store", "default_cache_dir", "default_key_file", "unsafe_reason",
           "forget_stores", "KEY_ENV", "SEAL_MAGIC"]
