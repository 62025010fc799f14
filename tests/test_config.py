"""Generation jobs from [tool.thriftgen] / thriftgen.toml, and the CLI running them.

Also checks that README.md embeds every integration snippet of docs/integrations/
verbatim (the snippets live in those files; the integration tests read them)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from thriftgen.cli import main
from thriftgen.config import (DEFAULT_OUT, ConfigError, configured_jobs, find_config,
                              load_config)

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "fixtures"
SNIPPETS = REPO_ROOT / "docs" / "integrations"
ECHO = FIXTURES / "echo" / "echo.thrift"


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("THRIFTGEN_CACHE_DIR", str(tmp_path / "cache"))


def project(tmp_path: Path, pyproject: str = None, thriftgen_toml: str = None) -> Path:
    root = tmp_path / "proj"
    (root / "idl").mkdir(parents=True)
    shutil.copy(ECHO, root / "idl" / "echo.thrift")
    (root / ".git").mkdir()  # the config search stops at the repository root
    if pyproject is not None:
        (root / "pyproject.toml").write_text(pyproject)
    if thriftgen_toml is not None:
        (root / "thriftgen.toml").write_text(thriftgen_toml)
    return root


def run_cli(args, cwd: Path, capsys) -> tuple:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with pytest.raises(SystemExit) as exc:
            main(list(args))
    finally:
        os.chdir(old)
    out, err = capsys.readouterr()
    return exc.value.code or 0, out, err


# --------------------------------------------------------------------------- loading


def test_single_job_with_defaults(tmp_path):
    root = project(tmp_path, '[tool.thriftgen]\nidl = "idl/*.thrift"\n')
    cfg = load_config(str(root / "pyproject.toml"))
    [job] = cfg.jobs
    assert job.name == "default"
    assert job.roots == [str(root / "idl" / "echo.thrift")]
    assert job.outdir == str(root / DEFAULT_OUT)
    assert (job.include_dirs, job.thrift, job.methods, job.recursive, job.trim) == ([], [], [], False, {})
    assert job.globs == [(str(root), "idl/*.thrift", [str(root / "idl" / "echo.thrift")])]


def test_jobs_inherit_top_level_keys_and_override_them(tmp_path):
    root = project(tmp_path, """
[tool.thriftgen]
include = ["idl"]
thrift = ["no_fmt"]
out = "shared-out"
trim = { all = true, strict = true }

[[tool.thriftgen.jobs]]
name = "a"
idl = ["idl/echo.thrift"]
out = "gen-a"

