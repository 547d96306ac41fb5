#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""fsmonctl verify against segments of an independent writer (gen-fleet.py).

    test-verify.py FSMONCTL

A clean fleet must be complete, with every host's figures (segments, seq,
serials, records, gap records, losses) as the writer's ledger says; then each
kind of damage is made on a copy and must be found, named, and put in the
right exit status: a missing middle segment, a reordered pair, a flipped byte
(plain and compressed), a truncated footer (plain and compressed), a
duplicate under another name, a foreign host's segment in the wrong folder,
a segment rewritten with a valid hash of its own (the chain breaks), two
different segments with one seq. A spool whose oldest segments were dropped
under quota and a host whose first segments never arrived are incomplete,
not damaged; uploads in flight too. Bad input (garbage, an empty file,
symlinks, a FIFO, a directory, a 10 GB sparse file, a path that does not
exist) gives a clear message and no crash.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FSMONCTL = sys.argv[1]
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL: " + msg)


def ok(msg):
    print("ok: " + msg)


def gen(out, *args):
    subprocess.run([sys.executable, os.path.join(HERE, "gen-fleet.py"), out, *args], check=True)


def verify(*paths, fmt="json"):
    p = subprocess.run([FSMONCTL, "verify", "--format", fmt, *paths], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, errors="replace", timeout=300)
    if p.returncode < 0 or p.returncode > 4:
        fail("verify %s: crashed or unknown exit %d: %s" % (paths, p.returncode, p.stderr))
    if fmt == "json" and p.returncode in (0, 3, 4):
        try:
            return p.returncode, json.loads(p.stdout), p.stderr
        except ValueError as e:
            fail("verify %s: output is not JSON (%s): %r" % (paths, e, p.stdout[:300]))
            return p.returncode, None, p.stderr
    return p.returncode, p.stdout, p.stderr


def host_of(res, hid):
    for h in res["hosts"]:
        if h["host"] == hid or h["folder"] == hid:
            return h
    return None


def kinds(h):
    return sorted({i["kind"] for i in h["issues"]})


def expect_issue(name, res, rc, want_rc, hid, kind, seq=None, file_part=None):
    if res is None:
        return fail("%s: no result" % name)
    h = host_of(res, hid)
    if h is None:
        return fail("%s: host %s not reported" % (name, hid))
    hits = [i for i in h["issues"] if i["kind"] == kind and (seq is None or i["seq"] == seq)
            and (file_part is None or (i["file"] or "").find(file_part) >= 0)]
    if not hits:
        return fail("%s: no '%s' issue (seq %s) for %s; issues: %s" % (name, kind, seq, hid,
                                                                     json.dumps(h["issues"])[:800]))
    if rc != want_rc:
        return fail("%s: exit %d, wanted %d (issues %s)" % (name, rc, want_rc, kinds(h)))
    ok("%s: %s found (%s), exit %d" % (name, kind, hits[0]["message"][:100], rc))


def seg(d, hid, seq):
    for n in os.listdir(os.path.join(d, hid)):
        if n.startswith("seg-%012d." % seq):
            return os.path.join(d, hid, n)
    raise KeyError((hid, seq))


def read_plain(path):
    data = open(path, "rb").read()
    if data[:4] == b"\x28\xb5\x2f\xfd":
        # Every frame (fsmon writes three): zstd(1) reads across them.
        return subprocess.run(["zstd", "-dc"], input=data, stdout=subprocess.PIPE, check=True).stdout
    return data


def rewrite(path, text):
    """Writes text as a plain segment in place of path (the name loses .zst)."""
    os.unlink(path)
    if path.endswith(".zst"):
        path = path[:-4]
    with open(path, "wb") as f:
        f.write(text)
    return path


def forge(text, mutate):
    """A segment whose records were changed and whose footer was recomputed:
    valid on its own, found only by the chain."""
    lines = text.split(b"\n")[:-1]
    head, recs = lines[0], lines[1:-1]
    recs = mutate(recs)
    body = head + b"\n" + b"".join(r + b"\n" for r in recs)
    foot = json.loads(lines[-1])
    foot["records"] = len(recs)
    foot["last_serial"] = json.loads(recs[-1])["serial"]
    foot["hash"] = hashlib.blake2b(body, digest_size=32).hexdigest()
    return body + json.dumps(foot, separators=(",", ":")).encode() + b"\n"


