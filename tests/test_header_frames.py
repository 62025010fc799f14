"""THeader and TTHeader frames (thriftgen.runtime.rpc.header).

THeader against the real peer: frames we write are read by Apache's
``THeaderTransport`` and frames it writes are read by us, with and without zlib,
binary and compact payloads, headers both ways. TTHeader against bytes assembled
by hand from Kitex's published layout (offsets commented). Then hostile frames.
"""

from __future__ import annotations

import struct
import zlib

import pytest

from thriftgen.runtime.errors import ProtocolError
from thriftgen.runtime.rpc.header import (MAX_HEADER_SIZE, THEADER, TTHEADER, ZLIB, HeaderFrame,
                                          decode_frame, encode_frame, frame_kind)

PAYLOAD = b"\x80\x01\x00\x01\x00\x00\x00\x04echo\x00\x00\x00\x07\x00"  # a binary CALL, empty args


def apache():
    return pytest.importorskip("thrift.transport.THeaderTransport")


def apache_read(data):
    """What Apache's THeaderTransport reads from ``data``: (payload, headers, seqid, protocol)."""
    th = apache()
    from thrift.transport.TTransport import TMemoryBuffer

    trans = th.THeaderTransport(TMemoryBuffer(data), [th.THeaderClientType.HEADERS])
    trans.readFrame(0)
    payload = trans._read_buffer.read()
    return payload, trans.get_headers(), trans.sequence_id, trans.protocol_id


def apache_write(payload, headers=(), seqid=0, protocol_id=0, transforms=()):
    th = apache()
    from thrift.transport.TTransport import TMemoryBuffer

    out = TMemoryBuffer()
    trans = th.THeaderTransport(out, [th.THeaderClientType.HEADERS], protocol_id)
    trans.sequence_id = seqid
    for k, v in headers:
        trans.set_header(k, v)
    for t in transforms:
        trans.add_transform(t)
    trans.write(payload)
    trans.flush()
    return out.getvalue()


@pytest.mark.parametrize("zlib_on", [False, True], ids=["plain", "zlib"])
@pytest.mark.parametrize("protocol,protocol_id", [("binary", 0), ("compact", 2)])
def test_theader_both_ways_with_apache(zlib_on, protocol, protocol_id):
    transforms = (ZLIB,) if zlib_on else ()
    headers = {"log_id": "abc-1", "caller": "svc.é"}
    ours = encode_frame(HeaderFrame(PAYLOAD, seqid=7, protocol=protocol, transforms=transforms,
                                    headers=headers))
    payload, got_headers, seqid, pid = apache_read(ours)
    assert payload == PAYLOAD and seqid == 7 and pid == protocol_id
    assert got_headers == {k.encode(): v.encode() for k, v in headers.items()}
    theirs = apache_write(PAYLOAD, [(k.encode(), v.encode()) for k, v in headers.items()],
                          seqid=-5, protocol_id=protocol_id, transforms=transforms)
    frame, end = decode_frame(theirs)
    assert end == len(theirs) and frame_kind(theirs) == THEADER
    assert frame == HeaderFrame(PAYLOAD, seqid=-5, protocol=protocol, transforms=transforms,
                                headers=headers)
    if not zlib_on:  # zlib output may differ by level; the rest is byte for byte
        assert ours == apache_write(PAYLOAD, [(k.encode(), v.encode()) for k, v in headers.items()],
                                    seqid=7, protocol_id=protocol_id)


def test_theader_without_headers_is_apache_bytes():
    assert encode_frame(HeaderFrame(PAYLOAD)) == apache_write(PAYLOAD)


