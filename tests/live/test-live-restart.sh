#!/usr/bin/env bash
# kill -9 of fsmond in the middle of a burst of at least 100k audit events,
# its spool's last write torn (cut in the middle of an event's records), then
# a restart: fsmond reads back from auditd's log what it missed. What
# was spooled must equal a control decoding of auditd's whole log with the
# same key (fsmonctl decode --key), with no gap and no duplicate.
#   test-live-restart.sh FSMOND FSMONCTL BURST SOURCE_ROOT
set -uo pipefail
fsmond=$1 fsmonctl=$2 burst=$3 src=$4

# shellcheck source=tests/live/lib.sh
. "$src/tests/live/lib.sh"
# Root, auditd, the audit lock, $dir, $auid, the config, auditd, the rules.
live_begin 3100000 "$fsmond" "$fsmonctl" || exit $?
work=$(mktemp -d /tmp/fsmon-live-burst.XXXXXX) || exit 1
live_tmp+=("$work")
live_start_fsmond "$dir" "$fsmond" || { echo "fsmond did not start"; exit 1; }

# ~1000 events per iteration: 150 iterations are well over 100k events.
( echo "$auid" >/proc/self/loginuid && exec "$burst" "$work" 150 ) &
burst_pid=$!
# Kill once a megabyte of the burst is spooled (0.7 s here; ASan is slower).
for ((i = 0; i < 300; i++)); do
        size=$(stat -c %s "$dir"/state/spool/*.open 2>/dev/null | sort -n | tail -n 1)
        [ "${size:-0}" -ge 1000000 ] && break
        sleep 0.05
done
kill -KILL "$live_fsmond_pid"; wait "$live_fsmond_pid" 2>/dev/null
echo "killed fsmond (kill -9) during the burst"
live_fsmond_pid=
# A kill can tear the spool's last write, or not. Make it so, the worst way:
# cut the open segment in the middle of the second record of the last event
# that has several, as if the rest of that write never reached the disk.
# What was cut must be produced again, not counted as lost.
python3 - "$dir/state/spool" <<'PY' || { echo "FAIL: could not tear the spool's open segment"; exit 1; }
import json, os, sys
d = sys.argv[1]
opens = sorted(f for f in os.listdir(d) if f.endswith(".open"))
assert opens, "no open segment"
path = os.path.join(d, opens[-1])
data = open(path, "rb").read()
lines, off = [], 0
for raw in data.split(b"\n")[:-1]:
    lines.append((off, len(raw), json.loads(raw)))
    off += len(raw) + 1
recs = [(o, n, r) for o, n, r in lines if "op" in r]
assert len(recs) >= 2, f"{len(recs)} records in {path}"
cut = None
for i in range(len(recs) - 1, 0, -1):
    if recs[i][2]["serial"] == recs[i - 1][2]["serial"] and recs[i][2]["op"] != "gap":
        cut = recs[i][0] + recs[i][1] // 2
        break
if cut is None:
    cut = recs[-1][0] + recs[-1][1] // 2
os.truncate(path, cut)
print(f"tore {opens[-1]} at byte {cut} of {len(data)}: {len(data) - cut} bytes cut "
      f"(in a record of serial {next(r for o, n, r in reversed(recs) if o < cut)['serial']})")
PY
sleep 0.5
live_start_fsmond "$dir" "$fsmond" || { echo "fsmond did not restart"; exit 1; }
wait "$burst_pid" || { echo "burst failed"; exit 1; }
sleep 3
live_stop_fsmond
grep -E "Read back|Following|torn|cut short" "$dir/fsmond.log"

live_spooled "$dir" >"$dir/spooled.jsonl"
cat "$dir"/log/audit.log.* "$dir/log/audit.log" 2>/dev/null >"$dir/all.log" ||
        cat "$dir/log/audit.log" >"$dir/all.log"
"$fsmonctl" decode --audit-key fsmon --key "$dir/state/key" "$dir/all.log" >"$dir/control.jsonl"

python3 - "$dir/spooled.jsonl" "$dir/control.jsonl" <<'PY' || fail=1
import collections, json, sys
# What does not depend on tracker state carried over the crash: the calls
# themselves, one record each. Whether a close or an opendir is recorded
# depends on what was known of the descriptor (a directory never listed
# gives no close; an exit closes the known ones), and paths and offsets of
# descriptors opened before the crash are known only while the process
# lives: those are left out.
# Also left out: calls on descriptors the control never saw opened (path
# null there). Live, fsmond asks /proc about them when it gets the event, by
# which time the descriptor may point elsewhere (the shell's
# "echo N >/proc/self/loginuid" writes through fd 1, then fd 1 is a pipe
# again): such calls are counted as non-file I/O, not recorded.
KEYS = ("serial", "op", "pid", "fd", "bytes", "old_fd", "new_fd", "child")
SKIP = {"gap", "close", "opendir"}
def records(p):
    return [json.loads(l) for l in open(p)]
def load(recs, unknown):
    gaps = [r for r in recs if r["op"] == "gap"]
    keep = [tuple(r.get(k) for k in KEYS) for r in recs
            if r["op"] not in SKIP and (r["serial"], r["pid"], r.get("fd")) not in unknown]
    return keep, gaps
control_recs = records(sys.argv[2])
unknown = {(r["serial"], r["pid"], r.get("fd")) for r in control_recs
           if "path" in r and r["path"] is None and r["op"] != "exec"}
spool, gaps = load(records(sys.argv[1]), unknown)
control, _ = load(control_recs, unknown)
cs, cc = collections.Counter(spool), collections.Counter(control)
dups = [k for k, n in cs.items() if n > cc.get(k, 0)]
missing = [k for k, n in cc.items() if n > cs.get(k, 0)]
print(f"spooled {len(spool)} records, control {len(control)}; events in control: "
      f"{len({k[0] for k in control})}")
ok = True
if len({k[0] for k in control}) < 100000:
    print("FAIL: the burst made fewer than 100k events"); ok = False
if gaps:
    print(f"FAIL: {len(gaps)} gap records: {gaps[:3]}"); ok = False
if dups:
    print(f"FAIL: {len(dups)} records spooled more often than they happened, e.g. {dups[:3]}"); ok = False
if missing:
    print(f"FAIL: {len(missing)} records missing from the spool, e.g. {sorted(missing)[:3]}"); ok = False
sys.exit(0 if ok else 1)
PY
if [ $fail != 0 ] && [ -n "${FSMON_KEEP_FAILED:-}" ]; then
        rm -rf "$FSMON_KEEP_FAILED"; mkdir -p "$FSMON_KEEP_FAILED"
        cp -a "$dir"/spooled.jsonl "$dir"/control.jsonl "$dir"/fsmond.log "$dir"/log "$FSMON_KEEP_FAILED"/
        echo "kept in $FSMON_KEEP_FAILED"
fi
exit $fail
