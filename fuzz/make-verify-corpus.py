#!/usr/bin/env python3
# Writes the seed corpus of the verifier (fuzz/corpus/verify/): chains of
# segments (an implementation of the format independent of fsmon's C code,
# as in make-segment-corpus.py), cut into files by "\n%%FILE" + a flags byte
# (fuzz/fuzz-verify.c: bits 0-1 folder, 2-3 name, 4-6 kind). Rerun after a
# format change:   python3 fuzz/make-verify-corpus.py fuzz/corpus/verify
import hashlib, os, subprocess, sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
HOST = "0123456789abcdef0123456789abcdef"

def seg(seq, prev, first=100, n=3, host=HOST, epoch="00112233aabbccdd", gap=None, footer=True):
    head = ('{"fsmon":"segment","format":1,"seq":%d,"host":"%s","key_epoch":"%s","version":"0.1.0",'
            '"first_serial":%d,"created":1700000000,"prev_hash":"%s"}\n' % (seq, host, epoch, first, prev))
    recs = ['{"op":"read","time":"1700000%03d.000","serial":%d,"path":"/a/b","bytes":4096}' % (seq, first + i)
            for i in range(n)]
    gaps = lost = 0
    if gap:
        recs.append('{"op":"gap","time":"1700000000.000","serial":%d,"lost":%d,"reason":"%s"}' % (first + n - 1, gap[0], gap[1]))
        gaps, lost = 1, gap[0]
    body = (head + "".join(r + "\n" for r in recs)).encode()
    h = hashlib.blake2b(body, digest_size=32).hexdigest()
    last = first + n - 1
    foot = ('{"fsmon":"end","seq":%d,"records":%d,"last_serial":%d,"gap_records":%d,"gap_lost":%d,"hash":"%s"}\n'
            % (seq, len(recs), last, gaps, lost, h)).encode()
    return (body + foot) if footer else body, h

def chain(k, **kw):
    prev, segs = "0" * 64, []
    for s in range(1, k + 1):
        data, prev = seg(s, prev, first=100 * s, **kw)
        segs.append(data)
    return segs

def zstd(data):
    return subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout

def put(name, files):
    # files: (flags, data); the first file's flags are 0 (no marker before it)
    blob = b""
    for i, (flags, data) in enumerate(files):
        blob += data if i == 0 else b"\n%%FILE" + bytes([flags]) + data
    open(os.path.join(out, name), "wb").write(blob)

F1 = 1          # folder = HOST
c = chain(4)
put("chain-loose", [(0, d) for d in c])
put("chain-folder", [(0, b"")] + [(F1, d) for d in c])
put("missing-middle", [(F1, d) for i, d in enumerate(c) if i != 2])
put("reordered", [(F1, c[0]), (F1, c[2]), (F1, c[1]), (F1, c[3])])
put("duplicate", [(F1, c[0]), (F1, c[1]), (F1 | 8, c[1]), (F1, c[2])])
put("foreign", [(F1, c[0]), (2, c[1]), (F1, c[2])])
put("zstd", [(F1, zstd(d)) for d in c])
flip = bytearray(c[1]); flip[200] ^= 1
put("flipped", [(F1, c[0]), (F1, bytes(flip)), (F1, c[2])])
put("truncated", [(F1, c[0]), (F1, c[1][:-15]), (F1, c[2])])
put("kinds", [(F1, c[0]), (F1 | 0x20, b"part"), (F1 | 0x30, b""), (F1 | 0x40, b""), (F1 | 0x50, b""), (F1, c[1])])
g = chain(3, gap=(42, "spool full, oldest segment dropped"))
put("dropped-head", [(F1, d) for d in g[1:]])
put("open-torn", [(F1, c[0]), (F1 | 0x10 | 0x0c, seg(2, hashlib.blake2b(c[0][:c[0].rindex(b'{"fsmon":"end"')], digest_size=32).hexdigest(), first=200, footer=False)[0] + b'{"op":"re')])
e2 = chain(2, epoch="ffeeddccbbaa9988")
put("epochs", [(0, c[0]), (0, e2[1])])
put("garbage", [(F1, os.urandom(300)), (0, b"hello\n"), (F1, b"\x28\xb5\x2f\xfd" + os.urandom(40))])
