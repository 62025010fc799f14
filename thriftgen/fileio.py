"""Writing a set of output files all or nothing, with the permissions users expect.

* :func:`replace_all` writes every file to a temporary file beside its target
  first; only when all exist are they renamed into place. Each existing target
  is first hard-linked (or, where links are not possible, copied) to a backup,
  so a rename that fails part way is rolled back: targets already replaced get
  their previous bytes again, new ones are removed, and no temporary file or
  backup stays behind. A target that is not a regular file (a directory, a
  symlink, a device) is refused before anything is renamed.
* Temporary files and backups are named ``.<name>.<pid>.<random>.tg-tmp`` /
  ``.tg-old``. A run killed part way leaves them behind; :func:`sweep_stale`
  removes those of processes that no longer run (and any older than a day),
  never those of a run still in progress.
* ``tempfile.mkstemp`` creates files readable by their owner only (0600); an
  output renamed into place from such a file would keep that mode, and a
  package built as one user could not be read by another. New files get
  ``0666 & ~umask`` instead, like ``open(path, "w")`` would give them.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import stat
import tempfile
import threading
import time

TEMP_SUFFIX = ".tg-tmp"
BACKUP_SUFFIX = ".tg-old"
#: Leftovers older than this are removed even when their pid seems alive (pid reuse).
STALE_AFTER_S = 24 * 3600
_LEFTOVER = re.compile(r"^\..+?(?:\.(\d+))?\.[A-Za-z0-9_]+\.tg-(?:tmp|old)$")
_lock = threading.Lock()
_mode = None


class FileWriteError(OSError):
    """A set of files could not be written; the previous files are in place."""


def new_file_mode() -> int:
    """``0o666`` less the process umask (read once: ``os.umask`` can only be
    read by setting it)."""
    global _mode
    if _mode is None:
        with _lock:
            if _mode is None:
                mask = os.umask(0o022)
                os.umask(mask)
                _mode = 0o666 & ~mask
    return _mode


def write_temp(directory: str, data: bytes, name: str) -> str:
    """A new file in ``directory`` holding ``data``, with the usual mode, named for
    ``name`` (the target it will replace); its path is returned for the caller to
    rename into place (removed on failure)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), new_file_mode())
            fh.write(data)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _backup(target: str) -> str:
    """A second name for ``target``'s current bytes (a hard link, else a copy)."""
    directory, name = os.path.split(target)
    while True:
        backup = os.path.join(directory, f".{name}.{os.getpid()}.{secrets.token_hex(4)}{BACKUP_SUFFIX}")
        try:
            os.link(target, backup)
            return backup
        except FileExistsError:
            continue
        except OSError:
            break  # no hard links here (some file systems): copy
    fd, backup = tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.", suffix=BACKUP_SUFFIX, dir=directory)
    os.close(fd)
    try:
        shutil.copy2(target, backup)
    except BaseException:
        _remove(backup)
        raise
    return backup


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def refuse_non_file(target: str) -> None:
    """FileWriteError unless ``target`` is absent or a regular file."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    if stat.S_ISREG(st.st_mode):
        return
    what = ("a directory" if stat.S_ISDIR(st.st_mode) else
            "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file")
    raise FileWriteError(errno.EEXIST, f"{target} is {what}; refusing to replace it")


def replace_all(writes: list) -> None:
    """Write ``[(target path, bytes)]``: every target gets its new bytes, or, when any
    step fails, every target keeps its old ones (see the module doc). Raises
    :class:`FileWriteError` (an ``OSError``) naming what failed and what was restored."""
    temps: list = []
    done: list = []  # (target, backup or None) in rename order
    try:
        for target, _ in writes:
            refuse_non_file(target)
        for target, data in writes:
            directory, name = os.path.split(target)
            temps.append(write_temp(directory, data, name))
        for (target, _), tmp in zip(writes, temps):
            backup = _backup(target) if os.path.lexists(target) else None
            try:
                os.replace(tmp, target)
            except BaseException:
                if backup is not None:
                    _remove(backup)
                raise
            done.append((target, backup))
    except BaseException as exc:
        failed = _rollback(done)
        for tmp in temps:
            _remove(tmp)
        if not isinstance(exc, OSError):
            raise
        why = exc.strerror or str(exc)
        where = exc.filename if isinstance(exc.filename, str) else None
        msg = f"cannot write {where}: {why}" if where else f"cannot write the output: {why}"
        if failed:
            msg += "; could not restore " + ", ".join(failed)
        else:
            msg += "; the previous files are left as they were"
        raise FileWriteError(exc.errno or errno.EIO, msg) from exc
    for _, backup in done:
        if backup is not None:
            _remove(backup)


def _rollback(done: list) -> list:
    """Undo the renames of ``done``, newest first; the targets that could not be
    restored (their backup stays, named after them)."""
    failed = []
    for target, backup in reversed(done):
        try:
            if backup is None:
                os.unlink(target)
            else:
                os.replace(backup, target)
        except OSError:
            failed.append(target)
    return failed


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False  # not a process id (0 would signal our own process group)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # someone else's process, or cannot tell: keep its files
    return True


def sweep_stale(directories) -> list:
    """Remove the temporary files and backups that killed runs left in
    ``directories`` (not recursive); returns the paths removed."""
    removed = []
    now = time.time()
    for directory in directories:
        try:
            it = os.scandir(directory)
        except OSError:
            continue
        with it:
            for entry in it:
                m = _LEFTOVER.match(entry.name)
                if m is None:
                    continue
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_S
                except OSError:
                    continue
                pid = m.group(1)
                if pid is not None and not old and _pid_alive(int(pid)):
                    continue
                try:
                    os.unlink(entry.path)
                    removed.append(entry.path)
                except OSError:
                    pass
    return removed


__all__ = ["replace_all", "sweep_stale", "write_temp", "refuse_non_file", "new_file_mode",
           "FileWriteError", "TEMP_SUFFIX", "BACKUP_SUFFIX"]
