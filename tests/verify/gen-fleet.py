#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes a server directory of a fleet's segments, as uploads land there.

    gen-fleet.py OUT [--hosts N] [--segments N] [--records N] [--seed N]
                     [--plain] [--expect FILE] [--drop-oldest N] [--rotate-at N]

OUT/<host id>/seg-<seq 12 digits>.jsonl.zst (or .jsonl with --plain): for
every host a month of hourly segments (--segments, 720 by default) of about
--records actions each (0.5x to 1.5x), chained by their BLAKE2b-256 hashes.
This is an implementation of the segment format (daemon/store/segment.h)
independent of fsmon's C code: header, records, footer with the counts and
the hash of every byte from the header through the last record's newline;
compressed as fsmon does it, one zstd frame each for header, records and
footer (python3-zstandard).

The workload per host: programs of a few users open files of a pool, read
them sequentially or at random offsets, write some, close them; now and then
the kernel loses events and a gap record says how many. --drop-oldest N
leaves out each host's first N segments, as a spool under quota does, and
writes the gap record that says so into the next segment; --rotate-at N
changes the key epoch from seq N on.

--expect FILE writes what `fsmonctl report` and `fsmonctl verify` must find
(per op count and bytes, top files by bytes, per host records, gaps, lost).
"""

import argparse
import hashlib
import json
import os
import random
import sys

import shutil
import subprocess

try:
    import zstandard
except ImportError:
    zstandard = None


def zstd_cli(data):
    # Without python3-zstandard (a package build's minimal environment):
    # zstd(1), one frame per call, as fsmon writes one per part.
    return subprocess.run(["zstd", "-q", "-3", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout

T0 = 1762000000 - 1762000000 % 3600
PROGRAMS = ["cat", "cp", "python3", "sqlite3", "make", "vim", "rsync", "gcc", "java", "postgres"]
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
READ_OPS = ("read", "pread", "readv", "preadv")
WRITE_OPS = ("write", "pwrite", "writev", "pwritev")


def token(rng, n):
    return "".join(rng.choice(ALPHABET) for _ in range(n))


def header_line(seq, host, epoch, first_serial, created, prev_hash):
    return ('{"fsmon":"segment","format":1,"seq":%d,"host":"%s","key_epoch":"%s","version":"0.1.0",'
            '"first_serial":%d,"created":%d,"prev_hash":"%s"}\n'
            % (seq, host, epoch, first_serial, created, prev_hash))


def footer_line(seq, records, last_serial, gaps, gap_lost, h):
    return ('{"fsmon":"end","seq":%d,"records":%d,"last_serial":%d,"gap_records":%d,"gap_lost":%d,"hash":"%s"}\n'
            % (seq, records, last_serial, gaps, gap_lost, h))


class Expect:
    def __init__(self):
        self.ops = {}
        self.files = {}
        self.hosts = {}

    def op(self, host, op, path, nbytes):
        c = self.ops.setdefault(op, [0, 0])
        c[0] += 1
        if nbytes and nbytes > 0:
            c[1] += nbytes
            if op in READ_OPS or op in WRITE_OPS:
                k = (host, path)
                self.files[k] = self.files.get(k, 0) + nbytes


class Host:
    def __init__(self, args, rng, expect, index):
        self.args = args
        self.rng = rng
        self.expect = expect
        self.id = "%032x" % rng.getrandbits(128)
        self.dir = os.path.join(args.out, self.id)
        os.makedirs(self.dir, exist_ok=True)
        self.epoch = "%016x" % rng.getrandbits(64)
        self.epoch2 = "%016x" % rng.getrandbits(64)
        self.paths = ["/" + token(rng, 22) + "/" + token(rng, 22) for _ in range(args.files)]
        self.serial = rng.randrange(1000, 100000)
        self.prev_hash = "0" * 64
        self.pending_gap = None
        self.dropped = 0
        self.stats = {"segments": 0, "records": 0, "gap_records": 0, "lost": 0, "first_serial": None,
                      "last_serial": None, "first_seq": None, "last_seq": None}
        if zstandard and not args.plain:
            self.cctx = zstandard.ZstdCompressor(level=3, write_checksum=True)
        self.compress = None if args.plain else self.cctx.compress if zstandard else zstd_cli

    def records(self, hour, n, counted):
        rng, out, ex = self.rng, [], self.expect
        t = T0 + hour * 3600
        gaps = lost = 0
        if self.pending_gap is not None:
            lines = self.pending_gap
            out.append('{"op":"gap","time":"%d.000","serial":%d,"lost":%d,"reason":"spool full, oldest segment dropped"}'
                       % (t, self.serial, lines))
            gaps, lost = 1, lines
            if counted:
                ex.op(self.id, "gap", None, None)
            self.pending_gap = None
        while len(out) < n:
            self.serial += rng.randrange(1, 4)
            path = rng.choice(self.paths[: max(1, len(self.paths) // (1 + rng.randrange(4)))])
            pid = rng.randrange(300, 60000)
            comm = rng.choice(PROGRAMS)
            auid = rng.choice((1000, 1001, 1002, 4294967295))
            sec = t + (len(out) * 3600) // max(n, 1)
            ms = rng.randrange(1000)
            fd = rng.randrange(3, 40)
            out.append('{"op":"open","time":"%d.%03d","serial":%d,"pid":%d,"comm":"%s","auid":%d,"uid":%d,'
                       '"path":"%s","fd":%d,"flags":"O_RDONLY"}' % (sec, ms, self.serial, pid, comm, auid,
                                                                    auid if auid < 65536 else 0, path, fd))
            if counted:
                ex.op(self.id, "open", path, None)
            off = 0
            for _ in range(rng.randrange(1, 6)):
                op = rng.choice(("read", "read", "read", "pread", "write", "pwrite", "readv"))
                nb = rng.choice((4096, 8192, 65536, 131072, rng.randrange(1, 100000)))
                if op.startswith("p"):
                    off = rng.randrange(0, 1 << 24)
                self.serial += 1
                out.append('{"op":"%s","time":"%d.%03d","serial":%d,"pid":%d,"comm":"%s","auid":%d,'
                           '"path":"%s","fd":%d,"offset":%d,"bytes":%d}'
                           % (op, sec, ms, self.serial, pid, comm, auid, path, fd, off, nb))
                off += nb
                if counted:
                    ex.op(self.id, op, path, nb)
            self.serial += 1
            out.append('{"op":"close","time":"%d.%03d","serial":%d,"pid":%d,"comm":"%s","auid":%d,'
                       '"path":"%s","fd":%d}' % (sec, ms, self.serial, pid, comm, auid, path, fd))
            if counted:
                ex.op(self.id, "close", path, None)
            if rng.random() < self.args.gap_rate:
                k = rng.randrange(1, 500)
                out.append('{"op":"gap","time":"%d.%03d","serial":%d,"lost":%d,"reason":"kernel: audit backlog '
                           'overflow"}' % (sec, ms, self.serial, k))
                gaps += 1
                lost += k
                if counted:
                    ex.op(self.id, "gap", None, None)
        return out, gaps, lost

    def segment(self, seq):
        a = self.args
        n = max(1, int(a.records * (0.5 + self.rng.random())))
        counted = seq > a.drop_oldest
        if a.drop_oldest and seq == a.drop_oldest + 1:
            self.pending_gap = self.dropped
        recs, gaps, lost = self.records(seq - 1, n, counted)
        first_serial = json.loads(recs[0])["serial"]
        last_serial = json.loads(recs[-1])["serial"]
        epoch = self.epoch2 if a.rotate_at and seq >= a.rotate_at else self.epoch
        head = header_line(seq, self.id, epoch, first_serial, T0 + (seq - 1) * 3600, self.prev_hash)
        body = "".join(r + "\n" for r in recs)
        h = hashlib.blake2b((head + body).encode(), digest_size=32).hexdigest()
        foot = footer_line(seq, len(recs), last_serial, gaps, lost, h)
        self.prev_hash = h
        if not counted:
            # Dropped by the spool's quota: its records and the losses its
            # gap records reported are what the next segment's gap record
            # counts (spool.c: spool_drop_oldest()).
            self.dropped += len(recs) - gaps + lost
            return
        st = self.stats
        st["segments"] += 1
        st["records"] += len(recs)
        st["gap_records"] += gaps
        st["lost"] += lost
        st["first_serial"] = first_serial if st["first_serial"] is None else st["first_serial"]
        st["last_serial"] = last_serial
        st["first_seq"] = seq if st["first_seq"] is None else st["first_seq"]
        st["last_seq"] = seq
        name = "seg-%012d.jsonl" % seq
        if not self.compress:
            data = (head + body + foot).encode()
        else:
            c = self.compress
            data = c(head.encode()) + c(body.encode()) + c(foot.encode())
            name += ".zst"
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--hosts", type=int, default=3)
    ap.add_argument("--segments", type=int, default=720)
    ap.add_argument("--records", type=int, default=200)
    ap.add_argument("--files", type=int, default=200, help="distinct files per host")
    ap.add_argument("--gap-rate", type=float, default=0.002)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--plain", action="store_true")
    ap.add_argument("--drop-oldest", type=int, default=0)
    ap.add_argument("--rotate-at", type=int, default=0)
    ap.add_argument("--expect")
    a = ap.parse_args()
    if not a.plain and not zstandard and not shutil.which("zstd"):
        sys.exit("gen-fleet.py: neither python3-zstandard nor zstd(1) (tools/deps.sh); or use --plain")
    rng = random.Random(a.seed)
    expect = Expect()
    hosts = []
    for i in range(a.hosts):
        h = Host(a, random.Random(rng.getrandbits(64)), expect, i)
        for seq in range(1, a.segments + 1):
            h.segment(seq)
        hosts.append(h)
    if a.expect:
        top = sorted(expect.files.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1]))[:10]
        with open(a.expect, "w") as f:
            json.dump({"ops": {k: {"count": v[0], "bytes": v[1]} for k, v in sorted(expect.ops.items())},
                       "top_files_by_bytes": [{"host": k[0], "path": k[1], "bytes": v} for k, v in top],
                       "hosts": {h.id: h.stats for h in hosts}}, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
