#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Meson tests over the kernel-recorded fixtures (tests/fixtures/).

    fixture-test.py file       FSMONCTL LOG EXPECTED WORKDIR
        `fsmonctl decode --plain LOG` equals EXPECTED (compare-actions.py)
    fixture-test.py stdin      FSMONCTL LOG EXPECTED WORKDIR
        the same with the log on stdin
    fixture-test.py pseudonyms FSMONCTL LOG EXPECTED WORKDIR
        `fsmonctl decode LOG` (random key): no component of any path under
        WORKDIR, plain or hex-encoded, appears in the output (the `comm` value
        aside: that is the process name, not a path); records and path
        structure match the --plain run
    fixture-test.py crlf       FSMONCTL LOG EXPECTED WORKDIR
        the log with CRLF line endings (on stdin) decodes to EXPECTED
    fixture-test.py nodes      FSMONCTL LOG EXPECTED WORKDIR
        the log twice, as hosts alpha and beta of a collector (node= on every
        line, the two interleaved line by line, so the same pids and serials
        meet): each host's records (by "node") equal EXPECTED, no record
        lacks a node
    fixture-test.py selftest   -        -   EXPECTED WORKDIR
        compare-actions.py accepts EXPECTED against itself and rejects a
        missing, an extra and a changed record