[[tool.thriftgen.jobs]]
idl = ["idl/*.thrift"]
thrift = "package_prefix=x"
methods = "Echo\\\\.echo"
recursive = true
trim = { strict = false, preserved_files = ["idl/echo.thrift"] }
""")
    a, b = load_config(str(root / "pyproject.toml")).jobs
    assert (a.name, b.name) == ("a", "jobs[1]")
    assert a.include_dirs == b.include_dirs == [str(root / "idl")]
    assert a.outdir == str(root / "gen-a") and b.outdir == str(root / "shared-out")
    assert a.thrift == ["no_fmt"] and b.thrift == ["package_prefix=x"]
    assert b.methods == ["Echo\\.echo"] and b.recursive and not a.recursive
    assert a.trim == {"all": True, "strict": True}
    # Trim tables merge key by key; preserved_files resolve against the config file.
    assert b.trim == {"all": True, "strict": False,
                      "preserved_files": [str(root / "idl" / "echo.thrift")]}
    assert b.wants_trim() and not a.wants_trim()


def test_thriftgen_toml_top_level_and_precedence(tmp_path):
    root = project(tmp_path, '[tool.thriftgen]\nidl = ["idl/echo.thrift"]\nout = "from-pyproject"\n',
                   'idl = ["idl/echo.thrift"]\nout = "from-toml"\n')
    sub = root / "idl"
    path, looked = find_config(str(sub))
    assert path == str(root / "thriftgen.toml")
    assert looked[:3] == [str(sub / "thriftgen.toml"), str(sub / "pyproject.toml"),
                          str(root / "thriftgen.toml")]
    _, [job], _ = configured_jobs(start=str(sub))
    assert job.outdir == str(root / "from-toml")


def test_search_skips_pyproject_without_table_and_stops_at_repo_root(tmp_path):
    root = project(tmp_path, '[tool.thriftgen]\nidl = ["idl/echo.thrift"]\n')
    inner = root / "pkg"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    assert find_config(str(inner))[0] == str(root / "pyproject.toml")
    (tmp_path / "pyproject.toml").write_text('[tool.thriftgen]\nidl = ["x.thrift"]\n')
    (root / "pyproject.toml").unlink()
    assert find_config(str(inner))[0] is None  # never past the .git directory


@pytest.mark.parametrize("body, message", [
    ('[tool.thriftgen]\nidl = ["idl/echo.thrift"]\noutdir = "x"\n',
     "pyproject.toml: tool.thriftgen: unknown key 'outdir' (expected one of: name, idl,"),
    ('[tool.thriftgen]\n[[tool.thriftgen.jobs]]\nidl = ["idl/echo.thrift"]\n'
     '[[tool.thriftgen.jobs]]\nidl = ["idl/echo.thrift"]\nincludes = ["idl"]\n',
     "pyproject.toml: tool.thriftgen.jobs[1]: unknown key 'includes'"),
    ('[tool.thriftgen]\nidl = ["idl/echo.thrift"]\nout = 3\n',
     "pyproject.toml: tool.thriftgen.out: must be a string (non-empty), got 3"),
    ('[tool.thriftgen]\nidl = ["idl/echo.thrift"]\nrecursive = "yes"\n',
     "pyproject.toml: tool.thriftgen.recursive: must be true or false, got 'yes'"),
    ('[tool.thriftgen]\nidl = [1]\n',
     "pyproject.toml: tool.thriftgen.idl: must be a string or a list of strings"),
    ('[tool.thriftgen]\nidl = ["idl/*.thrift", "other/*.thrift"]\n',
     "pyproject.toml: tool.thriftgen.idl: 'other/*.thrift' matches no file"),
    ('[tool.thriftgen]\nidl = ["idl/missing.thrift"]\n',
     "pyproject.toml: tool.thriftgen.idl: no such file 'idl/missing.thrift'"),
    ('[tool.thriftgen]\nidl = ["idl/echo.thrift"]\ninclude = ["nope"]\n',
     "pyproject.toml: tool.thriftgen.include: no such directory 'nope'"),
    ('[tool.thriftgen]\nout = "x"\n', "pyproject.toml: tool.thriftgen defines no job"),
    ('[tool.thriftgen]\njobs = {idl = "x"}\n',
     "pyproject.toml: tool.thriftgen.jobs: must be an array of tables"),
    ('[tool.thriftgen]\nidl = ["idl/echo.thrift"]\n[[tool.thriftgen.jobs]]\nidl = ["idl/echo.thrift"]\n',
     "pyproject.toml: tool.thriftgen.idl: give 'idl' in each [[tool.thriftgen.jobs]] table"),
    ('[tool.thriftgen]\n[[tool.thriftgen.jobs]]\nname = "a"\nidl = ["idl/echo.thrift"]\n'
     '[[tool.thriftgen.jobs]]\nname = "a"\nidl = ["idl/echo.thrift"]\nout = "b"\n',
     "pyproject.toml: two jobs are named 'a'"),
    ('[tool.thriftgen]\n[[tool.thriftgen.jobs]]\nname = "a"\nidl = ["idl/echo.thrift"]\n'
     '[[tool.thriftgen.jobs]]\nname = "b"\nidl = ["idl/echo.thrift"]\n',
     "pyproject.toml: jobs 'a' and 'b' both write to"),
    ('[tool.thriftgen]\nidl = ["idl/echo.thrift"]\ntrim = { everything = true }\n',
     "pyproject.toml: tool.thriftgen.trim: unknown key 'everything'"),
    ('[tool.thriftgen]\nidl = ["idl/echo.thrift"]\ntrim = { all = "yes" }\n',
     "pyproject.toml: tool.thriftgen.trim: key 'all' must be true or false"),
    ('[tool.thriftgen\n', "pyproject.toml: invalid TOML"),
])
def test_bad_configuration_names_file_and_key(tmp_path, monkeypatch, body, message):
    root = project(tmp_path, body)
    monkeypatch.chdir(root)
    with pytest.raises(ConfigError) as exc:
        load_config("pyproject.toml")
    assert message in str(exc.value)


def test_bad_thrift_option_is_reported_with_its_key(tmp_path, monkeypatch):
    root = project(tmp_path, None, 'idl = "idl/echo.thrift"\nthrift = ["fast_and_loose"]\n')
    monkeypatch.chdir(root)
    [job] = load_config("thriftgen.toml").jobs
    with pytest.raises(ConfigError, match=r"^thriftgen\.toml: thrift: unknown -thrift option "
                                          r"'fast_and_loose'"):
        job.gen_options()


def test_select_unknown_job(tmp_path):
    root = project(tmp_path, '[tool.thriftgen]\nidl = ["idl/echo.thrift"]\n')
    with pytest.raises(ConfigError, match="no job named 'nope' \\(jobs: default\\)"):
        load_config(str(root / "pyproject.toml")).select(["nope"])


# --------------------------------------------------------------------------- the CLI


def test_cli_without_idl_runs_configured_jobs(tmp_path, capsys):
    root = project(tmp_path, """
