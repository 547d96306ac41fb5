#!/usr/bin/env bash
# Installs DuckDB's node client (npm @duckdb/node-api) on demand into a cache
# directory outside the source tree, and prints that directory. Exit 77 (skip)
# when node or npm is missing or the registry cannot be reached.
set -uo pipefail
version=1.5.6-r.1
dir=${FSMON_DUCKDB_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fsmon/duckdb-node-$version}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        echo "node or npm missing" >&2
        exit 77
fi
usable() {
        node -e 'require(process.argv[1])' "$dir/node_modules/@duckdb/node-api" 2>/dev/null
}
if ! usable; then
        mkdir -p "$dir" || exit 77
        # flock: the plain and the sanitizer test runs may get here at once.
        if ! flock "$dir" npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
                "@duckdb/node-api@$version" >&2; then
                echo "npm install @duckdb/node-api failed" >&2
                exit 77
        fi
        usable || { echo "@duckdb/node-api installed but does not load" >&2; exit 77; }
fi
echo "$dir"
