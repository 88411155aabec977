#!/usr/bin/env python3
"""Draws Glasschat's app icons (public/*.png, public/favicon.ico) from the
same design as public/icon.svg: a sky-to-violet rounded square with a white
speech bubble. Pure Python (zlib), so it runs anywhere; rerun after a design
change and commit the output."""
import math
import struct
import zlib
from pathlib import Path

PUBLIC = Path(__file__).resolve().parent.parent / "public"
SKY = (56, 189, 248)
VIOLET = (139, 92, 246)


def inside_rounded(x, y, size, radius):
    r = radius
    cx = min(max(x, r), size - r)
    cy = min(max(y, r), size - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def bubble(x, y, size):
    """A speech bubble: a rounded body and a tail at its lower left."""
    u, v = x / size, y / size
    body = 0.22 <= u <= 0.78 and 0.25 <= v <= 0.66
    if body:
        # round the body's corners
        for cu, cv in ((0.30, 0.33), (0.70, 0.33), (0.30, 0.58), (0.70, 0.58)):
            du, dv = u - cu, v - cv
            outside_u = (u < 0.30 and cu == 0.30) or (u > 0.70 and cu == 0.70)
            outside_v = (v < 0.33 and cv == 0.33) or (v > 0.58 and cv == 0.58)
            if outside_u and outside_v and du * du + dv * dv > 0.08 ** 2:
                return False
        return True
    # tail: a triangle below the body
    return 0.30 <= u <= 0.46 and 0.66 <= v <= 0.80 and (u - 0.30) <= (0.80 - v) * 1.1


def pixel(x, y, size, maskable):
    t = (x + y) / (2 * size)
    bg = tuple(round(a + (b - a) * t) for a, b in zip(SKY, VIOLET))
    if maskable:
        # full bleed: the platform draws its own mask; keep the bubble in the
        # safe zone (the middle 80 %)
        s = 0.8
        off = size * (1 - s) / 2
        if off <= x < size - off and off <= y < size - off and bubble(x - off, y - off, size * s):
            return (255, 255, 255, 255)
        return bg + (255,)
    if not inside_rounded(x + 0.5, y + 0.5, size, size * 0.22):
        return (0, 0, 0, 0)
    if bubble(x + 0.5, y + 0.5, size):
        return (255, 255, 255, 255)
    return bg + (255,)


def png(size, maskable=False):
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            row.extend(pixel(x, y, size, maskable))
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def ico(images):
    """An ICO holding PNG images (every browser since IE Vista reads it)."""
    head = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries, blobs = b"", b""
    for size, data in images:
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
        blobs += data
    return head + entries + blobs


def main():
    PUBLIC.mkdir(exist_ok=True)
    for size in (192, 512):
        (PUBLIC / f"icon-{size}.png").write_bytes(png(size))
    (PUBLIC / "icon-maskable-512.png").write_bytes(png(512, maskable=True))
    (PUBLIC / "apple-touch-icon.png").write_bytes(png(180, maskable=True))
    (PUBLIC / "favicon.ico").write_bytes(ico([(16, png(16)), (32, png(32)), (48, png(48))]))


if __name__ == "__main__":
    main()
