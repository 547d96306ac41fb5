#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Compare the file actions a workload performed with what fsmonctl decoded.

    compare-actions.py EXPECTED ACTUAL WORKDIR

EXPECTED: JSON Lines written by tests/workload/workload.c.
ACTUAL:   `fsmonctl decode --plain` output for the audit log of that run.
WORKDIR:  the workload's working directory (absolute).

The audit log also holds the workload's libc start-up (ld.so, locale) and the
shell that started it, so ACTUAL is narrowed to the records that belong to the
experiment: records of the workload's processes (every pid in EXPECTED, and
every child of its fork records) whose path is WORKDIR or below it, plus their
fork, exit records (which have no path), plus every gap record (a gap means
the fixture cannot be trusted). EXPECTED must pass the same filter unchanged.

Then, per process, the sequences are compared in order on the keys the
tracker semantics define for each op; other keys (time, serial, flags, ppid,
auid, uid, comm, ...) are ignored. A missing key differs from null, 5.0
differs from 5, a missing or extra record is a difference. Exit status: 0
when equal, 1 on any difference, 2 on bad input.
"""
import difflib
import json
import sys

XFER = ("path", "fd", "offset", "bytes", "via")
KEYS = {
    "open": ("path", "fd"),
    "opendir": ("path", "fd"),
    "close": ("path", "fd"),
    "read": XFER, "write": XFER, "readv": XFER, "writev": XFER,
    "pread": XFER, "pwrite": XFER, "preadv": XFER, "pwritev": XFER,
    "lseek": ("path", "fd", "offset"),
    "dup": ("old_fd", "new_fd", "path"),
    "fork": ("child",),
    "exec": ("path", "exe"),
    "exit": (),
    "mmap": ("path", "fd", "offset", "bytes"),
    "rename": ("path", "new_path"),
    "unlink": ("path",), "rmdir": ("path",), "mkdir": ("path",),
    "truncate": ("path", "fd", "size"),
    "gap": ("lost", "reason"),
}
ALL_KEYS = ("path", "fd", "offset", "bytes", "old_fd", "new_fd", "child", "new_path", "size", "exe", "via")
MISSING = "<missing>"
MAX_REPORT_LINES = 80


def load(name, what):
    records = []
    with open(name, "rb") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                r = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                sys.exit(f"compare-actions: {what} {name}:{n}: not a JSON line ({e})")
            if not isinstance(r, dict) or not isinstance(r.get("op"), str):
                sys.exit(f"compare-actions: {what} {name}:{n}: not an action record")
            r["_line"] = n
            records.append(r)
    return records


def under(path, workdir):
    if workdir == "/":      # every absolute path (logs of other machines)
        return isinstance(path, str) and path.startswith("/")
    return isinstance(path, str) and (path == workdir or path.startswith(workdir + "/"))


def relevant(r, pids, workdir):
    if r["op"] == "gap":
        return True
    if r.get("pid") not in pids or isinstance(r.get("pid"), bool):
        return False
    if r["op"] in ("fork", "exit"):
        return True
    return under(r.get("path"), workdir)


def canon(r):
    """The compared part of a record, as one comparable line."""
    keys = KEYS.get(r["op"], ALL_KEYS)
    parts = [f'op={r["op"]}']
    for k in keys:
        v = r[k] if k in r else MISSING
        parts.append(f"{k}={v if v is MISSING else json.dumps(v, ensure_ascii=False)}")
    return " ".join(parts)


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    expected = load(argv[1], "expected")
    actual = load(argv[2], "actual")
    workdir = argv[3].rstrip("/") or "/"
    if not workdir.startswith("/"):
        print("compare-actions: WORKDIR must be absolute", file=sys.stderr)
        return 2
    if not expected:
        print(f"compare-actions: {argv[1]} has no records", file=sys.stderr)
        return 2

    pids = set()
    for r in expected:
        pids.add(r.get("pid"))
        if r["op"] == "fork":
            pids.add(r.get("child"))
    for r in expected:
        if not relevant(r, pids, workdir):
            print(f"compare-actions: expected line {r['_line']} is outside the compared set "
                  f"(path not under {workdir}?)", file=sys.stderr)
            return 2

    kept = [r for r in actual if relevant(r, pids, workdir)]

    # Per process, in order of first appearance in EXPECTED; gaps and
    # anything else that has no expected pid go last.
    order = []
    for r in expected + kept:
        key = r.get("pid") if r["op"] != "gap" else "gap"
        if key not in order:
            order.append(key)

    def seq(records, key):
        return [canon(r) for r in records
                if (r.get("pid") if r["op"] != "gap" else "gap") == key]

    def lines_of(records, key):
        return [r["_line"] for r in records
                if (r.get("pid") if r["op"] != "gap" else "gap") == key]

    failed = 0
    report = []
    for key in order:
        exp, act = seq(expected, key), seq(kept, key)
        if exp == act:
            continue
        failed += 1
        what = "gap records" if key == "gap" else f"pid {key}"
        report.append(f"--- {what}: expected {len(exp)} records, decoded {len(act)}")
        act_lines = lines_of(kept, key)
        sm = difflib.SequenceMatcher(a=exp, b=act, autojunk=False)
        for tag, i1, i2, j1, j2 in sm.get_opcodes():
            if tag == "equal":
                # Two records of context on each side of a difference.
                head = range(i1, min(i2, i1 + 2)) if i1 > 0 else range(0)
                tail = range(max(i2 - 2, head.stop if head else i1), i2) if i2 < len(exp) else range(0)
                report.extend(f"    {exp[i]}" for i in head)
                if (tail.start if tail else i2) > (head.stop if head else i1) and (head or tail):
                    report.append("    ...")
                report.extend(f"    {exp[i]}" for i in tail)
                continue
            report.extend(f"  - {exp[i]}" for i in range(i1, i2))
            report.extend(f"  + {act[j]}    (actual line {act_lines[j]})" for j in range(j1, j2))

    n_pids = len([k for k in order if k != "gap"])
    if not failed:
        print(f"compare-actions: OK: {len(expected)} expected records over {n_pids} processes "
              f"match ({len(actual)} decoded records, {len(kept)} compared)")
        return 0
    print(f"compare-actions: MISMATCH in {failed} of {len(order)} record sequences "
          f"({len(expected)} expected, {len(kept)} of {len(actual)} decoded records compared)")
    print("  '-' expected only, '+' decoded only, indented: equal")
    if len(report) > MAX_REPORT_LINES:
        report = report[:MAX_REPORT_LINES] + [f"... ({len(report) - MAX_REPORT_LINES} more lines)"]
    print("\n".join(report))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
