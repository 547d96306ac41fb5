#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Logs of other machines (tests/fixtures/foreign/README) decoded here.

    foreign-test.py FSMONCTL FOREIGN_DIR

- laurel's arm64 fork/exec log gives exactly the fork and exec actions the
  program performed (compare-actions.py against the expected records);
- laurel's arm64 ENRICHED login log gives its one write(2) (syscall 64,
  SYSCALL=write in the enriched part: fd 7, 1 byte, to a descriptor opened
  before the log began: no path, no offset), and the ppc64 bind log gives
  no actions; neither gives a warning;
- the arm64 log with arch= rewritten to riscv64 (0xc00000f3, for which
  libaudit 3.0.9 has no table) gives no actions and says so on stderr,
  with the count of such events: never silently nothing.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
UNKNOWN = "architecture libaudit has no table for"
fails = 0


def check(cond, msg):
    global fails
    print(("ok: " if cond else "FAIL: ") + msg)
    if not cond:
        fails += 1


def decode(fsmonctl, log):
    p = subprocess.run([fsmonctl, "decode", "--plain", log], capture_output=True)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def main(fsmonctl, d):
    log = os.path.join(d, "laurel-aarch64-fork-sleep-exec.log")
    rc, out, err = decode(fsmonctl, log)
    check(rc == 0 and UNKNOWN not in err, f"arm64 log decoded without warnings (rc {rc}, stderr {err.strip()!r})")
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl") as actual:
        actual.write(out)
        actual.flush()
        c = subprocess.run([sys.executable, os.path.join(HERE, "compare-actions.py"),
                            log.replace(".log", ".expected.jsonl"), actual.name, "/"])
        check(c.returncode == 0, "arm64 log: the fork and exec actions the program performed")
    rc, out, err = decode(fsmonctl, os.path.join(d, "laurel-aarch64-login-enriched.log"))
    recs = [json.loads(l) for l in out.splitlines()]
    want = {"op": "write", "pid": 72605, "fd": 7, "bytes": 1, "path": None, "offset": None}
    check(rc == 0 and err == "" and len(recs) == 1 and all(recs[0].get(k, "-") == v for k, v in want.items()),
          f"arm64 ENRICHED log: its one write ({out!r} {err!r})")
    rc, out, err = decode(fsmonctl, os.path.join(d, "laurel-ppc64-bind.log"))
    check(rc == 0 and out == "" and err == "", f"ppc64 log: no actions, no warning ({out!r} {err!r})")

    with open(log) as f:
        text = f.read()
    n = text.count("arch=c00000b7")
    with tempfile.NamedTemporaryFile("w", suffix=".log") as riscv:
        riscv.write(text.replace("arch=c00000b7", "arch=c00000f3"))
        riscv.flush()
        rc, out, err = decode(fsmonctl, riscv.name)
        check(out == "", f"riscv64 log: no actions ({out!r})")
        check(UNKNOWN in err and f"{n} syscall event(s)" in err and "arch=c00000f3" in err,
              f"riscv64 log: {n} events reported on stderr ({err.strip()!r})")
    return 1 if fails else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: foreign-test.py FSMONCTL FOREIGN_DIR")
    sys.exit(main(sys.argv[1], sys.argv[2]))
