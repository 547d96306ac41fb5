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

# build_deb OUTDIR: builds fsmon_*.deb from a copy of the tree; prints its path.
build_deb() {
        local out=$1 work
        work=$(mktemp -d "$out/debbuild.XXXXXX")
        copy_source "$work/fsmon"
        (cd "$work/fsmon" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS-nocheck}" \
                dpkg-buildpackage -us -uc -b) >"$out/dpkg-buildpackage.log" 2>&1 || {
                tail -n 40 "$out/dpkg-buildpackage.log" >&2
                return 1
        }
        mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
        rm -rf "$work"
        ls "$out"/fsmon_*.deb
}