[tool.thriftgen]
thrift = ["no_fmt"]
[[tool.thriftgen.jobs]]
name = "plain"
idl = ["idl/*.thrift"]
out = "gen"
[[tool.thriftgen.jobs]]
name = "prefixed"
idl = ["idl/echo.thrift"]
out = "gen2"
thrift = ["package_prefix=api"]
""")
    code, _, err = run_cli([], root, capsys)
    assert code == 0, err
    assert (root / "gen" / "echo" / "ttypes.py").is_file()
    assert (root / "gen2" / "api" / "echo" / "ttypes.py").is_file()
    assert "4 written, 0 unchanged, 0 removed in gen (4 files, " in err
    assert "removed in gen2" in err
    # From a subdirectory, the same configuration; nothing to do now.
    code, _, err = run_cli(["-q"], root / "idl", capsys)
    assert (code, err) == (0, "")
    # --job picks one; flags override: -o moves it, -thrift adds to the configured options.
    code, _, err = run_cli(["--job", "prefixed", "-o", "elsewhere", "-thrift",
                            "package_prefix=other"], root, capsys)
    assert code == 0, err
    assert (root / "elsewhere" / "other" / "echo" / "ttypes.py").is_file()
    assert not (root / "gen" / "other").exists()


def test_cli_flag_conflicts_and_missing_configuration(tmp_path, capsys):
    root = project(tmp_path, """
[tool.thriftgen]
[[tool.thriftgen.jobs]]
idl = ["idl/echo.thrift"]
out = "a"
[[tool.thriftgen.jobs]]
idl = ["idl/echo.thrift"]
out = "b"
""")
    code, _, err = run_cli(["-o", "x"], root, capsys)
    assert code == 1 and "-o names one output directory but 2 jobs are selected" in err
    code, _, err = run_cli(["--job", "x", "idl/echo.thrift"], root, capsys)
    assert code == 1 and "cannot be combined with IDL arguments" in err
    (root / "pyproject.toml").unlink()
    for args in ([], ["check"]):
        code, _, err = run_cli(args, root, capsys)
        assert code == 2  # a usage error, as a missing argument is
        assert "no IDL given and no configuration found: add [tool.thriftgen] to pyproject.toml" in err


def test_cli_reports_configuration_errors(tmp_path, capsys):
    root = project(tmp_path, '[tool.thriftgen]\nidl = ["idl/echo.thrift"]\nouts = "x"\n')
    code, _, err = run_cli([], root, capsys)
    assert code == 1
    assert err.startswith("thriftgen: error: pyproject.toml: tool.thriftgen: unknown key 'outs'")


def test_cli_methods_flag_replaces_configured_methods(tmp_path, capsys):
    store = tmp_path / "proj" / "idl" / "store"
    project(tmp_path, """
[tool.thriftgen]
idl = ["idl/store/service.thrift"]
include = ["idl/store"]
out = "gen"
methods = ["OrderDesk\\\\.getOrder"]
thrift = ["no_fmt"]
""")
    shutil.copytree(FIXTURES / "store", store)
    root = tmp_path / "proj"
    code, _, err = run_cli(["-q"], root, capsys)
    assert code == 0, err
    service = (root / "gen" / "store" / "service" / "OrderDesk.py").read_text()
    assert "def getOrder(" in service and "def refund(" not in service
    code, _, err = run_cli(["-q", "-m", "OrderDesk\\.refund"], root, capsys)
    assert code == 0, err
    service = (root / "gen" / "store" / "service" / "OrderDesk.py").read_text()
    assert "def refund(" in service and "def getOrder(" not in service


def test_check_command_without_idl_checks_configured_jobs(tmp_path, capsys):
    root = project(tmp_path, '[tool.thriftgen]\nidl = ["idl/*.thrift"]\n')
    code, _, err = run_cli(["check"], root, capsys)
    assert code == 0 and "ok: 1 file(s), 0 warning(s)" in err
    (root / "idl" / "bad.thrift").write_text("struct Bad {\n  1: i32 x\n  1: i32 y\n}\n")
    code, _, err = run_cli(["check"], root, capsys)
    assert code == 1
    assert "idl/bad.thrift:3:" in err and "thriftgen: 1 error(s)" in err


# --------------------------------------------------------------------------- README snippets


def test_readme_snippet_configuration_runs(tmp_path, capsys):
    """docs/integrations/pyproject-thriftgen.toml, verbatim, on the store fixture."""
    root = tmp_path / "proj"
    shutil.copytree(FIXTURES / "store", root / "idl" / "store")
    (root / ".git").mkdir()
    shutil.copy(SNIPPETS / "pyproject-thriftgen.toml", root / "pyproject.toml")
    code, _, err = run_cli(["-q", "-thrift", "no_fmt"], root, capsys)
    assert code == 0, err
    full = root / "gen" / "api" / "store"
    cart = root / "gen-cart" / "api" / "store"
    assert (full / "shipping" / "carriers" / "ttypes.py").is_file()
    assert (full / "catalog" / "CatalogReader.py").is_file()
    # The trimmed job keeps only what the cart methods need.
    assert not (cart / "shipping").exists()
    front = (cart / "service" / "StoreFront.py").read_text()
    assert "def getCart(" in front and "def checkout(" not in front


def test_readme_embeds_integration_snippets():
    readme = (REPO_ROOT / "README.md").read_text()
    if "docs/integrations/" not in readme:
        pytest.skip("README.md has no integrations section yet")
    snippets = sorted(SNIPPETS.iterdir())
    assert snippets
    for path in snippets:
        text = path.read_text()
        assert text + "```" in readme, f"README.md does not embed {path.name} verbatim"
