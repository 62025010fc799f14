"""black, in-process, with one fixed mode.

The templates already emit black's layout (``-thrift no_fmt`` is byte-identical),
so this pass is a safety net that keeps the output black-clean even if a
template and black ever disagree.

Measured on the 2-core machines this project targets (black imported before
forking, so workers start warm): store fixture, 25 files / 191 kB: 963 ms
serial, 697 ms with 2 forked workers; Apache's ThriftTest, 152 kB: 800 -> 490 ms;
echo, 9 kB: 43 -> 34 ms. So the command line uses a fork pool when there are
several files, several cores and ``fork``; the library default stays serial
(forking inside a caller's threaded process is not ours to decide).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from thriftgen.runtime.errors import ThriftgenError

_MODE = None


class FormatError(ThriftgenError):
    """black rejected generated code (a generator bug)."""


def black_mode():
    global _MODE
    if _MODE is None:
        import black

        _MODE = black.Mode()  # line length 88, double quotes: black's defaults
    return _MODE


def format_source(text: str, path: str = "<generated>") -> str:
    import black

    try:
        return black.format_str(text, mode=black_mode())
    except Exception as e:  # black raises several unrelated types
        raise FormatError(f"black cannot format generated {path}: {e}") from e


def format_files(files: dict, jobs: int = 1) -> dict:
    """``{path: text}`` with every ``.py`` text run through black.

    ``jobs > 1`` formats in that many forked worker processes (falls back to
    serial where ``fork`` is unavailable); ``jobs == 0`` picks from the CPU count.
    """
    paths = [p for p in files if p.endswith(".py")]
    if jobs == 0:
        jobs = min(os.cpu_count() or 1, 4, len(paths))
    out = dict(files)
    if jobs > 1 and len(paths) > 1 and "fork" in multiprocessing.get_all_start_methods():
        black_mode()  # imported before forking: workers start warm
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
            texts = pool.map(format_source, [files[p] for p in paths], paths,
                             chunksize=max(1, len(paths) // (jobs * 4)))
            out.update(zip(paths, texts))
        return out
    for p in paths:
        out[p] = format_source(files[p], p)
    return out
