"""Writing output files atomically with the permissions users expect.

``tempfile.mkstemp`` creates files readable by their owner only (0600); an
output renamed into place from such a file would keep that mode, and a
package built as one user could not be read by another. New files get
``0666 & ~umask`` instead, like ``open(path, "w")`` would give them.
"""

from __future__ import annotations

import os
import tempfile
import threading

_lock = threading.Lock()
_mode = None


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


def write_temp(directory: str, data: bytes, prefix: str, suffix: str) -> str:
    """A new file in ``directory`` holding ``data``, with the usual mode; its
    path is returned for the caller to rename into place (removed on failure)."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), new_file_mode())
            fh.write(data)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp
