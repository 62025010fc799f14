"""``thriftgen audit``: the scenario table (tests/audit_cases.py) checked three ways.

1. The findings: every rule id and the line it points at in the new version.
2. The wire: for each scenario, bytes written by one version's classes (the
   same codec generated code uses) are read by the other's, both ways, or a
   call crosses versions through the RPC dispatcher; a break must fail or change
   a value, a compatible edit must round-trip.
3. Apache's ``thrift --audit`` (when the compiler is installed): every break it
   reports on a scenario that breaks the wire, we report too; where it is wrong
   the scenario says so and the wire test above proves our verdict.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from audit_cases import CASES, Call, Value
from thriftgen.audit import AuditPolicy, apply_policy, root_pairs
from thriftgen.audit.compare import audit_programs
from thriftgen.audit.rules import RULES, SOURCE, WIRE
from thriftgen.call.dynamic import DynamicTypes
from thriftgen.call.jsonmap import struct_from_json
from thriftgen.idl.frontend import load_checked_program
from thriftgen.runtime import decode_message, deserialize, encode_message, serialize
from thriftgen.runtime.errors import ApplicationError, ProtocolError
from thriftgen.runtime.rpc.dispatch import Dispatcher

APACHE = shutil.which("thrift")
IDS = [c.name for c in CASES]
ALL_RULES = AuditPolicy(enable=[WIRE, SOURCE])


def write_pair(tmp: Path, case) -> tuple:
    for side, text in (("old", case.old), ("new", case.new)):
        (tmp / side).mkdir(parents=True, exist_ok=True)
        (tmp / side / "api.thrift").write_text(text + "\n")
        for name, texts in case.extra_files.items():
            content = texts[0 if side == "old" else 1]
            if content is not None:
                (tmp / side / name).write_text(content)
    return tmp / "old" / "api.thrift", tmp / "new" / "api.thrift"


SOURCES = {}  # id(program) -> its sources (display name -> SourceText)


def programs(tmp: Path, case) -> tuple:
    from thriftgen.diagnostics import DiagnosticSink

    old_file, new_file = write_pair(tmp, case)
    loaded = []
    for path in (old_file, new_file):
        sink = DiagnosticSink()
        program = load_checked_program([str(path)], sink=sink)
        SOURCES[id(program)] = sink.sources
        loaded.append(program)
    return tuple(loaded)


def findings_of(old, new, with_texts: bool = True):
    """The findings, by default with the sources (as the command line runs it: unchanged
    definitions skipped by their text)."""
    texts = (SOURCES[id(old)], SOURCES[id(new)]) if with_texts else None
    return audit_programs(old, new, root_pairs(old, new, old.roots, new.roots), texts)


def test_the_table_is_big_and_covers_every_rule():
    assert len(CASES) >= 40
    fired = {rule for c in CASES for rule, _ in c.expect}
    assert fired == set(RULES), f"rules without a scenario: {set(RULES) - fired}"
    assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_findings(tmp_path, case):
    old, new = programs(tmp_path, case)
    assert findings_of(old, new) == findings_of(old, new, with_texts=False)
    result = apply_policy(findings_of(old, new), ALL_RULES)
    got = sorted((v.finding.rule, v.finding.loc.line if v.finding.loc else 0)
                 for v in result.verdicts)
    assert got == sorted(case.expect)
    for v in result.verdicts:  # each points at the old version too
        assert v.finding.old_loc is None or v.finding.old_loc.file.endswith("old/api.thrift") \
            or "old" in v.finding.old_loc.file
    # The default policy: wire rules only.
    default = apply_policy(findings_of(old, new), AuditPolicy())
    assert sorted(v.finding.rule for v in default.verdicts) == sorted(
        r for r, _ in case.expect if RULES[r].category == WIRE)


# --------------------------------------------------------------------------- the wire


def canon(value, ts, types, spec):
    """A comparable form of ``value`` of type ``ts``: structs as {field key: value}
    with every declared field (None when unset), enums by name."""
    if value is None:
        return None
    kind = ts.kind
    if kind == "struct":
        out = {}
        for fi in types.fields(ts.cls):
            out[fi.id if spec.by == "id" else fi.name] = canon(getattr(value, fi.attr), fi.type,
                                                              types, spec)
        if getattr(ts.cls, "_tg_is_union", False):
            out["#set"] = sum(1 for v in out.values() if v is not None)
        return out
    if kind == "enum":
        if spec.enum_by_number:
            return int(value)
        return ts.cls._tg_idl_names.get(int(value), ("unknown", int(value)))
    if kind in ("string", "binary"):
        return value.encode() if isinstance(value, str) else bytes(value)
    if kind == "list":
        return [canon(v, ts.elem, types, spec) for v in value]
    if kind == "set":
        return sorted(repr(canon(v, ts.elem, types, spec)) for v in value)
    if kind == "map":
        return sorted((repr(canon(k, ts.key, types, spec)), canon(v, ts.value, types, spec))
                      for k, v in value.items())
    return value


def differs(a, b) -> bool:
    """Whether what both versions know of a value differs (fields only one version
    declares are not compared)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return any(differs(a[k], b[k]) for k in a.keys() & b.keys())
    if isinstance(a, list) and isinstance(b, list):
        return len(a) != len(b) or any(differs(x, y) for x, y in zip(a, b))
    return a != b


