"""Hand-written, check-free codecs of ``bench/codec.py``'s medium payload: the
pure-Python floors the benchmarks print beside the generated code.

Each function knows the exact layout of a binary ``Medium`` with every field
present in canonical order and reads only what it must (lengths, counts,
values): no header, type, count or bounds checks, so it is *not* safe on
hostile input. What it measures is how fast any pure-Python code can be on
this payload; a decoder that must reject hostile bytes cannot beat it.
"""

from __future__ import annotations

import struct

_U32 = struct.Struct(">I").unpack_from
_I32 = struct.Struct(">i").unpack_from


def skip_medium(buf) -> int:
    """End of a binary ``Medium`` found by reading only lengths and counts."""
    u32, i32 = _U32, _I32
    pos = 11  # id
    pos += 7 + u32(buf, pos + 3)[0]  # name
    pos += 7 + u32(buf, pos + 3)[0]  # description
    pos += 7 + 11 + 4  # quantity, price, active
    count = i32(buf, pos + 4)[0]  # tags
    pos += 8
    for _ in range(count):
        pos += 4 + u32(buf, pos)[0]
    pos += 8 + 8 * i32(buf, pos + 4)[0]  # history
    count = i32(buf, pos + 5)[0]  # attrs
    pos += 9
    for _ in range(count):
        pos += 4 + u32(buf, pos)[0]
        pos += 4 + u32(buf, pos)[0]
    count = i32(buf, pos + 4)[0]  # items: Inner(name, n, blob)
    pos += 8
    for _ in range(count):
        pos += 7 + u32(buf, pos + 3)[0]
        pos += 19 + u32(buf, pos + 14)[0]
    pos += 7 + 5  # color, version
    pos += 7 + u32(buf, pos + 3)[0]  # payload
    count = i32(buf, pos + 4)[0]  # grid
    pos += 8
    for _ in range(count):
        pos += 5 + 4 * i32(buf, pos + 1)[0]
    pos += 3  # owner
    pos += 7 + u32(buf, pos + 3)[0]
    pos += 19 + u32(buf, pos + 14)[0]
    return pos + 1


def medium_decoder(mod):
    """A decoder of binary ``Medium`` building ``mod``'s classes: the layout's
    fixed parts read by one ``struct`` call each, nested structs inline."""
    new = object.__new__
    medium, inner = mod.Medium, mod.Inner
    colors = {int(c): c for c in mod.Color}
    u32, i32 = _U32, _I32
    id_name = struct.Struct(">bhqbhI").unpack_from
    qty_price_active_tags = struct.Struct(">bhibhdbhBbhBi").unpack_from
    n_blob = struct.Struct(">bhqbhI").unpack_from
    color_version_payload = struct.Struct(">bhibhhbhI").unpack_from
    list_head = struct.Struct(">Bi").unpack_from
    i64s = [struct.Struct(">%dq" % k).unpack_from for k in range(65)]
    i32s = [struct.Struct(">%di" % k).unpack_from for k in range(65)]

    def read_inner(buf, pos):
        x = new(inner)
        end = pos + 7 + u32(buf, pos + 3)[0]
        x.name = buf[pos + 7:end].decode()
        _, _, x.n, _, _, length = n_blob(buf, end)
        pos = end + 18
        x.blob = buf[pos:pos + length]
        return x, pos + length + 1

    def decode(buf, pos=0):
        o = new(medium)
        _, _, o.id, _, _, length = id_name(buf, pos)
        pos += 18
        o.name = buf[pos:pos + length].decode()
        pos += length
        length = u32(buf, pos + 3)[0]
        pos += 7
        o.description = buf[pos:pos + length].decode()
        pos += length
        _, _, o.quantity, _, _, o.price, _, _, active, _, _, _, count = \
            qty_price_active_tags(buf, pos)
        o.active = active != 0
        pos += 30
        tags = []
        add = tags.append
        for _ in range(count):
            end = pos + 4 + u32(buf, pos)[0]
            add(buf[pos + 4:end].decode())
            pos = end
        o.tags = tags
        count = i32(buf, pos + 4)[0]
        pos += 8
        o.history = list(i64s[count](buf, pos))
        pos += 8 * count
        count = i32(buf, pos + 5)[0]
        pos += 9
        attrs = {}
        for _ in range(count):
            end = pos + 4 + u32(buf, pos)[0]
            key = buf[pos + 4:end].decode()
            pos = end + 4 + u32(buf, end)[0]
            attrs[key] = buf[end + 4:pos].decode()
        o.attrs = attrs
        count = i32(buf, pos + 4)[0]
        pos += 8
        items = []
        add = items.append
        for _ in range(count):  # read_inner inlined on purpose: a floor must be as fast as it gets
            x = new(inner)
            end = pos + 7 + u32(buf, pos + 3)[0]
            x.name = buf[pos + 7:end].decode()
            _, _, x.n, _, _, length = n_blob(buf, end)
            pos = end + 18
            x.blob = buf[pos:pos + length]
            pos += length + 1
            add(x)
        o.items = items
        _, _, color, _, _, o.version, _, _, length = color_version_payload(buf, pos)
        o.color = colors.get(color, color)
        pos += 19
        o.payload = buf[pos:pos + length]
        pos += length
        count = i32(buf, pos + 4)[0]
        pos += 8
        grid = []
        add = grid.append
        for _ in range(count):
            _, k = list_head(buf, pos)
            pos += 5
            add(list(i32s[k](buf, pos)))
            pos += 4 * k
        o.grid = grid
        o.owner, pos = read_inner(buf, pos + 3)
        return o, pos + 1

    return decode
