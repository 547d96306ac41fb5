#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# mkcross.sh DEBARCH: prints the path of a Debian 12 build root of the
# host's architecture with Debian's cross toolchain for DEBARCH
# (crossbuild-essential-DEBARCH) and fsmon's build dependencies for DEBARCH
# (the :DEBARCH -dev packages), debootstrapped once and cached under
# $FSMON_TEST_CACHE like mkroot.sh's roots.
#
# Why a root of its own and not the host: on Debian 12 the cross compilers
# conflict with gcc-multilib (which tests/record-fixtures.sh needs for its
# i386 workload), and libpolkit-gobject-1-dev is not co-installable for two
# architectures, so installing the cross build dependencies on the host
# would remove the native ones.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

arch=${1:?usage: mkcross.sh DEBARCH}
cache=${FSMON_TEST_CACHE:-/var/cache/fsmon-test}
suite=bookworm
host_packages=(
        build-essential crossbuild-essential-"$arch" dpkg-dev debhelper
        meson ninja-build pkg-config systemd
)
# debian/control's Build-Depends, for the host architecture of the package.
cross_packages=(
        libdbus-1-dev libpolkit-gobject-1-dev libauparse-dev libaudit-dev
        libsodium-dev libsystemd-dev libssh-dev libinih-dev libzstd-dev
)
url=${FSMON_TEST_MIRROR:-http://deb.debian.org/debian}
key=$(printf '%s\n' cross "$arch" "$suite" "$url" "${host_packages[@]}" "${cross_packages[@]}" | sha256sum | cut -c1-12)
root=$cache/$suite-cross-$arch-$key
mkdir -p "$cache"
exec 9>"$root.lock"
flock 9
if [ -e "$root/.fsmon-root-complete" ]; then
        echo "$root"
        exit 0
fi
command -v debootstrap >/dev/null || { echo "mkcross: debootstrap missing" >&2; exit 77; }
work=$root.tmp
rm -rf "$work"
log "debootstrap $suite with the $arch cross toolchain into $root (once; later runs reuse it)" >&2
t0=$(date +%s)
dlog=$cache/debootstrap-cross-$arch.log
incl=$(IFS=,; echo "${host_packages[*]}")
debootstrap --variant=minbase --include="$incl" "$suite" "$work" "$url" >"$dlog" 2>&1 || {
        tail -n 30 "$dlog" >&2
        echo "mkcross: debootstrap failed (log: $dlog)" >&2
        exit 1
}
cross=()
for p in "${cross_packages[@]}"; do cross+=("$p:$arch"); done
if ! chroot "$work" /bin/sh -ec "
        export DEBIAN_FRONTEND=noninteractive
        dpkg --add-architecture $arch
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends ${cross[*]}
        apt-get clean" >>"$dlog" 2>&1; then
        tail -n 30 "$dlog" >&2
        echo "mkcross: installing the $arch build dependencies failed (log: $dlog)" >&2
        exit 1
fi
log "cross build root took $(($(date +%s) - t0)) s" >&2
touch "$work/.fsmon-root-complete"
mv "$work" "$root"
echo "$root"
