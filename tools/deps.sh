#!/usr/bin/env bash
# Installs what fsmon needs to build, run and test on Debian 12 (root, no
# sudo needed; a plain Debian 12 is enough: tests/system/test-deps.sh checks
# that in a fresh debootstrapped tree). Idempotent and quick when everything
# is there already. Prints a few progress lines; apt's output goes to
# $FSMON_DEPS_LOG (default /var/tmp/fsmon-deps.log), which they name.
set -euo pipefail

packages=(
        # build (git: a clone, and meson's version from git describe)
        git meson ninja-build pkg-config gcc clang llvm libclang-rt-14-dev
        # libraries (README: "Dependencies")
        libauparse-dev libaudit-dev libsodium-dev libsystemd-dev libssh-dev
        libinih-dev libzstd-dev libcmocka-dev
        # run and test against the real thing
        dbus-daemon polkitd libdbus-1-dev libpolkit-gobject-1-dev gdb
        auditd jq zstd python3
        # tests/live/test-real-programs.sh: real programs, strace as the oracle
        strace sqlite3 git
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
        # tests/system on arm64 (vm-arm64): the VM, and arm64 binaries run here
        # for debootstrap's second stage and the tree's setup. The cross
        # compiler is not installed here (it conflicts with gcc-multilib):
        # tests/system/mkcross.sh makes a build root with it.
        qemu-system-arm qemu-user-static
        dpkg-dev debhelper lintian rpm
        # tests/test-man-pages.sh: the man pages render without warnings
        groff-base man-db
        # tests/test-completion.sh: the zsh completion parses and registers
        zsh
        # tests/report, bench/report: charts in headless Chromium, DuckDB
        # from npm (Debian's nodejs and npm)
        chromium fonts-dejavu-core nodejs npm
        # tests/verify, bench/fleet: the independent segment writer compresses
        # with python3-zstandard; the fleet test runs Dask's distributed scheduler
        python3-zstandard python3-distributed
)
if [ "${FSMON_DEPS_EXTRA:-}" ]; then
        read -r -a extra <<<"$FSMON_DEPS_EXTRA"
        packages+=("${extra[@]}")
fi

say() { echo "deps.sh: $*" >&2; }

# One dpkg-query for all: installed ones print "install ok installed NAME".
mapfile -t installed < <(dpkg-query -W -f='${Status} ${Package}\n' "${packages[@]}" 2>/dev/null |
                         awk '$1 == "install" && $3 == "installed" { print $4 }')
missing=()
for p in "${packages[@]}"; do
        printf '%s\n' "${installed[@]}" | grep -qx -- "$p" && continue
        # A nodejs from elsewhere (NodeSource) bundles npm and conflicts
        # with Debian's: the command is what the tests need.
        [ "$p" = npm ] && command -v npm >/dev/null && continue
        missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
        say "all ${#packages[@]} packages are installed"
        exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
        say "missing packages (${missing[*]}); run it as root (as root, no sudo is needed)"
        exit 1
fi
log=${FSMON_DEPS_LOG:-/var/tmp/fsmon-deps.log}
export DEBIAN_FRONTEND=noninteractive
# auditd's maintainer scripts try to start it; fsmon's scripts start it themselves.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; created_policy=1
fi
trap '[ $created_policy = 1 ] && rm -f "$policy"' EXIT
t0=$(date +%s)
say "installing ${#missing[@]} of ${#packages[@]} packages (${missing[*]}) with apt-get (a few minutes on a fresh machine; apt's output in $log)"
apt-get update >>"$log" 2>&1 || { say "apt-get update failed; see $log"; exit 1; }
apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1 ||
        { say "apt-get install failed; see $log"; exit 1; }
say "installed in $(( $(date +%s) - t0 )) s"
