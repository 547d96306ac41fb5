#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Integration test of the audit rule lifecycle against the real kernel:
# `fsmonctl rules --load` writes the rules file, runs augenrules --load and
# checks the kernel's rule list. Root; holds /tmp/fsmon-audit.lock throughout.
#
# augenrules reads /etc/audit/rules.d and writes /etc/audit/audit.rules, paths
# fixed in the script. It runs here in a private mount namespace with a
# temporary directory bind-mounted over /etc/audit, so the machine's rules.d
# and audit.rules are never touched; the kernel's rules and settings are
# global, so they are saved first and restored exactly at the end.
#
#   test-rules-load.sh FSMONCTL
set -euo pipefail

fsmonctl=$(realpath "$1")
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root"
for t in auditctl augenrules unshare mount flock sha256sum; do
        command -v "$t" >/dev/null || skip "$t not installed"
done
augenrules_bin=$(command -v augenrules)

# shellcheck source=tests/lib/audit-lock.sh
. "$(dirname "$0")/../lib/audit-lock.sh"
# The meson timeout is 180 s; the work takes about 20 s on a busy machine.
audit_lock_take "${FSMON_AUDIT_LOCK_WAIT:-120}" 9 || fail "see above"

auditctl -s >/dev/null 2>&1 || skip "no kernel audit here"
status() { auditctl -s | awk -v k="$1" '$1 == k { print $2 }'; }
[ "$(status enabled)" != 2 ] || skip "audit config locked (-e 2) until reboot"

tmp=$(mktemp -d /tmp/fsmon-rules-test.XXXXXX)
saved_backlog=$(status backlog_limit)
saved_wait=$(status backlog_wait_time)
saved_enabled=$(status enabled)
auditctl -l >"$tmp/kernel-rules.before"
grep -e '-k fsmon$' -e 'key=fsmon$' "$tmp/kernel-rules.before" >"$tmp/fsmon-rules.before" || true
etc_sum_before=$( (cd /etc/audit && find . -type f -print0 | sort -z | xargs -0 sha256sum) )

