"""Which rules count, at what severity, and which breaks are accepted.

From ``[tool.thriftgen.audit]`` in ``pyproject.toml`` (``[audit]`` in
``thriftgen.toml``) and the command line, the command line last::

    [tool.thriftgen.audit]
    enable = ["source"]                  # categories or rule ids, on top of "wire"
    disable = ["argument-removed"]       # categories or rule ids
    severity = { exception-added = "error", source = "warning" }
    ignore = ["field-type-changed:Span.duration", "method-removed:Legacy.*"]

An ``ignore`` entry is ``rule:subject`` (or ``*:subject``); the subject is what
the finding names (``Struct.field``, ``Enum.VALUE``, ``Service.method``,
``Service.method.argument``, a definition's name) and may use shell wildcards.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from thriftgen.audit.rules import CATEGORIES, RULES, WIRE, Rule
from thriftgen.runtime.errors import ThriftgenError

KEYS = ("enable", "disable", "severity", "ignore")
SEVERITIES = ("error", "warning")


class PolicyError(ThriftgenError):
    """A bad audit setting; the message names where it came from."""


@dataclass
class AuditPolicy:
    enable: List[str] = field(default_factory=lambda: [WIRE])
    disable: List[str] = field(default_factory=list)
    severity: Dict[str, str] = field(default_factory=dict)
    ignore: List[str] = field(default_factory=list)

    def active(self, rule: Rule) -> bool:
        on = rule.id in self.enable or rule.category in self.enable
        off = rule.id in self.disable or (rule.category in self.disable
                                          and rule.id not in self.enable)
        return on and not off

    def severity_of(self, rule: Rule) -> str:
        return self.severity.get(rule.id) or self.severity.get(rule.category) or rule.severity

    def ignored(self, rule_id: str, subject: str) -> bool:
        for entry in self.ignore:
            rule, _, pattern = entry.partition(":")
            if (rule == "*" or rule == rule_id) and fnmatch.fnmatchcase(subject, pattern):
                return True
        return False

    def merged(self, enable: Sequence[str] = (), disable: Sequence[str] = (),
               ignore: Sequence[str] = (), where: str = "command line") -> "AuditPolicy":
        """This policy with command-line additions (checked like the file's)."""
        _check_names(list(enable), f"{where}: --enable")
        _check_names(list(disable), f"{where}: --disable")
        _check_ignores(list(ignore), f"{where}: --ignore")
        return AuditPolicy([*self.enable, *enable], [*self.disable, *disable],
                           dict(self.severity), [*self.ignore, *ignore])


def _known(name: str) -> bool:
    return name in RULES or name in CATEGORIES


def _check_names(names: list, where: str) -> None:
    for name in names:
        if not isinstance(name, str) or not _known(name):
            raise PolicyError(f"{where}: unknown rule or category {name!r} (see "
                              f"'thriftgen audit --list-rules')")


def _check_ignores(entries: list, where: str) -> None:
    for entry in entries:
        if not isinstance(entry, str) or ":" not in entry:
            raise PolicyError(f"{where}: {entry!r} is not 'rule:subject'")
        rule = entry.partition(":")[0]
        if rule != "*" and rule not in RULES:
            raise PolicyError(f"{where}: {entry!r} names an unknown rule {rule!r}")


def policy_from_table(table: object, where: str) -> AuditPolicy:
    """The policy of an ``audit`` table; :class:`PolicyError` names ``where`` and the key."""
    if not isinstance(table, dict):
        raise PolicyError(f"{where}: must be a table")
    for key in table:
        if key not in KEYS:
            raise PolicyError(f"{where}: unknown key {key!r} (expected one of: {', '.join(KEYS)})")
    lists = {}
    for key in ("enable", "disable", "ignore"):
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise PolicyError(f"{where}.{key}: must be a string or a list of strings")
        lists[key] = value
    _check_names(lists["enable"], f"{where}.enable")
    _check_names(lists["disable"], f"{where}.disable")
    _check_ignores(lists["ignore"], f"{where}.ignore")
    severity = table.get("severity", {})
    if not isinstance(severity, dict):
        raise PolicyError(f"{where}.severity: must be a table of rule or category = "
                          f"\"error\" or \"warning\"")
    for name, value in severity.items():
        _check_names([name], f"{where}.severity")
        if value not in SEVERITIES:
            raise PolicyError(f"{where}.severity.{name}: must be \"error\" or \"warning\", "
                              f"not {value!r}")
    return AuditPolicy([WIRE, *lists["enable"]], lists["disable"], dict(severity),
                       lists["ignore"])


def load_policy(config_path: Optional[str]) -> AuditPolicy:
    """The policy of ``config_path`` (or of the configuration file found from the
    current directory); the default policy when there is none or it has no table."""
    from thriftgen.config import PYPROJECT, find_config
    from thriftgen.tomlfile import TomlError, read_toml

    path = config_path
    if path is None:
        path = find_config()[0]
    if path is None:
        return AuditPolicy()
    rel = os.path.relpath(path)
    shown = path if rel.startswith("..") else rel
    try:
        data = read_toml(path, shown)
    except TomlError as e:
        raise PolicyError(str(e)) from None
    if os.path.basename(path) == PYPROJECT:
        table = data.get("tool", {}).get("thriftgen", {}).get("audit")
        where = f"{shown}: tool.thriftgen.audit"
    else:  # thriftgen.toml holds the settings at its top level
        table, where = data.get("audit"), f"{shown}: audit"
    return AuditPolicy() if table is None else policy_from_table(table, where)
