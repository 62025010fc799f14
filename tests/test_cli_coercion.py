"""The command line's cheap coercion of plain parameters (cli.plain_coercion) gives
every command the values typer's own coercion gives, and keeps pydantic (which
typer imports to coerce) out of a generator run; the console script's hard exit
keeps exit codes, output and atexit handlers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from thriftgen import cli

REPO = Path(__file__).resolve().parents[1]
STORE = str(REPO / "fixtures" / "monorepo" / "service.thrift")

ARGVS = {
    "gen": [[], [STORE], ["-o", "out", "-I", "a", "-I", "b", STORE, "x.thrift"],
            ["-thrift", "no_fmt,trim_idl", "-m", "Svc.f", "-r", "-q", "--no-cache", STORE],
            ["--check", "--fail-on-change", "--config", "c.toml", "-j", "one", "-v",
             "--report", "json", "--cache-dir", "d"]],
    "check": [[STORE], ["-I", "inc", "--werror", STORE, STORE]],
    "trim": [[STORE], ["-m", "A.b", "-o", "out.thrift", STORE]],
    "call": [["--idl", STORE, "127.0.0.1:1", "Svc.f", "{}"]],
}


def params(command, name: str, args: list) -> dict:
    sub = command.commands[name]
    ctx = sub.make_context(name, list(args), resilient_parsing=False)
    return ctx.params


@pytest.mark.parametrize("name,args", [(n, a) for n, argvs in ARGVS.items() for a in argvs],
                         ids=lambda x: x if isinstance(x, str) else " ".join(x)[:40])
def test_plain_coercion_gives_typers_values(name: str, args: list):
    stock = typer.main.get_command(cli.app)  # typer's coercion throughout
    ours = typer.main.get_command(cli.app)
    cli.plain_coercion(ours)
    try:
        expected = params(stock, name, args)
    except Exception as e:  # noqa: BLE001 - the same failure is expected
        with pytest.raises(type(e)):
            params(ours, name, args)
        return
    got = params(ours, name, args)
    assert got == expected
    assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in expected.items()}


def test_plain_coercion_covers_the_generators_parameters():
    command = cli.command()
    gen = command.commands["gen"]
    plain = [p.name for p in gen.params if isinstance(getattr(p, "_runtime_param", None),
                                                      cli._PlainValue)]
    assert {"idls", "outdir", "include", "thrift", "method", "quiet"} <= set(plain)


def test_a_value_of_another_kind_goes_to_typers_coercion():
    command = typer.main.get_command(cli.app)
    cli.plain_coercion(command)
    param = next(p for p in command.commands["gen"].params if p.name == "outdir")
    # Not a str: _PlainValue hands it to typer's own coercion (which makes it one).
    assert param.get_runtime_param().coerce(7, param=param, ctx=None) == "7"
    assert not isinstance(param._runtime_param, cli._PlainValue)


def test_a_generator_run_does_not_import_pydantic(tmp_path):
    code = ("import sys\n"
            "from thriftgen.cli import main\n"
            "try:\n"
            f"    main(['-q', '--no-cache', '-o', {str(tmp_path / 'out')!r}, {STORE!r}])\n"
            "except SystemExit as e:\n"
            "    assert not e.code, e.code\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert (tmp_path / "out").is_dir()


def console(args: list, tmp_path, prelude: str = "") -> subprocess.CompletedProcess:
    code = (f"import sys\n{prelude}\n"
            f"sys.argv = ['thriftgen', *{args!r}]\n"
            "from thriftgen.entry import main\n"
            "sys.exit(main())\n")  # as pip's console script does
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)


def test_hard_exit_keeps_exit_codes_output_and_atexit_handlers(tmp_path):
    prelude = "import atexit\natexit.register(lambda: print('atexit ran', flush=True))"
    ok = console(["check", STORE], tmp_path, prelude)
    assert ok.returncode == 0 and "atexit ran" in ok.stdout
    bad = console(["check", str(tmp_path / "missing.thrift")], tmp_path, prelude)
    assert bad.returncode == 1 and "missing.thrift" in bad.stderr and "atexit ran" in bad.stdout
    usage = console(["-thirft", "x", STORE], tmp_path)
    assert usage.returncode == 2 and "did you mean" in usage.stderr
    gen = console(["-o", str(tmp_path / "out"), "--no-cache", STORE], tmp_path)
    assert gen.returncode == 0 and "written" in gen.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir())


def test_hard_exit_of_a_string_code_prints_it(tmp_path):
    got = console([], tmp_path, "import thriftgen.entry as e\ne._run = lambda a: sys.exit('boom')")
    assert got.returncode == 1 and got.stderr.strip() == "boom"
