#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes spool segments of a known workload, and what a report over them must say.

    gen-segments.py OUT [--hosts N] [--sessions N] [--seed N] [--segment-records N]
                        [--compress] [--damage] [--expect FILE] [--target-bytes N]

OUT/<host id>/seg-<seq>.jsonl[.zst] in the server's layout, each a valid
segment (segment.h: header, records, footer with the chained BLAKE2b-256
hash). The workload is a list of sessions: a program of a user opens a file
and reads it sequentially, reads it at random places (some places twice),
writes it, or seeks, dups, forks and closes; now and then a gap record. The
generator keeps its own ledger of what it wrote (--expect FILE, JSON), by the
rules of the README ("Reports and the fleet path"):

  - bytes per op, read (read/pread/readv/preadv) and written (write/...);
  - a transfer is sequential when it starts where the previous transfer of
    the same direction on the same file ended (the first one: at offset 0);
  - re-read bytes: bytes of a read that were read from that file before.

--damage adds inputs that the report must skip by name (and leaves out of
the expectations): a foreign text file, a segment with one altered byte, a
truncated compressed segment; and an unfinished spool segment (.open) with
a torn last line, whose complete records count.

--target-bytes N (benchmarks) writes about N bytes of segments quickly; the
expectations then hold only the per-op totals.
"""

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys

T0 = 1763726400  # an hour boundary (UTC)
PROGRAMS = ["cat", "cp", "python3", "sqlite3", "make", "vim", "rsync", "gcc"]
USERS = [1000, 1001, 1002, 4294967295]
KEY_EPOCH = "0123456789abcdef"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def token(rng, n=22):
    return "".join(rng.choice(ALPHABET) for _ in range(n))


class Segments:
    """Writes one host's segments: header, records, footer, chained hashes."""

    def __init__(self, out, host, per_segment, compress, name_fmt="seg-{:012d}.jsonl"):
        self.dir = os.path.join(out, host)
        os.makedirs(self.dir, exist_ok=True)
        self.host = host
        self.per_segment = per_segment
        self.compress = compress
        self.name_fmt = name_fmt
        self.seq = 0
        self.prev_hash = "0" * 64
        self.lines = []
        self.first_serial = None
        self.last_serial = 0
        self.files = []

    def add(self, line, serial):
        if self.first_serial is None:
            self.first_serial = serial
        self.last_serial = serial
        self.lines.append(line)
        if len(self.lines) >= self.per_segment:
            self.close()

    def header(self):
        return json.dumps({
            "fsmon": "segment", "format": 1, "seq": self.seq, "host": self.host,
            "key_epoch": KEY_EPOCH, "version": "0.1.0", "first_serial": self.first_serial,
            "created": T0, "prev_hash": self.prev_hash}, separators=(",", ":"))

    def close(self, open_segment=False, torn=None):
        if not self.lines:
            return None
        self.seq += 1
        text = self.header() + "\n" + "".join(l + "\n" for l in self.lines)
        h = hashlib.blake2b(text.encode(), digest_size=32).hexdigest()
        name = self.name_fmt.format(self.seq)
        if open_segment:
            name = name.replace(".jsonl", ".open")
            data = text + (torn or "")
        else:
            data = text + json.dumps({"fsmon": "end", "seq": self.seq, "records": len(self.lines),
                                      "last_serial": self.last_serial, "hash": h},
                                     separators=(",", ":")) + "\n"
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(data)
        # Alternate plain and compressed, as a spool with compression on
        # leaves them (an old plain one, then zstd).
        if self.compress and not open_segment and self.seq % 2 == 0:
            subprocess.run(["zstd", "-q", "-3", "--rm", "-f", path], check=True)
            path += ".zst"
        self.files.append(path)
        self.prev_hash = h
        self.lines = []
        self.first_serial = None
        return path


