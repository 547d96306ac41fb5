// SPDX-License-Identifier: GPL-2.0-or-later
// The fleet path: segments loaded into DuckDB as they are (JSON Lines, plain
// or zstd), the same question as `fsmonctl report` answers: per-op counts and
// byte totals, and the top files by bytes (host from the directory layout
// <dir>/<host id>/<segment>). Prints one JSON object:
//   {"ops": {op: {"count": N, "bytes": N}}, "top_files_by_bytes": [...], "seconds": S}
//
//   node duckdb-query.mjs DIR [TOP]       (NODE_PATH: where @duckdb/node-api is)
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.FSMON_DUCKDB_DIR ?? '.', 'node_modules', 'x.js'));
const { DuckDBInstance } = require('@duckdb/node-api');

const dir = process.argv[2];
const top = Number(process.argv[3] ?? 10);
const t0 = process.hrtime.bigint();

const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const q = (s) => s.replaceAll("'", "''");
// Records have "op"; segment headers and footers do not.
await c.run(`
        CREATE TEMP TABLE actions AS
        SELECT regexp_extract(filename, '([^/]+)/[^/]+$', 1) AS host, op, path, bytes
        FROM read_json('${q(dir)}/*/*.jsonl*',
                       format = 'newline_delimited', filename = true,
                       columns = {op: 'VARCHAR', path: 'VARCHAR', bytes: 'BIGINT'})
        WHERE op IS NOT NULL`);
const ops = await c.runAndReadAll(`
        SELECT op, count(*) AS count, coalesce(sum(bytes) FILTER (WHERE bytes > 0), 0) AS bytes
        FROM actions GROUP BY op ORDER BY op`);
const files = await c.runAndReadAll(`
        SELECT host, path, sum(bytes) AS bytes
        FROM actions
        WHERE op IN ('read', 'pread', 'readv', 'preadv', 'write', 'pwrite', 'writev', 'pwritev')
              AND path IS NOT NULL AND bytes > 0
        GROUP BY host, path ORDER BY bytes DESC, host, path LIMIT ${top}`);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;

const out = { ops: {}, top_files_by_bytes: [], seconds };
for (const r of ops.getRowObjects())
        out.ops[r.op] = { count: Number(r.count), bytes: Number(r.bytes) };
for (const r of files.getRowObjects())
        out.top_files_by_bytes.push({ host: r.host, path: r.path, bytes: Number(r.bytes) });
console.log(JSON.stringify(out));
