#!/usr/bin/env bash
# fsmond --no-load-rules only checks that fsmon's rules are in the kernel. It
# must tell "they are not there" (with how many are) apart from "the kernel's
# list cannot be read" (EPERM without CAP_AUDIT_CONTROL, with the error).
# Reads the kernel's audit state, changes none of it: no lock needed.
#   test-no-load-rules.sh FSMOND
set -uo pipefail
fsmond=$1
[ "$(id -u)" -eq 0 ] || { echo "needs root"; exit 77; }
command -v capsh >/dev/null || { echo "needs capsh (libcap2-bin)"; exit 77; }
tmp=$(mktemp -d /tmp/fsmon-no-load-rules.XXXXXX) || exit 1
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
# shellcheck source=tests/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

mkdir -m 0700 "$tmp/state"
# users: a uid range nobody uses, so fsmon's rules for it are in no kernel.
cat >"$tmp/fsmon.conf" <<EOC
[monitor]
users = 3999000-3999001
[paths]
state_dir = $tmp/state
rules_file = $tmp/state/70-fsmon.rules
audit_log_dir = $tmp/state/audit
augenrules = /bin/false
EOC

# run LOG [PREFIX...]: fsmond until it has decided about the rules.
run() {
        local log=$1; shift
        DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/no-bus "$@" "$fsmond" --no-load-rules --config "$tmp/fsmon.conf" \
                >"$log" 2>&1 &
        pid=$!
        wait_for 15 grep -q "State: " "$log"
        kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
}

run "$tmp/missing.log"
if grep -q "audit rules are not all in the kernel: 0 of [1-9][0-9]* found" "$tmp/missing.log" &&
   grep -q "State: degraded" "$tmp/missing.log"; then
        pass "rules missing: $(grep -o "not all in the kernel.*" "$tmp/missing.log")"
else
        fail "rules missing"; cat "$tmp/missing.log"
fi

# capsh -- runs bash: -c execs the command that follows, with the capability
# gone from the bounding set (so from root's permitted set at exec).
run "$tmp/eperm.log" capsh --drop=cap_audit_control -- -c 'exec "$0" "$@"'
if grep -q "Cannot read the kernel's audit rule list.*Operation not permitted" "$tmp/eperm.log" &&
   ! grep -q "not all in the kernel" "$tmp/eperm.log" && grep -q "State: degraded" "$tmp/eperm.log"; then
        pass "list unreadable: $(grep -o "Cannot read the kernel's audit rule list.*" "$tmp/eperm.log")"
else
        fail "list unreadable (EPERM)"; cat "$tmp/eperm.log"
fi
[ "$fails" = 0 ]
