#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# mkroot.sh: prints the path of a Debian 12 root for the system tests,
# debootstrapped once and cached under $FSMON_TEST_CACHE
# (default /var/cache/fsmon-test). The cache key is the package list and the
# mirror; a new list gives a new root, an old one is reused as is.
#
# The root has systemd, dbus, polkitd, auditd, sudo, openssh-server, the
# libraries fsmon links against (so that "apt install ./fsmon_*.deb" needs no
# network) and linux-image-cloud-amd64 with its initrd (for the qemu test).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

cache=${FSMON_TEST_CACHE:-/var/cache/fsmon-test}
suite=bookworm
packages=(
        systemd systemd-sysv libpam-systemd dbus polkitd auditd sudo udev kmod
        openssh-server openssh-client procps iproute2 e2fsprogs jq zstd
        libauparse0 libaudit1 libsodium23 libsystemd0 libssh-4 libinih1 libzstd1
        linux-image-cloud-amd64
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
key=$(printf '%s\n' "$suite" "$url" "${packages[@]}" | sha256sum | cut -c1-12)
root=$cache/$suite-$key
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -e "$root/.fsmon-root-complete" ]; then
        echo "$root"
        exit 0
fi
command -v debootstrap >/dev/null || { echo "mkroot: debootstrap missing" >&2; exit 77; }
work=$root.tmp
rm -rf "$work"
log "debootstrap $suite from $url into $root (once; later runs reuse it)" >&2
t0=$(date +%s)
incl=$(IFS=,; echo "${packages[*]}")
debootstrap --variant=minbase --include="$incl" "$suite" "$work" "$url" >"$cache/debootstrap.log" 2>&1 || {
        tail -n 30 "$cache/debootstrap.log" >&2
        echo "mkroot: debootstrap failed (log: $cache/debootstrap.log)" >&2
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
