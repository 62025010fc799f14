"""A progress line for runs that take a while: what the run is doing, and for how long.

Shown on stderr only when it is a terminal, the run is not quiet, and the run has
lasted :data:`DELAY` seconds already (a quick run prints nothing extra, and
imports nothing for it: rich is imported when the line first appears). The
stages come from the code doing the work (``progress.stage("parsing 3 files")``);
without a display, ``stage`` costs an attribute store.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Optional

#: Seconds a run lasts before the line appears (``THRIFTGEN_PROGRESS_DELAY`` overrides).
DELAY = 1.0


class Progress:
    """``with Progress(enabled) as p: p.stage("..."); ...``"""

    def __init__(self, enabled: bool, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.text = "working"
        self._started = time.monotonic()
        self._done = threading.Event()
        self._thread: Optional[threading.Thread] = None

    @classmethod
    def for_terminal(cls, quiet: bool, stream=None) -> "Progress":
        stream = stream or sys.stderr
        tty = bool(getattr(stream, "isatty", lambda: False)())
        return cls(tty and not quiet and os.environ.get("TERM") != "dumb", stream)

    def stage(self, text: str) -> None:
        self.text = text

    def __enter__(self) -> "Progress":
        if self.enabled:
            self._thread = threading.Thread(target=self._show, daemon=True,
                                            name="thriftgen-progress")
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(2.0)

    def _show(self) -> None:
        delay = float(os.environ.get("THRIFTGEN_PROGRESS_DELAY", DELAY))
        if self._done.wait(delay):
            return
        try:
            from rich.console import Console
        except ImportError:  # pragma: no cover - rich comes with typer
            return
        console = Console(file=self.stream, stderr=True)
        with console.status(self._line(), spinner="dots") as status:
            while not self._done.wait(0.1):
                status.update(self._line())

    def _line(self) -> str:
        return f"thriftgen: {self.text} ({time.monotonic() - self._started:.0f} s)"


#: A progress that shows nothing (the default of the library functions).
QUIET = Progress(False)
