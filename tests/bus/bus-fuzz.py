#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Random method calls with random arguments to org.fsmon1, through busctl,
for a given time. Run as an unprivileged user by test-bus.sh, which checks
afterwards that fsmond is alive, answers, and changed no state.

Exits 1 if a call hung (no answer within the timeout) or busctl itself
crashed; prints how many calls were made and how they ended."""
import collections
import os
import random
import subprocess
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
WORKERS = int(sys.argv[2]) if len(sys.argv) > 2 else 4
SEED = int(os.environ.get("FSMON_FUZZ_SEED", str(int(time.time()))))
TIMEOUT = 20  # seconds; polkit answers in milliseconds

MEMBERS = {
    "org.fsmon1.Manager": ["GetStatus", "Upload", "Reload", "Nope", "upload"],
    "org.freedesktop.DBus.Properties": ["Get", "GetAll", "Set"],
    "org.freedesktop.DBus.Introspectable": ["Introspect"],
    "org.freedesktop.DBus.Peer": ["Ping", "GetMachineId"],
    "org.fsmon1.Other": ["GetStatus", "Upload"],
}
PATHS = ["/org/fsmon1", "/org/fsmon1", "/org/fsmon1", "/", "/org", "/org/fsmon1/x", "/org/fsmon1/Manager"]
PROPS = ["Version", "State", "RulesLoaded", "EventsProcessed", "ActionsRecorded", "EventsLost",
         "SpoolBytes", "SpoolSegments", "LastUpload", "LastUploadResult", "Nope", ""]
BASIC = "sbuytixnqdog"


def rstring(r):
    k = r.randrange(8)
    if k == 0:
        return ""
    if k == 1:
        return "".join(chr(r.randrange(0x20, 0x7f)) for _ in range(r.randrange(1, 64)))
    if k == 2:
        return "".join(chr(r.choice([r.randrange(0xa0, 0xd7ff), r.randrange(0xe000, 0xfffd),
                                      r.randrange(0x10000, 0x10ffff)])) for _ in range(r.randrange(1, 32)))
    if k == 3:
        return "A" * r.choice([1023, 1024, 1025, 4096, 30000])
    if k == 4:
        return r.choice(["'; rm -rf /", "\n\t", "%s%s%n", "\\x00", "org.fsmon1.upload", "-e 0", "-D"])
    if k == 5:
        return r.choice(PROPS)
    if k == 6:
        return str(r.randrange(-2**63, 2**64))
    return "org.fsmon1.Manager"


def rbasic(r, t):
    if t == "s":
        return [rstring(r)]
    if t == "b":
        return [r.choice(["true", "false", "yes", "no"])]
    if t == "y":
        return [str(r.randrange(256))]
    if t == "n":
        return [str(r.randrange(-2**15, 2**15))]
    if t == "q":
        return [str(r.randrange(2**16))]
    if t == "i":
        return [str(r.randrange(-2**31, 2**31))]
    if t == "u":
        return [str(r.choice([0, 1, 2**32 - 1, r.randrange(2**32)]))]
    if t == "x":
        return [str(r.randrange(-2**63, 2**63))]
    if t == "t":
        return [str(r.choice([0, 2**64 - 1, r.randrange(2**64)]))]
    if t == "d":
        return [r.choice(["0", "-1.5", "1e308", "nan", "inf"])]
    if t == "o":
        return [r.choice(["/", "/org/fsmon1", "/a/b_c/d1"])]
    if t == "g":
        return [r.choice(["", "s", "a{sv}", "(ut)"])]
    raise ValueError(t)


def rtype(r, depth=0):
    k = r.randrange(10 if depth < 2 else 6)
    if k < 6:
        return r.choice(BASIC)
    if k == 6:
        return "a" + rtype(r, depth + 1)
    if k == 7:
        return "a{" + r.choice(BASIC) + rtype(r, depth + 1) + "}"
    if k == 8:
        return "v"
    return "(" + "".join(rtype(r, depth + 1) for _ in range(r.randrange(1, 4))) + ")"


def split_one(sig):
    """First complete type of sig and the rest."""
    if sig[0] == "a":
        if sig[1] == "{":
            depth, i = 0, 1
            while True:
                depth += sig[i] == "{"
                depth -= sig[i] == "}"
                i += 1
                if depth == 0:
                    return sig[:i], sig[i:]
        t, rest = split_one(sig[1:])
        return "a" + t, rest
    if sig[0] == "(":
        depth, i = 0, 0
        while True:
            depth += sig[i] == "("
            depth -= sig[i] == ")"
            i += 1
            if depth == 0:
                return sig[:i], sig[i:]
    return sig[0], sig[1:]


def rvalue(r, t):
    """busctl's argument syntax for one value of type t."""
    if t in BASIC:
        return rbasic(r, t)
    if t == "v":
        inner = rtype(r, 2)
        return [inner] + rvalue(r, inner)
    if t.startswith("a{"):
        kt, rest = split_one(t[2:-1])
        n = r.randrange(4)
        out = [str(n)]
        for _ in range(n):
            out += rvalue(r, kt) + rvalue(r, rest)
        return out
    if t[0] == "a":
        n = r.randrange(4)
        out = [str(n)]
        for _ in range(n):
            out += rvalue(r, t[1:])
        return out
    if t[0] == "(":
        out, body = [], t[1:-1]
        while body:
            one, body = split_one(body)
            out += rvalue(r, one)
        return out
    raise ValueError(t)


