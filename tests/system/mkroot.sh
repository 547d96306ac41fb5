#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# mkroot.sh [DEBARCH]: prints the path of a Debian 12 root for the system
# tests, debootstrapped once and cached under $FSMON_TEST_CACHE
# (default /var/cache/fsmon-test). The cache key is the architecture, the
# package list and the mirror; a new list gives a new root, an old one is
# reused as is. DEBARCH (default: the host's, dpkg --print-architecture) may
# be a foreign one (arm64): its second stage then runs under qemu-user-static
# through binfmt_misc (binfmt_enable in lib.sh).
#
# The root has systemd, dbus, polkitd, auditd, sudo, openssh-server, the
# libraries fsmon links against (so that "apt install ./fsmon_*.deb" needs no
# network) and linux-image-cloud-DEBARCH with its initrd (for the qemu tests).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

cache=${FSMON_TEST_CACHE:-/var/cache/fsmon-test}
host_arch=$(dpkg --print-architecture)
arch=${1:-$host_arch}
suite=bookworm
packages=(
        systemd systemd-sysv libpam-systemd dbus polkitd auditd sudo udev kmod
        openssh-server openssh-client procps iproute2 e2fsprogs jq zstd
        libauparse0 libaudit1 libsodium23 libsystemd0 libssh-4 libinih1 libzstd1
        linux-image-cloud-"$arch"
)

# The machine's Debian mirror: the first "debian" (not security) URI of the
# apt sources; only Debian's repositories are reachable from CI.
mirror() {
        local m
        m=$( { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
               grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}'
             } | grep -E '/debian/?$' | head -n1)
        echo "${m:-http://deb.debian.org/debian}"
}

url=$(mirror)
# The host's roots keep their old key (and cache) without an arch in it.
[ "$arch" = "$host_arch" ] && archkey=() || archkey=("$arch")
key=$(printf '%s\n' "${archkey[@]}" "$suite" "$url" "${packages[@]}" | sha256sum | cut -c1-12)
root=$cache/$suite-$key
[ "$arch" = "$host_arch" ] || root=$cache/$suite-$arch-$key
mkdir -p "$cache"
# One lock per root: an arm64 root is made while an amd64 one is.
exec 9>"$root.lock"
flock 9
if [ -e "$root/.fsmon-root-complete" ]; then
        echo "$root"
        exit 0
fi
command -v debootstrap >/dev/null || { echo "mkroot: debootstrap missing" >&2; exit 77; }
if [ "$arch" != "$host_arch" ]; then
        binfmt_enable "$arch" >&2 || exit 77
fi
work=$root.tmp
rm -rf "$work"
log "debootstrap $suite ($arch) from $url into $root (once; later runs reuse it)" >&2
t0=$(date +%s)
incl=$(IFS=,; echo "${packages[*]}")
dlog=$cache/debootstrap-$arch.log
debootstrap --arch="$arch" --variant=minbase --include="$incl" "$suite" "$work" "$url" >"$dlog" 2>&1 || {
        tail -n 30 "$dlog" >&2
        echo "mkroot: debootstrap failed (log: $dlog)" >&2
        exit 1
}
# No secrets, no state that a test could depend on by accident.
rm -f "$work"/etc/machine-id "$work"/var/lib/dbus/machine-id
: >"$work/etc/machine-id"
echo fsmon-test >"$work/etc/hostname"
apt_clean() { rm -rf "$work"/var/cache/apt/archives/*.deb; }
apt_clean
log "debootstrap took $(($(date +%s) - t0)) s" >&2
touch "$work/.fsmon-root-complete"
mv "$work" "$root"
echo "$root"
