#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""fsmonctl report against a known workload.

    test-report.py FSMONCTL

gen-segments.py writes segments of three hosts (plain and zstd, an unfinished
.open segment with a torn tail) plus damaged and foreign files, and keeps its
own ledger of what it wrote. Every figure of `fsmonctl report --format json`
is checked against that ledger; csv and text must carry the same figures; the
damaged files must be named on stderr and listed as skipped; one or four
threads must give the same report.
"""

import csv
import io
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)


def eq(got, want, what):
    check(got == want, "%s: got %r, want %r" % (what, got, want))


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def main():
    fsmonctl = sys.argv[1]
    if subprocess.run(["sh", "-c", "command -v zstd"], capture_output=True).returncode != 0:
        print("zstd missing, skipping")
        return 77

    with tempfile.TemporaryDirectory(prefix="fsmon-report-") as tmp:
        data = os.path.join(tmp, "server")
        expect_path = os.path.join(tmp, "expect.json")
        subprocess.run([sys.executable, os.path.join(HERE, "gen-segments.py"), data, "--compress",
                        "--damage", "--expect", expect_path], check=True)
        with open(expect_path) as f:
            exp = json.load(f)

        p = run([fsmonctl, "report", "--format", "json", "--progress=no", data])
        # Some inputs were skipped: exit status 3, report written all the same.
        eq(p.returncode, 3, "exit status with skipped inputs")
        rep = json.loads(p.stdout)

        # Damaged and foreign files: named on stderr, listed, left out.
        skipped = sorted(s["file"] for s in rep["inputs"]["skipped"])
        eq(skipped, exp["skipped"], "skipped files")
        for name in exp["skipped"]:
            check(name in p.stderr, "stderr names %s" % name)
        check("torn line" in p.stderr, "stderr mentions the torn tail of the open segment")
        for quiet in (".part", "chain", "quarantine", ".#seg-tmp"):
            check(quiet not in p.stderr, "%s passed over in silence" % quiet)

        eq(rep["records"], exp["records"], "records")
        for k, v in exp["totals"].items():
            eq(rep["totals"][k], v, "totals." + k)
        eq(rep["ops"], exp["ops"], "per-op counts and bytes")
        eq(rep["names"], exp["names"], "renames and deletions")
        check(exp["names"]["rename"] > 0 and exp["totals"]["bytes_mapped"] > 0, "workload renames and maps")
        eq(rep["patterns"], exp["patterns"], "access patterns")

        for which in ("top_files_by_bytes", "top_files_by_opens"):
            got = [{k: f[k] for k in e} for f, e in zip(rep[which], exp[which])]
            eq(len(rep[which]), len(exp[which]), which + " length")
            eq(got, exp[which], which)

        def table(rows, key):
            return {str(r[key]): {k: r[k] for k in ("actions", "opens", "reads", "writes",
                                                     "bytes_read", "bytes_written", "maps",
                                                     "bytes_mapped")} for r in rows}
        eq(table(rep["programs"], "program"), exp["programs"], "per program")
        eq(table(rep["users"], "user"), exp["users"], "per user")
        eq(table(rep["hosts"], "host"), exp["hosts"], "per host")
        eq(table(rep["hours"], "start"), exp["hours"], "per hour")
        check(len(exp["hours"]) >= 3, "workload spans several hours")
        hours = [r["start"] for r in rep["hours"]]
        eq(hours, sorted(hours), "hours in time order")

        # The same figures in csv.
        p = run([fsmonctl, "report", "--format", "csv", "--progress=no", data])
        eq(p.returncode, 3, "csv exit status")
        rows = list(csv.DictReader(io.StringIO(p.stdout)))
        got = {(r["section"], r["key"], r["metric"]): int(r["value"]) for r in rows}
        for op, v in exp["ops"].items():
            eq(got.get(("op", op, "bytes")), v["bytes"], "csv op %s bytes" % op)
            eq(got.get(("op", op, "count")), v["count"], "csv op %s count" % op)
        eq(got.get(("totals", "", "bytes_read")), exp["totals"]["bytes_read"], "csv bytes read")
        eq(got.get(("totals", "", "bytes_written")), exp["totals"]["bytes_written"], "csv bytes written")

        # ... and in text, where exact byte counts are printed beside the
        # human ones.
        p = run([fsmonctl, "report", "--progress=no", data])
        eq(p.returncode, 3, "text exit status")
        check("(%d)" % exp["totals"]["bytes_read"] in p.stdout, "text shows bytes read")
        check("(%d)" % exp["totals"]["bytes_written"] in p.stdout, "text shows bytes written")
        for op, v in exp["ops"].items():
            check(any(l.split()[:2] == [op, str(v["count"])] for l in p.stdout.splitlines()),
                  "text shows op %s with count %d" % (op, v["count"]))
        check(exp["top_files_by_bytes"][0]["path"][:19] in p.stdout, "text shows the top file")

        # Results do not depend on how many threads read.
        p1 = run([fsmonctl, "report", "--format", "json", "--threads", "1", data])
        p4 = run([fsmonctl, "report", "--format", "json", "--threads", "4", data])
        eq(p1.stdout, p4.stdout, "1 and 4 threads give the same report")

        # Only good inputs: exit status 0; a file given by name works too.
        good = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(data) for f in fs
                      if os.path.join(dp, f) not in exp["skipped"] and f.startswith("seg-")
                      and not f.endswith(".part") and "quarantine" not in dp)
        # A file named twice counts once.
        p = run([fsmonctl, "report", "--format", "json"] + good + good[:3])
        eq(p.returncode, 0, "exit status without bad inputs")
        if p.returncode == 0:
            eq(json.loads(p.stdout)["ops"], exp["ops"], "per-op totals from files given by name")

        # Usage errors and missing paths.
        eq(run([fsmonctl, "report", "--format", "xml", data]).returncode, 2, "unknown format")
        eq(run([fsmonctl, "report", os.path.join(tmp, "missing")]).returncode, 1, "missing path")

        # An empty directory: an empty report, not an error.
        empty = os.path.join(tmp, "empty")
        os.mkdir(empty)
        p = run([fsmonctl, "report", "--format", "json", empty])
        eq(p.returncode, 0, "empty input exit status")
        if p.returncode == 0:
            eq(json.loads(p.stdout)["records"], 0, "empty input records")

    print("%d failed checks" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