def rcall(r):
    iface = r.choice(list(MEMBERS))
    member = r.choice(MEMBERS[iface])
    k = r.randrange(4)
    if iface == "org.freedesktop.DBus.Properties" and k < 3:
        # Mostly well-formed property calls, Set included: all must be refused or harmless.
        if member == "Get":
            sig, args = "ss", [r.choice(["org.fsmon1.Manager", rstring(r)]), r.choice(PROPS)]
        elif member == "GetAll":
            sig, args = "s", [r.choice(["org.fsmon1.Manager", rstring(r)])]
        else:
            vt = r.choice("sbtu")
            sig = "ssv"
            args = ["org.fsmon1.Manager", r.choice(PROPS), vt] + rbasic(r, vt)
    elif member == "Upload" and k < 2:
        sig, args = "s", rbasic(r, "s")
    elif k == 0:
        sig, args = "", []
    else:
        types = [rtype(r) for _ in range(r.randrange(1, 4))]
        sig = "".join(types)
        args = []
        for t in types:
            args += rvalue(r, t)
    opts = [f"--timeout={TIMEOUT}"]
    if r.random() < 0.2:
        opts.append("--expect-reply=no")
    opts.append("--allow-interactive-authorization=" + r.choice(["yes", "no"]))
    opts.append("--auto-start=no")
    cmd = ["busctl", "call"] + opts + ["--", "org.fsmon1", r.choice(PATHS), iface, member]
    if sig:
        cmd += [sig] + args
    return cmd


results = collections.Counter()
failures = []
lock = threading.Lock()
deadline = time.monotonic() + SECONDS


def worker(n):
    r = random.Random(SEED * 1000 + n)
    while time.monotonic() < deadline:
        cmd = rcall(r)
        try:
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               timeout=TIMEOUT + 10)
        except subprocess.TimeoutExpired:
            with lock:
                failures.append(("hang (busctl killed)", cmd[:8]))
            continue
        err = p.stderr.decode(errors="replace").strip().splitlines()
        msg = err[-1] if err else ""
        with lock:
            if p.returncode < 0:
                failures.append((f"busctl died with signal {-p.returncode}", cmd[:8]))
            elif "timed out" in msg.lower() or "no reply" in msg.lower():
                failures.append((f"no answer: {msg}", cmd[:8]))
            results[msg[:60] if p.returncode else "ok"] += 1


threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
for t in threads:
    t.start()
for t in threads:
    t.join()

total = sum(results.values()) + len(failures)
print(f"bus-fuzz: seed {SEED}, {total} calls in {SECONDS:.0f} s with {WORKERS} workers")
for msg, n in results.most_common(12):
    print(f"  {n:6d}  {msg}")
for what, cmd in failures[:10]:
    print(f"FAIL: {what}: {' '.join(cmd)}")
sys.exit(1 if failures else 0)
