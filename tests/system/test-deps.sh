#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tools/deps.sh on a plain Debian 12, as a newcomer's machine is: a fresh
# debootstrapped bookworm (minbase: stricter than a default install), as
# root, without sudo. Then, inside that tree: git commits a copy of the
# source (git must be there), meson + ninja build it (every build dependency
# must be there), node and npm run (Debian's), auditctl and the test tools
# are there, and a second tools/deps.sh has nothing left to do. Fails when a
# step is missing.
#
# The pristine tree is debootstrapped once and cached under
# $FSMON_TEST_CACHE (default /var/cache/fsmon-test), keyed by the mirror, as
# mkroot.sh does; every run works on a copy. apt's downloads are kept in
# the cache too (deps-archives/), so that only the first run downloads the
# ~1 GB of packages. Root; skips (77) without debootstrap or chroot rights.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
for t in debootstrap unshare chroot; do
        command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done

cache=${FSMON_TEST_CACHE:-/var/cache/fsmon-test}
suite=bookworm
url=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$url" ] || url=$(awk '/^deb / && $2 ~ /debian\/?$/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
url=${url:-http://deb.debian.org/debian}
key=$(printf '%s\n' "$suite" "$url" minbase | sha256sum | cut -c1-12)
pristine=$cache/plain-$suite-$key
archives=$cache/deps-archives
mkdir -p "$cache" "$archives/partial"

t_start=$(date +%s)
exec 8>"$cache/.plain.lock"
flock -w 900 8 || fail "$cache/.plain.lock busy for 15 minutes"
if [ ! -e "$pristine/.fsmon-root-complete" ]; then
        log "debootstrap --variant=minbase $suite from $url (once; later runs reuse it)"
        rm -rf "$pristine.tmp"
        debootstrap --variant=minbase "$suite" "$pristine.tmp" "$url" >"$cache/debootstrap-plain.log" 2>&1 || {
                tail -n 30 "$cache/debootstrap-plain.log" >&2
                fail "debootstrap (log: $cache/debootstrap-plain.log)"
        }
        rm -rf "$pristine.tmp"/var/cache/apt/archives/*.deb
        touch "$pristine.tmp/.fsmon-root-complete"
        mv "$pristine.tmp" "$pristine"
        log "debootstrap took $(( $(date +%s) - t_start )) s"
fi
flock -u 8

work=$(mktemp -d /var/tmp/fsmon-deps-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
t0=$(date +%s)
cp -a "$pristine/." "$work/root"
root=$work/root
[ ! -e "$root/usr/bin/sudo" ] || fail "the plain tree has sudo (not a plain minbase?)"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
# dpkg without fsync: the same packages, steps and scripts, minutes faster
# (unpacking ~1000 packages dominates, not the download).
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/fsmon-test-unsafe-io"
mkdir -p "$root/src"
FSMON_SRC=$FSMON_SRC copy_source "$root/src"
rm -rf "$root/src/build"
log "copied the tree in $(( $(date +%s) - t0 )) s"

# Everything below runs in a private mount namespace: the mounts go away with
# it, whatever happens.
inner=$work/inner.sh
cat >"$inner" <<'EOS'
set -euo pipefail
root=$1 archives=$2
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t tmpfs tmpfs "$root/tmp"
mount --bind "$archives" "$root/var/cache/apt/archives"
step() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "$@"; }

t=$(date +%s)
step "tools/deps.sh as root, no sudo (apt's output: /var/tmp/fsmon-deps.log in the tree)"
in_root bash /src/tools/deps.sh || { tail -40 "$root/var/tmp/fsmon-deps.log"; exit 1; }
step "deps.sh took $(( $(date +%s) - t )) s"

in_root bash /src/tools/deps.sh 2>&1 | tee "$root/tmp/second"
grep -q "all .* packages are installed" "$root/tmp/second" || { echo "FAIL: a second deps.sh has work left"; exit 1; }

step "git: a commit of the copied tree, as from a clone"
in_root sh -c 'cd /src && git init -q && git add -A && git -c user.name=t -c user.email=t@example.org commit -qm snapshot && git log --oneline | head -1'

t=$(date +%s)
step "meson setup + ninja (warnings as errors)"
in_root sh -c 'cd /src && meson setup build -Dwerror=true >/tmp/setup.log 2>&1 || { tail -30 /tmp/setup.log; exit 1; }
                ninja -C build >/tmp/build.log 2>&1 || { tail -30 /tmp/build.log; exit 1; }'
step "build took $(( $(date +%s) - t )) s"
in_root /src/build/daemon/fsmonctl/fsmonctl --version
in_root /src/build/daemon/fsmond/fsmond --version

step "the tools the tests use"
for c in git node npm auditctl augenrules auditd jq zstd python3 sshd dbus-daemon chromium debootstrap systemd-nspawn qemu-system-x86_64 rpmbuild lintian man; do
        in_root sh -c "command -v $c >/dev/null" || { echo "FAIL: $c missing after deps.sh"; exit 1; }
done
in_root node -e 'process.exit(0)'
in_root npm --version
in_root bash -o pipefail -c 'cd /src && meson test -C build --num-processes 2 completion action-text config man-pages | tail -8'
EOS
t0=$(date +%s)
unshare --mount --propagation private bash "$inner" "$root" "$archives" || fail "see above"
log "inside the tree: $(( $(date +%s) - t0 )) s; the whole test: $(( $(date +%s) - t_start )) s"
echo PASS
