#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds the Debian package (dpkg-buildpackage -us -uc -b, with its unit
# tests) and the RPM (rpmbuild -bb --nodeps), then checks:
#   - lintian reports no errors,
#   - the .deb depends on auditd, polkitd and dbus, its maintainer scripts
#     create the group and the state directory and enable and start the
#     service, everything under /etc is a conffile,
#   - the audit rules are not shipped (they are for the machine's kernel, not
#     the package's architecture), neither as a conffile nor as %config:
#     fsmond rewrites /etc/audit/rules.d/70-fsmon.rules from the config;
#     postinst and %post render them there with fsmonctl only when it does not
#     exist, postrm and %postun remove it, and the rpm knows the path (%ghost),
#   - the .deb and the .rpm ship the same files (dpkg -c vs rpm -qlp) and the
#     same config files, and carry meson's version.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (build dependencies, lintian)"; exit 77; }
for t in dpkg-buildpackage lintian rpmbuild; do
        command -v $t >/dev/null || { echo "SKIP: $t missing (tools/deps.sh installs it)"; exit 77; }
done

tmp=$(mktemp -d /var/tmp/fsmon-package-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
version=$(project_version)

log "dpkg-buildpackage -us -uc -b"
t0=$(date +%s)
deb=$(DEB_BUILD_OPTIONS= build_deb "$tmp") || { echo "FAIL: dpkg-buildpackage"; exit 1; }
log "built $(basename "$deb") in $(($(date +%s) - t0)) s"
[ "$(basename "$deb")" = "fsmon_${version}_$(dpkg --print-architecture).deb" ] \
        && ok "deb version is meson's ($version)" || fail "deb is $(basename "$deb"), meson says $version"

out=$(lintian --fail-on error "$tmp"/fsmon_*.changes 2>&1)
rc=$?
echo "$out" | grep -v 'running with root privileges'
[ $rc -eq 0 ] && ok "lintian: no errors" || fail "lintian: errors (rc=$rc)"

depends=$(dpkg-deb -f "$deb" Depends)
for d in auditd polkitd dbus; do
        grep -Eq "(^|, )$d( |,|$)" <<<"$depends" && ok "Depends: $d" || fail "Depends lacks $d: $depends"
done
grep -q 'libc6' <<<"$depends" && ok "Depends: shlibs" || fail "Depends lacks the shlibs: $depends"

dpkg-deb -e "$deb" "$tmp/control"
grep -q 'systemd-sysusers.*fsmon.conf' "$tmp/control/postinst" && ok "postinst creates the group" || fail "postinst: no sysusers"
grep -q 'systemd-tmpfiles.*--create fsmon.conf' "$tmp/control/postinst" && ok "postinst creates /var/lib/fsmon" || fail "postinst: no tmpfiles"
grep -q "deb-systemd-helper enable 'fsmon.service'" "$tmp/control/postinst" && ok "postinst enables fsmon.service" || fail "postinst: no enable"
grep -q "deb-systemd-invoke \$_dh_action 'fsmon.service'" "$tmp/control/postinst" && ok "postinst starts fsmon.service" || fail "postinst: no start"
grep -q "deb-systemd-invoke stop 'fsmon.service'" "$tmp/control/prerm" && ok "prerm stops fsmon.service" || fail "prerm: no stop"
grep -q '70-fsmon.rules' "$tmp/control/postrm" && grep -q 'augenrules --load' "$tmp/control/postrm" \
        && ok "postrm removes and reloads the rules" || fail "postrm: rules not removed/reloaded"
# postrm run for real, in a private mount namespace: tmpfs over /run (with
# /run/systemd/system, a booted system), a temporary /etc/audit/rules.d, and
# stubs that log their arguments for auditctl, augenrules and debhelper's
# systemd tools (the host's kernel rules and systemd state stay untouched).
# The opt-in's never,task rules, which carry no key, are deleted by their
# exact text; then the file goes and the rules are reloaded.
postrm_calls() {
        local d=$tmp/postrm t
        rm -rf "$d" && mkdir -p "$d/rules.d" "$d/bin"
        cat >"$d/rules.d/70-fsmon.rules" <<'EOR'
-D -k fsmon
-a always,exit -F arch=b64 -S open -F auid!=unset -F auid>=1000 -k fsmon
-a never,task -F auid<1000
-a never,task -F auid!=unset -F auid>=2000
EOR
        for t in auditctl augenrules systemctl deb-systemd-helper deb-systemd-invoke; do
                printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$t" "$d/calls" >"$d/bin/$t"
                chmod 0755 "$d/bin/$t"
        done
        unshare --mount --propagation private sh -c \
                'mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && mount --bind "$1" /etc/audit/rules.d &&
                 PATH="$2:$PATH" DPKG_ROOT= sh "$3" remove' _ "$d/rules.d" "$d/bin" "$1" >/dev/null 2>&1 || return 1
        [ ! -e "$d/rules.d/70-fsmon.rules" ] || return 1
        grep -E '^(auditctl|augenrules)' "$d/calls"
}
if [ -d /etc/audit/rules.d ] && command -v unshare >/dev/null; then
        calls=$(postrm_calls "$tmp/control/postrm")
        want=$(printf '%s\n' "auditctl -d never,task -F auid<1000" "auditctl -d never,task -F auid!=unset -F auid>=2000" "augenrules --load")
        [ "$calls" = "$want" ] && ok "postrm deletes the task rules by exact text, removes the file, reloads" \
                || fail "postrm: calls were [${calls//$'\n'/; }], want [${want//$'\n'/; }]"
fi
grep -q 'rm -rf "$DPKG_ROOT/var/lib/fsmon"' "$tmp/control/postrm" && ok "postrm purges /var/lib/fsmon" || fail "postrm: no purge"
# The rendering is guarded (never over an existing file) and before the
# service starts (#DEBHELPER#), so auditd has fsmon's rules from the next boot on.
copy=$(grep -n 'fsmonctl rules --config /etc/fsmon/fsmon.conf >"$rules.dpkg-new"' "$tmp/control/postinst" | cut -d: -f1)
guard=$(grep -n 'if \[ ! -e "$rules" \]' "$tmp/control/postinst" | cut -d: -f1)
start=$(grep -n "deb-systemd-invoke \$_dh_action 'fsmon.service'" "$tmp/control/postinst" | head -n1 | cut -d: -f1)
[ -n "$copy" ] && [ -n "$guard" ] && [ -n "$start" ] && [ "$guard" -lt "$copy" ] && [ "$copy" -lt "$start" ] \
        && ok "postinst renders the rules only when absent, before the start" \
        || fail "postinst: no guarded rendering of the rules before the start (guard ${guard:-?}, render ${copy:-?}, start ${start:-?})"

# Files: regular files and symlinks, without the distribution's own docs
# (Debian's changelog and copyright; meson's examples stay).
dpkg-deb --fsys-tarfile "$deb" | tar -tvf - | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\./|/|' |
        grep -Ev '^/usr/share/doc/fsmon/(changelog(\.Debian)?\.gz|copyright)$' | sort >"$tmp/deb.files"
for f in /usr/share/bash-completion/completions/fsmonctl /usr/share/bash-completion/completions/fsmond \
         /usr/share/zsh/vendor-completions/_fsmonctl /usr/share/zsh/vendor-completions/_fsmond \
         /usr/share/doc/fsmon/examples/server/fsmon-upload.conf \
         /usr/share/doc/fsmon/examples/server/fsmon-server-setup.sh; do
        grep -qx "$f" "$tmp/deb.files" && ok "deb ships $f" || fail "deb lacks $f"
done
deb_etc=$(grep '^/etc/' "$tmp/deb.files")
deb_conf=$(sort "$tmp/control/conffiles" 2>/dev/null)
[ "$deb_etc" = "$deb_conf" ] && ok "deb: every file under /etc is a conffile" \
        || fail "deb: /etc files [$deb_etc] vs conffiles [$deb_conf]"
rules_etc=/etc/audit/rules.d/70-fsmon.rules
grep -qx "$rules_etc" "$tmp/deb.files" "$tmp/control/conffiles" 2>/dev/null \
        && fail "deb ships $rules_etc (a conffile: dpkg would ask on upgrades)" || ok "deb: $rules_etc is not shipped, not a conffile"
grep -q '70-fsmon.rules' "$tmp/deb.files" && fail "deb ships a rendering of the rules: $(grep 70-fsmon.rules "$tmp/deb.files")" \
        || ok "deb: ships no rendering of the rules (the machine's postinst renders them)"

log "rpmbuild -bb --nodeps"
t0=$(date +%s)
mkdir -p "$tmp/rpm/SOURCES" "$tmp/srcs"
copy_source "$tmp/srcs/fsmon-$version"
tar -C "$tmp/srcs" -czf "$tmp/rpm/SOURCES/fsmon-$version.tar.gz" "fsmon-$version"
if rpmbuild -bb --nodeps --load "$here/rpm-macros" --define "_topdir $tmp/rpm" \
        "$FSMON_SRC/rpm/fsmon.spec" >"$tmp/rpmbuild.log" 2>&1; then
        rpm=$(ls "$tmp"/rpm/RPMS/*/fsmon-"$version"-*.rpm)
        log "built $(basename "$rpm") in $(($(date +%s) - t0)) s"
        ok "rpmbuild: $(basename "$rpm")"
        # Shipped files: not directories, not %ghost (flag g: known to rpm,
        # not in the payload).
        rpm -qp --qf '[%{FILEMODES:perms} %{FILEFLAGS:fflags}: %{FILENAMES}\n]' "$rpm" 2>/dev/null >"$tmp/rpm.all"
        # zsh completion: Debian's zsh reads vendor-completions, everyone
        # else's site-functions (shell-completion/meson.build); the one
        # intended difference.
        awk '$1 !~ /^d/ && $2 !~ /g/ { print $NF }' "$tmp/rpm.all" | grep -v '^/usr/lib/.build-id' |
                sed 's|^/usr/share/zsh/site-functions/|/usr/share/zsh/vendor-completions/|' | sort >"$tmp/rpm.files"
        ghost=$(awk -v f="$rules_etc" '$NF == f { print $2 }' "$tmp/rpm.all")
        [[ "$ghost" == *g* && "$ghost" != *c* ]] && ok "rpm: $rules_etc is %ghost, not %config" \
                || fail "rpm: $rules_etc flags [${ghost:-not listed}], want %ghost without %config"
        [ -s "$tmp/rpm.files" ] || fail "rpm -qp lists no files"
        if diff -u "$tmp/deb.files" "$tmp/rpm.files"; then
                ok "deb and rpm ship the same $(wc -l <"$tmp/deb.files") files"
        else
                fail "deb (-) and rpm (+) file lists differ"
        fi
        rpm_conf=$(rpm -qcp "$rpm" 2>/dev/null | sort)
        [ "$rpm_conf" = "$deb_conf" ] && ok "same config files (${rpm_conf:-none yet})" \
                || fail "rpm %config [$rpm_conf] vs deb conffiles [$deb_conf]"
        scripts=$(rpm -qp --scripts "$rpm" 2>/dev/null)
        grep -q 'systemctl --no-reload preset fsmon.service' <<<"$scripts" && ok "rpm %post: systemd_post" || fail "rpm: no %systemd_post"
        grep -q 'systemctl try-restart fsmon.service' <<<"$scripts" && ok "rpm %postun: with restart" || fail "rpm: no %systemd_postun_with_restart"
        grep -q "/usr/bin/fsmonctl rules --config /etc/fsmon/fsmon.conf >$rules_etc" <<<"$scripts" && grep -q "if \[ ! -e $rules_etc \]" <<<"$scripts" \
                && ok "rpm %post renders the rules only when absent" || fail "rpm %post: no guarded rendering of the rules"
        grep -q "rm -f $rules_etc" <<<"$scripts" && ok "rpm %postun removes the rules" || fail "rpm %postun: rules not removed"
        for r in audit dbus polkit; do
                rpm -qp --requires "$rpm" 2>/dev/null | grep -qx "$r" || fail "rpm does not require $r"
        done
else
        tail -n 40 "$tmp/rpmbuild.log"
        fail "rpmbuild -bb"
fi

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all checks passed"