class Ledger:
    """What the report must find: counted as records are written."""

    def __init__(self):
        self.ops = {}
        self.bytes_read = self.bytes_written = 0
        self.records = 0
        self.opens = 0
        self.lost = 0
        self.gaps = 0
        self.files = {}          # (host, path) -> dict
        self.programs = {}
        self.users = {}
        self.hosts = {}
        self.hours = {}
        self.read_pattern = {"sequential": [0, 0], "random": [0, 0], "unknown": [0, 0]}
        self.write_pattern = {"sequential": [0, 0], "random": [0, 0], "unknown": [0, 0]}
        self.maps = self.bytes_mapped = 0
        self.names = {"rename": 0, "unlink": 0, "rmdir": 0, "mkdir": 0, "truncate": 0}

    @staticmethod
    def counters():
        return {"actions": 0, "opens": 0, "reads": 0, "writes": 0, "bytes_read": 0, "bytes_written": 0,
                "maps": 0, "bytes_mapped": 0}

    def file(self, host, path):
        key = (host, path)
        if key not in self.files:
            self.files[key] = {"c": self.counters(), "next": [None, None], "ranges": [],
                               "reread": 0, "seq_reads": 0, "rand_reads": 0}
        return self.files[key]

    def count(self, host, rec):
        op = rec["op"]
        b = rec.get("bytes") or 0
        b = b if b > 0 else 0
        o = self.ops.setdefault(op, {"count": 0, "bytes": 0})
        o["count"] += 1
        o["bytes"] += b
        self.records += 1
        cls = ("read" if op in ("read", "pread", "readv", "preadv") else
               "write" if op in ("write", "pwrite", "writev", "pwritev") else
               "open" if op == "open" else "map" if op == "mmap" else "other")
        d = self.counters()
        d["actions"] = 1
        # A copy's read and write ("via") are a read and a write.
        if cls == "read":
            d["reads"], d["bytes_read"] = 1, b
        elif cls == "write":
            d["writes"], d["bytes_written"] = 1, b
        elif cls == "open":
            d["opens"] = 1
        elif cls == "map":
            d["maps"], d["bytes_mapped"] = 1, b
        if op in self.names:
            self.names[op] += 1
        self.maps += d["maps"]
        self.bytes_mapped += d["bytes_mapped"]
        self.bytes_read += d["bytes_read"]
        self.bytes_written += d["bytes_written"]
        self.opens += d["opens"]
        comm = rec.get("comm", "(unknown)")
        user = str(rec["auid"]) if "auid" in rec else "(unknown)"
        if user == "4294967295":
            user = "unset"
        hour = int(rec["time"].split(".")[0]) // 3600 * 3600
        for table, key in ((self.programs, comm), (self.users, user), (self.hosts, host), (self.hours, hour)):
            c = table.setdefault(key, self.counters())
            for k in c:
                c[k] += d[k]
        if op == "gap":
            self.gaps += 1
            self.lost += rec.get("lost") or 0
        path = rec.get("path")
        if path is None:
            if cls in ("read", "write"):
                p = self.read_pattern if cls == "read" else self.write_pattern
                p["unknown"][0] += 1
                p["unknown"][1] += b
            return
        f = self.file(host, path)
        for k in f["c"]:
            f["c"][k] += d[k]
        if cls not in ("read", "write"):
            return
        dirn = 0 if cls == "read" else 1
        p = self.read_pattern if cls == "read" else self.write_pattern
        off = rec.get("offset")
        if off is None:
            p["unknown"][0] += 1
            p["unknown"][1] += b
            f["next"][dirn] = "unknown"
            return
        expected = f["next"][dirn]
        if expected is None:
            expected = 0
        kind = "sequential" if expected == off else "random"
        p[kind][0] += 1
        p[kind][1] += b
        if dirn == 0:
            f["seq_reads" if kind == "sequential" else "rand_reads"] += 1
        f["next"][dirn] = off + b
        if dirn == 0 and b > 0:
            # Exact overlap with what was read before, then the union.
            overlap = 0
            for s, e in f["ranges"]:
                overlap += max(0, min(e, off + b) - max(s, off))
            f["reread"] += overlap
            f["ranges"].append((off, off + b))
            f["ranges"].sort()
            merged = []
            for s, e in f["ranges"]:
                if merged and s <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], e))
                else:
                    merged.append((s, e))
            f["ranges"] = merged

    def result(self, top):
        files = [(h, p, f) for (h, p), f in self.files.items()]
        by_bytes = sorted((x for x in files if x[2]["c"]["bytes_read"] + x[2]["c"]["bytes_written"] > 0),
                          key=lambda x: (-(x[2]["c"]["bytes_read"] + x[2]["c"]["bytes_written"]), x[0], x[1]))
        by_opens = sorted((x for x in files if x[2]["c"]["opens"] > 0),
                          key=lambda x: (-x[2]["c"]["opens"], x[0], x[1]))

        def f_out(x):
            h, p, f = x
            return dict(host=h, path=p, reread_bytes=f["reread"], **f["c"])

        def pat(p):
            return {k: {"count": v[0], "bytes": v[1]} for k, v in p.items()}

        return {
            "records": self.records,
            "totals": {"actions": self.records, "opens": self.opens, "bytes_read": self.bytes_read,
                       "bytes_written": self.bytes_written, "maps": self.maps,
                       "bytes_mapped": self.bytes_mapped, "files": len(self.files),
                       "hosts": len(self.hosts), "gaps": self.gaps, "lost_events": self.lost},
            "ops": self.ops,
            "names": self.names,
            "patterns": {"read": pat(self.read_pattern), "write": pat(self.write_pattern),
                         "reread_bytes": sum(f["reread"] for f in self.files.values())},
            "top_files_by_bytes": [f_out(x) for x in by_bytes[:top]],
            "top_files_by_opens": [f_out(x) for x in by_opens[:top]],
            "programs": self.programs,
            "users": self.users,
            "hosts": self.hosts,
            "hours": {str(k): v for k, v in self.hours.items()},
        }


