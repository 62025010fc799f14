"""Wire type constants shared by generated code and the runtime codecs.

The numbers are Apache Thrift's, so ``thrift_spec`` tuples emitted for
thriftgen classes are also understood by Apache's C accelerated protocols.
"""

__all__ = ["TType", "MessageType", "CompactType"]


class TType:
    """Thrift wire types (Apache numbering)."""

    STOP = 0
    VOID = 1
    BOOL = 2
    BYTE = 3
    I08 = 3
    DOUBLE = 4
    I16 = 6
    I32 = 8
    I64 = 10
    STRING = 11
    UTF7 = 11
    STRUCT = 12
    MAP = 13
    SET = 14
    LIST = 15
    UUID = 16

    _VALUES_TO_NAMES = {
        0: "STOP",
        1: "VOID",
        2: "BOOL",
        3: "BYTE",
        4: "DOUBLE",
        6: "I16",
        8: "I32",
        10: "I64",
        11: "STRING",
        12: "STRUCT",
        13: "MAP",
        14: "SET",
        15: "LIST",
        16: "UUID",
    }


class MessageType:
    """Message types of the RPC envelope."""

    CALL = 1
    REPLY = 2
    EXCEPTION = 3
    ONEWAY = 4


class CompactType:
    """Type ids used on the wire by the compact protocol."""

    STOP = 0x00
    TRUE = 0x01
    FALSE = 0x02
    BYTE = 0x03
    I16 = 0x04
    I32 = 0x05
    I64 = 0x06
    DOUBLE = 0x07
    BINARY = 0x08
    LIST = 0x09
    SET = 0x0A
    MAP = 0x0B
    STRUCT = 0x0C
    UUID = 0x0D
