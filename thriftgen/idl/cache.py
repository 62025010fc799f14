"""Parse cache keyed by file content hash.

An entry maps sha256(tool version, grammar signature, display path, file bytes)
to the pickled ``(Document, diagnostics)`` of that file. Entries are written
atomically and sealed with the user's cache key (see :mod:`thriftgen.cachedir`):
an entry whose seal does not verify is a miss. Even a sealed payload is loaded
with an unpickler that only accepts the AST and diagnostic classes, so a
corrupt, stale or foreign entry is ignored (and re-parsed), never executed.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from typing import Optional

from thriftgen import __version__
from thriftgen.cachedir import default_cache_dir, open_store
from thriftgen.diagnostics import Diagnostic
from thriftgen.idl import ast

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


class CachedFile:
    """A cache hit: what the loader needs now (includes, parse diagnostics) and the
    AST, unpickled only when a later stage asks for it."""

    __slots__ = ("includes", "diagnostics", "_blob")

    def __init__(self, includes: list, diagnostics: list, blob: bytes):
        self.includes = includes
        self.diagnostics = diagnostics
        self._blob = blob

    def load_document(self) -> Optional[ast.Document]:
        try:
            doc = _SafeUnpickler(io.BytesIO(self._blob)).load()
        except Exception:
            return None
        return doc if isinstance(doc, ast.Document) else None


def encode_entry(doc: ast.Document, diags: list) -> Optional[bytes]:
    """One file's parse result as a cache payload: the includes and diagnostics
    (what loading needs at once) ahead of the pickled AST (unpickled on demand)."""
    try:
        meta = pickle.dumps((doc.includes, list(diags)), protocol=pickle.HIGHEST_PROTOCOL)
        body = pickle.dumps(doc, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # pragma: no cover - an AST that cannot pickle is simply not cached
        return None
    return len(meta).to_bytes(8, "little") + meta + body


def decode_entry(payload: bytes) -> Optional[CachedFile]:
    """The :class:`CachedFile` of an :func:`encode_entry` payload; None if malformed."""
    try:
        meta_len = int.from_bytes(payload[:8], "little")
        includes, diags = _SafeUnpickler(io.BytesIO(payload[8: 8 + meta_len])).load()
    except Exception:
        return None
    if not isinstance(includes, list) or not all(isinstance(i, ast.Include) for i in includes):
        return None
    if not isinstance(diags, list) or not all(isinstance(d, Diagnostic) for d in diags):
        return None
    return CachedFile(includes, diags, payload[8 + meta_len:])


class ParseCache:
    """Per-file parse results and per-program check results, by content hash.

    Entries are sealed by the user's cache key (:mod:`thriftgen.cachedir`); with an
    unsafe or unusable cache directory every lookup misses and nothing is written."""

    def __init__(self, directory: Optional[str] = None):
        self.dir = directory or default_cache_dir()
        self.store = open_store(self.dir)
        self._salt = f"{__version__}\0{_grammar_signature()}\0".encode()
        self.hits = 0
        self.misses = 0

    def _key(self, *parts: bytes) -> str:
        h = hashlib.sha256(self._salt)
        for part in parts:
            h.update(len(part).to_bytes(8, "little"))
            h.update(part)
        return h.hexdigest()

    def _read(self, kind: str, key: str) -> Optional[bytes]:
        return self.store.read(kind, key) if self.store is not None else None

    def _write(self, kind: str, key: str, payload: bytes) -> None:
        if self.store is not None:
            self.store.write(kind, key, payload)

    # -- parse results ------------------------------------------------------------

    def file_key(self, data: bytes, display: str) -> str:
        return self._key(display.encode("utf-8", "surrogatepass"), data)

    def get(self, data: bytes, display: str) -> Optional[CachedFile]:
        payload = self._read("parse", self.file_key(data, display))
        entry = self._decode(payload) if payload is not None else None
        if entry is None:
            self.misses += 1
        else:
            self.hits += 1
        return entry

    @staticmethod
    def _decode(payload: bytes) -> Optional[CachedFile]:
        return decode_entry(payload)

    def put(self, data: bytes, display: str, doc: ast.Document, diags: list) -> None:
        payload = encode_entry(doc, diags)
        if payload is not None:
            self.put_payload(data, display, payload)

    def put_payload(self, data: bytes, display: str, payload: bytes) -> None:
        """Store an :func:`encode_entry` payload (parse workers encode, see loader)."""
        self._write("parse", self.file_key(data, display), payload)

    # -- check results (per whole program) ------------------------------------------

    def program_key(self, fingerprint: bytes) -> str:
        return self._key(b"check", fingerprint)

    def get_check(self, key: str) -> Optional[list]:
        payload = self._read("check", key)
        if payload is None:
            return None
        try:
            diags = _SafeUnpickler(io.BytesIO(payload)).load()
        except Exception:
            return None
        if not isinstance(diags, list) or not all(isinstance(d, Diagnostic) for d in diags):
            return None
        return diags

    def put_check(self, key: str, diags: list) -> None:
        self._write("check", key, pickle.dumps(list(diags), protocol=pickle.HIGHEST_PROTOCOL))

    # -- results of later stages over whole programs (JSON, never pickles) -----------

    def result_key(self, kind: str, *parts: bytes) -> str:
        return self._key(kind.encode(), *parts)

    def get_result(self, kind: str, key: str) -> Optional[bytes]:
        """A stored result (its seal verified); the caller parses and validates it."""
        return self._read(kind, key)

    def put_result(self, kind: str, key: str, payload: bytes) -> None:
        self._write(kind, key, payload)
