"""Parse cache keyed by file content hash.

An entry maps sha256(tool version, grammar signature, display path, file bytes)
to the pickled ``(Document, diagnostics)`` of that file. Entries are written
atomically. Loading never trusts the file blindly: the header (magic, format
version, payload digest) must match, and the unpickler only accepts the AST
and diagnostic classes, so a corrupt, stale or foreign entry is ignored (and
re-parsed), never executed.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tempfile
from typing import Optional

from thriftgen import __version__
from thriftgen.diagnostics import Diagnostic
from thriftgen.idl import ast

MAGIC = b"TGPC1\n"
_ALLOWED = {("thriftgen.idl.ast", name) for name in dir(ast) if isinstance(getattr(ast, name), type)}
_ALLOWED.add(("thriftgen.diagnostics", "Diagnostic"))


def _grammar_signature() -> str:
    try:
        from thriftgen.idl import _parsetab

        return _parsetab._lr_signature[:64]
    except Exception:  # pragma: no cover - tables missing: still a valid key
        return "nosig"


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"class {module}.{name} not allowed in the parse cache")


def default_cache_dir() -> str:
    env = os.environ.get("THRIFTGEN_CACHE_DIR")
    if env:
        return env
    try:
        import platformdirs

        return os.path.join(platformdirs.user_cache_dir("thriftgen"), "parse")
    except Exception:  # pragma: no cover
        return os.path.join(os.path.expanduser("~"), ".cache", "thriftgen", "parse")


class ParseCache:
    def __init__(self, directory: Optional[str] = None):
        self.dir = directory or default_cache_dir()
        self._salt = f"{__version__}\0{_grammar_signature()}\0".encode()
        self.hits = 0
        self.misses = 0

    def _key(self, data: bytes, display: str) -> str:
        h = hashlib.sha256(self._salt)
        h.update(display.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
        h.update(data)
        return h.hexdigest()

    def _path(self, key: str) -> str:
        return os.path.join(self.dir, key[:2], key[2:] + ".pickle")

    def get(self, data: bytes, display: str) -> Optional[tuple]:
        path = self._path(self._key(data, display))
        try:
            with open(path, "rb") as fh:
                blob = fh.read()
        except OSError:
            self.misses += 1
            return None
        entry = self._decode(blob)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        return entry

    @staticmethod
    def _decode(blob: bytes) -> Optional[tuple]:
        if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 32:
            return None
        digest = blob[len(MAGIC): len(MAGIC) + 32]
        payload = blob[len(MAGIC) + 32:]
        if hashlib.sha256(payload).digest() != digest:
            return None
        try:
            doc, diags = _SafeUnpickler(io.BytesIO(payload)).load()
        except Exception:
            return None
        if not isinstance(doc, ast.Document) or not isinstance(diags, list) or not all(
            isinstance(d, Diagnostic) for d in diags
        ):
            return None
        return doc, diags

    def put(self, data: bytes, display: str, doc: ast.Document, diags: list) -> None:
        try:
            payload = pickle.dumps((doc, list(diags)), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # pragma: no cover - an AST that cannot pickle is simply not cached
            return
        path = self._path(self._key(data, display))
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(MAGIC + hashlib.sha256(payload).digest() + payload)
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError:
            pass  # a read-only or full cache dir must never fail the run
