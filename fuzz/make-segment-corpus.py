#!/usr/bin/env python3
# Writes the seed corpus of the segment reader (fuzz/corpus/segment/), with
# an implementation of the format that is independent of daemon/store/segment.c:
# good-* must be read as valid, bad-* as damaged (tests/unit/test-segment.c
# checks both). Rerun after a format change:
#   python3 fuzz/make-segment-corpus.py fuzz/corpus/segment
import hashlib, json, os, subprocess, sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

def header(seq=1, first=100, prev=b"\0" * 32, fmt=1, host="0123456789abcdef0123456789abcdef",
           epoch="00112233aabbccdd", version="0.1.0", created=1700000000, extra=""):
    return ('{"fsmon":"segment","format":%d,"seq":%d,"host":"%s","key_epoch":"%s","version":"%s",'
            '"first_serial":%d,"created":%d,"prev_hash":"%s"%s}\n'
            % (fmt, seq, host, epoch, version, first, created, prev.hex(), extra)).encode()

def record(serial, op="read", extra=""):
    return ('{"op":"%s","time":"1700000000.%03d","serial":%d,"pid":42,"path":"/AbC/dEf","fd":3,'
            '"offset":%d,"bytes":4096%s}\n' % (op, serial % 1000, serial, serial * 4096, extra)).encode()

def footer(body, seq=1, records=None, last=None, hash_=None, gaps=None, gap_lost=None):
    lines = body.split(b"\n")[1:-1]
    if gaps is None or gap_lost is None:
        g = l = 0
        for line in lines:
            try:
                o = json.loads(line)
            except Exception:
                continue
            if isinstance(o, dict) and o.get("op") == "gap":
                g += 1
                if isinstance(o.get("lost"), int):
                    l += o["lost"]
        gaps = g if gaps is None else gaps
        gap_lost = l if gap_lost is None else gap_lost
    if records is None:
        records = len(lines)
    if last is None:
        last = json.loads(lines[-1])["serial"] if lines else json.loads(body.split(b"\n")[0])["first_serial"]
    h = hash_ if hash_ is not None else hashlib.blake2b(body, digest_size=32).hexdigest()
    return ('{"fsmon":"end","seq":%d,"records":%s,"last_serial":%s,"gap_records":%s,"gap_lost":%s,"hash":"%s"}\n'
            % (seq, records, last, gaps, gap_lost, h)).encode()

def segment(n=5, first=100, **kw):
    body = header(first=first, **kw) + b"".join(record(first + i) for i in range(n))
    return body + footer(body, seq=kw.get("seq", 1))

def put(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)

def zstd(data, *args):
    return subprocess.run(["zstd", "-q", "-c", *args], input=data, stdout=subprocess.PIPE, check=True).stdout

good = segment()
put("good-plain", good)
put("good-zstd", zstd(good))
put("good-zstd-two-frames", zstd(good[:200]) + zstd(good[200:]))
# fsmon's own layout: header, records and footer each a frame
hl = good.index(b"\n") + 1
fo = good.rindex(b'{"fsmon":"end"')
put("good-zstd-fsmon-frames", zstd(good[:hl]) + zstd(good[hl:fo]) + zstd(good[fo:]))
body = header(first=7)
put("good-empty", body + footer(body))
body = header(first=9) + b'{"op":"gap","time":"1700000000.000","serial":9,"lost":null,"reason":"a \\"quoted\\" reason"}\n' + record(10) + b'{"op":"gap","time":"1700000000.000","serial":10,"lost":7,"reason":"x"}\n'
put("good-gap", body + footer(body))
put("bad-gap-counts", body + footer(body, gaps=1))
put("bad-gap-lost", body + footer(body, gap_lost=8))
body = header(first=5) + record(5, extra=',"comm":"caf\u00e9 \\u00e9","nested":{"a":[1,2.5e3,-0.1,true,false,null]}'.encode().decode())
put("good-unicode", body + footer(body))

