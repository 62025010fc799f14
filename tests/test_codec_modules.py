"""How the codec modules fit together (issue 16, Part 1): generated ``fast_codec=aot``
modules import every name they may use from ``thriftgen.runtime._aot``, importing it
compiles nothing, and the JIT takes its helpers from ``_codec_helpers``."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO_ROOT

from thriftgen.runtime import _aot, _codec_helpers, _compiler


def test_aot_exports_every_name_generated_code_may_import():
    missing = sorted(n for n in _aot.AOT_NAMES if not hasattr(_aot, n))
    assert not missing
    for name in _codec_helpers.HELPERS - {"_wrap"}:
        assert getattr(_aot, name) is getattr(_codec_helpers, name), name
    assert _aot.AOT_NAMES == _compiler._AOT_NAMES


def test_jit_namespace_has_the_entry_points_but_not_the_aot_facade():
    ns = _compiler._JitTarget(object, "binary", _codec_helpers.DEC).ns
    assert ns["_resume_b"] is _compiler._resume_b and ns["_function"] is _compiler.get_function
    assert ns["_wrap"] is _codec_helpers._wrap


def test_importing_the_aot_facade_does_not_import_the_compiler():
    code = ("import sys, thriftgen.runtime._aot; "
            "assert 'thriftgen.runtime._compiler' not in sys.modules, 'compiler imported'")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
