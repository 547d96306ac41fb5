#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Upload() from the bus side through every outcome (suite "integration",
# root): fsmond's bus code with a scripted uploader (fsmond-fake-upload.c)
# on a private dbus-daemon with the real polkitd. Success with progress
# signals and PropertiesChanged, Busy, wrong passwords up to RateLimited,
# host key mismatch, a job that ends inside the hook; fsmonctl upload's exit
# codes, and its prompt and progress bar on a real pseudo-terminal.
#
#   test-bus-upload.sh FSMOND_FAKE_UPLOAD FSMONCTL SRCDIR
set -uo pipefail

fsmond=$1 fsmonctl=$2 src=$3
# shellcheck source=tests/bus/lib.sh
. "$src/tests/bus/lib.sh"

t0=$(date +%s)
start_dbus || { fail "dbus-daemon did not start"; cat "$tmp/dbus.log"; exit 1; }
start_polkit || { fail "polkitd did not start"; cat "$tmp/polkitd.log"; exit 1; }
# sd_notify as systemd would see it: a datagram socket and a 1 s watchdog.
"$python" - "$tmp/notify" "$tmp/notify.log" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(120)
with open(sys.argv[2], "w", buffering=1) as out:
    try:
        while True:
            msg = s.recv(4096).decode(errors="replace")
            out.write(msg.replace("\n", " | ") + "\n")
            if "STOPPING=1" in msg:
                break
    except socket.timeout:
        pass
PY
notify_pid=$!
extra_pids="$extra_pids $notify_pid"
wait_for 5 test -S "$tmp/notify"
NOTIFY_SOCKET=$tmp/notify WATCHDOG_USEC=1000000 "$fsmond" --debug 2>"$tmp/fsmond.log" &
fsmond_pid=$!
wait_for 15 has_name org.fsmon1 || { fail "fake fsmond did not take org.fsmon1"; cat "$tmp/fsmond.log"; exit 1; }

# Everything fsmond says on the bus, for the signal checks.
busctl monitor --json=short >"$tmp/monitor.json" 2>"$tmp/monitor.log" &
monitor_pid=$!
extra_pids="$extra_pids $monitor_pid"
sleep 0.5

# ---- success, as a member, through fsmonctl (stdin not a terminal) ----
[ "$(status_value LastUpload)" = 0 ] || fail "LastUpload not 0 before any upload"
t_before=$(($(date +%s) * 1000000))
out=$(printf 'right-password\n' | as "$member" "$fsmonctl" upload 2>&1); rc=$?
[ $rc = 0 ] && [ "$out" = "Uploaded 3 segments (1.0 MiB)." ] && pass "member: fsmonctl upload succeeds: $out" ||
        fail "member: fsmonctl upload: exit $rc: $out"
last=$(status_value LastUpload)
[ "$last" -ge "$t_before" ] 2>/dev/null && [ "$(status_value LastUploadResult)" = success ] &&
        pass "LastUpload and LastUploadResult updated" || fail "LastUpload $last, result $(status_value LastUploadResult)"
out=$(as "$member" busctl get-property org.fsmon1 /org/fsmon1 org.fsmon1.Manager LastUploadResult 2>&1)
[ "$out" = 's "success"' ] && pass "LastUploadResult readable by a member" || fail "LastUploadResult: $out"

# ---- the job ends inside the hook; busctl prints the (ut) reply ----
out=$(as "$member" busctl call org.fsmon1 /org/fsmon1 org.fsmon1.Manager Upload s sync 2>&1)
[ "$out" = "ut 0 0" ] && pass "an upload that ends at once is answered: $out" || fail "sync upload: '$out'"

# ---- Busy: one upload at a time ----
as "$member" busctl call --timeout=20 org.fsmon1 /org/fsmon1 org.fsmon1.Manager Upload s right-password \
        >"$tmp/first.out" 2>&1 &
first=$!
upload_running() { [ "$(status_value UploadRunning)" = True ]; }
wait_for 10 upload_running
expect_error "a second upload while one runs: Busy" org.fsmon1.Error.Busy root Upload string:right-password
wait "$first"; rc=$?
[ $rc = 0 ] && [ "$(cat "$tmp/first.out")" = "ut 3 1048576" ] && pass "the first upload finished: $(cat "$tmp/first.out")" ||
        fail "the first upload: exit $rc: $(cat "$tmp/first.out")"

# ---- the progress bar and the hidden prompt, on a terminal (root) ----
"$python" "$src/tests/bus/pty-upload.py" "$fsmonctl" right-password >"$tmp/pty.out" 2>&1; rc=$?
if [ $rc = 0 ] && grep -q "Upload password: " "$tmp/pty.out" && grep -q '\] 100% 1.0 MiB / 1.0 MiB' "$tmp/pty.out" &&
   grep -q '\[####.*\.\.\.\.\] *[1-9][0-9]*%' "$tmp/pty.out" && grep -q "Uploaded 3 segments" "$tmp/pty.out" &&
   grep -qF $'\r\e[KUploaded 3 segments' "$tmp/pty.out" &&     # the bar erased, as fsmonctl(1) shows
   ! grep -q "<TYPED>" "$tmp/pty.out"; then
        pass "terminal: prompt without echo, a progress bar, the result"
else
        fail "terminal: exit $rc"; sed 's/\r/\\r/g; s/\x1b/\\e/g' "$tmp/pty.out" | head -20
