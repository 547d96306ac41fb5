#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# org.fsmon1 on a real bus with real polkit (suite "integration", root):
# a private dbus-daemon with a system-bus config and fsmon's bus policy, the
# distro's polkitd on it with fsmon's actions and rules, fsmond, and
# unprivileged test users (one in group "fsmon", one not, one whose polkit
# answer is slowed down).
#
#   test-bus.sh FSMOND FSMONCTL SRCDIR
#   FSMON_BUS_FUZZ_SECONDS   length of the fuzz campaign (default 60)
#
# Setup and cleanup: lib.sh.
set -uo pipefail

fsmond=$1 fsmonctl=$2 src=$3
fuzz_seconds=${FSMON_BUS_FUZZ_SECONDS:-60}
# A sanitizer build is several times slower: half the campaign keeps the test
# under three minutes there.
if [ -z "${FSMON_BUS_FUZZ_SECONDS:-}" ] && [[ $(ldd "$fsmond" 2>/dev/null) == *libasan* ]]; then
        fuzz_seconds=30
fi
# shellcheck source=tests/bus/lib.sh
. "$src/tests/bus/lib.sh"

t0=$(date +%s)

# ---- fsmond first, with no bus at all: it must keep running and connect
# once the bus appears ----
"$fsmond" --debug --no-load-rules --config "$tmp/fsmon.conf" 2>"$tmp/fsmond.log" &
fsmond_pid=$!
wait_for 10 grep -q "Cannot connect to the system bus, retrying" "$tmp/fsmond.log" &&
        kill -0 "$fsmond_pid" 2>/dev/null && pass "fsmond runs without a bus" || fail "fsmond died without a bus"

start_dbus || { fail "dbus-daemon did not start"; cat "$tmp/dbus.log"; exit 1; }
start_polkit || { fail "polkitd did not start"; cat "$tmp/polkitd.log"; exit 1; }
if wait_for 15 has_name org.fsmon1; then pass "fsmond connected once the bus appeared"; else
        fail "fsmond did not take org.fsmon1"; cat "$tmp/fsmond.log"; exit 1; fi

# ---- the contract's busctl commands, as written ----
# Without audit rules (never loaded here) fsmond is "degraded"; where the
# kernel has fsmon's rules it is "running". Either is a real answer.
pw="fsmon-test-pw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
state=$(status_value State)
case $state in running|degraded) pass "fsmond state: $state" ;; *) fail "fsmond state: '$state'" ;; esac
out=$(as "$nonmember" busctl get-property org.fsmon1 /org/fsmon1 org.fsmon1.Manager State 2>&1)
[ "$out" = "s \"$state\"" ] && pass "busctl get-property State as a non-member: $out" ||
        fail "busctl get-property State: '$out'"
out=$(as "$member" busctl call org.fsmon1 /org/fsmon1 org.fsmon1.Manager Upload s "$pw" 2>&1)
case $out in
*"not configured"*|*"cannot upload"*|*"No upload is configured"*) pass "busctl call Upload as a member reaches the uploader: $out" ;;
*) fail "busctl call Upload as a member: '$out'" ;;
esac

# ---- who may do what ----
expect_error "member: GetStatus" ok "$member" GetStatus
expect_error "member: Upload" org.fsmon1.Error.NotConfigured "$member" Upload string:"$pw"
expect_error "member: Reload refused" org.freedesktop.DBus.Error.InteractiveAuthorizationRequired "$member" Reload
expect_error "non-member: GetStatus" ok "$nonmember" GetStatus
expect_error "non-member: Upload refused" org.freedesktop.DBus.Error.InteractiveAuthorizationRequired \
        "$nonmember" Upload string:"$pw"
expect_error "non-member: Reload refused" org.freedesktop.DBus.Error.InteractiveAuthorizationRequired "$nonmember" Reload
expect_error "root: Upload" org.fsmon1.Error.NotConfigured root Upload string:"$pw"
expect_error "Upload with an empty password: invalid" org.freedesktop.DBus.Error.InvalidArgs "$member" Upload string:""
expect_error "Upload with a wrong signature" org.freedesktop.DBus.Error.InvalidArgs "$member" Upload uint32:7