def missing_required(value, ts, types) -> bool:
    """What a validating reader rejects (Apache's generated ``validate()``, the C++
    and Java readers): a required field not set, at any depth."""
    if value is None or ts.kind != "struct":
        if ts.kind in ("list", "set") and value is not None:
            return any(missing_required(v, ts.elem, types) for v in value)
        return False
    for fi in types.fields(ts.cls):
        v = getattr(value, fi.attr)
        if (fi.required and v is None) or missing_required(v, fi.type, types):
            return True
    return False


class _Struct:
    def __init__(self, cls):
        from thriftgen.call.dynamic import TypeSpec

        self.ts = TypeSpec("struct", cls=cls)


def read_across(writer_types, writer_cls, reader_types, reader_cls, obj, spec, protocol):
    """``obj`` (a writer_cls) encoded and read as a reader_cls: (value, broken)."""
    try:
        data = serialize(obj, protocol)
        back = deserialize(reader_cls, data, protocol)
    except ProtocolError:
        return None, True
    w, r = _Struct(writer_cls).ts, _Struct(reader_cls).ts
    broken = (differs(canon(obj, w, writer_types, spec), canon(back, r, reader_types, spec))
              or missing_required(back, r, reader_types))
    return back, broken


def value_breaks(old_types, new_types, spec: Value, protocol: str) -> bool:
    ocls = old_types.struct_class(old_types.program.roots[0], spec.struct)
    ncls = new_types.struct_class(new_types.program.roots[0], spec.new_struct or spec.struct)
    obj = struct_from_json(spec.sample, ocls, old_types)
    back, broken = read_across(old_types, ocls, new_types, ncls, obj, spec, protocol)
    if broken:
        return True
    # What the new version writes back (the value it read) must read as the old one,
    # and so must what it may write of its own.
    _, broken = read_across(new_types, ncls, old_types, ocls, back, spec, protocol)
    if not broken and spec.new_sample is not None:
        own = struct_from_json(spec.new_sample, ncls, new_types)
        _, broken = read_across(new_types, ncls, old_types, ocls, own, spec, protocol)
    return broken


class _Handler:
    """Answers every method: records the arguments, returns or raises what the case says."""

    def __init__(self, types, fn, spec: Call):
        self.received = None
        self.types, self.fn, self.spec = types, fn, spec

    def __getattr__(self, name):
        def method(*args):
            self.received = args
            spec, fn = self.spec, self.fn
            if spec.raises is not None:
                attr, value = spec.raises
                for info, _ in fn.throws:
                    if info.name == attr:
                        raise struct_from_json(value, info.type.cls, self.types)
                raise RuntimeError("this version declares no such exception")
            if fn.result is None or spec.returns is None:
                return None
            from thriftgen.call.jsonmap import from_json

            return from_json(spec.returns, fn.result, self.types)
        return method


