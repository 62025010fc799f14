"""The trimmer as a library: what is kept, method selection, preserve, config, text cuts."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from thriftgen.diagnostics import DiagnosticSink, IDLError
from thriftgen.idl import ast
from thriftgen.idl.checker import check_program
from thriftgen.idl.loader import load_program
from thriftgen.trim import (TrimConfigError, TrimOptions, load_trim_config, plan_layout,
                            render_trimmed, resolve_options, trim_program, write_trimmed)


def write_tree(root: Path, files: dict) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def load(root: Path, main: str = "main.thrift", include_dirs=()):
    sink = DiagnosticSink()
    program = load_program([str(root / main)], [str(root / d) for d in include_dirs], sink)
    check_program(program, sink)
    sink.check()
    return program


def trim(program, **kw):
    return trim_program(program, TrimOptions(**kw))


def kept(result, file_name: str) -> list:
    for pf in result.program:
        if os.path.basename(pf.path) == file_name:
            return [d.name for d in pf.document.definitions]
    return []


def functions(result, file_name: str, service: str) -> list:
    for pf in result.program:
        if os.path.basename(pf.path) == file_name:
            return [f.name for f in pf.symbols[service].functions]
    raise KeyError(file_name)


def text_of(result, file_name: str) -> str:
    for path, text in render_trimmed(result).items():
        if os.path.basename(path) == file_name:
            return text
    raise KeyError(file_name)


# --------------------------------------------------------------------------- reachability

BASIC = {
    "shared.thrift": """
        typedef i64 Id
        enum Color { RED = 1, GREEN = 2 }
        const i32 LIMIT = 10
        struct Used { 1: Id id, 2: Color color = Color.RED }
        struct Unused { 1: string s }
        exception Oops { 1: string msg }
        service SharedSvc { void nothing() }
    """,
    "main.thrift": """
        include "shared.thrift"
        typedef shared.Used UsedAlias
        struct Node { 1: optional Node next, 2: list<map<string, Leaf>> leaves }
        struct Leaf { 1: i32 size = shared.LIMIT }
        struct Orphan { 1: Node n }
        union Pick { 1: Leaf leaf, 2: string other }
        const list<string> NAMES = ["a"]
        service Svc {
          Node walk(1: UsedAlias u) throws (1: shared.Oops oops),
          void pick(1: set<Pick> picks),
        }
    """,
}


def test_default_keeps_reachable_and_all_consts_enums_typedefs(tmp_path):
    write_tree(tmp_path, BASIC)
    r = trim(load(tmp_path))
    assert kept(r, "main.thrift") == ["UsedAlias", "Node", "Leaf", "Pick", "NAMES", "Svc"]
    # Unused and the included file's service go; typedefs/enums/consts stay by default
    assert kept(r, "shared.thrift") == ["Id", "Color", "LIMIT", "Used", "Oops"]
    assert r.stats.total("before")["structs"] == 5
    assert r.stats.total("after")["structs"] == 3  # Used, Node, Leaf (Pick is a union)
    assert r.stats.removed_structures() == (2, 2)  # Unused (1 field) + Orphan (1 field)


def test_trim_all_removes_unreferenced_consts_enums_typedefs(tmp_path):
    write_tree(tmp_path, BASIC)
    r = trim(load(tmp_path), trim_all=True)
    assert kept(r, "main.thrift") == ["UsedAlias", "Node", "Leaf", "Pick", "Svc"]
    # LIMIT stays: a field default refers to it; Color via a type and a default
    assert kept(r, "shared.thrift") == ["Id", "Color", "LIMIT", "Used", "Oops"]


def test_const_values_keep_what_they_name(tmp_path):
    write_tree(tmp_path, {
        "consts.thrift": """
            enum Level { LOW, HIGH }
            enum Other { X }
            const Level DEFAULT_LEVEL = Level.HIGH
            const i32 UNUSED = 3
        """,
        "main.thrift": """
            include "consts.thrift"
            struct S { 1: consts.Level lvl = consts.DEFAULT_LEVEL, 2: map<i32, list<i32>> m = {1: [2]} }
            service Svc { S get() }
        """,
    })
    r = trim(load(tmp_path), trim_all=True)
    assert kept(r, "consts.thrift") == ["Level", "DEFAULT_LEVEL"]


def test_includes_that_no_longer_contribute_are_dropped(tmp_path):
    write_tree(tmp_path, {
        "a.thrift": "struct A { 1: i32 x }\n",
        "b.thrift": "typedef i32 B\n",
        "main.thrift": """
            include "a.thrift"
            include "b.thrift"
            struct Unused { 1: a.A a, 2: b.B b }
            service Svc { void ping() }
        """,
    })
    r = trim(load(tmp_path))
    assert [os.path.basename(p) for p in r.program.files] == ["main.thrift"]
    assert r.program.files[r.program.roots[0]].includes == {}
    assert r.stats.dropped_files == [str(tmp_path / "a.thrift"), str(tmp_path / "b.thrift")]
    assert "include" not in text_of(r, "main.thrift")


def test_input_program_is_not_mutated(tmp_path):
    write_tree(tmp_path, BASIC)
    program = load(tmp_path)
    before = {p: (list(pf.document.headers), list(pf.document.definitions),
                  [list(s.functions) for s in pf.document.services()], dict(pf.includes))
              for p, pf in program.files.items()}
    trim(program, methods=["Svc.walk"], trim_all=True)
    after = {p: (list(pf.document.headers), list(pf.document.definitions),
                 [list(s.functions) for s in pf.document.services()], dict(pf.includes))
             for p, pf in program.files.items()}
    assert before == after


def test_cycles_through_structs_and_typedefs_terminate(tmp_path):
    write_tree(tmp_path, {"main.thrift": """
        struct A { 1: optional B b }
        struct B { 1: optional list<A> a, 2: optional C c }
        typedef A AAlias
        struct C { 1: optional AAlias back }
        service Svc { C get() }
    """})
    r = trim(load(tmp_path), trim_all=True)
    assert kept(r, "main.thrift") == ["A", "B", "AAlias", "C", "Svc"]


# --------------------------------------------------------------------------- method selection

METHODS = {
    "base.thrift": """
        struct BaseOnly { 1: i32 x }
        struct Shared { 1: i32 y }
        service Base {
          BaseOnly baseCall(),
          Shared sharedCall(),
        }
    """,
    "main.thrift": """
        include "base.thrift"
        struct GetReq { 1: i32 a }
        struct GetUserReq { 1: i32 b }
        struct XReq { 1: i32 c }
        struct DotReq { 1: i32 d }
        service Svc extends base.Base {
          void Get(1: GetReq r),
          void GetUser(1: GetUserReq r),
          void get_v2(1: DotReq r),
        }
        service XSvc {
          void Get(1: XReq r),
        }
        service Mid extends Svc {
          void own(),
        }
    """,
}


def test_pattern_is_anchored_to_service_and_method(tmp_path):
    write_tree(tmp_path, METHODS)
    r = trim(load(tmp_path), methods=["Svc.Get"])
    assert functions(r, "main.thrift", "Svc") == ["Get"]  # not GetUser
    assert "XSvc" not in kept(r, "main.thrift")  # not XSvc.Get
    assert "XReq" not in kept(r, "main.thrift") and "GetUserReq" not in kept(r, "main.thrift")
    # the base keeps nothing: it goes, and Svc's extends is cut (in the text too)
    assert "base.thrift" not in {os.path.basename(p) for p in r.program.files}
    assert r.program.files[r.program.roots[0]].symbols["Svc"].extends is None
    assert "extends" not in text_of(r, "main.thrift").split("service Svc")[1].split("{")[0]
    assert not r.diagnostics


def test_bare_pattern_matches_method_in_every_root_service(tmp_path):
    write_tree(tmp_path, METHODS)
    r = trim(load(tmp_path), methods=["Get"])
    assert functions(r, "main.thrift", "Svc") == ["Get"]
    assert functions(r, "main.thrift", "XSvc") == ["Get"]
    # Mid inherits Svc.Get, so it survives with no method of its own, extending Svc
    assert functions(r, "main.thrift", "Mid") == []
    assert r.program.files[r.program.roots[0]].symbols["Mid"].extends == "Svc"


def test_regex_metacharacters(tmp_path):
    write_tree(tmp_path, METHODS)
    r = trim(load(tmp_path), methods=[r"Svc\.Get(User)?"])
    assert functions(r, "main.thrift", "Svc") == ["Get", "GetUser"]
    r = trim(load(tmp_path), methods=["(X)?Svc.G.t"])
    assert functions(r, "main.thrift", "Svc") == ["Get"]
    assert functions(r, "main.thrift", "XSvc") == ["Get"]
    # an unescaped '.' matches any character, '_' included
    r = trim(load(tmp_path), methods=["Svc.get.v2"])
    assert functions(r, "main.thrift", "Svc") == ["get_v2"]
    with pytest.raises(IDLError, match="invalid method pattern"):
        trim(load(tmp_path), methods=["Svc.(unclosed"])


def test_extends_chain_across_files(tmp_path):
    write_tree(tmp_path, METHODS)
    # an inherited method picked through the root service's name
    r = trim(load(tmp_path), methods=["Svc.sharedCall"])
    assert functions(r, "main.thrift", "Svc") == []
    assert functions(r, "base.thrift", "Base") == ["sharedCall"]
    assert kept(r, "base.thrift") == ["Shared", "Base"]
    assert r.program.files[r.program.roots[0]].symbols["Svc"].extends == "base.Base"
    assert "Mid" not in kept(r, "main.thrift")
    # ... and two levels down, through Mid -> Svc -> base.Base
    r = trim(load(tmp_path), methods=["Mid.baseCall"])
    assert functions(r, "main.thrift", "Mid") == []
    assert functions(r, "main.thrift", "Svc") == []
    assert functions(r, "base.thrift", "Base") == ["baseCall"]
    assert kept(r, "base.thrift") == ["BaseOnly", "Base"]
    # a base in an included file answers to its own name too
    r = trim(load(tmp_path), methods=["Base.baseCall"])
    assert functions(r, "base.thrift", "Base") == ["baseCall"]
    assert set(kept(r, "main.thrift")) == {"Svc", "Mid"}


def test_no_pattern_keeps_whole_extends_chain(tmp_path):
    write_tree(tmp_path, METHODS)
    r = trim(load(tmp_path))
    assert functions(r, "base.thrift", "Base") == ["baseCall", "sharedCall"]
    assert r.stats.total("after")["functions"] == r.stats.total("before")["functions"]


def test_unmatched_pattern_warns_and_strict_errors(tmp_path):
    write_tree(tmp_path, METHODS)
    sink = DiagnosticSink()
    r = trim_program(load(tmp_path), TrimOptions(methods=["Svc.Get", "Svc.Nope", "nope"]), sink)
    msgs = [d.message for d in r.diagnostics]
    assert len(msgs) == 2 and "'Svc.Nope'" in msgs[0] and "'nope'" in msgs[1]
    assert all(d.severity == "warning" for d in sink.diagnostics)
    with pytest.raises(IDLError, match="Svc.Nope"):
        trim_program(load(tmp_path), TrimOptions(methods=["Svc.Nope"], strict=True))


# --------------------------------------------------------------------------- preserve

PRESERVE = {
    "other.thrift": """
        struct InOther { 1: i32 x }
        struct AlsoInOther { 1: InOther y }
    """,
    "main.thrift": """
        include "other.thrift"
        // @preserve
        struct Kept { 1: Dep d }
        struct Dep { 1: i32 x }
        # @PRESERVE
        struct KeptHash { 1: i32 x }
        /** mentions @preserve but not on a line of its own */
        struct NotKept { 1: i32 x }
        struct ByName { 1: i32 x }
        service Svc { void ping() }
    """,
}


def test_preserve_comment_keeps_definition_and_what_it_reaches(tmp_path):
    write_tree(tmp_path, PRESERVE)
    r = trim(load(tmp_path))
    assert kept(r, "main.thrift") == ["Kept", "Dep", "KeptHash", "Svc"]
    r = trim(load(tmp_path), disable_preserve_comment=True)
    assert kept(r, "main.thrift") == ["Svc"]


def test_preserved_structs_and_files(tmp_path):
    write_tree(tmp_path, PRESERVE)
    r = trim(load(tmp_path), preserved_structs=["ByName", "other.InOther", "Missing"])
    assert kept(r, "main.thrift") == ["Kept", "Dep", "KeptHash", "ByName", "Svc"]
    assert kept(r, "other.thrift") == ["InOther"]
    assert [d.message for d in r.diagnostics] == ["preserved struct 'Missing' matches no definition"]
    # the include is kept so the preserved file stays reachable
    assert "include \"other.thrift\"" in text_of(r, "main.thrift")
    r = trim(load(tmp_path), preserved_files=[str(tmp_path / "other.thrift")])
    assert kept(r, "other.thrift") == ["InOther", "AlsoInOther"]
    r = trim(load(tmp_path), preserve=False, preserved_structs=["ByName"],
             preserved_files=[str(tmp_path / "other.thrift")])
    assert kept(r, "main.thrift") == ["Svc"]
    assert kept(r, "other.thrift") == []


# --------------------------------------------------------------------------- config

def test_config_sources_and_precedence(tmp_path):
    write_tree(tmp_path, PRESERVE)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.thriftgen.trim]\nmethods = ["from_pyproject"]\npreserved_structs = ["ByName"]\n'
        "disable_preserve_comment = true\n")
    cfg = load_trim_config(str(tmp_path / "main.thrift"), pyproject_search_from=str(tmp_path))
    assert cfg["methods"] == ["from_pyproject"] and cfg["disable_preserve_comment"] is True
    (tmp_path / "trim_config.yaml").write_text(
        "methods: [Svc.ping]\npreserve: true\npreserved_files: [other.thrift]\n")
    opts, files = resolve_options([str(tmp_path / "main.thrift")],
                                  pyproject_search_from=str(tmp_path))
    assert files == [str(tmp_path / "pyproject.toml"), str(tmp_path / "trim_config.yaml")]
    assert opts.methods == ["Svc.ping"]  # the yaml beside the IDL beats pyproject
    assert opts.preserved_structs == ["ByName"]  # keys the yaml lacks come from pyproject
    assert opts.preserved_files == [str(tmp_path / "other.thrift")]  # relative to the yaml
    assert opts.disable_preserve_comment is True
    opts, _ = resolve_options([str(tmp_path / "main.thrift")], methods=["cli"], preserve=False,
                              trim_all=True, pyproject_search_from=str(tmp_path))
    assert (opts.methods, opts.preserve, opts.trim_all) == (["cli"], False, True)
    explicit = tmp_path / "conf" / "mine.yaml"
    explicit.parent.mkdir()
    explicit.write_text("methods: [explicit]\n")
    opts, files = resolve_options([str(tmp_path / "main.thrift")], config_file=str(explicit),
                                  pyproject_search_from=str(tmp_path))
    assert opts.methods == ["explicit"] and str(tmp_path / "trim_config.yaml") not in files


@pytest.mark.parametrize("content,needle", [
    ("methds: [a]\n", "unknown key 'methds'"),
    ("methods: Svc.get\n", "key 'methods' must be a list of strings"),
    ("preserve: 'no'\n", "key 'preserve' must be true or false"),
    ("- a\n- b\n", "expected a mapping"),
    ("methods: [\n", "invalid YAML"),
])
def test_config_errors_name_file_and_key(tmp_path, content, needle):
    cfg = tmp_path / "trim_config.yaml"
    cfg.write_text(content)
    with pytest.raises(TrimConfigError) as e:
        load_trim_config(str(tmp_path / "x.thrift"), pyproject_search_from=str(tmp_path))
    assert needle in str(e.value) and str(cfg) in str(e.value)


def test_pyproject_errors_name_file_and_key(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.thriftgen.trim]\nstrict = 1\n")
    with pytest.raises(TrimConfigError, match=r"pyproject.toml \[tool.thriftgen.trim\]: key 'strict'"):
        load_trim_config(str(tmp_path / "x.thrift"), pyproject_search_from=str(tmp_path))


# --------------------------------------------------------------------------- text cutting

CUT_SRC = """\
// File header: kept whatever happens below.
// Second header line.

