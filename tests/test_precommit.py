"""pre-commit: the hooks of .pre-commit-hooks.yaml, driven by the real pre-commit tool.

The README's configuration (docs/integrations/pre-commit-config.yaml) is used
verbatim except for its ``repo:`` and ``rev:`` values, which point at a git
snapshot of this checkout. pre-commit then builds the hooks' virtualenv the way
it does for users (``language: python``: ``pip install`` of the hook repository
into a fresh virtualenv), with pip taking every package, the build backend and
thriftgen-runtime included, from a local wheelhouse instead of the index.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SNIPPET = REPO_ROOT / "docs" / "integrations" / "pre-commit-config.yaml"
HOOKS = REPO_ROOT / ".pre-commit-hooks.yaml"
ECHO = REPO_ROOT / "fixtures" / "echo" / "echo.thrift"
#: What pip needs to install the hook repository into pre-commit's virtualenv offline.
SNAPSHOT = ["thriftgen", "templates", "packaging", "pyproject.toml", "README.md",
            ".pre-commit-hooks.yaml"]

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def pre_commit_cmd() -> list:
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        pytest.skip("pre-commit is not installed (pip install -e '.[test]')")
    return [sys.executable, "-m", "pre_commit"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com",
                           "-c", "commit.gpgsign=false", *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> tuple:
    """A one-commit git repository holding this checkout's working tree: ``(path, sha)``."""
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in SNAPSHOT:
        src = REPO_ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, repo / name)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "snapshot")
    return repo, git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def env(tmp_path_factory, wheelhouse) -> dict:
    home = tmp_path_factory.mktemp("pre-commit-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUALENV_",
                                                                     "THRIFTGEN_"))}
    env.pop("PYTHONPATH", None)
    env.update({
        "PRE_COMMIT_HOME": str(home / "pre-commit"),
        "THRIFTGEN_CACHE_DIR": str(home / "thriftgen-cache"),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    })
    return env


def config_for(text: str, repo: Path, sha: str) -> str:
    text, n_repo = re.subn(r"(?m)^(\s*- repo:) \S+", rf"\1 {repo}", text)
    text, n_rev = re.subn(r"(?m)^(\s*rev:) \S+", rf"\1 {sha}", text)
    assert n_repo == n_rev == 1, "the snippet should name one repo and one rev"
    return text


def user_repo(root: Path, config: str) -> Path:
    (root / "idl").mkdir(parents=True)
    shutil.copy(ECHO, root / "idl" / "echo.thrift")
    (root / "pyproject.toml").write_text('[tool.thriftgen]\nidl = ["idl/*.thrift"]\nout = "gen"\n')
    (root / ".pre-commit-config.yaml").write_text(config)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "idl only")
    return root


def run_hooks(root: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*pre_commit_cmd(), "run", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)


