#!/usr/bin/env bash
# kill -9 of fsmond in the middle of a workload of real programs (bash, cat,
# sort, head, cp, sleep) whose descriptors outlive the kill: a shell and a
# background shell alive across it, holding a log, a file read line by line
# (with seeks) and their stdout; children that inherit them and exit while
# fsmond is down. After the restart every record, closes, seeks and offsets
# on the inherited descriptors included, must equal the offline decode of
# auditd's whole log (fsmonctl decode --key), the oracle that saw every open.
# Only calls on descriptors that the oracle itself never saw opened (path
# null there: inherited from the unaudited test script) are left out.
# Before the workload, a login shell shows that a path /proc gave later than
# the event is never recorded, and that the snapshot at LOGIN is used after.
#   test-live-restart-programs.sh FSMOND FSMONCTL SOURCE_ROOT [ROUNDS]
# FSMON_RESTART_DIFF_OK=1 reports the differences without failing (to
# measure an older fsmond).
set -uo pipefail
fsmond=$1 fsmonctl=$2 src=$3 rounds=${4:-60}

# shellcheck source=tests/live/lib.sh
. "$src/tests/live/lib.sh"
live_begin 3300000 "$fsmond" "$fsmonctl" || exit $?
work=$(mktemp -d /tmp/fsmon-live-programs.XXXXXX) || exit 1
live_tmp+=("$work")
live_start_fsmond "$dir" "$fsmond" || { echo "fsmond did not start"; exit 1; }

# A login whose shell at once copies its inherited stderr (fd 2, opened by
# this unaudited script) to fd 7 and redirects fd 2 to another file. fsmond
# takes its descriptors from /proc when it gets the LOGIN event, a moment
# later: the copy must never be recorded with the later file's path (null
# is right, the inherited file is), and a write through fd 7 half a second
# later must name the inherited file (the snapshot at LOGIN).
(
        echo "$auid" >/proc/self/loginuid || exit 1
        exec 7>&2
        exec 2>"$work/later.txt"
        echo x >&7
        echo y >&2
        sleep 0.5
        echo z >&7
) 2>"$work/inherited.txt" 9>&- &
login_pid=$!
wait "$login_pid"

# The monitored shell opens its own stdout (after its login uid is set, so
# the oracle sees the open) and runs the workload.
(
        echo "$auid" >/proc/self/loginuid || exit 1
        exec >"$work/stdout.txt" 2>&1 </dev/null
        exec bash "$src/tests/live/restart-workload.sh" "$work" "$rounds"
) 9>&- &
wl_pid=$!
# Kill once a third of the rounds are done, with the background shell alive.
for ((i = 0; i < 400; i++)); do
        n=$(grep -c '^round' "$work/log.txt" 2>/dev/null)
        [ "${n:-0}" -ge $((rounds / 3)) ] && break
        sleep 0.05
done
kill -KILL "$live_fsmond_pid"; wait "$live_fsmond_pid" 2>/dev/null
live_fsmond_pid=
echo "killed fsmond (kill -9) after round ${n:-0} of $rounds"
# Children come and go while fsmond is down.
sleep 1
live_start_fsmond "$dir" "$fsmond" || { echo "fsmond did not restart"; exit 1; }
wait "$wl_pid" || { echo "workload failed"; cat "$work/stdout.txt"; exit 1; }
sleep 3                         # auparse completes events without EOE after 2 s
live_stop_fsmond
grep -E "Read back|Following|tracker state" "$dir/fsmond.log"

live_spooled "$dir" >"$dir/spooled.jsonl"
cat "$dir"/log/audit.log.* "$dir/log/audit.log" 2>/dev/null >"$dir/all.log" ||
        cat "$dir/log/audit.log" >"$dir/all.log"
"$fsmonctl" decode --audit-key fsmon --key "$dir/state/key" "$dir/all.log" >"$dir/control.jsonl"

ps="$src/tests/live/pseudonymize.py"
python3 - "$dir/spooled.jsonl" "$login_pid" "$(python3 "$ps" "$dir/state/key" --path "$work/inherited.txt")" \
        "$(python3 "$ps" "$dir/state/key" --path "$work/later.txt")" <<'PY' || fail=1
import json, os, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
pid, inherited, later = int(sys.argv[2]), sys.argv[3], sys.argv[4]
mine = [r for r in recs if r["pid"] == pid]
opened = min((r["serial"] for r in mine if r["op"] == "open" and r.get("path") == later), default=None)
ok = opened is not None
if not ok:
    print("FAIL: the login shell's open of later.txt is not recorded")
