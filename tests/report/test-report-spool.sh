#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# fsmonctl report on a spool written by the real spool module (spool-writer:
# closed zstd segments and the open one left as after kill -9): its per-op
# counts and bytes must be what the writer appended.
#   test-report-spool.sh FSMONCTL SPOOL_WRITER
set -uo pipefail
fsmonctl=$1 writer=$2
tmp=$(mktemp -d /tmp/report-spool.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$writer" "$tmp/spool" 20000 65536 3 >"$tmp/expect.json" || { echo "spool-writer failed"; exit 1; }
ls "$tmp/spool" >"$tmp/list"
grep -q '\.open$' "$tmp/list" || { echo "FAIL: no open segment"; cat "$tmp/list"; exit 1; }
[ "$(grep -c '\.jsonl\.zst$' "$tmp/list")" -ge 5 ] || { echo "FAIL: too few closed segments"; cat "$tmp/list"; exit 1; }

"$fsmonctl" report --format json --progress=no "$tmp/spool" >"$tmp/report.json" 2>"$tmp/err"
rc=$?
cat "$tmp/err"
[ $rc -eq 0 ] || { echo "FAIL: exit status $rc"; exit 1; }
python3 - "$tmp/expect.json" "$tmp/report.json" <<'PY'
import json, sys
exp, rep = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ops = {k: v for k, v in rep["ops"].items()}
want = {k: v for k, v in exp["ops"].items() if v["count"]}
ok = ops == want and rep["totals"]["lost_events"] == exp["lost"] and rep["hosts"][0]["host"] == "spool-writer-host"
print("%d segment files, %d records: %s" % (rep["inputs"]["files"], rep["records"], "same as written" if ok else "FAIL"))
if not ok:
    print(" report", ops, rep["totals"]["lost_events"], "\n written", want, exp["lost"])
sys.exit(0 if ok else 1)
PY
