#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The fleet path beyond one machine: Dask's distributed scheduler (Debian's
python3-distributed) with a local cluster of worker processes reads a server
directory as it is (<dir>/<host id>/seg-*.jsonl.zst, fsmon's three zstd
frames; header and footer lines have no "op") and computes the per-op counts
and bytes, the per-host actions and the top files by bytes; they must equal
`fsmonctl report --format json` over the same directory. The segments come
from the independent writer (gen-fleet.py).

    test-dask.py FSMONCTL
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TRANSFERS = {"read", "pread", "readv", "preadv", "write", "pwrite", "writev", "pwritev"}


def read_segment(path):
    """Every record of one segment file: (host, op, path, bytes, pid of the worker)."""
    import zstandard
    host = os.path.basename(os.path.dirname(path))
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"\x28\xb5\x2f\xfd":
        # fsmon writes header, records and footer as frames of their own.
        data = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True).read()
    out = []
    for line in data.splitlines():
        rec = json.loads(line)
        if "op" not in rec:     # the segment header and footer
            continue
        out.append((host, rec["op"], rec.get("path"), rec.get("bytes"), os.getpid()))
    return out


def main():
    try:
        import dask.bag as db
        from distributed import Client, LocalCluster
        import zstandard  # noqa: F401
    except ImportError as e:
        print("SKIP: %s (tools/deps.sh installs python3-distributed and python3-zstandard)" % e)
        sys.exit(77)
    fsmonctl = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="fsmon-dask-")
    failures = 0
    try:
        srv = os.path.join(tmp, "srv")
        subprocess.run([sys.executable, os.path.join(HERE, "gen-fleet.py"), srv, "--hosts", "4", "--segments",
                        "30", "--records", "80", "--seed", "5"], check=True)
        files = sorted(os.path.join(srv, h, n) for h in os.listdir(srv) for n in os.listdir(os.path.join(srv, h)))
        rep = json.loads(subprocess.run([fsmonctl, "report", "--format", "json", "--top", "10", srv],
                                        stdout=subprocess.PIPE, check=True).stdout)

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=40) as cluster, Client(cluster) as client:
            worker_pids = set(client.run(os.getpid).values())
            recs = db.from_sequence(files, npartitions=8).map(read_segment).flatten()
            ops = recs.foldby(lambda r: r[1],
                              lambda acc, r: (acc[0] + 1, acc[1] + (r[3] if isinstance(r[3], int) and r[3] > 0 else 0)),
                              (0, 0), lambda a, b: (a[0] + b[0], a[1] + b[1]), (0, 0))
            hosts = recs.foldby(lambda r: r[0], lambda acc, r: acc + 1, 0, lambda a, b: a + b, 0)
            per_file = (recs.filter(lambda r: r[1] in TRANSFERS and r[2] is not None and isinstance(r[3], int)
                                    and r[3] > 0)
                        .foldby(lambda r: (r[0], r[2]), lambda acc, r: acc + r[3], 0, lambda a, b: a + b, 0))
            top = per_file.topk(30, key=lambda kv: kv[1])
            pids = recs.map(lambda r: r[4]).distinct()
            ops, hosts, top, pids = client.compute([ops, hosts, top, pids], sync=True)

        dask_ops = {op: {"count": c, "bytes": b} for op, (c, b) in sorted(ops)}
        rep_ops = {k: {"count": v["count"], "bytes": v["bytes"]} for k, v in rep["ops"].items()}
        if dask_ops != rep_ops:
            failures += 1
            print("FAIL: per-op totals: Dask %s, fsmonctl report %s" % (dask_ops, rep_ops))
        else:
            print("ok: per-op counts and bytes equal (%d ops, %d records)" % (len(dask_ops), sum(
                v["count"] for v in dask_ops.values())))
        rep_hosts = {h["host"]: h["actions"] for h in rep["hosts"]}
        if dict(hosts) != rep_hosts:
            failures += 1
            print("FAIL: per-host actions: Dask %s, report %s" % (dict(hosts), rep_hosts))
        else:
            print("ok: per-host actions equal (%d hosts)" % len(rep_hosts))
        dask_top = [{"host": h, "path": p, "bytes": b}
                    for (h, p), b in sorted(top, key=lambda kv: (-kv[1], kv[0][0], kv[0][1]))[:10]]
        rep_top = [{"host": f["host"], "path": f["path"], "bytes": f["bytes_read"] + f["bytes_written"]}
                   for f in rep["top_files_by_bytes"]]
        if dask_top != rep_top:
            failures += 1
            print("FAIL: top files: Dask %s, report %s" % (dask_top, rep_top))
        else:
            print("ok: top 10 files by bytes equal (first: %s bytes)" % rep_top[0]["bytes"])
        if not set(pids) or not set(pids) <= worker_pids or os.getpid() in set(pids):
            failures += 1
            print("FAIL: records were not read by the worker processes: %s vs workers %s" % (pids, worker_pids))
        else:
            print("ok: read by %d worker process(es) of the local cluster, not the client" % len(set(pids)))
    finally:
        shutil.rmtree(tmp)
    print("all ok" if not failures else "%d failure(s)" % failures)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
