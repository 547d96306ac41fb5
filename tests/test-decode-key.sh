#!/usr/bin/env bash
# fsmonctl decode --key: the same key gives the same pseudonyms, another key
# others; unsafe key files are refused with a reason.
#   test-decode-key.sh FSMONCTL LOG
set -uo pipefail
fsmonctl=$1 log=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }

head -c 32 /dev/urandom >"$dir/k1"; head -c 32 /dev/urandom >"$dir/k2"
chmod 600 "$dir/k1" "$dir/k2"
"$fsmonctl" decode --key "$dir/k1" "$log" >"$dir/a" 2>"$dir/err"; r=$?
check "decodes with a key file" "[ $r = 0 ] && [ -s $dir/a ]"
"$fsmonctl" decode --key "$dir/k1" "$log" >"$dir/b"
check "the same key gives the same output" "cmp -s $dir/a $dir/b"
"$fsmonctl" decode --key "$dir/k2" "$log" >"$dir/c"
check "another key gives other pseudonyms" "! cmp -s $dir/a $dir/c"
check "same records either way" "[ \$(wc -l <$dir/a) = \$(wc -l <$dir/c) ]"

cp "$dir/k1" "$dir/loose"; chmod 640 "$dir/loose"
"$fsmonctl" decode --key "$dir/loose" "$log" >/dev/null 2>"$dir/err"; r=$?
check "a group-readable key is refused" "[ $r = 1 ] && grep -q 'must be 0600' $dir/err"
ln -s "$dir/k1" "$dir/link"
"$fsmonctl" decode --key "$dir/link" "$log" >/dev/null 2>"$dir/err"; r=$?
check "a symlinked key is refused" "[ $r = 1 ] && grep -q 'symlink' $dir/err"
head -c 31 /dev/urandom >"$dir/short"; chmod 600 "$dir/short"
"$fsmonctl" decode --key "$dir/short" "$log" >/dev/null 2>"$dir/err"; r=$?
check "a 31-byte key is refused" "[ $r = 1 ] && grep -q 'exactly 32 bytes' $dir/err"
"$fsmonctl" decode --key "$dir" "$log" >/dev/null 2>"$dir/err"; r=$?
check "a directory is refused" "[ $r = 1 ] && grep -q 'not a regular file' $dir/err"
"$fsmonctl" decode --plain --key "$dir/k1" "$log" >/dev/null 2>&1; r=$?
check "--plain with --key is a usage error" "[ $r = 2 ]"
exit $fail
