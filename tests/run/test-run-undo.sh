#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tools/run.sh as a newcomer runs it, then tools/run.sh --undo, against the
# real kernel audit and auditd (root; holds /tmp/fsmon-audit.lock):
# - the view shows the demo workload's reads (checked against what the
#   demo does: cat /etc/os-release reads that file from offset 0, with the
#   file's size in bytes), and the summary and next steps come;
# - neither the auditd nor the fsmond it starts holds the audit lock or a
#   pipe of its starter (/proc/PID/fd);
# - after --undo: auditctl -l, the auditctl -s settings, /etc/audit (rules.d
#   and audit.rules) and /var/lib/fsmon are as before.
#
#   test-run-undo.sh SOURCE_ROOT BUILD_DIR
set -euo pipefail
src=$(realpath "$1")
build=$(realpath "$2")
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root"
for t in auditd auditctl augenrules jq; do command -v $t >/dev/null || skip "$t not installed"; done
# shellcheck source=tests/lib/audit-lock.sh
. "$src/tests/lib/audit-lock.sh"
# meson timeout 300 s; the run and the undo take about 40 s.
audit_lock_take "${FSMON_AUDIT_LOCK_WAIT:-200}" 9 || fail "see above"
[ "$(auditctl -s | awk '$1 == "enabled" { print $2 }')" != 2 ] || skip "audit config locked (-e 2)"
[ ! -e /var/tmp/fsmon-run ] || skip "a tools/run.sh of someone else is not undone (/var/tmp/fsmon-run)"
[ ! -e /var/lib/fsmon ] || skip "/var/lib/fsmon exists (an installed fsmon?)"
[ ! -e /etc/audit/rules.d/70-fsmon.rules ] || skip "fsmon's rules are installed here"

tmp=$(mktemp -d /tmp/fsmon-run-test.XXXXXX)
settings() { auditctl -s | grep -E '^(enabled|failure|rate_limit|backlog_limit|backlog_wait_time) '; }
etc_sums() { (cd /etc/audit && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
settings >"$tmp/settings.before"
auditctl -l >"$tmp/rules.before"
etc_sums >"$tmp/etc.before"
auditd_before=$(pgrep -xo auditd || true)

run_pid= pipe_pid=
cleanup() {
        local rc=$?
        set +e
        [ -n "$pipe_pid" ] && kill "$pipe_pid" 2>/dev/null
        [ -n "$run_pid" ] && kill -TERM "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null
        # If the test failed before its undo, the undo still runs.
        [ -d /var/tmp/fsmon-run ] && bash "$src/tools/run.sh" --undo >/dev/null 2>&1
        rm -rf "$tmp"
        exit $rc
}
trap cleanup EXIT

echo "# 1. tools/run.sh (deps and build skipped: the test's build is used)"
# run.sh gets what a caller may have open: the audit lock (fd 9) and a pipe
# (fd 8); the daemons it starts must get neither.
# (The pipe's writer must not hold the test's stdout: meson waits for it.)
exec 8< <(exec sleep 600 2>/dev/null)
pipe_pid=$!
FSMON_BUILD_DIR=$build setsid bash "$src/tools/run.sh" --no-deps --no-build >"$tmp/out" 2>&1 &
run_pid=$!
for _ in $(seq 300); do
        grep -q "^   undo: .*run.sh --undo" "$tmp/out" && break
        kill -0 "$run_pid" 2>/dev/null || { cat "$tmp/out"; fail "run.sh ended early"; }
        sleep 0.1
done
cat "$tmp/out"
grep -q "^   undo: .*run.sh --undo" "$tmp/out" || fail "no summary after 30 s"

# What the demo did, from the file itself: cat reads /etc/os-release from 0;
# its first read returns the whole (small) file.
size=$(stat -Lc %s /etc/os-release)
grep -Eq "^[0-9:.]+ cat\[[0-9]+\] +read +/etc/os-release +$size B at 0$" "$tmp/out" ||
        fail "no line for cat reading /etc/os-release ($size B at 0)"
grep -Eq "^[0-9:.]+ ls\[[0-9]+\] +opendir +/usr/share/doc " "$tmp/out" || fail "no line for ls opening /usr/share/doc"
grep -Eq "recorded so far: [1-9][0-9]* actions on [1-9][0-9]* files" "$tmp/out" || fail "summary without figures"
grep -q "fsmonctl report" "$tmp/out" || fail "next steps lack fsmonctl report"
grep -q "fsmonctl status" "$tmp/out" || fail "next steps lack fsmonctl status"
# No JSON in the person's view.
! grep -q '^{"op"' "$tmp/out" || fail "JSON records in the text view"

echo "# 2. started daemons inherit neither the audit lock nor our pipes"
fsmond_pid=$(cat /var/tmp/fsmon-run/fsmond.pid)
fd_check "$fsmond_pid" fsmond || fail "fsmond's descriptors"
if [ -z "$auditd_before" ]; then
        auditd_pid=$(cat /var/tmp/fsmon-run/before/auditd.started)
        fd_check "$auditd_pid" auditd || fail "auditd's descriptors"
fi
ls -l "/proc/$fsmond_pid/fd" | sed 1d | awk '{ print "  fsmond fd", $9, $10, $11 }'

exec 8<&-
kill "$pipe_pid" 2>/dev/null || true
pipe_pid=

echo "# 3. stop: a summary again"
kill -TERM "$run_pid"
wait "$run_pid" || fail "run.sh exit status $?"
run_pid=
tail -4 "$tmp/out"
grep -q "fsmond stopped" "$tmp/out" || fail "no summary on stop"

echo "# 4. tools/run.sh --undo"
FSMON_BUILD_DIR=$build bash "$src/tools/run.sh" --undo 9>&- | tee "$tmp/undo" || fail "undo failed"
settings >"$tmp/settings.after"
auditctl -l >"$tmp/rules.after"
etc_sums >"$tmp/etc.after"
diff "$tmp/settings.before" "$tmp/settings.after" || fail "auditctl -s settings differ"
diff "$tmp/rules.before" "$tmp/rules.after" || fail "auditctl -l differs"
diff "$tmp/etc.before" "$tmp/etc.after" || fail "/etc/audit differs"
[ ! -e /var/lib/fsmon ] || fail "/var/lib/fsmon left behind"
[ ! -e /var/tmp/fsmon-run ] || fail "/var/tmp/fsmon-run left behind"
if [ -z "$auditd_before" ]; then
        ! pgrep -x auditd >/dev/null || fail "auditd still runs"
else
        [ "$(pgrep -xo auditd)" = "$auditd_before" ] || fail "the auditd that ran before is gone"
fi
[ ! -d "/proc/$fsmond_pid" ] || fail "fsmond (PID $fsmond_pid) still runs"
echo "PASS"
