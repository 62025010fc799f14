"""Command lines as Apache's and Kitex's users type them, before the option parser.

Click reads an unknown single-dash word as a cluster of short options, so
Apache's ``-out DIR`` would become ``-o ut`` and Kitex's ``-module x`` become
``-m odule``. Here every single-dash word longer than two characters is one of:

* an option of the command as declared (``-thrift``, ``-idl-path``, ...), or
  ``-I<dir>`` (an attached include directory);
* a spelling of Apache's or Kitex's that means the same as one of ours
  (``-out`` = ``-o``, ``-version``, ``-help``, ``-recurse``, ``-verbose``), or
  that thriftgen can translate (``-gen py[:opts]``);
* a spelling of theirs that thriftgen has no equivalent for: refused, by name,
  saying what to use instead (``-module``, ``-gen java``, ``py:twisted``);
* a cluster of flags that take no value (``-rq``);

and anything else is an error with the closest known option. The first word,
when it is no subcommand, no option and no existing file, but close to a
subcommand's name, is an error too (``thriftgen chek f.thrift``).

``-gen`` marks an Apache-style command line: there ``-o DIR`` means what it
means to Apache, ``DIR/gen-py`` (without ``-gen``, ``-o`` is the package root,
as thriftgo's ``-o`` and Apache's ``-out``).
"""

from __future__ import annotations

import difflib
import os

#: Their spelling -> ours, for every command that has ours.
SAME_AS = {"-out": "-o", "-version": "--version", "-help": "--help", "-recurse": "-r",
           "-verbose": "-v"}
#: Their spelling -> why thriftgen has none, and what to do instead.
REFUSED = {
    "-module": "-module is Kitex's Go module path; Python packages are placed with "
               "-thrift package_prefix=PKG",
    "-strict": "-strict is Apache's strict parsing; thriftgen always checks the IDL fully",
    "-nowarn": "-nowarn: use -q to print errors only",
    "-debug": "-debug (Apache's parser trace) has no thriftgen equivalent",
    "-audit": "-audit (Apache's compatibility audit) is not a thriftgen option",
    "-allow-64bit-consts": "-allow-64bit-consts: thriftgen accepts 64-bit constants always",
}
#: ``-gen py:OPT`` options that thriftgen's output always has.
APACHE_PY_BUILTIN = {"slots", "enum", "type_hints", "new_style", "utf8strings"}
APACHE_PY_REFUSED = {
    "twisted": "thriftgen generates blocking and asyncio code (no Twisted)",
    "tornado": "thriftgen generates blocking and asyncio code (no Tornado)",
    "zope.interface": "thriftgen generates no zope interfaces",
    "dynamic": "thriftgen's output is already small: try -thrift template=slim",
    "dynbase": "thriftgen's output is already small: try -thrift template=slim",
    "dynexc": "thriftgen's output is already small: try -thrift template=slim",
    "dynimport": "thriftgen's output is already small: try -thrift template=slim",
    "dynfrozen": "thriftgen's output is already small: try -thrift template=slim",
    "no_utf8strings": "thriftgen always decodes strings as UTF-8 (str)",
    "old_style": "thriftgen generates Python 3 classes only",
    "coding": "thriftgen writes UTF-8 sources",
}


class UsageError(Exception):
    """A command line that cannot mean what its author intended (exit code 2)."""