# With the interactive flag (busctl sets it) and no agent: plain AccessDenied.
out=$(as "$nonmember" busctl call org.fsmon1 /org/fsmon1 org.fsmon1.Manager Upload s "$pw" 2>&1)
[ "$out" = "Call failed: Access denied" ] && pass "non-member: interactive Upload refused ($out)" ||
        fail "non-member: interactive Upload: '$out'"

reloads=$(status_value Reloads)
expect_error "root: Reload" ok root Reload
[ "$(status_value Reloads)" = $((reloads + 1)) ] && pass "root's Reload ran" || fail "root's Reload did not run"
kill -HUP "$fsmond_pid"
wait_for 5 test "$(status_value Reloads)" = $((reloads + 2)) && pass "SIGHUP reloads" || fail "SIGHUP did not reload"

# ---- fsmonctl ----
as "$member" "$fsmonctl" status >"$tmp/status.txt" 2>&1 && grep -q "^ *State: $state\$" "$tmp/status.txt" &&
        pass "fsmonctl status as a member" || { fail "fsmonctl status"; cat "$tmp/status.txt"; }
as "$nonmember" "$fsmonctl" status --json >"$tmp/status.json" 2>&1 &&
        "$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["State"] in ("running","degraded") and d["SpoolSegments"]==0 and d["RulesLoaded"] in (True,False)' "$tmp/status.json" &&
        pass "fsmonctl status --json as a non-member" || { fail "fsmonctl status --json"; cat "$tmp/status.json"; }
printf '%s\n' "$pw" | as "$member" "$fsmonctl" upload >"$tmp/upload.out" 2>&1; rc=$?
# It names the file this fsmond read (--config), not the default one.
[ $rc = 7 ] && grep -q "not configured" "$tmp/upload.out" && grep -qF "[upload] in $tmp/fsmon.conf" "$tmp/upload.out" &&
        ! grep -q /etc/fsmon "$tmp/upload.out" &&
        pass "fsmonctl upload as a member: exit 7, not configured in $tmp/fsmon.conf" ||
        { fail "fsmonctl upload as a member: exit $rc"; cat "$tmp/upload.out"; }
printf '%s\n' "$pw" | as "$nonmember" "$fsmonctl" upload >"$tmp/upload.out" 2>&1; rc=$?
[ $rc = 4 ] && [ "$(wc -l <"$tmp/upload.out")" = 1 ] && pass "fsmonctl upload as a non-member: exit 4, one message" ||
        { fail "fsmonctl upload as a non-member: exit $rc"; cat "$tmp/upload.out"; }
as "$member" "$fsmonctl" upload "$pw" </dev/null >/dev/null 2>&1; rc=$?
[ $rc = 2 ] && pass "fsmonctl upload refuses a password argument (exit 2)" || fail "fsmonctl upload PASSWORD: exit $rc"
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/nothing "$fsmonctl" status >/dev/null 2>&1; rc=$?
[ $rc = 3 ] && pass "fsmonctl status without a bus: exit 3" || fail "fsmonctl status without a bus: exit $rc"

# ---- the introspection XML we ship says what fsmond serves ----
busctl introspect --xml-interface org.fsmon1 /org/fsmon1 >"$tmp/introspect.xml" 2>&1
if "$python" - "$src/dbus/org.fsmon1.Manager.xml" "$tmp/introspect.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
def members(path):
    root = ET.parse(path).getroot()
    iface = [i for i in root.iter("interface") if i.get("name") == "org.fsmon1.Manager"][0]
    out = set()
    for e in iface:
        if e.tag == "property":
            out.add(("property", e.get("name"), e.get("type"), e.get("access")))
        elif e.tag in ("method", "signal"):
            args = tuple((a.get("name"), a.get("type"), a.get("direction", "out" if e.tag == "signal" else "in"))
                         for a in e.findall("arg"))
            out.add((e.tag, e.get("name"), args))
    return out
shipped, served = members(sys.argv[1]), members(sys.argv[2])
for m in sorted(shipped ^ served, key=str):
    print("  differs:", m, "shipped" if m in shipped else "served")