"""
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
COMPARE = os.path.join(HERE, "compare-actions.py")


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def decode(fsmonctl, log, plain=True, stdin=False, data=None):
    args = [fsmonctl, "decode"] + (["--plain"] if plain else [])
    with open(log, "rb") as f:
        if data is not None:
            p = subprocess.run(args, input=data, capture_output=True)
        elif stdin:
            p = subprocess.run(args, stdin=f, capture_output=True)
        else:
            p = subprocess.run(args + [log], stdin=subprocess.DEVNULL, capture_output=True)
    if p.stderr:
        sys.stderr.write(p.stderr.decode("utf-8", "replace"))
    if p.returncode != 0:
        fail(f"{' '.join(args)} exited with {p.returncode}")
    return p.stdout


def compare(expected, actual_bytes, workdir, quiet=False):
    with tempfile.NamedTemporaryFile(prefix="fsmon-fixture-", suffix=".jsonl") as t:
        t.write(actual_bytes)
        t.flush()
        return subprocess.run([sys.executable, COMPARE, expected, t.name, workdir],
                              stdout=subprocess.DEVNULL if quiet else None).returncode


def records(data, what):
    out = []
    for n, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError as e:
                fail(f"{what} line {n} is not JSON: {e}")
    return out


def workdir_components(expected, workdir):
    names = set()
    for line in open(expected, encoding="utf-8"):
        r = json.loads(line)
        for k in ("path", "new_path", "exe"):
            p = r.get(k)
            if isinstance(p, str) and (p == workdir or p.startswith(workdir + "/")):
                names.update(c for c in p.split("/") if c)
    return sorted(names)


def leaks(text, name):
    """Where name shows in text: as a whole path component, anywhere when it
    is long enough not to occur in a token by chance, or hex-encoded."""
    hexname = name.encode().hex()
    pats = [r'(?:^|[/"\s])' + re.escape(name) + r'(?:$|[/"\s])',
            re.escape(hexname), re.escape(hexname.upper())]
    if len(name) >= 6:
        pats.append(re.escape(name))
    return any(re.search(p, text) for p in pats)


def check_pseudonyms(fsmonctl, log, expected, workdir):
    plain = records(decode(fsmonctl, log), "--plain output")
    pseudo_raw = decode(fsmonctl, log, plain=False)
    pseudo = records(pseudo_raw, "pseudonymised output")
    if not pseudo:
        fail("no output")
    names = workdir_components(expected, workdir)

    leaked = set()
    for r in pseudo:
        for k, v in r.items():
            if k == "comm":
                continue
            text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
            for name in names:
                if leaks(k, name) or leaks(text, name):
                    leaked.add((name, k))
    if leaked:
        for name, k in sorted(leaked):
            print(f"leak: {name!r} appears in {k!r} values")
        fail(f"{len(leaked)} name/key pairs leak in the pseudonymised output")

    # Same records, same structure: only the names differ.
    if len(plain) != len(pseudo):
        fail(f"{len(plain)} records with --plain, {len(pseudo)} without")
    changed = 0
    for n, (a, b) in enumerate(zip(plain, pseudo), 1):
        if a.get("op") != b.get("op") or a.get("pid") != b.get("pid"):
            fail(f"record {n}: {a.get('op')}/{a.get('pid')} with --plain, {b.get('op')}/{b.get('pid')} without")
        pa, pb = a.get("path"), b.get("path")
        if (pa is None) != (pb is None):
            fail(f"record {n}: path {pa!r} with --plain, {pb!r} without")
        if isinstance(pa, str):
            if not isinstance(pb, str) or pa.count("/") != pb.count("/") or pb.startswith("/") != pa.startswith("/"):
                fail(f"record {n}: path structure differs: {pa!r} vs {pb!r}")
            if under(pa, workdir):
                changed += pa != pb
    print(f"OK: {len(pseudo)} records, {len(names)} workdir names checked, {changed} paths pseudonymised")


def under(path, workdir):
    return path == workdir or path.startswith(workdir + "/")


def selftest(expected, workdir):
    data = open(expected, "rb").read()
    lines = data.splitlines(keepends=True)
    if compare(expected, data, workdir) != 0:
        fail("EXPECTED does not compare equal to itself")
    xfer = next(i for i, l in enumerate(lines) if b'"offset":' in l and b'"bytes":' in l and b'"offset":null' not in l)
    first = json.loads(lines[0])
    extra = dict(first, fd=first["fd"] + 1)
    mutants = {
        "a missing record": lines[:xfer] + lines[xfer + 1:],
        "an extra record": lines + [json.dumps(extra).encode() + b"\n"],
        "a changed offset": lines[:xfer] + [re.sub(rb'"offset":(\d+)', lambda m: b'"offset":%d' % (int(m[1]) + 1), lines[xfer])] + lines[xfer + 1:],
        "offset 5.0 for 5": lines[:xfer] + [re.sub(rb'"offset":(\d+)', rb'"offset":\1.0', lines[xfer])] + lines[xfer + 1:],
        "a missing key": lines[:xfer] + [re.sub(rb',"bytes":\d+', b'', lines[xfer])] + lines[xfer + 1:],
        "swapped records": lines[1:2] + lines[:1] + lines[2:],
        "a gap": lines + [b'{"op":"gap","lost":1,"reason":"test"}\n'],
    }
    for what, m in mutants.items():
        if compare(expected, b"".join(m), workdir, quiet=True) != 1:
            fail(f"compare-actions.py accepted {what}")
    # Noise outside the compared set is ignored.
    noise = [b'{"op":"open","pid":%d,"path":"/etc/ld.so.cache","fd":3}\n' % first["pid"],
             b'{"op":"read","pid":%d,"path":null,"fd":0,"offset":null,"bytes":1}\n' % first["pid"],
             b'{"op":"open","pid":1,"path":"%s/x","fd":3}\n' % workdir.encode()]
    if compare(expected, b"".join(noise + lines), workdir) != 0:
        fail("compare-actions.py did not ignore records outside the compared set")
    print("OK: compare-actions.py accepts the fixture and rejects its mutants")


def main(argv):
    if len(argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    mode, fsmonctl, log, expected, workdir = argv[1:]
    if mode in ("file", "stdin"):
        return compare(expected, decode(fsmonctl, log, stdin=mode == "stdin"), workdir)
    if mode == "crlf":
        data = open(log, "rb").read().replace(b"\n", b"\r\n")
        return compare(expected, decode(fsmonctl, log, data=data), workdir)
    if mode == "nodes":
        lines = open(log, "rb").read().splitlines(keepends=True)
        data = b"".join(b"node=%s " % host + line for line in lines for host in (b"alpha", b"beta"))
        out = records(decode(fsmonctl, log, data=data), "two-host output")
        if any("node" not in r for r in out if r.get("op") != "gap"):
            fail("a record without node")
        status = 0
        for host in ("alpha", "beta"):
            mine = b"".join(json.dumps(r).encode() + b"\n" for r in out if r.get("node") == host)
            print(f"host {host}:")
            status |= compare(expected, mine, workdir)
        return status
    if mode == "pseudonyms":
        check_pseudonyms(fsmonctl, log, expected, workdir)
        return 0
    if mode == "selftest":
        selftest(expected, workdir)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
