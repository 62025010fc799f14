"""``-thrift OPT[=VALUE][,OPT...]`` options (Kitex style) as a frozen dataclass.

Options are comma separated and the flag is repeatable; later values win.
An unknown option or a bad value is a :class:`OptionError` whose message lists
what is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from thriftgen.codegen.naming import module_path_error, shadowing_error
from thriftgen.runtime.errors import ThriftgenError

#: name -> (takes a value?, help text). Order is the order of the help table.
KNOWN_OPTIONS = {
    "trim_idl": ("optional", "trim unused definitions before generating ('trim_idl=all' also "
                             "trims included files' unused definitions)"),
    "no_fmt": ("no", "skip black; the output is byte-identical anyway (faster)"),
    "template": ("required", "template set: 'default', or 'slim' (classes, type hints, "
                             "services' Iface only; the runtime does all encoding)"),
    "with_field_mask": ("no", "field masks: classes get Cls.field_mask(*paths, black=False) "
                              "(unless they have a field of that name) plus the "
                              "required-field and IDL-name tables FieldMask reads"),
    "no_default_serdes": ("no", "omit read(iprot)/write(oprot), the Apache-protocol path "
                                "(use thriftgen.runtime's codec and rpc)"),
    "no_fast_codec": ("no", "no generated codec section (the default; the runtime compiles the "
                            "codec on first use)"),
    "fast_codec": ("required", "where the specialised codec comes from: 'jit' (default: compiled "
                               "by the runtime on first use) or 'aot' (generated into ttypes.py: "
                               "no first-call compile, ~4x larger output)"),
    "package_prefix": ("required", "prepend a dotted package to every generated module path"),
}

#: Values ``template=`` accepts, and which of them are implemented.
TEMPLATES = ("default", "slim")
IMPLEMENTED_TEMPLATES = ("default", "slim")
#: Values ``fast_codec=`` accepts.
FAST_CODECS = ("jit", "aot")
#: Reserved options that parse but are not implemented yet.
NOT_IMPLEMENTED: tuple = ()

#: How options combine (README "Output variants" holds the same table):
#:
#: * ``template=slim`` has no generated codec: ``no_fast_codec`` with it is a no-op
#:   (identical output). Slim classes keep ``read``/``write`` for Apache protocol
#:   objects, inherited from the runtime (the documented fallback: no per-class code,
#:   the runtime's pure-Python path or Apache's C codec);
#: * ``no_default_serdes`` drops ``read``/``write`` in either template (slim classes
#:   then derive from the runtime bases without them). ``thrift_spec`` stays: the
#:   runtime codec compiles from it (JIT, and the fast codec's fallback for
#:   out-of-order input) and the RPC function tables read the result specs. Services
#:   work over ``thriftgen.runtime.rpc``; the default template's ``Processor`` and
#:   ``Client`` also over Apache protocol objects, through the runtime's generic
#:   ``read_struct``/``write_struct`` (the slim ``Client`` refuses them by name);
#: * ``with_field_mask`` works with either template: the runtime
#:   (``thriftgen.runtime.fieldmask``) applies masks, the option only adds
#:   ``Cls.field_mask(...)`` and the tables the runtime reads;
#: * invalid, a clear :class:`OptionError`:
INVALID_COMBINATIONS = (
    (lambda o: o.fast_codec == "aot" and o.no_fast_codec,
     "fast_codec=aot contradicts no_fast_codec (which asks for no generated codec)"),
    (lambda o: o.fast_codec == "aot" and o.template == "slim",
     "template=slim cannot be combined with fast_codec=aot (slim classes have no generated "
     "code; the runtime compiles their codec on first use)"),
)


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
    #: ``jit`` (default) or ``aot``: emit the binary codec into ``ttypes.py``
    fast_codec: str = "jit"
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
                from thriftgen.argv import close_match

                raise OptionError(f"unknown -thrift option '{name}'"
                                  f"{close_match(name, KNOWN_OPTIONS)}; known options: "
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
                    from thriftgen.argv import close_match

                    raise OptionError(f"-thrift template must be one of {', '.join(TEMPLATES)}, "
                                      f"not '{arg}'{close_match(arg, TEMPLATES)}")
                opts["template"] = arg
            elif name == "fast_codec":
                if arg not in FAST_CODECS:
                    from thriftgen.argv import close_match

                    raise OptionError(f"-thrift fast_codec must be one of {', '.join(FAST_CODECS)}, "
                                      f"not '{arg}'{close_match(arg, FAST_CODECS)}")
                opts["fast_codec"] = arg
            elif name == "package_prefix":
                problem = module_path_error(arg) or shadowing_error(arg)
                if problem:
                    raise OptionError(f"-thrift package_prefix: {problem}")
                opts["package_prefix"] = arg
            else:
                opts[name] = True
    result = GenOptions(**opts)
    for invalid, message in INVALID_COMBINATIONS:
        if invalid(result):
            raise OptionError(f"-thrift {message}")
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