def test_ttheader_bytes_from_the_published_layout():
    frame = HeaderFrame(PAYLOAD, kind=TTHEADER, seqid=1, protocol="binary",
                        headers={"isn": "Echo"}, int_headers={8: "callee"}, acl_token="tok")
    header = (
        b"\x00"                      # 14: PROTOCOL ID (u8): binary
        b"\x00"                      # 15: NUM TRANSFORMS (u8)
        b"\x01"                      # 16: INFO ID 0x01: string key/values
        b"\x00\x01"                  # 17: count (u16)
        b"\x00\x03isn"               # 19: key, u16 length
        b"\x00\x04Echo"              # 24: value, u16 length
        b"\x10"                      # 30: INFO ID 0x10: integer-key values
        b"\x00\x01"                  # 31: count (u16)
        b"\x00\x08"                  # 33: key 8 (u16)
        b"\x00\x06callee"            # 35: value, u16 length
        b"\x11"                      # 43: INFO ID 0x11: ACL token
        b"\x00\x03tok"               # 44: u16 length + token
    )                                # ends at offset 49: 35 bytes, one byte of padding
    header += b"\x00"                # 49: padding to a multiple of 4 (HEADER SIZE 9)
    assert len(header) == 36
    expected = (struct.pack("!I", 10 + len(header) + len(PAYLOAD))  # 0: LENGTH
                + b"\x10\x00"                  # 4: HEADER MAGIC 0x1000
                + b"\x00\x00"                  # 6: FLAGS
                + b"\x00\x00\x00\x01"          # 8: SEQUENCE NUMBER
                + struct.pack("!H", len(header) // 4)  # 12: HEADER SIZE in 4-byte words
                + header + PAYLOAD)
    assert encode_frame(frame) == expected
    assert decode_frame(expected) == (frame, len(expected))
    assert frame_kind(expected) == TTHEADER


def test_ttheader_padding_and_compact_and_flags():
    # A frame as Kitex writes it: no headers, protocol id then transform count, padding.
    data = (struct.pack("!I", 10 + 4 + 3) + b"\x10\x00" + b"\x00\x01" + b"\x00\x00\x00\x09"
            + b"\x00\x01" + b"\x02\x00\x00\x00" + b"abc")
    frame, end = decode_frame(data)
    assert (frame.kind, frame.protocol, frame.flags, frame.seqid, frame.payload) == (
        TTHEADER, "compact", 1, 9, b"abc")
    assert encode_frame(frame) == data


def test_frames_follow_each_other_in_a_stream():
    a = encode_frame(HeaderFrame(b"one", seqid=1))
    b = encode_frame(HeaderFrame(b"two", kind=TTHEADER, seqid=2))
    stream = a + b
    first, end = decode_frame(stream)
    second, end2 = decode_frame(stream, end)
    assert (first.payload, second.payload, end2) == (b"one", b"two", len(stream))
    for cut in (3, 13, len(a) - 1):
        with pytest.raises(ProtocolError) as info:
            decode_frame(a[:cut])
        assert info.value.kind == "truncated" and info.value.missing >= 1


def _meta(length, magic=0x0FFF, words=1):
    return struct.pack("!IHHiH", length, magic, 0, 0, words)


@pytest.mark.parametrize("data,kind,text", [
    (_meta(20, magic=0x8001) + b"\x00" * 16, "bad_version", "magic 0x8001"),
    (_meta(12, words=5) + b"\x00\x00", "invalid_data", "past the frame"),
    (_meta(20, words=2) + b"\x00\x01\x07\x00\x00\x00\x00\x00" + b"\x00" * 2, "invalid_data",
     "unknown header transform 7"),
    (_meta(14, words=1) + b"\x09\x00\x00\x00", "invalid_data", "protocol id 9"),
    (_meta(18, words=2) + b"\xff\xff\xff\xff\xff\xff\x00\x00", "invalid_data", "overlong varint"),
    (_meta(14, magic=0x1000, words=1) + b"\x00\x00\x42\x00", "invalid_data", "info id 0x42"),
    (_meta(14, magic=0x1000, words=1) + b"\x00\x00\x01\x00", "invalid_data", "ends inside"),
    (_meta(2 ** 31, words=1), "size_limit", "over max_message_size"),
])
def test_hostile_frames(data, kind, text):
    with pytest.raises(ProtocolError) as info:
        decode_frame(data)
    assert info.value.kind == kind and text in str(info.value)


def test_zlib_bomb_is_refused_without_inflating_it():
    bomb = zlib.compress(b"\x00" * (64 * 1024 * 1024))  # 64 MB of zeros in ~64 kB
    data = (struct.pack("!IHHiH", 10 + 4 + len(bomb), 0x0FFF, 0, 0, 1) + b"\x00\x01\x01\x00"
            + bomb)
    assert len(data) < 100_000
    with pytest.raises(ProtocolError) as info:
        decode_frame(data, max_size=1024 * 1024)
    assert info.value.kind == "size_limit"


def test_header_limits_and_bad_arguments():
    with pytest.raises(ValueError, match="over the 65536-byte limit"):
        encode_frame(HeaderFrame(b"", headers={"k": "v" * MAX_HEADER_SIZE}))
    with pytest.raises(ValueError, match="TTHeader's"):
        encode_frame(HeaderFrame(b"", int_headers={1: "x"}))
    with pytest.raises(ValueError, match="only zlib"):
        encode_frame(HeaderFrame(b"", transforms=(2,)))
    with pytest.raises(ValueError, match="over max_message_size"):
        encode_frame(HeaderFrame(b"x" * 100), max_size=50)
    assert frame_kind(b"\x00\x00") is None