def call_breaks(client_types, server_types, spec: Call, args, protocol: str) -> bool:
    """One call from ``client_types``' client to ``server_types``' server."""
    root_c, root_s = client_types.program.roots[0], server_types.program.roots[0]
    cfn = client_types.service(root_c, spec.service).functions[spec.method]
    args_obj = struct_from_json(args, cfn.function.args_cls, client_types)
    try:
        server = server_types.service(root_s, spec.service)
    except Exception:
        server = None
    sfn = server.functions.get(spec.method) if server is not None else None
    handler = _Handler(server_types, sfn, spec)
    if spec.multiplexed:
        procs = {}
        for pf in server_types.program:
            for d in pf.document.services():
                procs[d.name] = server_types.service(pf.path, d.name).processor(handler)
        dispatcher, name = Dispatcher(procs, protocol), f"{spec.service}:{spec.method}"
    else:
        dispatcher, name = Dispatcher(server.processor(handler), protocol), spec.method
    msg_type = 4 if cfn.oneway else 1  # ONEWAY / CALL
    reply = dispatcher.handle(encode_message(name, msg_type, 1, args_obj, protocol))
    if sfn is not None and handler.received is not None:
        # The arguments the server's handler got, against what the client sent.
        sent = canon(args_obj, _Struct(cfn.function.args_cls).ts, client_types, spec)
        got_args = sfn.function.args_cls()
        for attr, value in zip(sfn.function.args_cls.__slots__, handler.received):
            setattr(got_args, attr, value)
        got = canon(got_args, _Struct(sfn.function.args_cls).ts, server_types, spec)
        if differs(sent, got):
            return True
    if cfn.oneway:
        return reply is not None  # a oneway client never reads one
    if reply is None:
        return True  # the client waits for a reply that never comes
    message = decode_message(reply, cfn.function.result_cls, protocol)
    if isinstance(message.body, ApplicationError):
        return True
    try:
        value = cfn.function.unpack(message.body)
    except ApplicationError:
        return True  # e.g. "missing result": the client cannot read what was sent
    except Exception as exc:  # a declared exception came back
        if spec.raises is None:
            return True
        info = next(i for i, _ in cfn.throws if i.name == spec.raises[0])
        expected = struct_from_json(spec.raises[1], info.type.cls, client_types)
        return differs(canon(exc, info.type, client_types, spec_by_id),
                       canon(expected, info.type, client_types, spec_by_id))
    if spec.raises is not None:
        return True
    if cfn.result is None:
        return False
    if sfn is None or sfn.result is None:
        return value is not None
    return differs(canon(value, cfn.result, client_types, spec_by_id),
                   canon(handler_return(server_types, sfn, spec), sfn.result, server_types,
                         spec_by_id))


def handler_return(types, fn, spec):
    from thriftgen.call.jsonmap import from_json

    return None if spec.returns is None else from_json(spec.returns, fn.result, types)


class _ById:
    by = "id"
    enum_by_number = False


spec_by_id = _ById()


WIRE_CASES = [c for c in CASES if c.wire is not None]


def test_every_wire_scenario_has_its_demonstration():
    for c in CASES:
        assert c.wire is not None or c.why_no_wire, c.name
        if c.wire is None:
            continue
        wire_errors = [r for r, _ in c.expect
                       if RULES[r].category == WIRE and RULES[r].severity == "error"]
        if not c.wire.broken:
            assert not wire_errors, f"{c.name}: compatible on the wire but {wire_errors} fire"


@pytest.mark.parametrize("protocol", ["binary", "compact"])
@pytest.mark.parametrize("case", WIRE_CASES, ids=[c.name for c in WIRE_CASES])
def test_wire(tmp_path, case, protocol):
    old, new = programs(tmp_path, case)
    old_types, new_types = DynamicTypes(old), DynamicTypes(new)
    spec = case.wire
    if isinstance(spec, Value):
        broken = value_breaks(old_types, new_types, spec, protocol)
    else:
        new_args = spec.new_args if spec.new_args is not None else spec.args
        broken = call_breaks(old_types, new_types, spec, spec.args, protocol)
        try:
            new_types.service(new.roots[0], spec.service).functions[spec.method]
        except Exception:
            pass  # the new version has no such method: only old clients call it
        else:
            broken = broken or call_breaks(new_types, old_types, spec, new_args, protocol)
    assert broken == spec.broken