sys.exit(shipped != served)
EOF
then pass "dbus/org.fsmon1.Manager.xml matches the served interface"; else fail "introspection XML differs"; fi

# ---- a caller that leaves while polkit decides changes nothing ----
reloads=$(status_value Reloads)
t=$(date +%s%N)
as "$slow" busctl call --timeout=20 org.fsmon1 /org/fsmon1 org.fsmon1.Manager Reload >/dev/null 2>&1; rc=$?
t=$((($(date +%s%N) - t) / 1000000))
[ $rc = 0 ] && [ "$(status_value Reloads)" = $((reloads + 1)) ] && [ $t -ge 2500 ] &&
        pass "control: the slow user's Reload runs after polkit's delay (${t} ms)" ||
        fail "control: slow user's Reload: rc $rc after ${t} ms"
# setpriv execs busctl: $! is the caller itself (a function would fork a shell).
setpriv --reuid="$slow" --regid="$(id -g "$slow")" --init-groups -- \
        busctl call --timeout=20 org.fsmon1 /org/fsmon1 org.fsmon1.Manager Reload >/dev/null 2>&1 &
caller=$!
sleep 1
kill -9 "$caller"; wait "$caller" 2>/dev/null
sleep 4     # not a wait for a condition: nothing must happen when polkit says yes after 3 s
[ "$(status_value Reloads)" = $((reloads + 1)) ] && pass "killed caller: its Reload did not run" ||
        fail "killed caller: its Reload ran"
[ "$(grep -c "Reload requested by uid $slow_uid\." "$tmp/fsmond.log")" = 1 ] ||
        fail "killed caller: fsmond logged a second reload for uid $slow_uid"
grep -q "left while polkit decided about org.fsmon1.manage" "$tmp/fsmond.log" ||
        fail "killed caller: fsmond did not notice the caller leaving"
setpriv --reuid="$slow" --regid="$(id -g "$slow")" --init-groups -- \
        "$fsmonctl" upload >/dev/null 2>&1 < <(printf '%s\n' "$pw") &
caller=$!
sleep 1
kill -9 "$caller"; wait "$caller" 2>/dev/null
sleep 4
[ "$(status_value UploadRunning)" = False ] && [ "$(status_value LastUpload)" = 0 ] &&
        ! grep -q "Upload started" "$tmp/fsmond.log" &&
        grep -q "left while polkit decided about org.fsmon1.upload" "$tmp/fsmond.log" &&
        pass "killed caller: Upload dropped, no upload started" ||
        fail "killed caller: upload state changed"

# ---- fuzz: random calls from unprivileged users ----
# The state a call could change; the counters follow the kernel's events
# (other tests on this machine may load fsmon's rules meanwhile).
before=$(busctl --timeout=5 --json=short call org.fsmon1 /org/fsmon1 org.fsmon1.Manager GetStatus |
        "$python" -c 'import json,sys; d=json.load(sys.stdin)["data"][0]; print(json.dumps({k: d[k] for k in ("State", "RulesLoaded", "Reloads", "LastUpload", "LastUploadResult", "UploadRunning", "ConfigFile", "Version")}, sort_keys=True))')
fuzz_half=$(( (fuzz_seconds + 1) / 2 ))
as "$nonmember" "$python" "$src/tests/bus/bus-fuzz.py" "$fuzz_half" 3 >"$tmp/fuzz1.log" 2>&1; rc1=$?
as "$member" "$python" "$src/tests/bus/bus-fuzz.py" "$fuzz_half" 3 >"$tmp/fuzz2.log" 2>&1; rc2=$?
cat "$tmp/fuzz1.log" "$tmp/fuzz2.log"
after=$(busctl --timeout=5 --json=short call org.fsmon1 /org/fsmon1 org.fsmon1.Manager GetStatus |
        "$python" -c 'import json,sys; d=json.load(sys.stdin)["data"][0]; print(json.dumps({k: d[k] for k in ("State", "RulesLoaded", "Reloads", "LastUpload", "LastUploadResult", "UploadRunning", "ConfigFile", "Version")}, sort_keys=True))')