class Host:
    def __init__(self, args, rng, name, ledger, out, per_segment, compress):
        self.rng = rng
        self.name = name
        self.ledger = ledger
        self.seg = Segments(out, name, per_segment, compress)
        self.serial = 1000 + rng.randrange(1000)
        self.ms = 0
        self.pid = 2000
        # Directory structure survives pseudonyms: /tok/tok/tok.
        roots = ["/" + token(rng) + "/" + token(rng) for _ in range(4)]
        self.paths = [rng.choice(roots) + "/" + token(rng) for _ in range(args.files)]
        self.sizes = {p: rng.choice([4096, 65536, 300000, 1 << 20, 5 << 20]) for p in self.paths}
        self.span_ms = args.span_hours * 3600 * 1000

    def emit(self, rec, count=True):
        self.serial += 1
        self.ms += self.rng.randrange(1, 1000) if self.ledger else 7
        t = T0 + self.ms // 1000
        rec = {"op": rec.pop("op"), "time": "%d.%03d" % (t, self.ms % 1000), "serial": self.serial, **rec}
        line = json.dumps(rec, separators=(",", ":"))
        if count and self.ledger:
            self.ledger.count(self.name, rec)
        return line, self.serial

    def write(self, rec):
        line, serial = self.emit(rec)
        self.seg.add(line, serial)

    def session(self):
        rng = self.rng
        self.pid += 1
        pid = self.pid
        comm = rng.choice(PROGRAMS)
        auid = rng.choice(USERS)
        ids = {"pid": pid, "ppid": 1, "auid": auid, "uid": auid if auid != 4294967295 else 0, "comm": comm}
        path = rng.choice(self.paths)
        size = self.sizes[path]
        kind = rng.choices(["seq", "random", "write", "misc", "unknown"], [5, 3, 3, 2, 1])[0]
        fd = 3 + rng.randrange(5)

        self.write({"op": "open", **ids, "path": path, "fd": fd, "flags": 0})
        if kind == "seq":
            chunk = rng.choice([4096, 65536, 131072])
            off = 0
            while off < size:
                n = min(chunk, size - off)
                self.write({"op": "read", **ids, "path": path, "fd": fd, "offset": off, "bytes": n})
                off += n
            self.write({"op": "read", **ids, "path": path, "fd": fd, "offset": off, "bytes": 0})
        elif kind == "random":
            blocks = max(1, size // 4096)
            picks = [rng.randrange(blocks) for _ in range(rng.randrange(2, 12))]
            # Some places twice: re-reads by construction.
            picks += rng.sample(picks, min(len(picks), 2))
            for b in picks:
                self.write({"op": "pread", **ids, "path": path, "fd": fd, "offset": b * 4096, "bytes": 4096})
        elif kind == "write":
            chunk = rng.choice([512, 4096, 65536])
            off = 0
            for _ in range(rng.randrange(1, 20)):
                self.write({"op": "write", **ids, "path": path, "fd": fd, "offset": off, "bytes": chunk})
                off += chunk
            pos = rng.randrange(0, size)
            self.write({"op": "lseek", **ids, "path": path, "fd": fd, "offset": pos})
            self.write({"op": "pwrite", **ids, "path": path, "fd": fd, "offset": pos, "bytes": 100})
        elif kind == "misc":
            self.write({"op": "dup", **ids, "old_fd": fd, "new_fd": fd + 10})
            self.write({"op": "fork", **ids, "child": pid + 100000})
            self.write({"op": "opendir", **ids, "path": path.rsplit("/", 1)[0]})
            self.write({"op": "close", **ids, "path": path, "fd": fd + 10})
            self.write({"op": "readv", **ids, "path": path, "fd": fd, "offset": 0, "bytes": 777})
            self.write({"op": "writev", **ids, "path": path, "fd": fd, "offset": 0, "bytes": 333})
            # Beyond the old ten: a copy, a map, names changed.
            copy = path + ".copy"
            self.write({"op": "read", **ids, "path": path, "fd": fd, "offset": 0, "bytes": 4096,
                        "via": "copy_file_range"})
            self.write({"op": "write", **ids, "path": copy, "fd": fd + 1, "offset": 0, "bytes": 4096,
                        "via": "copy_file_range"})
            self.write({"op": "mmap", **ids, "path": path, "fd": fd, "offset": None, "bytes": 8192,
                        "prot": 1, "flags": 1})
            self.write({"op": "truncate", **ids, "path": copy, "fd": fd + 1, "size": 10})
            self.write({"op": "rename", **ids, "path": copy, "new_path": copy + ".bak"})
            self.write({"op": "unlink", **ids, "path": copy + ".bak"})
            self.write({"op": "mkdir", **ids, "path": path + ".d"})
            self.write({"op": "rmdir", **ids, "path": path + ".d"})
        else:
            # Offsets that cannot be known, a transfer without a path.
            self.write({"op": "read", **ids, "path": path, "fd": fd, "offset": None, "bytes": 1000})
            self.write({"op": "write", **ids, "path": None, "fd": 9, "offset": None, "bytes": 50})
            self.write({"op": "read", **ids, "path": None, "fd": 9, "offset": None, "bytes": 20})
        self.write({"op": "close", **ids, "path": path, "fd": fd})
        if rng.random() < 0.02:
            self.write({"op": "gap", "lost": rng.randrange(1, 500), "reason": "backlog"})


def fast_bulk(args, out):
    """Benchmark data: many records quickly; per-op totals only."""
    rng = random.Random(args.seed)
    ops_total = {}
    per_host = args.target_bytes // args.hosts
    for h in range(args.hosts):
        name = "host%02d-%s" % (h, token(rng, 8))
        seg = Segments(out, name, args.segment_records, args.compress)
        roots = ["/" + token(rng) + "/" + token(rng) for _ in range(64)]
        paths = [rng.choice(roots) + "/" + token(rng) for _ in range(args.files)]
        written = 0
        serial = 1
        ms = 0
        pid = 1000
        while written < per_host:
            pid += 1
            path = paths[rng.randrange(len(paths))]
            comm = PROGRAMS[pid % len(PROGRAMS)]
            auid = USERS[pid % len(USERS)]
            common = '"pid":%d,"ppid":1,"auid":%d,"uid":%d,"comm":"%s"' % (pid, auid, auid & 0xffff, comm)
            chunk = (4096, 65536, 512)[pid % 3]
            n = 8 + pid % 40
            lines = []
            lines.append(("open", '{"op":"open","time":"%d.%03d","serial":%d,%s,"path":"%s","fd":3,"flags":0}'))
            for i in range(n):
                op = "read" if pid % 4 else "write"
                lines.append((op, '{"op":"%s","time":"%%d.%%03d","serial":%%d,%%s,"path":"%%s","fd":3,"offset":%d,"bytes":%d}'
                              % (op, i * chunk, chunk)))
            lines.append(("close", '{"op":"close","time":"%d.%03d","serial":%d,%s,"path":"%s","fd":3}'))
            for op, fmt in lines:
                ms += 3
                serial += 1
                line = fmt % (T0 + ms // 1000, ms % 1000, serial, common, path)
                seg.add(line, serial)
                written += len(line) + 1
                o = ops_total.setdefault(op, {"count": 0, "bytes": 0})
                o["count"] += 1
                if op in ("read", "write"):
                    o["bytes"] += chunk
        seg.close()
    return {"ops": ops_total}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--hosts", type=int, default=3)
    ap.add_argument("--sessions", type=int, default=400, help="sessions per host")
    ap.add_argument("--files", type=int, default=40, help="distinct files per host")
    ap.add_argument("--span-hours", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--segment-records", type=int, default=500)
    ap.add_argument("--compress", action="store_true")
    ap.add_argument("--damage", action="store_true")
    ap.add_argument("--expect")
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--target-bytes", type=int, default=0)
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    if args.target_bytes:
        exp = fast_bulk(args, args.out)
        if args.expect:
            with open(args.expect, "w") as f:
                json.dump(exp, f, indent=1, sort_keys=True)
        return 0

    rng = random.Random(args.seed)
    ledger = Ledger()
    skipped = []
    for h in range(args.hosts):
        host = Host(args, rng, "host%02d-%s" % (h, token(rng, 8)), ledger, args.out,
                    args.segment_records, args.compress)
        for _ in range(args.sessions):
            host.session()
        if args.damage and h == 0:
            # The spool's unfinished segment: complete records count, the
            # torn last line does not.
            host.seg.close()
            for _ in range(3):
                host.session()
            host.seg.close(open_segment=True, torn='{"op":"read","time":"1763726400.001","ser')
        else:
            host.seg.close()

    if args.damage:
        # Damaged inputs, left out of the ledger: a foreign file...
        d = os.path.join(args.out, "host00-foreign")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "notes.txt"), "w") as f:
            f.write("These are not segments.\nJust text.\n")
        skipped.append(os.path.join(d, "notes.txt"))
        # ... a segment with one altered byte (its hash no longer matches) ...
        bad = Host(args, random.Random(args.seed + 99), "host99-damaged", None, args.out, 10 ** 9, False)
        for _ in range(20):
            bad.session()
        path = bad.seg.close()
        with open(path) as f:
            text = f.read()
        i = text.index('"bytes":') + len('"bytes":')
        text = text[:i] + ("9" if text[i] != "9" else "8") + text[i + 1:]
        with open(path, "w") as f:
            f.write(text)
        skipped.append(path)
        # ... and a compressed segment cut short (a broken upload).
        trunc = Host(args, random.Random(args.seed + 98), "host98-truncated", None, args.out, 10 ** 9, False)
        for _ in range(30):
            trunc.session()
        path = trunc.seg.close()
        subprocess.run(["zstd", "-q", "--rm", "-f", path], check=True)
        with open(path + ".zst", "rb") as f:
            data = f.read()
        with open(path + ".zst", "wb") as f:
            f.write(data[: len(data) // 2])
        skipped.append(path + ".zst")
        # Not inputs at all, passed over in silence: an upload in flight, the
        # spool's chain file, a quarantined segment, a hidden temporary file.
        host0 = os.path.join(args.out, sorted(os.listdir(args.out))[0])
        with open(os.path.join(host0, "seg-999999999999.jsonl.zst.part"), "wb") as f:
            f.write(b"\x28\xb5\x2f\xfd partial")
        with open(os.path.join(host0, "chain"), "w") as f:
            f.write("seq 3\n")
        os.makedirs(os.path.join(host0, "quarantine"), exist_ok=True)
        with open(os.path.join(host0, "quarantine", "seg-000000000001.jsonl"), "w") as f:
            f.write("damaged\n")
        with open(os.path.join(host0, ".#seg-tmp"), "w") as f:
            f.write("half a")

    if args.expect:
        exp = ledger.result(args.top)
        exp["skipped"] = sorted(skipped)
        with open(args.expect, "w") as f:
            json.dump(exp, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
