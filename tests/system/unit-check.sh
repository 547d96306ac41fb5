#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Checks the installed systemd files as meson installs them (DESTDIR):
#   - systemd-analyze verify of fsmon.service is clean,
#   - systemd-analyze security --offline=yes gives an exposure <= 3.0,
#   - systemd-tmpfiles and systemd-sysusers create /var/lib/fsmon (0700 root)
#     and the fsmon group in the staged root (root only),
#   - every program the unit runs is installed where the unit says.
#
#   unit-check.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: unit-check.sh BUILD_DIR}
max_exposure=3.0

command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze missing"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/root
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

meson install -C "$build" --no-rebuild --quiet --destdir "$stage" >"$tmp/install.log" 2>&1 \
        || { cat "$tmp/install.log"; echo "FAIL: meson install"; exit 1; }

unit=$(find "$stage" -path '*/systemd/system/fsmon.service' | head -n1)
[ -n "$unit" ] || { echo "FAIL: fsmon.service not installed"; exit 1; }
unitdir=${unit%/fsmon.service}
tmpfiles=$(find "$stage" -path '*/tmpfiles.d/fsmon.conf' | head -n1)
sysusers=$(find "$stage" -path '*/sysusers.d/fsmon.conf' | head -n1)
[ -n "$tmpfiles" ] && ok "tmpfiles.d/fsmon.conf installed" || fail "tmpfiles.d/fsmon.conf not installed"
[ -n "$sysusers" ] && ok "sysusers.d/fsmon.conf installed" || fail "sysusers.d/fsmon.conf not installed"

# Every program the unit runs must be installed by meson, with the path the
# unit names.
for cmd in $(sed -n 's/^Exec[A-Za-z]*=[-+!@:]*\([^ ]*\).*/\1/p' "$unit" | sort -u); do
        if [ -x "$stage$cmd" ]; then
                ok "$cmd installed"
        elif [ "$cmd" = /bin/kill ] && [ -x /bin/kill ]; then
                mkdir -p "$stage/bin" && cp /bin/kill "$stage/bin/kill"
        else
                # A program of this project that meson builds must be installed;
                # one that no module builds yet is reported, not failed.
                if meson introspect "$build" --targets | jq -e --arg n "$(basename "$cmd")" \
                        'any(.[]; .name == $n)' >/dev/null; then
                        fail "$cmd (from $(basename "$unit")) is built but not installed there"
                else
                        echo "note: $cmd is not built by this tree yet"
                fi
                # Stand-in so that verify can check the rest of the unit.
                mkdir -p "$stage$(dirname "$cmd")"
                printf '#!/bin/sh\n' >"$stage$cmd"
                chmod 755 "$stage$cmd"
        fi
done

# verify --root resolves every dependency inside the root: give it the
# host's units next to ours.
for d in /lib/systemd/system /usr/lib/systemd/system; do
        [ -d "$d" ] && cp -an "$d/." "$unitdir/" 2>/dev/null
done
out=$(systemd-analyze verify --man=no --root="$stage" fsmon.service 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ]; then
        ok "systemd-analyze verify: clean"
else
        echo "$out"
        fail "systemd-analyze verify: rc=$rc"
fi

out=$(systemd-analyze security --offline=yes --no-pager "$unit" 2>&1)
exposure=$(sed -n 's/.*Overall exposure level for fsmon.service: \([0-9.]*\).*/\1/p' <<<"$out")
if [ -z "$exposure" ]; then
        echo "$out"
        fail "systemd-analyze security printed no exposure"
elif awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'; then
        ok "systemd-analyze security: exposure $exposure <= $max_exposure"
else
        grep '✗' <<<"$out"
        fail "systemd-analyze security: exposure $exposure > $max_exposure"
fi

if [ "$(id -u)" -eq 0 ] && [ -n "$tmpfiles" ] && [ -n "$sysusers" ]; then
        mkdir -p "$stage/etc" "$stage/var"
        : >"$stage/etc/passwd"; : >"$stage/etc/group"
        systemd-sysusers --root="$stage" "$sysusers" || fail "systemd-sysusers"
        grep -q '^fsmon:x:[0-9]*:' "$stage/etc/group" && ok "sysusers: group fsmon" \
                || fail "sysusers: no fsmon group in $(cat "$stage/etc/group")"
        systemd-tmpfiles --root="$stage" --create "$tmpfiles" || fail "systemd-tmpfiles"
        st=$(stat -c '%a %U %G %F' "$stage/var/lib/fsmon" 2>&1)
        [ "$st" = "700 root root directory" ] && ok "tmpfiles: /var/lib/fsmon $st" \
                || fail "tmpfiles: /var/lib/fsmon is '$st', want '700 root root directory'"
else
        echo "note: tmpfiles/sysusers checks need root, not run"
fi

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all checks passed"
