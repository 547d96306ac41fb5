#!/usr/bin/env bash
# Forced kernel loss: backlog_limit 1 and backlog_wait_time 0 during a flood.
# The gap records fsmond writes must add up to the rise of the kernel's
# "lost" counter while it ran.
#   test-live-loss.sh FSMOND FSMONCTL BURST SOURCE_ROOT
set -uo pipefail
fsmond=$1 fsmonctl=$2 burst=$3 src=$4

# shellcheck source=tests/live/lib.sh
. "$src/tests/live/lib.sh"
# Root, auditd, the audit lock, $dir, $auid, the config, auditd, the rules.
live_begin 3200000 "$fsmond" "$fsmonctl" || exit $?
work=$(mktemp -d /tmp/fsmon-live-flood.XXXXXX) || exit 1
live_tmp+=("$work")

lost() { auditctl -s | awk '$1=="lost"{print $2}'; }

live_start_fsmond "$dir" "$fsmond" || { echo "fsmond did not start"; exit 1; }
sleep 1.5
l0=$(lost)
auditctl -b 1 >/dev/null
auditctl --backlog_wait_time 0 >/dev/null
( echo "$auid" >/proc/self/loginuid && exec "$burst" "$work" 40 )
auditctl -b 65536 >/dev/null
auditctl --backlog_wait_time 60000 >/dev/null
sleep 2.5
l1=$(lost)
live_stop_fsmond
l2=$(lost)
[ "$l1" = "$l2" ] || echo "note: lost moved while stopping ($l1 -> $l2)"

live_spooled "$dir" >"$dir/spooled.jsonl"
sum=$(jq -s '[.[] | select(.op=="gap" and (.reason|startswith("kernel"))) | .lost] | add // 0' "$dir/spooled.jsonl")
echo "kernel lost: $l0 -> $l2 (+$((l2 - l0))); gap records: $(grep -c '"op":"gap"' "$dir/spooled.jsonl"), adding up to $sum"
if [ $((l2 - l0)) -le 0 ]; then
        echo "FAIL: the flood lost nothing; the test proves nothing"; fail=1
elif [ "$sum" != $((l2 - l0)) ]; then
        echo "FAIL: gap records add up to $sum, the kernel lost $((l2 - l0))"; fail=1
fi
exit $fail
