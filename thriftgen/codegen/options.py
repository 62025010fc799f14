"""``-thrift OPT[=VALUE][,OPT...]`` options (Kitex style) as a frozen dataclass.

Options are comma separated and the flag is repeatable; later values win.
An unknown option or a bad value is a :class:`OptionError` whose message lists
what is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from thriftgen.codegen.naming import module_path_error
from thriftgen.runtime.errors import ThriftgenError

#: name -> (takes a value?, help text). Order is the order of the help table.
KNOWN_OPTIONS = {
    "trim_idl": ("optional", "trim unused definitions before generating ('trim_idl=all' also "
                             "trims included files' unused definitions)"),
    "no_fmt": ("no", "skip black; the output is byte-identical anyway (faster)"),
    "template": ("required", "template set: 'default' (reserved: 'slim')"),
    "with_field_mask": ("no", "reserved: field-mask support (not implemented yet)"),
    "no_default_serdes": ("no", "reserved: omit read()/write() (not implemented yet)"),
    "no_fast_codec": ("no", "reserved: omit the fast codec (not implemented yet)"),
    "package_prefix": ("required", "prepend a dotted package to every generated module path"),
}

#: Values ``template=`` accepts, and which of them are implemented.
TEMPLATES = ("default", "slim")
IMPLEMENTED_TEMPLATES = ("default",)
#: Reserved options that parse but are not implemented yet.
NOT_IMPLEMENTED = ("with_field_mask", "no_default_serdes", "no_fast_codec")


class OptionError(ThriftgenError):
    """A ``-thrift`` option that is unknown or has a bad value."""


def known_options_text() -> str:
    out = []
    for name, (takes, _help) in KNOWN_OPTIONS.items():
        if takes == "required":
            out.append(f"{name}=VALUE")
        elif takes == "optional":
            out.append(f"{name}[=all]")
        else:
            out.append(name)
    return ", ".join(out)


@dataclass(frozen=True)
class GenOptions:
    trim_idl: bool = False
    #: ``trim_idl=all``: trim included files too (passed on to the trimmer)
    trim_all: bool = False
    no_fmt: bool = False
    template: str = "default"
    with_field_mask: bool = False
    no_default_serdes: bool = False
    no_fast_codec: bool = False
    package_prefix: str = ""


def parse_thrift_options(values: Iterable[str]) -> GenOptions:
    """Parse every ``-thrift`` value (each itself comma separated)."""
    opts: dict = {}
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            name, has_value, arg = item.partition("=")
            name = name.strip()
            arg = arg.strip()
            spec = KNOWN_OPTIONS.get(name)
            if spec is None:
                raise OptionError(f"unknown -thrift option '{name}'; known options: "
                                  f"{known_options_text()}")
            takes = spec[0]
            if takes == "no" and has_value:
                raise OptionError(f"-thrift option '{name}' takes no value")
            if takes == "required" and not (has_value and arg):
                raise OptionError(f"-thrift option '{name}' needs a value ({name}=VALUE)")
            if name == "trim_idl":
                if has_value and arg != "all":
                    raise OptionError(f"-thrift trim_idl accepts no value or 'all', not '{arg}'")
                opts["trim_idl"] = True
                opts["trim_all"] = arg == "all"
            elif name == "template":
                if arg not in TEMPLATES:
                    raise OptionError(f"-thrift template must be one of {', '.join(TEMPLATES)}, "
                                      f"not '{arg}'")
                opts["template"] = arg
            elif name == "package_prefix":
                problem = module_path_error(arg)
                if problem:
                    raise OptionError(f"-thrift package_prefix: {problem}")
                opts["package_prefix"] = arg
            else:
                opts[name] = True
    result = GenOptions(**opts)
    unsupported = not_implemented(result)
    if unsupported:
        raise OptionError(f"-thrift {unsupported} is reserved but not implemented yet")
    return result


def not_implemented(opts: GenOptions) -> Optional[str]:
    for name in NOT_IMPLEMENTED:
        if getattr(opts, name):
            return name
    if opts.template not in IMPLEMENTED_TEMPLATES:
        return f"template={opts.template}"
    return None