kill -0 "$fsmond_pid" 2>/dev/null && pass "fuzz: fsmond alive" || fail "fuzz: fsmond died"
[ $rc1 = 0 ] && [ $rc2 = 0 ] && pass "fuzz: every call answered" || fail "fuzz: calls hung or busctl crashed"
[ -n "$before" ] && [ "$before" = "$after" ] && pass "fuzz: no state change" ||
        fail "fuzz: state changed: $before -> $after"

# ---- the password appears nowhere ----
# Not under AddressSanitizer: its shadow memory makes a core of many GB (one
# filled the disk). The size limit guards against any other surprise.
if [ -n "${FSMON_SANITIZED:-}" ] || [[ $(ldd "$fsmond" 2>/dev/null) == *libasan* ]]; then
        pass "core dump check skipped under sanitizers (the plain build runs it)"
elif (ulimit -f 2097152; gcore -o "$tmp/core" "$fsmond_pid") >"$tmp/gcore.log" 2>&1 && [ -s "$tmp/core.$fsmond_pid" ]; then
        grep -aq "org.fsmon1.Manager" "$tmp/core.$fsmond_pid" || fail "core dump: grep cannot see known strings"
        n=$(grep -ac -- "$pw" "$tmp/core.$fsmond_pid")
        [ "$n" = 0 ] && pass "password not in a core dump of fsmond" || fail "password found $n times in fsmond's core"
        rm -f "$tmp/core.$fsmond_pid"
else
        fail "gcore failed"; cat "$tmp/gcore.log"
fi
grep -aq -- "$pw" "$tmp/fsmond.log" && fail "password in fsmond's log" || pass "password not in fsmond's log"
grep -raq -- "$pw" "$tmp/state" && fail "password in the state dir" || pass "password not in the state dir"

# ---- polkit gone: denied; root still allowed; properties still readable ----
stop_pid "$polkit_pid"; polkit_pid=
expect_error "no polkitd: member Upload denied" org.freedesktop.DBus.Error.AccessDenied "$member" Upload string:"$pw"
expect_error "no polkitd: GetStatus denied" org.freedesktop.DBus.Error.AccessDenied "$member" GetStatus
expect_error "no polkitd: root Upload" org.fsmon1.Error.NotConfigured root Upload string:"$pw"
out=$(as "$member" busctl get-property org.fsmon1 /org/fsmon1 org.fsmon1.Manager State 2>&1)
[ "$out" = "s \"$state\"" ] && pass "no polkitd: properties readable" || fail "no polkitd: get-property: '$out'"

# ---- the bus goes away and comes back ----
stop_pid "$dbus_pid"; dbus_pid=
rm -f "$socket"
wait_for 10 grep -q "Lost the connection to the system bus" "$tmp/fsmond.log" &&
        kill -0 "$fsmond_pid" 2>/dev/null && pass "bus gone: fsmond keeps running" || fail "bus gone: fsmond died"
start_dbus || fail "dbus-daemon did not restart"
wait_for 20 has_name org.fsmon1 && pass "bus back: fsmond reconnected" || fail "bus back: fsmond did not reconnect"
start_polkit || fail "polkitd did not restart"
expect_error "after reconnecting: member GetStatus" ok "$member" GetStatus

# ---- SIGTERM: clean stop ----
kill -TERM "$fsmond_pid"
for _ in $(seq 50); do kill -0 "$fsmond_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$fsmond_pid" 2>/dev/null; then fail "SIGTERM: fsmond still running"; else
        wait "$fsmond_pid"; rc=$?
        [ $rc = 0 ] && pass "SIGTERM: fsmond exited 0" || fail "SIGTERM: exit code $rc"
        fsmond_pid=
fi
grep -aq -- "$pw" "$tmp/fsmond.log" && fail "password in fsmond's log"
grep -q "State: stopping" "$tmp/fsmond.log" || fail "no stopping state logged"

echo "bus test: $fails failures in $(( $(date +%s) - t0 )) s"
if [ $fails -ne 0 ]; then
        echo "--- fsmond log (tail)"; tail -40 "$tmp/fsmond.log"
        exit 1
fi
exit 0