# damage
put("bad-empty", b"")
put("bad-truncated-middle", good[: len(good) // 2])
put("bad-truncated-before-footer", good[: good.rindex(b'{"fsmon":"end"')])
put("bad-truncated-footer", good[:-10])
put("bad-no-newline-at-end", good[:-1])
flip = bytearray(good); flip[len(header()) + 20] ^= 0x01
put("bad-bitflip-record", bytes(flip))
flip = bytearray(good); flip[30] ^= 0x04
put("bad-bitflip-header", bytes(flip))
flip = bytearray(good); flip[-10] ^= 0x01
put("bad-bitflip-hash", bytes(flip))
body = header() + record(100)
put("bad-wrong-hash", body + footer(body, hash_="00" * 32))
put("bad-records-negative", body + footer(body, records="-1"))
put("bad-records-huge", body + footer(body, records="18446744073709551616"))
put("bad-records-too-many", body + footer(body, records="2"))
put("bad-last-serial-float", body + footer(body, last="100.0"))
put("bad-serial-negative", header(first=0) + b'{"op":"read","serial":-5}\n')
b2 = header(first=18446744073709551615) + b'{"op":"read","serial":18446744073709551616}\n'
put("bad-serial-huge", b2 + footer(b2, records=1, last="18446744073709551615"))
b2 = header(first=100) + b'{"op":"read","serial":1e2}\n'
put("bad-serial-exponent", b2 + footer(b2, records=1, last=100))
b2 = header(first=100) + b'{"serial":100}\n'
put("bad-record-without-op", b2 + footer(b2, records=1, last=100))
b2 = header(first=100) + b'{"op":"read","serial":100,"serial":101}\n'
put("bad-duplicate-key", b2 + footer(b2, records=1, last=101))
b2 = header(first=100) + b'{"op":"read","serial":100,"path":"\xff\xfe"}\n'
put("bad-invalid-utf8", b2 + footer(b2, records=1, last=100))
b2 = header(first=100) + b'{"op":"read","serial":100,"x":' + b"[" * 40 + b"]" * 40 + b"}\n"
put("bad-nesting-too-deep", b2 + footer(b2, records=1, last=100))
b2 = header(first=100) + b'{"op":"read","serial":100} trailing\n'
put("bad-trailing-garbage", b2 + footer(b2, records=1, last=100))
b2 = header(first=100) + b'{"op":"read","serial":100,"path":"a\tb"}\n'
put("bad-control-char", b2 + footer(b2, records=1, last=100))
put("bad-data-after-footer", good + record(200))
put("bad-two-footers", good + good[good.rindex(b'{"fsmon":"end"'):])
put("bad-no-header", good[len(header()):])
body = header(fmt=2) + record(100)
put("bad-format-version", body + footer(body))
body = header(seq=3) + record(100)
put("bad-seq-mismatch", body + footer(body, seq=4))
body = header(first=99) + record(100)
put("bad-first-serial-mismatch", body + footer(body))
body = header(host="../etc") + record(100)
put("bad-host-id", body + footer(body))
body = header(extra=',"created":5') + record(100)
put("bad-header-duplicate-key", body + footer(body))
z = zstd(good)
put("bad-zstd-truncated", z[: len(z) - 7])
put("bad-zstd-garbage", z[:4] + bytes(range(256)) * 2)
flip = bytearray(z); flip[len(z) // 2] ^= 0x10
put("bad-zstd-bitflip", bytes(flip))
# A frame header that claims a huge content size and window: the reader must
# refuse it without allocating by it.
put("bad-zstd-huge-window", bytes([0x28, 0xB5, 0x2F, 0xFD, 0x00, 0xF8]) + b"\0" * 16)
put("bad-zstd-trailing-garbage", z + b"garbage")
f3 = bytearray(zstd(good[:hl]) + zstd(good[hl:fo]) + zstd(good[fo:])); f3[-8] ^= 0x01
put("bad-zstd-footer-frame-flip", bytes(f3))
put("bad-not-json", b"hello\nworld\n")
put("bad-binary", bytes(range(256)))