def main():
    if not shutil.which("zstd"):
        print("SKIP: zstd(1) is missing (tools/deps.sh)")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="fsmon-verify-")
    try:
        run(tmp)
    finally:
        shutil.rmtree(tmp)
    if failures:
        print("%d failure(s)" % failures)
        sys.exit(1)
    print("all ok")


def fresh(tmp, base, name):
    d = os.path.join(tmp, name)
    shutil.copytree(base, d, symlinks=True)
    return d


def run(tmp):
    base = os.path.join(tmp, "base")
    gen(base, "--hosts", "3", "--segments", "12", "--records", "60", "--gap-rate", "0.02",
        "--expect", os.path.join(tmp, "expect.json"))
    plain = os.path.join(tmp, "plain")
    gen(plain, "--hosts", "2", "--segments", "8", "--records", "40", "--plain", "--seed", "7")
    expect = json.load(open(os.path.join(tmp, "expect.json")))
    hosts = sorted(expect["hosts"])
    A, B = hosts[0], hosts[1]
    phosts = sorted(os.listdir(plain))
    P = phosts[0]

    # 1. Clean: complete, and the figures are the writer's.
    rc, res, err = verify(base)
    if rc != 0 or res["status"] != "complete":
        fail("clean fleet: exit %d status %s: %s" % (rc, res and res["status"], err))
    else:
        ok("clean fleet: complete, exit 0")
    for hid, st in expect["hosts"].items():
        h = host_of(res, hid)
        got = {k: h[k] for k in ("segments", "records", "first_serial", "last_serial", "first_seq", "last_seq",
                                 "gap_records")}
        got["lost"] = h["lost"]
        want = {k: st[k] for k in got}
        if got != want:
            fail("host %s: verify says %s, the writer %s" % (hid, got, want))
        elif h["status"] != "complete" or not h["starts_at_beginning"] or h["issues"]:
            fail("host %s: %s" % (hid, json.dumps(h)[:500]))
        elif len(h["gaps"]) != min(st["gap_records"], 64) or any(g["reason"] != "kernel: audit backlog overflow"
                                                                 for g in h["gaps"]):
            fail("host %s: gaps %s" % (hid, h["gaps"]))
        else:
            ok("host %s: %d segments, %d records, %d gap records, %d lost, as written" %
               (hid, got["segments"], got["records"], got["gap_records"], got["lost"]))
    s = res["summary"]
    if (s["hosts"], s["complete"], s["records"]) != (3, 3, sum(h["records"] for h in expect["hosts"].values())):
        fail("summary %s" % s)
    rc, text, _ = verify(base, fmt="text")
    if rc != 0 or "complete: 3 hosts (3 complete, 0 incomplete, 0 damaged)" not in text:
        fail("text summary: %r" % text[-300:])
    else:
        ok("text output: " + text.strip().splitlines()[-1])
    rc, res, _ = verify(plain)
    if rc != 0:
        fail("plain fleet: exit %d" % rc)

    # 2. A missing middle segment.
    d = fresh(tmp, base, "missing")
    os.unlink(seg(d, A, 5))
    rc, res, _ = verify(d)
    expect_issue("missing middle segment", res, rc, 4, A, "missing", seq=5)
    if res and host_of(res, B)["status"] != "complete":
        fail("missing: another host is not complete")

    # 3. A reordered pair: seq 7 and 8 under each other's names.
    d = fresh(tmp, base, "reordered")
    a, b = seg(d, A, 7), seg(d, A, 8)
    os.rename(a, a + ".tmp")
    os.rename(b, a)
    os.rename(a + ".tmp", b)
    rc, res, _ = verify(d)
    expect_issue("reordered pair", res, rc, 4, A, "reordered", seq=7)
    expect_issue("reordered pair", res, rc, 4, A, "reordered", seq=8)

    # 4. A flipped byte: compressed (zstd's checksum or our hash) and plain.
    d = fresh(tmp, base, "flip-zstd")
    p = seg(d, A, 3)
    data = bytearray(open(p, "rb").read())
    data[len(data) // 2] ^= 0x01
    open(p, "wb").write(data)
    rc, res, _ = verify(d)
    expect_issue("flipped byte (zstd)", res, rc, 4, A, "altered", seq=3)
    d = fresh(tmp, plain, "flip-plain")
    p = seg(d, P, 4)
    data = bytearray(open(p, "rb").read())
    data[data.index(b'"bytes":') + 8] ^= 0x01
    open(p, "wb").write(data)
    rc, res, _ = verify(d)
    expect_issue("flipped byte (plain)", res, rc, 4, P, "altered", seq=4)

    # 5. A truncated footer.
    d = fresh(tmp, plain, "trunc-plain")
    p = seg(d, P, 2)
    data = open(p, "rb").read()
    open(p, "wb").write(data[:-20])
    rc, res, _ = verify(d)
    expect_issue("truncated footer (plain)", res, rc, 4, P, "truncated", seq=2)
    d = fresh(tmp, base, "trunc-zstd")
    p = seg(d, A, 2)
    data = open(p, "rb").read()
    open(p, "wb").write(data[:-9])
    rc, res, _ = verify(d)
    expect_issue("truncated footer (zstd)", res, rc, 4, A, "truncated", seq=2)

    # 6. A duplicate under another name.
    d = fresh(tmp, base, "duplicate")
    p = seg(d, A, 6)
    shutil.copy(p, os.path.join(d, A, "copy-of-six.jsonl.zst"))
    rc, res, _ = verify(d)
    expect_issue("duplicate under another name", res, rc, 4, A, "duplicate", seq=6, file_part="copy-of-six")
    if res and "reordered" in kinds(host_of(res, A)):
        fail("duplicate: also called reordered")

    # 7. A foreign host's segment in the wrong folder.
    d = fresh(tmp, base, "foreign")
    shutil.copy(seg(d, B, 4), os.path.join(d, A, "seg-000000000100.jsonl.zst"))
    rc, res, _ = verify(d)
    expect_issue("foreign host's segment", res, rc, 4, A, "foreign", seq=4)
    if res and host_of(res, A)["segments"] != 12:
        fail("foreign: counted into the folder's chain")

    # 8. A segment rewritten with a hash of its own: only the chain tells.
    d = fresh(tmp, base, "forged")
    p = seg(d, A, 9)
    text = read_plain(p)
    rewrite(p, forge(text, lambda recs: recs[:-1]))
    rc, res, _ = verify(d)
    expect_issue("rewritten segment", res, rc, 4, A, "broken-link", seq=10)

    # 9. Two different segments with one seq.
    d = fresh(tmp, base, "conflict")
    p = seg(d, A, 11)
    forged = forge(read_plain(p), lambda recs: recs[:-2])
    open(os.path.join(d, A, "seg-000000000011.jsonl"), "wb").write(forged)
    rc, res, _ = verify(d)
    expect_issue("two segments with one seq", res, rc, 4, A, "conflict", seq=11)

    # 10. Incomplete, not damaged: the spool dropped the oldest; the first
    # segments never arrived; an upload in flight.
    d = os.path.join(tmp, "dropped")
    gen(d, "--hosts", "1", "--segments", "10", "--records", "30", "--drop-oldest", "3", "--seed", "3",
        "--expect", os.path.join(tmp, "expect-dropped.json"))
    ed = json.load(open(os.path.join(tmp, "expect-dropped.json")))
    (D,) = ed["hosts"]
    rc, res, _ = verify(d)
    expect_issue("oldest dropped under quota", res, rc, 3, D, "dropped", seq=4)
    h = host_of(res, D)
    if h and ("head-missing" in kinds(h) or h["lost"] != ed["hosts"][D]["lost"]
              or not any("oldest segment dropped" in g["reason"] for g in h["gaps"])):
        fail("dropped: %s" % json.dumps(h)[:600])
    d = fresh(tmp, base, "head")
    os.unlink(seg(d, A, 1))
    os.unlink(seg(d, A, 2))
    rc, res, _ = verify(d)
    expect_issue("first segments never uploaded", res, rc, 3, A, "head-missing", seq=3)
    d = fresh(tmp, base, "part")
    open(os.path.join(d, A, "seg-000000000013.jsonl.zst.part"), "wb").write(b"\x28\xb5\x2f\xfd partial")
    rc, res, _ = verify(d)
    expect_issue("upload in flight", res, rc, 3, A, "part")

    # 11. A spool: plain closed segments, the unfinished one with a torn
    # tail, the chain file and quarantine/ (passed over).
    sp = os.path.join(tmp, "spool")
    os.makedirs(os.path.join(sp, "quarantine"))
    for n in sorted(os.listdir(os.path.join(plain, P))):
        shutil.copy(os.path.join(plain, P, n), sp)
    last = sorted(os.listdir(sp))[-2]
    text = open(os.path.join(sp, last), "rb").read()
    os.rename(os.path.join(sp, last), os.path.join(sp, last.replace(".jsonl", ".open")))
    lines = text.split(b"\n")
    open(os.path.join(sp, last.replace(".jsonl", ".open")), "wb").write(b"\n".join(lines[:-2]) + b"\n" + b'{"op":"rea')
    open(os.path.join(sp, "chain"), "w").write('{"seq":7,"hash":"%s","next_seq":9}\n' % ("0" * 64))
    open(os.path.join(sp, "quarantine", "junk"), "w").write("junk")
    rc, res, _ = verify(sp)
    h = host_of(res, P) if res else None
    if rc != 0 or not h or not h["open_segment"] or "torn" not in kinds(h) or h["segments"] != 8:
        fail("spool: exit %d, %s" % (rc, json.dumps(h)[:600]))
    else:
        ok("spool: complete, the unfinished segment's torn tail noted, chain and quarantine passed over")

    # 12. Bad input: a clear message, no crash.
    d = fresh(tmp, base, "bad")
    hd = os.path.join(d, A)
    open(os.path.join(hd, "garbage.bin"), "wb").write(os.urandom(5000))
    open(os.path.join(hd, "empty"), "wb").close()
    os.symlink("/etc/passwd", os.path.join(hd, "link-out"))
    os.symlink(seg(d, A, 2), os.path.join(hd, "link-in.jsonl.zst"))
    os.mkfifo(os.path.join(hd, "fifo"))
    os.mkdir(os.path.join(hd, "subdir"))
    with open(os.path.join(hd, "sparse.jsonl"), "wb") as f:
        f.truncate(10 * 1024 ** 3)
    with open(os.path.join(d, "stray-at-top"), "w") as f:
        f.write("not a segment\n")
    os.symlink("/nonexistent", os.path.join(d, "dangling"))
    rc, res, err = verify(d)
    if res is not None:
        for kind, part in (("not-a-segment", "garbage.bin"), ("not-a-segment", "empty"), ("symlink", "link-out"),
                           ("symlink", "link-in"), ("not-regular", "fifo"), ("not-regular", "subdir"),
                           ("not-a-segment", "sparse.jsonl")):
            expect_issue("bad input " + part, res, rc, 4, A, kind, file_part=part)
        stray = [h for h in res["hosts"] if h["host"] is None]
        if not stray or not {"not-a-segment", "symlink"} <= set(kinds(stray[0])):
            fail("stray files at the top: %s" % json.dumps(stray)[:500])
        else:
            ok("stray files at the top level: reported under files that name no host")
        if host_of(res, A)["segments"] != 12:
            fail("bad input: the real segments were not all counted")
    rc, out, err = verify(os.path.join(tmp, "does-not-exist"))
    if rc != 1 or "No such file or directory" not in err:
        fail("missing path: exit %d, %r" % (rc, err))
    else:
        ok("missing path: exit 1, " + err.strip())
    rc, out, err = verify("--format", "yaml", base)
    if rc != 2:
        fail("bad --format: exit %d" % rc)

    # 13. fsmonctl report's completeness column: the same checks.
    for name, want in (("base", {A: "complete", B: "complete"}), ("missing", {A: "damaged", B: "complete"}),
                       ("head", {A: "incomplete", B: "complete"}), ("forged", {A: "damaged"})):
        d = os.path.join(tmp, name)
        p = subprocess.run([FSMONCTL, "report", "--format", "json", d], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        rep = json.loads(p.stdout)
        got = {h["host"]: h["completeness"] for h in rep["hosts"] if h["host"] in want}
        rc, res, _ = verify(d)
        ver = {h["host"]: h["status"] for h in res["hosts"] if h["host"] in want}
        fleet = rep["completeness"]["status"]
        if got != want or ver != want or fleet != res["status"]:
            fail("report completeness %s: report %s (fleet %s), verify %s (fleet %s), wanted %s"
                 % (name, got, fleet, ver, res["status"], want))
        else:
            ok("report completeness %s: %s, fleet %s, as verify says" % (name, got, fleet))
        if name == "base":
            tot = {h["host"]: h["actions"] for h in rep["hosts"]}
            if any(tot[h] != expect["hosts"][h]["records"] for h in expect["hosts"]):
                fail("report per-host actions %s, the writer's records %s" % (tot, expect["hosts"]))
            if rep["totals"]["actions"] != sum(tot.values()):
                fail("report fleet total %d != sum of hosts" % rep["totals"]["actions"])
            ops = {k: v for k, v in rep["ops"].items()}
            if ops != expect["ops"]:
                fail("report ops %s != writer's %s" % (ops, expect["ops"]))
            else:
                ok("report per-host and fleet totals and per-op counts as written")


if __name__ == "__main__":
    main()