def apache_classes(tmp: Path, side: str, text: str):
    """The ttypes module ``thrift --gen py`` writes for ``text``, imported under a
    name of its own (old and new versions side by side)."""
    import importlib.util

    src = tmp / f"apache-{side}" / "api.thrift"
    src.parent.mkdir(parents=True)
    src.write_text(text + "\n")
    subprocess.run([APACHE, "--gen", "py", "-out", str(src.parent), str(src)], check=True,
                   capture_output=True)
    (path,) = src.parent.glob("**/ttypes.py")
    spec = importlib.util.spec_from_file_location(f"apache_{side}_{abs(hash(str(tmp)))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def apache_relay(data: bytes, cls) -> bytes:
    """``data`` read by an Apache-generated class and written again by it."""
    from thrift.protocol.TBinaryProtocol import TBinaryProtocol
    from thrift.TSerialization import serialize as t_serialize
    from thrift.transport.TTransport import TMemoryBuffer

    obj = cls()
    # Immutable classes (Apache's exceptions) read with a classmethod returning the value.
    read = obj.read(TBinaryProtocol(TMemoryBuffer(data)))
    return t_serialize(read if read is not None else obj)


APACHE_VALUE_CASES = [c for c in WIRE_CASES if isinstance(c.wire, Value) and not c.extra_files]


@pytest.mark.skipif(APACHE is None, reason="Apache thrift compiler not installed")
@pytest.mark.parametrize("case", APACHE_VALUE_CASES, ids=[c.name for c in APACHE_VALUE_CASES])
def test_wire_between_apache_generated_versions(tmp_path, case):
    """The same verdicts with the bytes written and read by ``thrift --gen py`` code of
    each version: our classes only build the sample and inspect what Apache's read."""
    pytest.importorskip("thrift")
    from thrift.protocol.TProtocol import TProtocolException

    spec = case.wire
    old, new = programs(tmp_path, case)
    old_types, new_types = DynamicTypes(old), DynamicTypes(new)
    a_old = getattr(apache_classes(tmp_path, "old", case.old), spec.struct)
    a_new = getattr(apache_classes(tmp_path, "new", case.new), spec.new_struct or spec.struct)
    ocls = old_types.struct_class(old.roots[0], spec.struct)
    ncls = new_types.struct_class(new.roots[0], spec.new_struct or spec.struct)
    o_ts, n_ts = _Struct(ocls).ts, _Struct(ncls).ts

    def verdict() -> bool:
        sample = struct_from_json(spec.sample, ocls, old_types)
        written_by_old = apache_relay(serialize(sample), a_old)
        assert written_by_old == serialize(sample)  # Apache's old code writes our bytes
        try:
            read_by_new = deserialize(ncls, apache_relay(written_by_old, a_new))
        except (ProtocolError, TProtocolException, EOFError):  # Apache misreads: EOF
            return True
        if (differs(canon(sample, o_ts, old_types, spec), canon(read_by_new, n_ts, new_types, spec))
                or missing_required(read_by_new, n_ts, new_types)):
            return True
        writes = [read_by_new]
        if spec.new_sample is not None:
            writes.append(struct_from_json(spec.new_sample, ncls, new_types))
        for value in writes:
            try:
                back = deserialize(ocls, apache_relay(apache_relay(serialize(value), a_new), a_old))
            except (ProtocolError, TProtocolException, EOFError):  # Apache misreads: EOF
                return True
            if (differs(canon(value, n_ts, new_types, spec), canon(back, o_ts, old_types, spec))
                    or missing_required(back, o_ts, old_types)):
                return True
        return False

    assert verdict() == spec.broken


# --------------------------------------------------------------------------- Apache's audit


def apache_audit(tmp: Path, case) -> list:
    old_file, new_file = write_pair(tmp, case)
    proc = subprocess.run([APACHE, "--audit", str(old_file), str(new_file)],
                          capture_output=True, text=True, cwd=tmp / "new")
    out = proc.stdout + proc.stderr
    assert "Type" not in out or "not defined" not in out, out
    return [line for line in out.splitlines() if "Thrift Audit Failure" in line]


@pytest.mark.skipif(APACHE is None, reason="Apache thrift compiler not installed")
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_apache_audit_agrees_or_the_case_says_why(tmp_path, case):
    failures = apache_audit(tmp_path, case)
    breaks = case.wire.broken if case.wire is not None else any(
        RULES[r].category == WIRE for r, _ in case.expect)
    if case.apache == "misses":
        assert breaks and not failures, failures
    elif case.apache == "flags":
        assert not breaks and failures, "Apache no longer flags this compatible edit"
    elif breaks:
        assert failures, "Apache should report this break"
        old, new = programs(tmp_path / "ours", case)
        assert any(RULES[f.rule].category == WIRE for f in findings_of(old, new))
    else:
        assert not failures, failures


# --------------------------------------------------------------------------- the command line


def run_cli(*args, cwd=None, env_extra=None):
    import sys

    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "thriftgen", "audit", *args], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=120)