def test_hooks_manifest_and_snippet_are_valid(env):
    cmd = pre_commit_cmd()
    proc = subprocess.run([*cmd, "validate-manifest", str(HOOKS)], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run([*cmd, "validate-config", str(SNIPPET)], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import yaml

    hooks = {h["id"]: h for h in yaml.safe_load(HOOKS.read_text())}
    assert set(hooks) == {"thriftgen", "thriftgen-check", "thriftgen-lint", "thriftgen-audit"}
    assert all(h["files"] == r"\.thrift$" and h["pass_filenames"] is False for h in hooks.values())
    assert hooks["thriftgen-check"]["entry"].split()[1:] == ["--check"]
    assert hooks["thriftgen-lint"]["entry"].split()[1:] == ["check"]
    assert hooks["thriftgen-audit"]["entry"].split()[1:] == ["audit", "--against", "HEAD"]


def test_readme_config_regenerates_fails_on_change_and_reports_errors(tmp_path, hook_repo, env):
    root = user_repo(tmp_path / "user", config_for(SNIPPET.read_text(), *hook_repo))
    # First run: the generated package is new: the hook writes it and fails.
    first = run_hooks(root, env, "--all-files")
    assert first.returncode == 1, first.stdout + first.stderr
    assert re.search(r"thriftgen \(regenerate\)\.+Failed", first.stdout), first.stdout
    assert "4 written, 0 unchanged, 0 removed in gen" in first.stdout
    assert (root / "gen" / "echo" / "ttypes.py").is_file()
    # Second run: nothing to regenerate.
    git(root, "add", "-A")
    second = run_hooks(root, env, "--all-files")
    assert second.returncode == 0, second.stdout + second.stderr
    assert re.search(r"thriftgen \(regenerate\)\.+Passed", second.stdout)
    assert re.search(r"thriftgen check \(lint IDL\)\.+Passed", second.stdout)
    git(root, "commit", "-q", "-m", "generated")
    # A changed IDL: the hook fails and updates the output.
    idl = root / "idl" / "echo.thrift"
    idl.write_text(idl.read_text().replace("3: optional binary payload\n}\n\nstruct EchoResponse",
                                           "3: optional binary payload\n  4: optional i64 trace_id\n"
                                           "}\n\nstruct EchoResponse"))
    git(root, "add", "idl")
    third = run_hooks(root, env)
    assert third.returncode == 1 and "1 written, 3 unchanged" in third.stdout, third.stdout
    assert "trace_id" in (root / "gen" / "echo" / "ttypes.py").read_text()
    assert "gen/echo/ttypes.py" in git(root, "status", "--porcelain")
    git(root, "add", "-A")
    assert run_hooks(root, env).returncode == 0
    # A broken IDL: both hooks fail with the compiler-style diagnostic.
    idl.write_text(idl.read_text() + "\nstruct Broken {\n")
    git(root, "add", "idl")
    broken = run_hooks(root, env)
    assert broken.returncode == 1
    assert re.search(r"thriftgen check \(lint IDL\)\.+Failed", broken.stdout)
    assert broken.stdout.count("idl/echo.thrift:") >= 2  # reported by both hooks
    assert "error: unexpected end of file" in broken.stdout


def test_check_hook_writes_nothing(tmp_path, hook_repo, env):
    config = config_for(SNIPPET.read_text(), *hook_repo)
    config = re.sub(r"(?m)^(\s*)- id: thriftgen\b(?!-).*$", r"\1- id: thriftgen-check", config)
    root = user_repo(tmp_path / "user", config)
    proc = run_hooks(root, env, "--all-files")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(r"thriftgen \(check generated code is up to date\)\.+Failed", proc.stdout)
    assert "gen/echo/ttypes.py (new)" in proc.stdout and not (root / "gen").exists()


def test_audit_hook_fails_a_wire_break_and_passes_a_compatible_edit(tmp_path, hook_repo, env):
    config = config_for(SNIPPET.read_text(), *hook_repo)
    root = user_repo(tmp_path / "user", config)
    idl = root / "idl" / "echo.thrift"
    original = idl.read_text()
    assert "1: required string message" in original
    # A compatible edit (an optional field added) passes.
    idl.write_text(original.replace("3: optional binary payload\n",
                                    "3: optional binary payload\n  9: optional i64 trace\n", 1))
    git(root, "add", "idl")
    ok = run_hooks(root, env, "thriftgen-audit")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert re.search(r"thriftgen audit \(wire-breaking IDL changes\)\.+Passed", ok.stdout)
    # A field's type changed: the hook fails, pointing at the line, with HEAD's line.
    idl.write_text(original.replace("1: required string message", "1: required i64 message"))
    git(root, "add", "idl")
    bad = run_hooks(root, env, "thriftgen-audit")
    assert bad.returncode == 1, bad.stdout
    assert re.search(r"thriftgen audit \(wire-breaking IDL changes\)\.+Failed", bad.stdout)
    assert re.search(r"idl/echo\.thrift:\d+:\d+: error: type of field 'message' of "
                     r"'EchoRequest' changed: string became i64 \[field-type-changed\]", bad.stdout)
    assert "HEAD:idl/echo.thrift:" in bad.stdout and "note: was 1: required string message" \
        in bad.stdout
