#!/usr/bin/env python3
"""Audit benchmark: ``python bench/audit.py [--sizes 1000,10000] [--repeat 3]``.

For each size N, a generated IDL (``bench/synth_idl.py``) is the old version; the
new version is a copy with a family of edits spread over its files (an optional
field added to every 50th struct, a field's type changed in every 500th, an
enum value appended). Times, medians of ``--repeat`` fresh processes:

* ``check edited``: ``thriftgen check NEW`` just after a one-line edit of one
  file (the everyday case: the parse cache holds the other files, the check
  result is new); ``audit edited``: ``thriftgen audit OLD NEW`` after the same
  kind of edit (the issue's goal: at most 1.5x ``check edited``);
* ``check cold`` / ``audit cold``: ``--no-cache`` (the audit parses and checks two
  versions: about twice the check, plus the comparison; reported, not a goal);
* ``check again`` / ``audit again``: the same command on unchanged files;
* Apache's ``thrift --audit OLD NEW`` (no cache to use) as the peer.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _harness as h  # noqa: E402

GOAL_RATIO = 1.5


def make_new_version(old_dir: Path, new_dir: Path) -> int:
    """Copy ``old_dir`` with the edit family applied; returns how many edits."""
    shutil.copytree(old_dir, new_dir)
    edits = 0
    struct_index = 0
    for path in sorted(new_dir.glob("*.thrift")):
        text = path.read_text()
        out = []
        for block in re.split(r"(?m)^(?=struct )", text):
            if block.startswith("struct "):
                struct_index += 1
                if struct_index % 50 == 0 and "\n}" in block:
                    block = block.replace("\n}", "\n  900: optional string audit_note\n}", 1)
                    edits += 1
                if struct_index % 500 == 0 and " i32 " in block:
                    block = block.replace(" i32 ", " i64 ", 1)
                    edits += 1
            out.append(block)
        text = "".join(out)
        if path.name == "base.thrift":
            text, n = re.subn(r"(?m)^(enum \w+ \{\n)", r"\1  AUDIT_ADDED = 9999\n", text, count=1)
            edits += n
        path.write_text(text)
    return edits


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    h.add_common_args(parser, "1000,10000", default_repeat=3)
    args = parser.parse_args(argv)
    print(h.describe_machine() + "\n")
    apache = shutil.which("thrift")
    rows, goals = [], []
    for n in args.sizes:
        idl = h.synth_idl(n, args.seed)
        work = h.scratch_dir(f"audit-{n}-")
        try:
            old_dir = work / "old"
            shutil.copytree(idl.root.parent, old_dir)
            new_dir = work / "new"
            edits = make_new_version(old_dir, new_dir)
            old_root, new_root = old_dir / idl.root.name, new_dir / idl.root.name
            env = h.bench_env({"THRIFTGEN_CACHE_DIR": str(work / "cache")})
            counter = [0]
            victim = sorted(new_dir.glob("domain_*.thrift"))[0]

            def touch() -> None:  # a one-line edit: that file re-parses, the rest is cached
                counter[0] += 1
                with victim.open("a") as fh:
                    fh.write(f"// edit {counter[0]}\n")

            def tg(*cmd_args):
                return lambda: h.run_command([sys.executable, "-m", "thriftgen", *cmd_args],
                                             env=env, cwd=work, check=False)

            check = ["check", str(new_root)]
            audit = ["audit", str(old_root), str(new_root)]
            tg(*check)()  # fill the parse cache with both versions
            tg(*audit)()
            stats = {
                "check edited": h.measure(tg(*check), args.repeat, setup=touch),
                "audit edited": h.measure(tg(*audit), args.repeat, setup=touch),
                "check again": h.measure(tg(*check), args.repeat),
                "audit again": h.measure(tg(*audit), args.repeat),
                "check cold": h.measure(tg(*check, "--no-cache"), args.repeat),
                "audit cold": h.measure(tg(*audit, "--no-cache"), args.repeat),
            }
            if apache:
                stats["thrift --audit"] = h.measure(lambda: h.run_command(
                    [apache, "--audit", old_root, new_root], cwd=work, check=False), args.repeat)
            values = {k: s.median for k, s in stats.items()}
            rows.append((f"{n} ({edits} edits)", values))
            ratio = h.ratio(values["audit edited"], values["check edited"])
            goals.append(h.Goal(f"{n}: audit edited <= {GOAL_RATIO}x check edited",
                                None if ratio is None else ratio <= GOAL_RATIO,
                                f"{h.fmt_ratio(ratio)}"))
            again = h.ratio(values["audit again"], values["check again"])
            goals.append(h.Goal(f"{n}: audit again <= {GOAL_RATIO}x check again",
                                None if again is None else again <= GOAL_RATIO,
                                h.fmt_ratio(again)))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    columns = ["check edited", "audit edited", "check again", "audit again", "check cold",
               "audit cold"] + (["thrift --audit"] if apache else [])
    h.Table.comparison("structs", columns, rows, baseline="check edited",
                       title="thriftgen audit vs check (median wall)").print()
    h.print_goals(goals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