def by_name(name):
    return next(c for c in CASES if c.name == name)


def test_cli_diagnostics_point_at_new_with_a_note_at_old(tmp_path):
    old_file, new_file = write_pair(tmp_path, by_name("field type changed"))
    proc = run_cli("old/api.thrift", "new/api.thrift", "--no-cache", cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert lines[0] == ("new/api.thrift:2:10: error: type of field 'a' of 'S' changed: i32 became "
                        "i64 [field-type-changed]")
    assert lines[1] == "      1: i64 a" and lines[2] == "             ^"
    assert lines[3] == "old/api.thrift:2:10: note: was 1: i32 a"
    assert lines[-1] == "audit: 1 error(s), 0 warning(s) in 1 file(s) (rules: wire)"


def test_cli_compatible_edit_exits_0_and_warnings_only_with_werror(tmp_path):
    write_pair(tmp_path, by_name("argument removed"))
    proc = run_cli("old/api.thrift", "new/api.thrift", "--no-cache", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "warning: argument 2 'y' removed from 'Svc.f' [argument-removed]" in proc.stderr
    assert run_cli("old/api.thrift", "new/api.thrift", "--werror", "--no-cache",
                   cwd=tmp_path).returncode == 1
    write_pair(tmp_path, by_name("field renamed, id and type kept"))
    proc = run_cli("old/api.thrift", "new/api.thrift", "--no-cache", cwd=tmp_path)
    assert proc.returncode == 0 and "no breaking changes" in proc.stderr
    proc = run_cli("old/api.thrift", "new/api.thrift", "--enable", "source", "--no-cache",
                   cwd=tmp_path)
    assert proc.returncode == 0 and "[field-renamed]" in proc.stderr


def test_cli_json_and_ignore(tmp_path):
    write_pair(tmp_path, by_name("field moved to another id"))
    proc = run_cli("old/api.thrift", "new/api.thrift", "--json", "--no-cache", cwd=tmp_path)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["errors"] == 1 and data["files"] == 1
    (f,) = data["findings"]
    assert f["rule"] == "field-id-changed" and f["subject"] == "S.b"
    assert f["location"] == {"file": "new/api.thrift", "line": 3, "col": 13}
    assert f["old_location"]["line"] == 3 and f["old_message"] == "was 2: string b"
    proc = run_cli("old/api.thrift", "new/api.thrift", "--ignore", "field-id-changed:S.*",
                   "--no-cache", cwd=tmp_path)
    assert proc.returncode == 0 and "1 accepted by ignore" in proc.stderr


def test_pyproject_policy(tmp_path):
    write_pair(tmp_path, by_name("enum value removed"))
    (tmp_path / "pyproject.toml").write_text(
        '[tool.thriftgen.audit]\nignore = ["enum-value-removed:E.B"]\nenable = ["source"]\n'
        'severity = { source = "error" }\n')
    proc = run_cli("old/api.thrift", "new/api.thrift", "--no-cache", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "1 accepted by ignore" in proc.stderr and "rules: wire, source" in proc.stderr
    write_pair(tmp_path, by_name("field renamed, id and type kept"))
    proc = run_cli("old/api.thrift", "new/api.thrift", "--no-cache", cwd=tmp_path)
    assert proc.returncode == 1 and "error: field 1 of 'S' renamed" in proc.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.thriftgen.audit]\nignore = ["nope"]\n')
    proc = run_cli("old/api.thrift", "new/api.thrift", "--no-cache", cwd=tmp_path)
    assert proc.returncode == 2
    assert "pyproject.toml: tool.thriftgen.audit.ignore: 'nope' is not 'rule:subject'" \
        in proc.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.thriftgen.audit]\nenable = ["wires"]\n')
    proc = run_cli("old/api.thrift", "new/api.thrift", "--no-cache", cwd=tmp_path)
    assert proc.returncode == 2 and "unknown rule or category 'wires'" in proc.stderr


def test_cli_usage_and_bad_idl(tmp_path):
    proc = run_cli("only-one.thrift", cwd=tmp_path)
    assert proc.returncode == 2 and "give the old and the new version" in proc.stderr
    (tmp_path / "old.thrift").write_text("struct S { 1: i32 a }\n")
    (tmp_path / "new.thrift").write_text("struct S { 1: i32 a\n")
    proc = run_cli("old.thrift", "new.thrift", "--no-cache", cwd=tmp_path)
    assert proc.returncode == 1
    assert "new.thrift:1:20: error: unexpected end of file" in proc.stderr
    assert "the new version does not check; nothing was compared" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_cli("--list-rules")
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == len(RULES)


# --------------------------------------------------------------------------- --against REF


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com",
                           "-c", "commit.gpgsign=false", *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_against_git_history(tmp_path):
    repo = tmp_path / "repo"
    (repo / "idl" / "common").mkdir(parents=True)
    git(repo, "init", "-q")
    api, common = repo / "idl" / "api.thrift", repo / "idl" / "common" / "types.thrift"
    common.write_text("enum Color {\n  RED = 1\n  BLUE = 2\n}\n")
    api.write_text('include "types.thrift"\nstruct Paint {\n  1: types.Color color\n'
                   '  2: i32 coats\n}\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v1")
    # v2: compatible (an optional field added); committed.
    api.write_text(api.read_text().replace("  2: i32 coats\n", "  2: i32 coats\n"
                                           "  3: optional string note\n"))
    git(repo, "commit", "-qam", "v2")
    # Working tree: an include's enum value renumbered and a field's type changed.
    common.write_text("enum Color {\n  RED = 1\n  BLUE = 3\n}\n")
    api.write_text(api.read_text().replace("2: i32 coats", "2: i64 coats"))
    proc = run_cli("--against", "HEAD", "idl/api.thrift", "-I", "idl/common", "--no-cache",
                   cwd=repo)
    assert proc.returncode == 1, proc.stderr
    assert "idl/api.thrift:4:10: error: type of field 'coats'" in proc.stderr
    assert "HEAD:idl/api.thrift:4:10: note: was 2: i32 coats" in proc.stderr
    assert "idl/common/types.thrift:3:3: error: 'Color.BLUE' changed from 2 to 3" in proc.stderr
    assert "HEAD:idl/common/types.thrift:3:3: note: was BLUE = 2" in proc.stderr
    assert "in 2 file(s)" in proc.stderr
    # Against the first commit, the optional field is new and silent; from a subdirectory.
    proc = run_cli("--against", "HEAD~1", "api.thrift", "-I", "common", "--json", "--no-cache",
                   cwd=repo / "idl")
    rules = sorted(f["rule"] for f in json.loads(proc.stdout)["findings"])
    assert rules == ["enum-value-renumbered", "field-type-changed"]
    # A file new in the working tree has no old side: nothing to break.
    (repo / "idl" / "fresh.thrift").write_text("struct F {\n  1: required i32 a\n}\n")
    proc = run_cli("--against", "HEAD", "idl/fresh.thrift", "--no-cache", cwd=repo)
    assert proc.returncode == 0 and "no breaking changes" in proc.stderr
    proc = run_cli("--against", "no-such-ref", "idl/api.thrift", "--no-cache", cwd=repo)
    assert proc.returncode == 1 and "unknown git revision 'no-such-ref'" in proc.stderr
    # The configured jobs when no IDL is named (what the pre-commit hook runs).
    git(repo, "checkout", "-q", "--", ".")
    (repo / "pyproject.toml").write_text('[tool.thriftgen]\nidl = ["idl/api.thrift"]\n'
                                         'include = ["idl/common"]\n')
    common.write_text("enum Color {\n  RED = 1\n}\n")
    proc = run_cli("--against", "HEAD", "--no-cache", cwd=repo)
    assert proc.returncode == 1 and "[enum-value-removed]" in proc.stderr


# --------------------------------------------------------------------------- caches and speed


def test_unchanged_files_are_not_compared_or_unpickled(tmp_path):
    from thriftgen.idl.cache import ParseCache

    for side in ("old", "new"):
        (tmp_path / side).mkdir()
        (tmp_path / side / "leaf.thrift").write_text("struct Leaf {\n  1: i32 a\n}\n")
        (tmp_path / side / "mid.thrift").write_text(
            'include "leaf.thrift"\nstruct Mid {\n  1: leaf.Leaf l\n}\n')
        (tmp_path / side / "root.thrift").write_text(
            'include "mid.thrift"\nstruct Root {\n  1: mid.Mid m\n}\n')
    # Only the leaf changes: mid and root have the same bytes but see a changed include.
    (tmp_path / "new" / "leaf.thrift").write_text("struct Leaf {\n  1: i64 a\n}\n")
    (tmp_path / "old" / "other.thrift").write_text("struct Other {\n  1: i32 o\n}\n")
    (tmp_path / "new" / "other.thrift").write_text("struct Other {\n  1: i32 o\n}\n")
    for side in ("old", "new"):
        text = (tmp_path / side / "root.thrift").read_text()
        (tmp_path / side / "root.thrift").write_text('include "other.thrift"\n' + text)
    cache = ParseCache(str(tmp_path / "cache"))
    for _ in range(2):  # the second load is served by the cache: documents load lazily
        old = load_checked_program([str(tmp_path / "old" / "root.thrift")], cache=cache)
        new = load_checked_program([str(tmp_path / "new" / "root.thrift")], cache=cache)
    findings = findings_of(old, new, with_texts=False)
    assert [(f.rule, f.subject) for f in findings] == [("field-type-changed", "Leaf.a")]
    unpickled = {os.path.basename(pf.path) for prog in (old, new) for pf in prog
                 if pf._document is not None}
    assert "other.thrift" not in unpickled  # same bytes, same includes: never looked into


def test_findings_cache_and_replayed_runs(tmp_path):
    write_pair(tmp_path, by_name("field type changed"))
    env = {"THRIFTGEN_CACHE_DIR": str(tmp_path / "cache")}
    first = run_cli("old/api.thrift", "new/api.thrift", cwd=tmp_path, env_extra=env)
    again = run_cli("old/api.thrift", "new/api.thrift", cwd=tmp_path, env_extra=env)
    assert first.returncode == again.returncode == 1
    assert first.stderr == again.stderr
    as_json = run_cli("old/api.thrift", "new/api.thrift", "--json", cwd=tmp_path, env_extra=env)
    assert json.loads(as_json.stdout)["errors"] == 1
    assert run_cli("old/api.thrift", "new/api.thrift", "--json", cwd=tmp_path,
                   env_extra=env).stdout == as_json.stdout
    # An edit is seen (the replay checks every input), and so is a new policy file.
    (tmp_path / "new" / "api.thrift").write_text("struct S {\n  1: i32 a\n}\n")
    assert run_cli("old/api.thrift", "new/api.thrift", cwd=tmp_path, env_extra=env
                   ).returncode == 0
    (tmp_path / "new" / "api.thrift").write_text("struct S {\n  1: i64 a\n}\n")
    (tmp_path / "thriftgen.toml").write_text('[audit]\nignore = ["*:S.a"]\n')
    proc = run_cli("old/api.thrift", "new/api.thrift", cwd=tmp_path, env_extra=env)
    assert proc.returncode == 0 and "1 accepted by ignore" in proc.stderr


def test_a_corrupt_findings_entry_is_recomputed(tmp_path):
    from thriftgen.audit import cached_audit
    from thriftgen.idl.cache import ParseCache

    old, new = programs(tmp_path, by_name("field type changed"))
    cache = ParseCache(str(tmp_path / "cache"))
    pairs = root_pairs(old, new, old.roots, new.roots)
    expected = cached_audit(old, new, pairs, cache)
    assert cached_audit(old, new, pairs, cache) == expected
    shown = json.dumps([[old.files[o].display, new.files[n].display] for o, n in pairs])
    key = cache.result_key("audit", old.fingerprint(), new.fingerprint(), shown.encode())
    cache.put_result("audit", key, b'[["no-such-rule", "S.a", "m", null, 1, null, ""]]')
    assert cached_audit(old, new, pairs, cache) == expected


def test_two_directories_pair_files_by_path(tmp_path):
    for side in ("old", "new"):
        (tmp_path / side / "sub").mkdir(parents=True)
    (tmp_path / "old" / "a.thrift").write_text("struct A {\n  1: i32 x\n}\n")
    (tmp_path / "new" / "a.thrift").write_text("struct A {\n  1: i32 x\n}\n")
    (tmp_path / "old" / "sub" / "b.thrift").write_text("enum B {\n  ONE = 1\n  TWO = 2\n}\n")
    (tmp_path / "new" / "sub" / "b.thrift").write_text("enum B {\n  ONE = 1\n}\n")
    (tmp_path / "old" / "gone.thrift").write_text("service Gone {\n  void ping()\n}\n")
    (tmp_path / "new" / "fresh.thrift").write_text("struct F {\n  1: required i32 a\n}\n")
    proc = run_cli("old", "new", "--json", "--no-cache", cwd=tmp_path)
    assert proc.returncode == 1
    got = sorted((f["rule"], f["subject"], (f["location"] or {}).get("file"),
                  f["old_location"]["file"]) for f in json.loads(proc.stdout)["findings"])
    assert got == [("enum-value-removed", "B.TWO", "new/sub/b.thrift", "old/sub/b.thrift"),
                   ("service-removed", "Gone", None, "old/gone.thrift")]
    proc = run_cli("old", "new/a.thrift", cwd=tmp_path)
    assert proc.returncode == 2 and "both be files or both be directories" in proc.stderr


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_against_without_configuration_audits_every_idl_git_knows(tmp_path):
    repo = tmp_path / "repo"
    (repo / "idl").mkdir(parents=True)
    git(repo, "init", "-q")
    (repo / "idl" / "keep.thrift").write_text("struct K {\n  1: i32 a\n}\n")
    (repo / "idl" / "gone.thrift").write_text("service Old {\n  void ping()\n}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v1")
    (repo / "idl" / "gone.thrift").unlink()
    (repo / "idl" / "keep.thrift").write_text("struct K {\n  1: string a\n}\n")
    (repo / "idl" / "new.thrift").write_text("struct N {\n  1: required i32 a\n}\n")
    proc = run_cli("--against", "HEAD", "--json", "--no-cache", cwd=repo)
    found = sorted((f["rule"], f["subject"]) for f in json.loads(proc.stdout)["findings"])
    assert found == [("field-type-changed", "K.a"), ("service-removed", "Old")]
    assert proc.returncode == 1


def test_readme_lists_every_rule():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for rule in RULES.values():
        assert f"| `{rule.id}` | {rule.category} | {rule.severity} | {rule.doc} |" in readme


def test_github_annotations(tmp_path):
    write_pair(tmp_path, by_name("field moved to another id"))
    proc = run_cli("old/api.thrift", "new/api.thrift", "--github", "--no-cache", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.strip() == (
        "::error file=new/api.thrift,line=3,col=13,title=field-id-changed::field 'b' of 'S' "
        "moved from id 2 to id 3; was 2: string b")
    assert "[field-id-changed]" in proc.stderr  # the diagnostics still go to stderr


def test_an_audit_table_beside_jobs_leaves_the_jobs_alone(tmp_path):
    from thriftgen.config import load_config

    (tmp_path / "a.thrift").write_text("struct A {\n  1: i32 x\n}\n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.thriftgen]\nidl = ["a.thrift"]\nout = "gen"\n\n'
        '[tool.thriftgen.audit]\nenable = ["source"]\n')
    config = load_config(str(tmp_path / "pyproject.toml"))
    (job,) = config.jobs
    assert [p.endswith("a.thrift") for p in job.roots] == [True]
    from thriftgen.audit.policy import load_policy

    assert "source" in load_policy(str(tmp_path / "pyproject.toml")).enable
