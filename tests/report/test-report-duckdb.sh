#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The fleet path: a server directory of three hosts' segments (plain and
# zstd) is loaded into DuckDB as it is; DuckDB's per-op counts and byte totals
# and its top files by bytes must equal `fsmonctl report --format json`'s.
#   test-report-duckdb.sh FSMONCTL
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fsmonctl=$1
command -v zstd >/dev/null || { echo "zstd missing"; exit 77; }
FSMON_DUCKDB_DIR=$("$here/duckdb-setup.sh") || exit 77
export FSMON_DUCKDB_DIR

tmp=$(mktemp -d /tmp/fsmon-report-duckdb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 "$here/gen-segments.py" "$tmp/server" --hosts 3 --sessions 300 --compress --seed 7 || exit 1
"$fsmonctl" report --format json --progress=no "$tmp/server" >"$tmp/report.json" || { echo "fsmonctl report failed"; exit 1; }
node "$here/duckdb-query.mjs" "$tmp/server" 10 >"$tmp/duckdb.json" || { echo "DuckDB query failed"; exit 1; }

python3 - "$tmp/report.json" "$tmp/duckdb.json" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
duck = json.load(open(sys.argv[2]))
fail = 0
ops = {k: {"count": v["count"], "bytes": v["bytes"]} for k, v in rep["ops"].items()}
if ops != duck["ops"]:
    fail += 1
    print("per-op totals differ:\n report %s\n duckdb %s" % (ops, duck["ops"]))
if sum(v["bytes"] for v in ops.values()) == 0 or len(ops) < 5:
    fail += 1
    print("workload too thin to prove anything:", ops)
top = [{"host": f["host"], "path": f["path"], "bytes": f["bytes_read"] + f["bytes_written"]}
       for f in rep["top_files_by_bytes"]]
if top != duck["top_files_by_bytes"]:
    fail += 1
    print("top files differ:\n report %s\n duckdb %s" % (top, duck["top_files_by_bytes"]))
print("ops: %d, bytes: %d; DuckDB %.2f s; %s" % (len(ops), sum(v["bytes"] for v in ops.values()),
                                                duck["seconds"], "FAIL" if fail else "same figures"))
sys.exit(1 if fail else 0)
PY
