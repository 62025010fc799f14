"""The README's quick start: command 1's thriftgen part runs as written on the example
it names, and prints what the README shows (the time aside). Command 2 is what CI runs;
its install part is proven by tests/test_packaging.py and tests/test_build_plugins.py."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys

from conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def quick_start_commands() -> list:
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_the_two_commands_are_there():
    first, second = quick_start_commands()
    assert first.startswith("python -m pip install -e packaging/runtime -e . && thriftgen ")
    assert second == 'python -m pip install -e packaging/runtime -e ".[test]" && python -m pytest'
    assert "python -m pip install -e packaging/runtime -e \".[test]\"" in (
        REPO_ROOT / ".ci" / "run").read_text()


def test_command_one_prints_what_the_readme_shows(tmp_path):
    thriftgen_part = quick_start_commands()[0].split("&&", 1)[1].split()
    assert thriftgen_part[0] == "thriftgen"
    shutil.copytree(REPO_ROOT / "fixtures", tmp_path / "fixtures")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), NO_COLOR="1",
               THRIFTGEN_CACHE_DIR=str(tmp_path / "cache"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    run = [sys.executable, "-m", "thriftgen", *thriftgen_part[1:]]
    first = subprocess.run(run, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    shown = README.split("Command 1 generates", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    expected = [re.sub(r"\d+\.\d+ s\)", "<time>)", line) for line in shown.strip().splitlines()]
    got = [re.sub(r"\d+\.\d+ s\)", "<time>)", line) for line in first.stderr.strip().splitlines()]
    assert got == expected
    assert (tmp_path / "gen-py").is_dir()
    again = subprocess.run(run, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0
    assert "gen-py is up to date" in again.stderr and "cached" in again.stderr
    verbose = subprocess.run(run + ["-v", "--no-cache"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
    assert "removed: struct " in verbose.stderr and "fixtures/monorepo/domain_00.thrift:" in verbose.stderr
    assert shlex.join(run[3:]) == "-thrift trim_idl fixtures/monorepo/service.thrift"