include "dep.thrift"   // trailing note on the include
include "gone.thrift"

namespace py demo

// ---- section comment, leading Removed1 ----

/** Doc of Removed1. */
struct Removed1 {
  1: i32 a
}

/** Doc of Kept1. */
struct Kept1 {
  1: dep.D d   // field comment stays
}   // trailing comment of Kept1


/** Doc of Removed2, after two blank lines. */
struct Removed2 { 1: i32 b } // same-line trailing comment goes too

# hash comment leading Removed3
exception Removed3 { 1: string m } (annot = "x");
struct Kept2 { 1: Kept1 k }

service Svc {
  /** doc of a removed function */
  void gone(1: gone.G g),

  Kept2 stays(1: Kept1 k), // trailing comment of stays

  // leading comment of another removed one
  oneway void alsoGone();
} (owner = "me")
// last words
"""

CUT_EXPECTED = """\
// File header: kept whatever happens below.
// Second header line.

include "dep.thrift"   // trailing note on the include

namespace py demo

/** Doc of Kept1. */
struct Kept1 {
  1: dep.D d   // field comment stays
}   // trailing comment of Kept1

struct Kept2 { 1: Kept1 k }

service Svc {
  Kept2 stays(1: Kept1 k), // trailing comment of stays
} (owner = "me")
// last words
"""


def test_cut_by_spans_keeps_text_and_drops_comments_cleanly(tmp_path):
    write_tree(tmp_path, {"dep.thrift": "struct D { 1: i32 x }\n",
                          "gone.thrift": "struct G { 1: i32 x }\n"})
    (tmp_path / "main.thrift").write_text(CUT_SRC)
    r = trim(load(tmp_path), methods=["Svc.stays"], trim_all=True)
    assert text_of(r, "main.thrift") == CUT_EXPECTED


def test_cut_preserves_crlf_and_bom(tmp_path):
    write_tree(tmp_path, {"dep.thrift": "struct D { 1: i32 x }\n",
                          "gone.thrift": "struct G { 1: i32 x }\n"})
    (tmp_path / "main.thrift").write_bytes(b"\xef\xbb\xbf" + CUT_SRC.replace("\n", "\r\n").encode())
    r = trim(load(tmp_path), methods=["Svc.stays"], trim_all=True)
    assert text_of(r, "main.thrift") == CUT_EXPECTED.replace("\n", "\r\n")


def test_first_definition_doc_goes_but_file_header_stays(tmp_path):
    (tmp_path / "main.thrift").write_text(
        "/* header block */\n\n/** doc of Gone */\nstruct Gone { 1: i32 x }\n\n"
        "struct Kept { 1: i32 y }\nservice Svc { Kept get() }\n")
    r = trim(load(tmp_path))
    assert text_of(r, "main.thrift") == (
        "/* header block */\n\nstruct Kept { 1: i32 y }\nservice Svc { Kept get() }\n")


def test_several_definitions_on_one_line(tmp_path):
    (tmp_path / "main.thrift").write_text(
        "struct A { 1: i32 x } struct Gone { 1: i32 y } struct B { 1: A a }\n"
        "service Svc { B get() }\n")
    r = trim(load(tmp_path))
    assert text_of(r, "main.thrift") == (
        "struct A { 1: i32 x } struct B { 1: A a }\nservice Svc { B get() }\n")


def test_untouched_file_is_byte_identical(tmp_path):
    write_tree(tmp_path, BASIC)
    r = trim(load(tmp_path), preserved_files=[str(tmp_path / "shared.thrift")])
    assert text_of(r, "shared.thrift") == (tmp_path / "shared.thrift").read_text()


# --------------------------------------------------------------------------- layout

def test_layout_with_include_dir_outside_root_dir(tmp_path):
    write_tree(tmp_path, {
        "idl/svc/main.thrift": """
            include "shared/types.thrift"
            include "local.thrift"
            service Svc { types.T get(1: local.L l) }
        """,
        "idl/svc/local.thrift": "struct L { 1: i32 x }\n",
        "lib/shared/types.thrift": 'include "more.thrift"\nstruct T { 1: more.M m }\n',
        "lib/shared/more.thrift": "struct M { 1: i32 x }\n",
    })
    program = load(tmp_path, "idl/svc/main.thrift", include_dirs=["lib"])
    r = trim(program)
    layout = plan_layout(r)
    assert sorted(layout.out_paths.values()) == [
        "local.thrift", "main.thrift", "shared/more.thrift", "shared/types.thrift"]
    assert layout.include_dirs == ["."]
    out = tmp_path / "out"
    write_trimmed(r, str(out), layout)
    again = load(out, "main.thrift", include_dirs=["."])
    assert len(again.files) == 4


def test_layout_falls_back_when_relative_includes_climb_out(tmp_path):
    write_tree(tmp_path, {
        "a/main.thrift": 'include "../b/dep.thrift"\nservice Svc { dep.D get() }\n',
        "b/dep.thrift": "struct D { 1: i32 x }\n",
    })
    r = trim(load(tmp_path, "a/main.thrift", include_dirs=["b"]))
    layout = plan_layout(r)
    assert sorted(layout.out_paths.values()) == ["a/main.thrift", "b/dep.thrift"]
    out = tmp_path / "out"
    write_trimmed(r, str(out), layout)
    load(out, "a/main.thrift")  # resolves relative to the file again


def test_write_refuses_to_overwrite_inputs(tmp_path):
    from thriftgen.trim import TrimWriteError

    write_tree(tmp_path, BASIC)
    r = trim(load(tmp_path))
    with pytest.raises(TrimWriteError, match="refusing to overwrite"):
        write_trimmed(r, str(tmp_path))
    assert (tmp_path / "main.thrift").read_text() == textwrap.dedent(BASIC["main.thrift"]).lstrip()


def test_trimmed_program_feeds_the_checker(tmp_path):
    write_tree(tmp_path, METHODS)
    r = trim(load(tmp_path), methods=["Svc.Get"], trim_all=True)
    sink = DiagnosticSink()
    check_program(r.program, sink)
    assert not sink.has_errors, sink.render()
    assert isinstance(r.program.files[r.program.roots[0]].symbols["Svc"], ast.Service)


def test_function_cut_inside_a_line_keeps_indentation(tmp_path):
    (tmp_path / "main.thrift").write_text(
        "service Svc {\n  void gone(), void kept()\n  void also()\n}\n")
    r = trim(load(tmp_path), methods=["Svc.kept"])
    assert text_of(r, "main.thrift") == "service Svc {\n  void kept()\n}\n"


def test_preserved_definition_deep_in_the_include_tree_stays_reachable(tmp_path):
    write_tree(tmp_path, {
        "deep.thrift": "// @preserve\nstruct Deep { 1: i32 x }\nstruct NotDeep { 1: i32 y }\n",
        "mid.thrift": 'include "deep.thrift"\nstruct Mid { 1: i32 z }\n',
        "main.thrift": 'include "mid.thrift"\nservice Svc { void ping() }\n',
    })
    r = trim(load(tmp_path), trim_all=True)
    assert kept(r, "deep.thrift") == ["Deep"]
    assert kept(r, "mid.thrift") == []  # written only to keep deep.thrift reachable
    assert text_of(r, "mid.thrift") == 'include "deep.thrift"\n'
    assert text_of(r, "main.thrift").startswith('include "mid.thrift"\n')
    out = tmp_path / "out"
    write_trimmed(r, str(out))
    assert len(load(out).files) == 3


def test_cuts_sharing_lines_with_kept_definitions(tmp_path):
    (tmp_path / "main.thrift").write_text(
        "struct A { 1: i32 x } struct Gone1 { 1: i32 y }\n"
        "struct Gone2 { 1: i32 z }\n"
        "\n"
        "struct Gone3 { 1: i32 z }\n"
        "struct B { 1: A a }\n"
        "service Svc { B get() }\n")
    r = trim(load(tmp_path))
    assert text_of(r, "main.thrift") == (
        "struct A { 1: i32 x }\nstruct B { 1: A a }\nservice Svc { B get() }\n")