wrong = [r for r in mine if r.get("path") == later and (opened is None or r["serial"] < opened)]
wrong += [r for r in mine if r.get("fd") == 7 or r.get("new_fd") == 7
          if r.get("path") not in (None, inherited)]
for r in wrong:
    print("FAIL: a path /proc gave later than the event:", json.dumps(r))
# "echo z >&7" is dup2(7, 1), write(1), dup2(10, 1): the last copy of fd 7.
z = [r for r in mine if r["op"] == "dup" and r.get("old_fd") == 7]
name = lambda r: "inherited" if r.get("path") == inherited else "later" if r.get("path") == later else r.get("path")
print(f"login shell: {len(mine)} records; copies of fd 7: {[name(r) for r in z]}")
if os.environ.get("FSMON_RESTART_SHOW"):
    for r in mine:
        print("   ", name(r), json.dumps(r))
if not z or z[-1].get("path") != inherited:
    print("FAIL: the copy of fd 7 after the LOGIN snapshot does not name the inherited file"); ok = False
sys.exit(0 if ok and not wrong else 1)
PY

python3 - "$dir/spooled.jsonl" "$dir/control.jsonl" "$rounds" "$login_pid" <<'PY' || fail=1
import collections, json, os, sys
# The login shell is checked above: fsmond knows its inherited fd 7 from
# /proc, the oracle does not (so fsmond also records the close its exit implies).
spooled = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["pid"] != int(sys.argv[4])]
control = [json.loads(l) for l in open(sys.argv[2]) if json.loads(l)["pid"] != int(sys.argv[4])]
rounds = int(sys.argv[3])
# Descriptors the oracle never saw opened: inherited from the test script.
unknown = {(r["serial"], r["pid"], r.get("fd"), r.get("old_fd")) for r in control
           if "path" in r and r["path"] is None and r["op"] != "exec"}
def key(r):
    return json.dumps(r, sort_keys=True)
def keep(recs):
    return [r for r in recs if r["op"] != "gap" and
            (r["serial"], r["pid"], r.get("fd"), r.get("old_fd")) not in unknown]
s, c = keep(spooled), keep(control)
cs, cc = collections.Counter(map(key, s)), collections.Counter(map(key, c))
extra = [k for k, n in cs.items() for _ in range(n - cc.get(k, 0)) if n > cc.get(k, 0)]
missing = [k for k, n in cc.items() for _ in range(n - cs.get(k, 0)) if n > cs.get(k, 0)]
ops = collections.Counter(r["op"] for r in c)
print(f"records: spooled {len(s)}, oracle {len(c)} ({dict(ops)}); left out as unknown to the oracle: "
      f"{len(control) - len(c)}")
print(f"DIFFERING records: {len(missing)} of the oracle's missing or different, {len(extra)} spooled not in it")
for k in sorted(missing, key=lambda k: json.loads(k)["serial"])[:8]:
    print("  oracle only:", k)
for k in sorted(extra, key=lambda k: json.loads(k)["serial"])[:8]:
    print("  spool only: ", k)
ok = True
gaps = [r for r in spooled if r["op"] == "gap"]
if gaps:
    print(f"FAIL: {len(gaps)} gap records: {gaps[:3]}"); ok = False
if ops["exec"] < rounds * 3 or ops["lseek"] < rounds or ops["close"] < rounds * 10:
    print("FAIL: the workload did less than it should (exec, lseek, close)"); ok = False
if missing or extra:
    if os.environ.get("FSMON_RESTART_DIFF_OK"):
        print("(differences allowed: FSMON_RESTART_DIFF_OK)")
    else:
        print("FAIL: the records after the restart differ from the offline decode"); ok = False
sys.exit(0 if ok else 1)
PY
if [ $fail != 0 ] && [ -n "${FSMON_KEEP_FAILED:-}" ]; then
        rm -rf "$FSMON_KEEP_FAILED"; mkdir -p "$FSMON_KEEP_FAILED"
        cp -a "$dir"/spooled.jsonl "$dir"/control.jsonl "$dir"/fsmond.log "$dir"/log "$FSMON_KEEP_FAILED"/
        echo "kept in $FSMON_KEEP_FAILED"
fi
exit $fail
