# SPDX-License-Identifier: GPL-2.0-or-later
# Shared helpers of the system suite (sourced).

# The project's source root: tests/system/../..
FSMON_SRC=${FSMON_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

log() { printf '[%s] %s\n' "$(date +%T)" "$*"; }

# copy_source DEST: the working tree without build output and ignored files
# (what git would see), so that packages are built from a clean copy and the
# shared tree gets no debian/fsmon, obj-* or ../*.deb.
copy_source() {
        local dest=$1
        mkdir -p "$dest"
        if git -C "$FSMON_SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
                (cd "$FSMON_SRC" && git ls-files -z --cached --others --exclude-standard |
                        xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
                        tar --null -T - -cf -) | tar -C "$dest" -xf -
        else
                tar -C "$FSMON_SRC" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$dest" -xf -
        fi
}

# project_version: from meson.build
project_version() {
        sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$FSMON_SRC/meson.build" | head -n1
}

# build_deb OUTDIR [DEBARCH]: builds fsmon_*.deb from a copy of the tree;
# prints its path. For a foreign DEBARCH, cross-built with
# dpkg-buildpackage -aDEBARCH in the cached build root of mkcross.sh
# (Debian's crossbuild-essential-DEBARCH and the :DEBARCH -dev packages;
# not on the host, where they would replace native build dependencies).
build_deb() {
        local out=$1 arch=${2:-} work broot
        work=$(mktemp -d "$out/debbuild.XXXXXX")
        copy_source "$work/fsmon"
        if [ -n "$arch" ] && [ "$arch" != "$(dpkg --print-architecture)" ]; then
                broot=$("$(dirname "${BASH_SOURCE[0]}")/mkcross.sh" "$arch") || return 1
                systemd-nspawn --register=no --keep-unit --quiet --private-network -D "$broot" \
                        --bind="$work:/build" --chdir=/build/fsmon \
                        /usr/bin/env DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS-nocheck}" \
                        dpkg-buildpackage -us -uc -b -a"$arch" -Pcross,nocheck \
                        >"$out/dpkg-buildpackage.log" 2>&1 </dev/null || {
                        tail -n 40 "$out/dpkg-buildpackage.log" >&2
                        return 1
                }
        else
                (cd "$work/fsmon" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS-nocheck}" \
                        dpkg-buildpackage -us -uc -b) >"$out/dpkg-buildpackage.log" 2>&1 || {
                        tail -n 40 "$out/dpkg-buildpackage.log" >&2
                        return 1
                }
        fi
        mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
        rm -rf "$work"
        ls "$out"/fsmon_*.deb
}

# ---- systemd-nspawn (no systemd on the host: no machined, no scopes) ----
# ct_boot DIR LOG [nspawn options...]: boots DIR with systemd as PID 1 in the
# background; sets CT_NSPAWN (nspawn's pid) and CT_LEADER (the container's
# PID 1, as the host sees it) and waits until the boot has finished.
ct_boot() {
        local dir=$1 logf=$2 i c p
        shift 2
        CT_LEADER=
        systemd-nspawn --register=no --keep-unit --quiet --console=read-only \
                -D "$dir" "$@" --boot </dev/null >>"$logf" 2>&1 &
        CT_NSPAWN=$!
        for i in $(seq 100); do
                for p in $(pgrep -P "$CT_NSPAWN") $(pgrep -P "$(pgrep -P "$CT_NSPAWN" | head -n1)" 2>/dev/null); do
                        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ] && CT_LEADER=$p
                done
                [ -n "$CT_LEADER" ] && break
                kill -0 "$CT_NSPAWN" 2>/dev/null || break
                sleep 0.2
        done
        [ -n "$CT_LEADER" ] || { echo "container did not start; log:" >&2; tail -n 20 "$logf" >&2; return 1; }
        # "degraded" is fine here: auditd cannot run in a container. The
        # manager's socket appears a moment after PID 1 does.
        for i in $(seq 600); do
                ct_exec systemctl is-system-running --wait >/dev/null 2>&1
                [ $? -le 1 ] && ct_exec test -S /run/systemd/private && return 0
                kill -0 "$CT_NSPAWN" 2>/dev/null || break
                sleep 0.2
        done
        echo "container did not finish booting; log:" >&2
        tail -n 20 "$logf" >&2
        return 1
}

# ct_exec CMD...: runs CMD in the container, as root, clean environment.
ct_exec() {
        nsenter -t "$CT_LEADER" -a -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
                LANG=C.UTF-8 HOME=/root TERM=dumb "$@"
}

# ct_as USER CMD...: runs CMD as an unprivileged user of the container.
ct_as() {
        local user=$1
        shift
        ct_exec runuser -u "$user" -- "$@"
}

# ct_stop [reboot|poweroff]: shuts the container down and waits for nspawn
# (133 is its exit status for a reboot request).
ct_stop() {
        local how=${1:-poweroff} rc
        [ -n "${CT_NSPAWN:-}" ] && kill -0 "$CT_NSPAWN" 2>/dev/null || return 0
        ct_exec systemctl "$how" >/dev/null 2>&1 || true
        for _ in $(seq 300); do
                kill -0 "$CT_NSPAWN" 2>/dev/null || break
                sleep 0.2
        done
        if kill -0 "$CT_NSPAWN" 2>/dev/null; then
                kill -TERM "$CT_NSPAWN" 2>/dev/null
                sleep 5
                kill -KILL "$CT_NSPAWN" 2>/dev/null
        fi
        wait "$CT_NSPAWN"
        rc=$?
        CT_NSPAWN= CT_LEADER=
        return $rc
}

# binfmt_enable DEBARCH: lets this machine run DEBARCH's binaries (a foreign
# debootstrap's second stage, systemd-nspawn into that tree) through
# qemu-user-static. Mounts binfmt_misc and registers qemu's handler from its
# binfmt.d file when neither is there yet (no systemd-binfmt on the host);
# a handler already registered is left as it is. Fails when qemu-user-static
# is missing.
binfmt_enable() {
        local q conf
        case "$1" in
        arm64) q=aarch64 ;;
        armhf|armel) q=arm ;;
        ppc64el) q=ppc64le ;;
        *) q=$1 ;;
        esac
        conf=/usr/lib/binfmt.d/qemu-$q.conf
        [ -r "$conf" ] || { echo "binfmt: $conf missing (package qemu-user-static)" >&2; return 1; }
        [ -e /proc/sys/fs/binfmt_misc/register ] ||
                mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
                { echo "binfmt: cannot mount binfmt_misc" >&2; return 1; }
        [ -e "/proc/sys/fs/binfmt_misc/qemu-$q" ] && return 0
        grep -v '^#' "$conf" >/proc/sys/fs/binfmt_misc/register ||
                { echo "binfmt: cannot register qemu-$q" >&2; return 1; }
}
