#!/usr/bin/env bash
# The spool's disk fills up under fsmond and frees again: fsmond must say so
# (State "degraded") and come back by itself (State "running") once the spool
# can write again, with the dropped records counted in a gap record.
#   test-live-degraded.sh FSMOND FSMONCTL BURST SOURCE_ROOT
set -uo pipefail
fsmond=$1 fsmonctl=$2 burst=$3 src=$4

# shellcheck source=tests/live/lib.sh
. "$src/tests/live/lib.sh"
# Root, auditd, the audit lock, $dir, $auid, the config, auditd, the rules.
live_begin 3300000 "$fsmond" "$fsmonctl" || exit $?
work=$(mktemp -d /tmp/fsmon-live-degraded.XXXXXX) || exit 1
live_tmp+=("$work")
# The state directory (key, spool) on a small file system of its own.
mount -t tmpfs -o size=4m,mode=0700 fsmon-live-degraded "$dir/state" ||
        { echo "cannot mount a tmpfs (not allowed here?)"; exit 77; }
trap 'live_cleanup; umount "$dir/state" 2>/dev/null; rm -rf "${live_tmp[@]}"' EXIT

# shellcheck source=tests/lib/common.sh
. "$src/tests/lib/common.sh"
logged() { grep -qF "$1" "$dir/fsmond.log"; }
logged_twice() { [ "$(grep -cF "$1" "$dir/fsmond.log")" -ge 2 ]; }
burst() { ( echo "$auid" >/proc/self/loginuid && exec "$burst" "$work" "$1" ) >/dev/null; }
check() { # WHAT CONDITION...
        local what=$1; shift
        if "$@"; then echo "ok: $what (${SECONDS}s)"; else echo "FAIL: $what (${SECONDS}s)"; fail=1; fi
}

live_start_fsmond "$dir" "$fsmond" || { echo "fsmond did not start"; exit 1; }
check "running at start" wait_for 10 logged "State: running."

# Fill the file system: every write of the spool fails with ENOSPC.
dd if=/dev/zero of="$dir/state/filler" bs=64k 2>/dev/null
burst 5
check "degraded once the spool cannot write" wait_for 20 logged "State: degraded."
check "the spool said why" logged "No space left on device"

# Space comes back: the next write succeeds (retried at most once a second).
rm -f "$dir/state/filler"
recovered() { burst 1; logged "Spool recovered"; }
check "the spool recovers" wait_for 20 recovered
check "running again, by itself" wait_for 10 logged_twice "State: running."
live_stop_fsmond
# grep -c, not -q: pipefail would count zstdcat's SIGPIPE as a failure.
gap_spooled() { [ "$(live_spooled "$dir" | grep -c '"op":"gap".*"lost":[1-9].*spool write failed')" -ge 1 ]; }
check "the dropped records are in a gap record" gap_spooled
[ "$fail" = 0 ] || { echo "--- fsmond.log"; tail -n 30 "$dir/fsmond.log"; }
exit "$fail"