def close_match(word: str, choices) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or ``''``."""
    found = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f" (did you mean '{found[0]}'?)" if found else ""


class CommandShape:
    """What the option parser of one command accepts: option names, and which take a value."""

    def __init__(self, options: dict):
        self.options = options  # name -> takes a value

    @classmethod
    def of(cls, click_command) -> "CommandShape":
        options = {}
        for param in click_command.params:
            takes_value = not getattr(param, "is_flag", False) and not getattr(param, "count", False)
            for name in list(param.opts) + list(param.secondary_opts):
                if name.startswith("-"):
                    options[name] = takes_value
        return cls(options)


def normalize(command: str, args: list, shape: CommandShape, subcommands=()) -> list:
    """``args`` of ``command`` with their and our spellings made ours (see the module
    doc); :class:`UsageError` for what cannot be."""
    out: list = []
    apache_style = False
    pending_o = None  # index in out of an -o value, when -gen makes it Apache's
    i = 0
    n = len(args)
    while i < n:
        arg = args[i]
        i += 1
        if arg == "--":
            out.append(arg)
            out.extend(args[i:])
            break
        if not arg.startswith("-") or arg == "-" or arg.startswith("--"):
            name = arg.split("=", 1)[0]
            if arg.startswith("--") and name not in shape.options and name not in ("--help",
                                                                                  "--version"):
                raise UsageError(f"unknown option '{name}'{close_match(name, shape.options)}")
            out.append(arg)
            if arg.startswith("--") and "=" not in arg and shape.options.get(arg) and i < n:
                out.append(args[i])
                i += 1
            continue
        name, eq, value = arg.partition("=")
        if name in shape.options or len(name) == 2:
            takes = shape.options.get(name)
            if name == "-o" and takes:
                pending_o = len(out) + (0 if eq else 1)
            out.append(arg)
            if takes and not eq and i < n:
                out.append(args[i])
                i += 1
            elif takes is None and len(name) == 2:
                raise UsageError(f"unknown option '{name}'{close_match(name, shape.options)}")
            continue
        if arg.startswith("-I") and "-I" in shape.options:
            out.append(arg)  # -I<dir>
            continue
        if name in SAME_AS and (SAME_AS[name] in shape.options or SAME_AS[name] in ("--version",
                                                                                    "--help")):
            ours = SAME_AS[name]
            if ours == "-o":
                pending_o = None  # Apache's -out: the root itself
            out.append(ours + (eq + value if eq else ""))
            if shape.options.get(ours) and not eq and i < n:
                out.append(args[i])
                i += 1
            continue
        if name == "-gen" and "-thrift" in shape.options:
            if eq:
                spec = value
            elif i < n:
                spec = args[i]
                i += 1
            else:
                raise UsageError("-gen needs a generator: -gen py[:options]")
            out.extend(_apache_gen(spec))
            apache_style = True
            continue
        if name in REFUSED:
            raise UsageError(REFUSED[name])
        flags = [f"-{c}" for c in arg[1:]]
        if all(shape.options.get(f) is False for f in flags):
            out.extend(flags)  # a cluster of flags: -rq
            continue
        known = list(shape.options) + list(REFUSED) + [
            theirs for theirs, ours in SAME_AS.items() if ours in shape.options]
        raise UsageError(f"unknown option '{name}'{close_match(name, known)}")
    if apache_style and pending_o is not None and pending_o < len(out):
        # Apache's -o DIR writes DIR/gen-py; with -gen the command line is Apache's.
        value = out[pending_o]
        if value.startswith("-o="):
            out[pending_o] = "-o=" + os.path.join(value[3:], "gen-py")
        elif value not in ("-o", "--out"):
            out[pending_o] = os.path.join(value, "gen-py")
    if subcommands and command == "gen":
        _check_first_word(args, subcommands)
    return out


def _apache_gen(spec: str) -> list:
    """``-gen py[:opt,...]`` as thriftgen arguments."""
    lang, _, opts = spec.partition(":")
    if lang != "py":
        raise UsageError(f"thriftgen generates Python only (-gen {spec}); use -gen py or leave -gen out")
    out = []
    for opt in filter(None, opts.split(",")):
        key, _, value = opt.partition("=")
        if key in APACHE_PY_BUILTIN:
            continue
        if key == "package_prefix":
            out += ["-thrift", f"package_prefix={value.rstrip('.')}"]
            continue
        if key in APACHE_PY_REFUSED:
            raise UsageError(f"Apache's -gen py:{key} has no thriftgen equivalent: "
                             f"{APACHE_PY_REFUSED[key]}")
        known = sorted(APACHE_PY_BUILTIN | set(APACHE_PY_REFUSED) | {"package_prefix"})
        raise UsageError(f"unknown -gen py option '{key}'{close_match(key, known)}")
    return out


def _check_first_word(args: list, subcommands) -> None:
    """A mistyped subcommand is not taken for a file name."""
    if not args or args[0].startswith("-"):
        return
    first = args[0]
    if os.path.exists(first) or first.endswith(".thrift") or os.sep in first or "*" in first:
        return
    hint = close_match(first, subcommands)
    if hint:
        raise UsageError(f"unknown command '{first}'{hint}")
