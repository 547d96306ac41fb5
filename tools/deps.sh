#!/usr/bin/env bash
# Installs what fsmon needs to build, run and test on Debian 12 (root).
# Idempotent and quick when everything is there already.
set -euo pipefail

packages=(
        # build
        meson ninja-build pkg-config gcc clang llvm libclang-rt-14-dev
        # libraries (README: "Dependencies")
        libauparse-dev libaudit-dev libsodium-dev libsystemd-dev libssh-dev
        libinih-dev libzstd-dev libcmocka-dev
        # run and test against the real thing
        dbus-daemon polkitd libdbus-1-dev libpolkit-gobject-1-dev gdb
        auditd jq zstd python3
        # tests/upload and bench/upload start their own sshd
        openssh-server openssh-client
        # tests/record-fixtures.sh builds its workload for i386 too
        gcc-multilib
        # bench/decode: GNU time for peak RSS, laurel as the peer
        time laurel
        # bench/live: perf for the profile of fsmond
        linux-perf
        # tests/system: packages, systemd-nspawn and qemu (README "Packages and system test")
        systemd systemd-container debootstrap qemu-system-x86 qemu-utils
        dpkg-dev debhelper lintian rpm
        # tests/test-man-pages.sh: the man pages render without warnings
        groff-base man-db
        # tests/report, bench/report: charts in headless Chromium, DuckDB from npm
        chromium fonts-dejavu-core
        # tests/verify, bench/fleet: the independent segment writer compresses
        # with python3-zstandard; the fleet test runs Dask's distributed scheduler
        python3-zstandard python3-distributed
)
if [ "${FSMON_DEPS_EXTRA:-}" ]; then
        read -r -a extra <<<"$FSMON_DEPS_EXTRA"
        packages+=("${extra[@]}")
fi

missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
        echo "deps.sh: missing packages (${missing[*]}); run as root to install them" >&2
        exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# auditd's maintainer scripts try to start it; fsmon's scripts start it themselves.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; created_policy=1
fi
trap '[ $created_policy = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
