#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""fsmonctl report over what is not a segment: an audit log (decoded on the
fly), what `fsmonctl decode` prints, and both on standard input. The totals
must be those of the fixture's golden records (tests/fixtures: recorded from
a known workload and checked against strace), and every way in must give the
same report. Bad input is skipped with a reason, never counted.

    test-report-inputs.py FSMONCTL FIXTURE.log FIXTURE.expected.jsonl
"""
import json
import subprocess
import sys
import tempfile

fsmonctl, log, expected = sys.argv[1:4]
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures += 1


def report(args, stdin=None):
    p = subprocess.run([fsmonctl, "report", "--format", "json", "--progress=no"] + args,
                       stdin=stdin, capture_output=True)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


# The totals, summed here from the decoded records (which the fixture tests
# hold against the golden records of the workload, tests/fixtures).
def totals(path):
    recs = [json.loads(line) for line in open(path) if line.strip()]
    reads = ("read", "pread", "readv", "preadv")
    writes = ("write", "pwrite", "writev", "pwritev")
    ops = {}
    for r in recs:
        ops[r["op"]] = ops.get(r["op"], 0) + 1
    return {
        "actions": len(recs),
        "bytes_read": sum(r.get("bytes", 0) for r in recs if r["op"] in reads),
        "bytes_written": sum(r.get("bytes", 0) for r in recs if r["op"] in writes),
    }, ops


with tempfile.TemporaryDirectory() as tmp:
    decoded = tmp + "/decoded.jsonl"
    with open(decoded, "wb") as f:
        subprocess.run([fsmonctl, "decode", "--plain", log], stdout=f, check=True)
    want, want_ops = totals(decoded)
    # The golden records are among them (the decoder adds the loader's and
    # libc's files, which the golden file leaves out).
    golden = [json.loads(line) for line in open(expected) if line.strip()]
    check(want["actions"] >= len(golden) > 0, f"{len(golden)} golden records, {want['actions']} decoded")

    results = {}
    rc, out, err = report(["--plain", log])
    results["audit log by name"] = (rc, out, err)
    rc, out, err = report([decoded])
    results["decode output by name"] = (rc, out, err)
    with open(decoded, "rb") as f:
        results["decode output on stdin (file)"] = report(["-"], stdin=f)
    dec = subprocess.Popen([fsmonctl, "decode", "--plain", log], stdout=subprocess.PIPE)
    results["fsmonctl decode | fsmonctl report -"] = report(["-"], stdin=dec.stdout)
    dec.wait()
    with open(log, "rb") as f:
        cat = subprocess.Popen(["cat"], stdin=f, stdout=subprocess.PIPE)
        results["audit log on a pipe"] = report(["--plain", "-"], stdin=cat.stdout)
        cat.wait()

    first = None
    for name, (rc, out, err) in results.items():
        check(rc == 0, f"{name}: exit status 0 (got {rc}; {err.strip()})")
        if rc != 0:
            continue
        j = json.loads(out)
        t = j["totals"]
        got = {k: t[k] for k in want}
        check(got == want, f"{name}: totals {got} are those of the records {want}")
        got_ops = {k: v["count"] if isinstance(v, dict) else v for k, v in j["ops"].items()}
        check(got_ops == want_ops, f"{name}: actions per op are those of the records")
        check(not j["inputs"]["skipped"], f"{name}: nothing skipped")
        if first is None:
            first = (name, j["ops"], j["totals"])
        else:
            check((j["ops"], j["totals"]) == first[1:], f"{name}: same ops and totals as {first[0]}")

    # Pseudonymised by default: no plain name of the log in the report.
    rc, out, err = report([log])
    check(rc == 0 and "/etc/ld.so.cache" not in out and "alpha.txt" not in out,
          "an audit log without --plain: pseudonymised paths")

    # Bad input: skipped with the reason, the rest still counted.
    bad = tmp + "/bad.jsonl"
    with open(decoded) as f, open(bad, "w") as g:
        lines = f.readlines()
        g.writelines(lines[:5] + ['{"op":"read", broken\n'] + lines[5:])
    garbage = tmp + "/garbage"
    with open(garbage, "w") as g:
        g.write("hello, not a record\n")
    rc, out, err = report([bad, garbage, decoded])
    check(rc == 3, f"damaged inputs: exit status 3 (got {rc})")
    check("line 6 is not a JSON object" in err, f"the damaged line is named ({err.strip()})")
    check("neither a segment, action JSON Lines" in err, "the foreign file is named")
    if rc == 3:
        j = json.loads(out)
        check(j["totals"]["actions"] == want["actions"], "only the good input counted")
        check(len(j["inputs"]["skipped"]) == 2, "two inputs skipped")

sys.exit(1 if failures else 0)