restore() {
        local rc=$?
        set +e
        auditctl -D -k fsmon >/dev/null 2>&1
        auditctl -D -k fsmon-test-hand >/dev/null 2>&1
        # Task rules have no key: by their exact text (step 7 may leave some
        # behind when it fails).
        for r in "-a never,task -F auid<1000" "-a never,task -F auid!=unset -F auid>=2000" \
                 "-a never,task -F auid<1500" "-a never,task -F auid!=unset -F auid>=3000" \
                 "-a never,task -F auid>=2000 -F auid<3000"; do
                # shellcheck disable=SC2086
                auditctl -d ${r#-a } >/dev/null 2>&1
        done
        if [ -s "$tmp/fsmon-rules.before" ]; then
                auditctl -R "$tmp/fsmon-rules.before" >/dev/null
        fi
        auditctl -b "$saved_backlog" >/dev/null
        auditctl --backlog_wait_time "$saved_wait" >/dev/null
        auditctl -l >"$tmp/kernel-rules.after"
        if ! cmp -s "$tmp/kernel-rules.before" "$tmp/kernel-rules.after"; then
                echo "FAIL: kernel rules not restored:" >&2
                diff "$tmp/kernel-rules.before" "$tmp/kernel-rules.after" >&2
                rc=1
        fi
        if [ "$(status backlog_limit)" != "$saved_backlog" ] ||
           [ "$(status backlog_wait_time)" != "$saved_wait" ] ||
           [ "$(status enabled)" != "$saved_enabled" ]; then
                echo "FAIL: audit settings not restored" >&2
                rc=1
        fi
        rm -rf "$tmp"
        exit $rc
}
trap restore EXIT

mkdir -p "$tmp/etc-audit/rules.d" "$tmp/state"
chmod 0750 "$tmp/etc-audit/rules.d"
cat >"$tmp/augenrules" <<EOS
#!/bin/sh
# augenrules with $tmp/etc-audit as its /etc/audit, in a private mount namespace.
exec unshare --mount --propagation private /bin/sh -c \
        'mount --bind "\$0" /etc/audit && exec "$augenrules_bin" "\$@"' "$tmp/etc-audit" "\$@"
EOS
chmod 0755 "$tmp/augenrules"

conf=$tmp/fsmon.conf
rules=$tmp/etc-audit/rules.d/70-fsmon.rules
cat >"$conf" <<EOS
[paths]
rules_file = $rules
augenrules = $tmp/augenrules
state_dir = $tmp/state
[kernel]
backlog_limit = 12345
backlog_wait_time = 1234
EOS

fsmon_rules() { auditctl -l | grep -e 'key=fsmon$' -e '-k fsmon$' || true; }

echo "# 1. load: the rules reach the kernel, the settings too"
"$fsmonctl" rules --load --config "$conf" 2>"$tmp/out" || { cat "$tmp/out"; fail "load failed"; }
cat "$tmp/out"
grep -q "Loaded 4 audit rules" "$tmp/out" || fail "no success message"
fsmon_rules >"$tmp/loaded"
cat "$tmp/loaded"
[ "$(wc -l <"$tmp/loaded")" -eq 4 ] || fail "expected 4 fsmon rules in the kernel"
# What auditctl -l shows, against what the design asks (not against our text).
sed -n 1p "$tmp/loaded" | grep -q '^-a never,exit -F arch=b64 .*-F exe=/usr/sbin/fsmond' || fail "never rule for fsmond not first"
sed -n 2p "$tmp/loaded" | grep -q '^-a never,exit -F arch=b64 .*-F exe=/usr/sbin/auditd' || fail "never rule for auditd not second"
sed -n 3p "$tmp/loaded" | grep -q '^-a always,exit -F arch=b64 -S ' || fail "b64 rule"
sed -n 4p "$tmp/loaded" | grep -q '^-a always,exit -F arch=b32 -S ' || fail "b32 rule"
for sc in open openat read write pread pwrite lseek close dup2 fork clone execve exit_group getdents64; do
        sed -n 3p "$tmp/loaded" | grep -Eq "[ ,]$sc[ ,]" || fail "b64 rule lacks $sc"
done
for sc in _llseek pread64 fcntl64; do
        sed -n 4p "$tmp/loaded" | grep -Eq "[ ,]$sc[ ,]" || fail "b32 rule lacks $sc"
done
sed -n 3p "$tmp/loaded" | grep -Eq -- '-F auid!=(-1|unset) -F auid>=1000 ' || fail "auid fields"
[ "$(status backlog_limit)" = 12345 ] || fail "backlog_limit not set"
[ "$(status backlog_wait_time)" = 1234 ] || fail "backlog_wait_time not set"
[ "$(stat -c %a "$rules")" = 640 ] || fail "rules file mode"
"$fsmonctl" rules --config "$conf" | cmp -s - "$rules" || fail "rules file differs from fsmonctl rules"
"$fsmonctl" rules --check --config "$conf" 2>/dev/null || fail "--check does not see the loaded rules"

echo "# 2. reload: same rules, no duplicates, no 'rule exists'"
"$fsmonctl" rules --load --config "$conf" 2>"$tmp/out" || { cat "$tmp/out"; fail "reload failed"; }
fsmon_rules | cmp -s - "$tmp/loaded" || fail "reload changed the kernel's rules"

echo "# 3. a changed config: the kernel follows"
mkdir -p "$conf.d"
printf '[monitor]\nusers = 2000-2999\nactions = open close\n' >"$conf.d/50-users.conf"
"$fsmonctl" rules --load --config "$conf" 2>"$tmp/out" || { cat "$tmp/out"; fail "load of changed config failed"; }
fsmon_rules >"$tmp/changed"
[ "$(wc -l <"$tmp/changed")" -eq 4 ] || fail "expected 4 rules after the change"
sed -n 3p "$tmp/changed" | grep -q -- '-F auid>=2000 -F auid<=2999 ' || fail "new uid range not loaded"
! sed -n 3p "$tmp/changed" | grep -Eq '[ ,]read[ ,]' || fail "read still in the rules"
rm -f "$conf.d/50-users.conf"
"$fsmonctl" rules --load --config "$conf" 2>"$tmp/out" || { cat "$tmp/out"; fail "load back failed"; }
fsmon_rules | cmp -s - "$tmp/loaded" || fail "kernel rules not back"

# Someone else's -D -k fsmon: --check notices.
auditctl -D -k fsmon >/dev/null
if "$fsmonctl" rules --check --config "$conf" 2>"$tmp/out"; then fail "--check missed deleted rules"; fi
grep -q "0 of fsmon's 4 audit rules are in the kernel" "$tmp/out" || { cat "$tmp/out"; fail "--check message"; }
"$fsmonctl" rules --load --config "$conf" 2>/dev/null || fail "load after deletion failed"

echo "# 4. injection attempts: refused, rules file and kernel unchanged"
file_sum=$(sha256sum <"$rules")
kernel_before=$(auditctl -l)
settings_before=$(auditctl -s | grep -v -e '^backlog ' -e '^lost' -e '^backlog_wait_time_actual')
try_bad() {
        local name=$1 expect=$2
        if "$fsmonctl" rules --load --config "$conf" 2>"$tmp/out"; then
                fail "$name: accepted"
        fi
        grep -q -- "$expect" "$tmp/out" || { cat "$tmp/out"; fail "$name: message lacks '$expect'"; }
        [ "$(sha256sum <"$rules")" = "$file_sum" ] || fail "$name: rules file changed"
        [ "$(auditctl -l)" = "$kernel_before" ] || fail "$name: kernel rules changed"
        [ "$(auditctl -s | grep -v -e '^backlog ' -e '^lost' -e '^backlog_wait_time_actual')" = "$settings_before" ] ||
                fail "$name: audit settings changed"
        echo "  $name: $(cat "$tmp/out")"
}
printf '[paths]\nfsmond = /usr/sbin/fsmond\n-D\n' >"$conf.d/90-bad.conf"
try_bad "newline + -D" "90-bad.conf:3: syntax error"
printf '[paths]\nauditd = -D\n' >"$conf.d/90-bad.conf"
try_bad "-D as a path" "90-bad.conf:2: paths.auditd"
printf '[paths]\nfsmond = /usr/sbin/fsmond -e 0\n' >"$conf.d/90-bad.conf"
try_bad "-e 0 after a path" "90-bad.conf:2: paths.fsmond"
printf '[paths]\nfsmond = /usr/sbin/fsmond\000\n-e 0\n' >"$conf.d/90-bad.conf"
try_bad "NUL byte" "90-bad.conf:2: NUL byte"
{ printf '[paths]\nfsmond = '; head -c 7000 /dev/zero | tr '\0' a | sed 's/^/\//'; printf '\n'; } >"$conf.d/90-bad.conf"
try_bad "7000-byte path" "90-bad.conf:2: line longer than"
printf '[monitor]\nusers = 1000-\n  -1\n' >"$conf.d/90-bad.conf"
try_bad "negative uid on a continuation line" "90-bad.conf:3: monitor.users"
printf '[kernel]\nbacklog_wait_time = 0 -e 0\n' >"$conf.d/90-bad.conf"
try_bad "-e 0 after a number" "90-bad.conf:2: kernel.backlog_wait_time"
rm -f "$conf.d/90-bad.conf"

echo "# 5. a link planted at the rules file's name is replaced, not followed"
echo victim >"$tmp/victim"
ln -sf "$tmp/victim" "$rules"
"$fsmonctl" rules --load --config "$conf" 2>/dev/null || fail "load over a symlink failed"
[ "$(cat "$tmp/victim")" = victim ] || fail "wrote through the symlink"
[ -f "$rules" ] && [ ! -L "$rules" ] || fail "rules file is not a regular file"

echo "# 6. augenrules failing: reported with its output"
cat >"$tmp/augenrules-fail" <<'EOS'
#!/bin/sh
echo "Error sending add rule data request (No space left on device)" >&2
exit 1
EOS
chmod 0755 "$tmp/augenrules-fail"
printf '[paths]\naugenrules = %s\n' "$tmp/augenrules-fail" >"$conf.d/60-fail.conf"
if "$fsmonctl" rules --load --config "$conf" 2>"$tmp/out"; then fail "failure not reported"; fi
grep -q "augenrules-fail --load failed (exit status): Error sending add rule data" "$tmp/out" ||
        { cat "$tmp/out"; fail "augenrules output missing"; }
rm -f "$conf.d/60-fail.conf"

echo "# 7. the settings fsmon raised were saved before its first load"
[ "$(cat "$tmp/state/audit-settings.saved")" = "$(printf 'backlog_limit %s\nbacklog_wait_time %s' "$saved_backlog" "$saved_wait")" ] ||
        { cat "$tmp/state/audit-settings.saved"; fail "saved settings are not those before the first load"; }

echo "# 8. a -D in rules.d deletes rules loaded by hand: --load says which"
others=$(auditctl -l | grep -v -e 'key=fsmon$' -e '-k fsmon$' -e '^No rules' || true)
if [ -z "$others" ]; then
        printf -- '-D\n' >"$tmp/etc-audit/rules.d/10-base.rules"
        auditctl -a always,exit -F arch=b64 -S chmod -F key=fsmon-test-hand >/dev/null
        "$fsmonctl" rules --load --config "$conf" 2>"$tmp/out" || { cat "$tmp/out"; fail "load with -D failed"; }
        cat "$tmp/out"
        grep -q "augenrules --load deleted 1 audit rule that was loaded in the kernel but not in /etc/audit/rules.d (keys: fsmon-test-hand)" "$tmp/out" ||
                fail "no warning naming the lost rule"
        ! auditctl -l | grep -q fsmon-test-hand || fail "the hand-loaded rule is still there (the test is wrong)"
        rm -f "$tmp/etc-audit/rules.d/10-base.rules"
        "$fsmonctl" rules --load --config "$conf" 2>"$tmp/out" || { cat "$tmp/out"; fail "load failed"; }
        ! grep -q "deleted" "$tmp/out" || { cat "$tmp/out"; fail "warning without a lost rule"; }
else
        echo "  (skipped: the kernel holds rules of others, which a -D would delete)"
fi

echo "# 9. --unload: rules file and kernel rules gone, settings back"
auditctl -b 777 >/dev/null      # whatever happened since: the saved values win
"$fsmonctl" rules --unload --config "$conf" 2>"$tmp/out" || { cat "$tmp/out"; fail "unload failed"; }
cat "$tmp/out"
[ ! -e "$rules" ] || fail "rules file still there"
[ -z "$(fsmon_rules)" ] || { fsmon_rules; fail "fsmon's rules still in the kernel"; }
[ "$(status backlog_limit)" = "$saved_backlog" ] || fail "backlog_limit $(status backlog_limit), not $saved_backlog"
[ "$(status backlog_wait_time)" = "$saved_wait" ] || fail "backlog_wait_time not put back"
[ ! -e "$tmp/state/audit-settings.saved" ] || fail "saved settings left behind"
"$fsmonctl" rules --unload --config "$conf" 2>"$tmp/out" || { cat "$tmp/out"; fail "a second unload failed"; }
grep -q "was not there" "$tmp/out" || { cat "$tmp/out"; fail "second unload message"; }
if "$fsmonctl" rules --check --config "$conf" 2>/dev/null; then fail "--check after unload"; fi

echo "# 10. exclude_unmonitored_sessions: never,task rules when on, none when off"
task_rules() { auditctl -l | grep -e '^-a never,task' || true; }
[ -z "$(task_rules)" ] || skip "someone else's never,task rules are loaded"
printf '[monitor]\nusers = 1000-1999\n[kernel]\nexclude_unmonitored_sessions = yes\n' >"$conf.d/70-task.conf"
"$fsmonctl" rules --load --config "$conf" 2>"$tmp/out" || { cat "$tmp/out"; fail "load with task rules failed"; }
task_rules >"$tmp/task"
cat "$tmp/task"
[ "$(wc -l <"$tmp/task")" -eq 2 ] || fail "expected 2 task rules"
grep -Eq -- '^-a never,task -F auid<1000$' "$tmp/task" || fail "no task rule below the range"
grep -Eq -- '^-a never,task -F auid!=(-1|unset) -F auid>=2000$' "$tmp/task" || fail "no task rule above the range"
[ "$(wc -l < <(fsmon_rules))" -eq 4 ] || fail "the syscall rules are not all there beside the task rules"
echo "  reload: no 'rule exists', no duplicate"
"$fsmonctl" rules --load --config "$conf" 2>"$tmp/out" || { cat "$tmp/out"; fail "reload with task rules failed"; }
task_rules | cmp -s - "$tmp/task" || fail "reload changed the task rules"
echo "  two ranges: the spans between and around them, the old rules gone"
printf '[monitor]\nusers = 1500-1999 3000-\n[kernel]\nexclude_unmonitored_sessions = yes\n' >"$conf.d/70-task.conf"
"$fsmonctl" rules --load --config "$conf" 2>"$tmp/out" || { cat "$tmp/out"; fail "load with two ranges failed"; }
task_rules >"$tmp/task2"
cat "$tmp/task2"
[ "$(wc -l <"$tmp/task2")" -eq 2 ] || fail "expected 2 task rules for two ranges"
grep -Eq -- '^-a never,task -F auid<1500$' "$tmp/task2" || fail "no task rule below the ranges"
grep -Eq -- '^-a never,task -F auid>=2000 -F auid<3000$' "$tmp/task2" || fail "no task rule between the ranges"
echo "  off: none left"
rm -f "$conf.d/70-task.conf"
"$fsmonctl" rules --load --config "$conf" 2>"$tmp/out" || { cat "$tmp/out"; fail "load without task rules failed"; }
[ -z "$(task_rules)" ] || { task_rules; fail "task rules left after switching the option off"; }
! grep -q 'never,task' "$rules" || fail "task rules still in the rules file"
fsmon_rules | cmp -s - "$tmp/loaded" || fail "kernel rules not back after the task rules"
echo "  --unload with task rules: none left"
printf '[kernel]\nexclude_unmonitored_sessions = yes\n' >"$conf.d/70-task.conf"
"$fsmonctl" rules --load --config "$conf" 2>"$tmp/out" || { cat "$tmp/out"; fail "load with task rules failed"; }
[ "$(task_rules)" = "-a never,task -F auid<1000" ] || { task_rules; fail "default range: not the one task rule"; }
"$fsmonctl" rules --unload --config "$conf" 2>"$tmp/out" || { cat "$tmp/out"; fail "unload with task rules failed"; }
[ -z "$(task_rules)" ] || { task_rules; fail "task rules left after --unload"; }
rm -f "$conf.d/70-task.conf"

etc_sum_after=$( (cd /etc/audit && find . -type f -print0 | sort -z | xargs -0 sha256sum) )
[ "$etc_sum_before" = "$etc_sum_after" ] || fail "/etc/audit changed"
echo "PASS"
