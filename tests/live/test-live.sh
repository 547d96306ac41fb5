#!/usr/bin/env bash
# fsmond live against the real kernel and a real auditd: the workload run
# under a login uid ends up in the spool exactly as the workload says it
# acted (tests/compare-actions.py), also for descriptors opened before
# fsmond started; then kill -9 in the middle of a burst and a restart: what
# was spooled equals the events' actions, with no gap and no duplicate.
#   test-live.sh FSMOND FSMONCTL SOURCE_ROOT WORKLOAD
set -uo pipefail
fsmond=$1 fsmonctl=$2 src=$3 workload=$4

# shellcheck source=tests/live/lib.sh
. "$src/tests/live/lib.sh"
# Root, auditd, the audit lock, $dir, $auid, the config, auditd, the rules.
live_begin 3000000 "$fsmond" "$fsmonctl" || exit $?

cp "$workload" "$dir/workload" || exit 1
work=/tmp/fsmon-live-wd.$$
rm -rf "$work"; mkdir -p "$work"; cp "$dir/workload" "$work/helper-prog"
live_tmp+=("$work")

# A process that opens a file before fsmond starts and reads it after (and
# lives on a little: /proc is asked when fsmond processes the read).
mkfifo "$dir/go"
printf 'abcdefghij' >"$work/pre.txt"
(
        echo "$auid" >/proc/self/loginuid
        exec 7<"$work/pre.txt"
        read -r -n 2 _ <&7          # position 2 before fsmond starts
        read -r _ <"$dir/go"
        read -r -n 3 _ <&7
        sleep 3
) &
pre_pid=$!
sleep 0.3

live_start_fsmond "$dir" "$fsmond" || { echo "fsmond did not start"; exit 1; }
echo go >"$dir/go"

( cd / && echo "$auid" >/proc/self/loginuid && exec "$dir/workload" "$work" "$dir/expected.jsonl" ) </dev/null \
        || { echo "workload failed"; exit 1; }
wait "$pre_pid"
sleep 2.5                       # auparse completes events without EOE after 2 s
live_stop_fsmond

live_spooled "$dir" >"$dir/actual.jsonl"
echo "spooled: $(wc -l <"$dir/actual.jsonl") records"
# The spool holds pseudonyms: turn the workload's plain expectations into
# pseudonyms with the daemon's key (an independent implementation).
ps="$src/tests/live/pseudonymize.py"
python3 "$ps" "$dir/state/key" <"$dir/expected.jsonl" >"$dir/expected-pseudo.jsonl"
pwork=$(python3 "$ps" "$dir/state/key" --path "$work")
if ! python3 "$src/tests/compare-actions.py" "$dir/expected-pseudo.jsonl" "$dir/actual.jsonl" "$pwork"; then
        echo "FAIL: live actions differ from the workload's"; fail=1
fi

# The descriptor opened before fsmond: path from /proc, position 2 from fdinfo.
ppre=$(python3 "$ps" "$dir/state/key" --path "$work/pre.txt")
pre=$(jq -c --arg p "$ppre" 'select(.op=="read" and .path==$p)' "$dir/actual.jsonl" | head -n 1)
echo "pre-opened: $pre"
# (bash's "<&7" reads through a copy of fd 7 on fd 0: the same description.)
if [ -z "$pre" ] || [ "$(jq -r .offset <<<"$pre")" != 2 ]; then
        echo "FAIL: the read of the file opened before fsmond started is not at offset 2"; fail=1
fi
if grep -q '"op":"gap"' "$dir/actual.jsonl"; then
        echo "FAIL: gap records"; grep '"op":"gap"' "$dir/actual.jsonl"; fail=1
fi
if grep -q "$(basename "$work")" "$dir/actual.jsonl"; then
        echo "FAIL: a plain file name in the spool"; fail=1
fi

exit $fail
