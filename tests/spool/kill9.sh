#!/usr/bin/env bash
# kill -9 at random moments while a writer appends to the spool, ROUNDS times
# (default 200). After each kill the spool is recovered and checked by
# spool-tool verify: every segment valid and chained, the records read back
# exactly a prefix of what was written (content included), at least
# everything reported as spooled, and every torn tail counted in a gap record.
#   kill9.sh SPOOL_TOOL [ROUNDS]
set -euo pipefail
tool=$1
rounds=${2:-200}
work=$(mktemp -d /tmp/fsmon-kill9.XXXXXX)
trap 'rm -rf "$work"' EXIT
spool=$work/spool
state=$work/state

torn=0 total=0
for ((round = 1; round <= rounds; round++)); do
        base=$((round * 10000000))
        # Small segments, so that kills also land in closing, compressing,
        # renaming and the chain file.
        "$tool" write "$spool" "$base" 5000000 $((16384 + RANDOM * 64)) >"$work/out" &
        pid=$!
        # 0-60 ms: from before the spool is open to well into the appends.
        sleep "0.0$(printf '%02d' $((RANDOM % 60)))"
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        reported=$(tail -n 1 "$work/out" | awk '{print $2}')
        [ -n "$reported" ] || reported=$base
        if ! line=$("$tool" verify "$spool" "$state" "$base" "$reported"); then
                echo "round $round: FAILED: $line"
                exit 1
        fi
        total=$((total + $(awk '{print $4}' <<<"$line")))
        torn=$((torn + $(awk '{print $12}' <<<"$line")))
done
echo "$rounds rounds, $total records verified, $torn torn records cut and counted in gap records"
