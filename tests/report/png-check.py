#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks a screenshot of the report's charts: not blank, and the charts are
there. Decodes the PNG itself (zlib, struct), no imaging library needed.

    png-check.py FILE.png

The report draws bytes read in #3b7dd8 and bytes written in #e8833a, in three
charts stacked from top to bottom: activity over time, top files, the
read/write mix. Each third of the drawn area must hold both colours (the
workload reads and writes in every hour and most files), and the image as a
whole must be mostly white with some ink (text, axes)."""
import struct
import sys
import zlib


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit("%s: not a PNG" % path)
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise SystemExit("unsupported PNG: depth %d colour type %d interlace %d" % (depth, ctype, interlace))
    bpp = 4 if ctype == 6 else 3
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def near(px, rgb, tol=12):
    return all(abs(px[i] - rgb[i]) <= tol for i in range(3))


def main():
    w, h, bpp, rows = decode(sys.argv[1])
    read, written = (0x3b, 0x7d, 0xd8), (0xe8, 0x83, 0x3a)
    white = ink = 0
    per_row = []
    for y, row in enumerate(rows):
        r = wr = 0
        for x in range(0, w * bpp, bpp):
            px = row[x:x + 3]
            if px[0] > 245 and px[1] > 245 and px[2] > 245:
                white += 1
            else:
                ink += 1
                if near(px, read):
                    r += 1
                elif near(px, written):
                    wr += 1
        per_row.append((r, wr))
    total = w * h
    print("%dx%d: %.1f%% white, %d read-blue, %d written-orange pixels"
          % (w, h, 100.0 * white / total, sum(r for r, _ in per_row), sum(x for _, x in per_row)))
    fail = 0
    if not 0.02 * total < ink < 0.8 * total:
        print("FAIL: blank or flooded (%d of %d pixels not white)" % (ink, total))
        fail += 1
    # Where something is drawn: from the first to the last coloured row.
    drawn = [y for y, (r, x) in enumerate(per_row) if r or x]
    if not drawn:
        print("FAIL: no chart colours at all")
        return 1
    top, bottom = drawn[0], drawn[-1]
    third = (bottom - top + 1) / 3
    for i, name in enumerate(("activity over time", "top files", "read/write mix")):
        lo, hi = int(top + i * third), int(top + (i + 1) * third)
        r = sum(per_row[y][0] for y in range(lo, hi))
        x = sum(per_row[y][1] for y in range(lo, hi))
        print("  %s (rows %d-%d): %d read, %d written" % (name, lo, hi, r, x))
        if r < 500 or x < 20:
            print("FAIL: %s chart missing or empty" % name)
            fail += 1
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
