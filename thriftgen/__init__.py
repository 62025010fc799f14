"""thriftgen: Thrift IDL parser, trimmer and Python code generator.

Importing this package stays cheap on purpose: generated code imports
``thriftgen.runtime``, which must not pull in the tool's dependencies.
"""

__version__ = "0.1.0"