fi

# A non-member on a terminal: fsmonctl starts pkttyagent so that polkit could
# ask for an admin password; with no session here polkit still says no, and
# fsmonctl must end with exit 4 and one message, not hang.
as "$nonmember" "$python" "$src/tests/bus/pty-upload.py" "$fsmonctl" right-password >"$tmp/pty2.out" 2>&1; rc=$?
[ $rc = 4 ] && grep -q "Not authorized to upload" "$tmp/pty2.out" && ! grep -q "<TYPED>" "$tmp/pty2.out" &&
        pass "terminal, non-member: refused with one message (exit 4)" ||
        { fail "terminal, non-member: exit $rc"; sed 's/\r/\\r/g' "$tmp/pty2.out" | head; }

# ---- host key mismatch ----
expect_error "host key mismatch" org.fsmon1.Error.HostKeyMismatch "$member" Upload string:hostkey
printf 'hostkey\n' | as "$member" "$fsmonctl" upload >/dev/null 2>&1; rc=$?
[ $rc = 8 ] && pass "fsmonctl upload: host key mismatch is exit 8" || fail "host key mismatch: exit $rc"
[ "$(status_value LastUploadResult)" = host-key-mismatch ] && pass "LastUploadResult host-key-mismatch" ||
        fail "LastUploadResult after host key mismatch: $(status_value LastUploadResult)"

# ---- wrong passwords, then the per-caller limit ----
n_wrong=0
for i in 1 2 3 4 5; do
        printf 'wrong-%s\n' "$i" | as "$member" "$fsmonctl" upload >"$tmp/wrong.out" 2>&1; rc=$?
        [ $rc = 5 ] && n_wrong=$((n_wrong + 1))
done
[ $n_wrong = 5 ] && pass "five wrong passwords: exit 5 each ($(cat "$tmp/wrong.out"))" ||
        fail "wrong passwords: $n_wrong of 5 gave exit 5"
printf 'right-password\n' | as "$member" "$fsmonctl" upload >"$tmp/limited.out" 2>&1; rc=$?
[ $rc = 6 ] && grep -q "Too many wrong passwords" "$tmp/limited.out" &&
        pass "sixth try, right password: rate limited (exit 6)" || fail "rate limit: exit $rc: $(cat "$tmp/limited.out")"
expect_error "rate limited on the bus" org.fsmon1.Error.RateLimited "$member" Upload string:right-password
expect_error "another caller is not limited" ok root Upload string:sync
expect_error "a non-member is still refused first" org.freedesktop.DBus.Error.InteractiveAuthorizationRequired \
        "$nonmember" Upload string:right-password

# ---- the signals that went out ----
kill "$monitor_pid" 2>/dev/null; wait "$monitor_pid" 2>/dev/null
if "$python" - "$tmp/monitor.json" <<'PY'
import json, sys
progress = finished = changed = 0
ok_finished = False
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("type") != "signal" or m.get("path") != "/org/fsmon1":
        continue
    member, payload = m.get("member"), m.get("payload", {}).get("data", [])
    if member == "UploadProgress":
        progress += 1
        assert payload[0] <= payload[1] == 1048576, payload
    elif member == "UploadFinished":
        finished += 1
        ok_finished |= payload[0] is True
    elif member == "PropertiesChanged" and payload and payload[0] == "org.fsmon1.Manager":
        if "LastUploadResult" in payload[1] or "LastUploadResult" in payload[2]:
            changed += 1
print(f"  {progress} UploadProgress, {finished} UploadFinished, {changed} PropertiesChanged(LastUploadResult)")
sys.exit(not (progress >= 6 and finished >= 4 and ok_finished and changed >= 3))
PY
then pass "UploadProgress, UploadFinished and PropertiesChanged were emitted"; else fail "signals missing"; fi

kill -0 "$fsmond_pid" 2>/dev/null && pass "fake fsmond alive" || fail "fake fsmond died"

# ---- sd_notify: READY, STATUS, WATCHDOG, RELOADING, STOPPING ----
expect_error "root: Reload" ok root Reload
kill -TERM "$fsmond_pid"; wait "$fsmond_pid"; rc=$?; fsmond_pid=
[ $rc = 0 ] && pass "SIGTERM: exit 0" || fail "SIGTERM: exit $rc"
wait_for 5 bash -c "! kill -0 $notify_pid 2>/dev/null"
n() { grep -c -- "$1" "$tmp/notify.log"; }
if [ "$(n READY=1)" -ge 2 ] && [ "$(n 'STATUS=running')" -ge 1 ] && [ "$(n WATCHDOG=1)" -ge 4 ] &&
   [ "$(n RELOADING=1)" = 1 ] && [ "$(n STOPPING=1)" = 1 ] && [ "$(tail -1 "$tmp/notify.log" | grep -c STOPPING=1)" = 1 ]; then
        pass "sd_notify: READY $(n READY=1), STATUS $(n STATUS=), WATCHDOG $(n WATCHDOG=1), RELOADING, STOPPING last"
else
        fail "sd_notify messages"; cat "$tmp/notify.log"
fi
echo "bus upload test: $fails failures in $(( $(date +%s) - t0 )) s"
if [ $fails -ne 0 ]; then
        echo "--- fsmond log (tail)"; tail -30 "$tmp/fsmond.log"
        exit 1
fi
exit 0
