"""Where thriftgen's caches live by default (standard library + platformdirs only, so
the generation cache's fast path can ask without importing the parser)."""

from __future__ import annotations

import os


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
