#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The package on a booted Debian 12 in systemd-nspawn (real systemd, journald,
# dbus, polkitd): "apt install ./fsmon_*.deb", reboot, then check that
#   - fsmon.service is enabled and active after boot, without restarts,
#   - journalctl -u fsmon shows its start-up, and fsmond says that it runs
#     degraded (the kernel refuses audit inside a PID namespace),
#   - an unprivileged user reads the State property with busctl,
#   - "fsmonctl upload" by a member of group fsmon reaches the uploader (an
#     sshd in the container, on its private network),
#   - systemd-analyze verify is clean with the installed binaries,
#   - postinst put the default audit rules into /etc/audit/rules.d (fsmond
#     cannot: audit is refused here), and a reinstall keeps an existing file
#     without a conffile question,
#   - "apt purge" stops it and removes the rules file and /var/lib/fsmon.
# The container runs on an overlay over the cached root (mkroot.sh), with a
# private network, so neither the cache nor the host changes.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
for t in systemd-nspawn debootstrap dpkg-buildpackage nsenter; do
        command -v $t >/dev/null || { echo "SKIP: $t missing (tools/deps.sh installs it)"; exit 77; }
done
if [ -d /run/systemd/system ]; then
        # With systemd as PID 1 nspawn also works; --keep-unit then needs a unit.
        :
fi

tmp=$(mktemp -d /var/tmp/fsmon-nspawn-test.XXXXXX)
ct=$tmp/root
cleanup() {
        ct_stop poweroff >/dev/null 2>&1
        mountpoint -q "$ct" && umount "$ct"
        rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
T0=$(date +%s)
phase() { log "$* (+$(($(date +%s) - T0)) s)"; }

phase "root (debootstrap once, cached)"
root=$("$here/mkroot.sh") || { rc=$?; echo "FAIL: mkroot.sh"; exit $rc; }
phase "build the .deb"
deb=$(build_deb "$tmp") || { echo "FAIL: dpkg-buildpackage"; exit 1; }

mkdir -p "$ct" "$tmp/upper" "$tmp/work"
if ! mount -t overlay overlay -o "lowerdir=$root,upperdir=$tmp/upper,workdir=$tmp/work" "$ct" 2>/dev/null; then
        log "overlayfs unavailable, copying the root"
        cp -a "$root/." "$ct/"
fi
cp "$deb" "$ct/root/"
pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')

phase "boot 1"
bootlog=$tmp/console.log
ct_boot "$ct" "$bootlog" --private-network || { echo "FAIL: boot"; exit 1; }
ct_exec auditctl -s >/dev/null 2>&1 && echo "note: audit answers inside the container"
ct_exec useradd -m -s /bin/bash fsmonuser      # will be in group fsmon
ct_exec useradd -m -s /bin/bash fsmonguest     # will not
ct_exec useradd -m -s /bin/bash fsmonup        # the upload account of the sshd
printf 'fsmonup:%s\n' "$pw" | ct_exec chpasswd
ct_exec install -d -o fsmonup -g fsmonup -m 0755 /home/fsmonup/incoming

phase "apt install ./$(basename "$deb")"
if ct_exec sh -c "DEBIAN_FRONTEND=noninteractive apt-get install -y /root/$(basename "$deb")" \
        >"$tmp/apt.log" 2>&1 </dev/null; then
        ok "apt install ./$(basename "$deb")"
else
        tail -n 20 "$tmp/apt.log"
        fail "apt install ./$(basename "$deb")"
        exit 1
fi
# Installing started it already (dh_installsystemd); the start may still be
# finishing when apt returns (the reload of the bus, ExecStartPre): wait a bit.
for _ in $(seq 30); do
        [ "$(ct_exec systemctl is-active fsmon)" = activating ] || break
        sleep 1
done
ct_exec systemctl is-active --quiet fsmon && ok "active right after apt install" \
        || fail "not active after apt install: $(ct_exec systemctl is-active fsmon)"
ct_exec getent group fsmon >/dev/null && ok "group fsmon exists" || fail "no group fsmon"

# The rules file: postinst's rendering for this machine (the loader does not
# write it here: it reads the kernel's audit status first, which a container
# refuses). On x86_64 that is the shipped-in-source rules.d/70-fsmon.rules.
rules=/etc/audit/rules.d/70-fsmon.rules
ct_exec cat $rules >"$tmp/rules.ct" 2>/dev/null
expected=$FSMON_SRC/rules.d/70-fsmon.rules
[ "$(uname -m)" = x86_64 ] || { ct_exec fsmonctl rules --config /dev/null >"$tmp/rules.expected"; expected=$tmp/rules.expected; }
cmp -s "$expected" "$tmp/rules.ct" && ok "postinst rendered $rules for $(uname -m)" \
        || fail "$rules is not the rendering of the default config after apt install"
ct_exec dpkg-query -W -f='${Conffiles}' fsmon | grep -q 70-fsmon.rules && fail "$rules is a conffile" \
        || ok "$rules is not a conffile"
# A file that is there already (fsmond's or an administrator's) stays as it is.
ct_exec sh -c "echo '# local change' >>$rules"
if ct_exec sh -c "DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall /root/$(basename "$deb")" \
        >"$tmp/reinstall.log" 2>&1 </dev/null; then
        ok "apt install --reinstall"
else
        tail -n 20 "$tmp/reinstall.log"; fail "apt install --reinstall"
fi
ct_exec grep -qx '# local change' $rules && ok "reinstall kept the existing $rules" || fail "reinstall replaced $rules"
grep -q '70-fsmon.rules' "$tmp/reinstall.log" && { grep '70-fsmon.rules' "$tmp/reinstall.log"; fail "dpkg spoke of $rules on reinstall"; } \
        || ok "no conffile question for $rules"
for _ in $(seq 30); do
        [ "$(ct_exec systemctl is-active fsmon)" = activating ] || break
        sleep 1
done
ct_exec usermod -a -G fsmon fsmonuser

# The upload target: the container's own sshd, pinned host key.
ct_exec sh -c 'ls /etc/ssh/ssh_host_ed25519_key >/dev/null 2>&1 || ssh-keygen -A' >/dev/null
ct_exec sh -c 'mkdir -p /etc/fsmon/fsmon.conf.d &&
        printf "127.0.0.1 %s\n" "$(cut -d" " -f1,2 /etc/ssh/ssh_host_ed25519_key.pub)" >/etc/fsmon/known_hosts &&
        printf "[upload]\nhost = 127.0.0.1\nport = 22\nuser = fsmonup\nremote_dir = /home/fsmonup/incoming\nknown_hosts = /etc/fsmon/known_hosts\n" \
                >/etc/fsmon/fsmon.conf.d/50-system-test.conf'

phase "reboot"
ct_stop reboot
rc=$?
[ $rc -eq 133 ] || echo "note: nspawn exited $rc on reboot (133 expected)"
ct_boot "$ct" "$bootlog" --private-network || { echo "FAIL: boot 2"; exit 1; }
phase "booted again; checks"

en=$(ct_exec systemctl is-enabled fsmon 2>&1)
[ "$en" = enabled ] && ok "enabled after boot" || fail "is-enabled: $en"
for _ in $(seq 50); do
        st=$(ct_exec systemctl is-active fsmon 2>&1)
        [ "$st" = activating ] || break
        sleep 0.2
done
[ "$st" = active ] && ok "active after boot" || fail "is-active after boot: $st"

journal=$(ct_exec journalctl -b -u fsmon -o short --no-pager 2>&1)
echo "--- journalctl -b -u fsmon"; echo "$journal" | tail -n 25; echo "---"
grep -q 'Started fsmon.service' <<<"$journal" && ok "journal: systemd started fsmon.service" \
        || fail "journal: no 'Started fsmon.service'"
fsmond_lines=$(ct_exec journalctl -b -u fsmon _COMM=fsmond -o cat --no-pager 2>/dev/null)
[ -n "$fsmond_lines" ] && ok "journal: fsmond logged its start-up ($(wc -l <<<"$fsmond_lines") lines)" \
        || fail "journal: no line from fsmond itself"

state=$(ct_as fsmonguest busctl get-property org.fsmon1 /org/fsmon1 org.fsmon1.Manager State 2>&1)
case "$state" in
's "degraded"')
        ok "unprivileged busctl: State is degraded (no audit in a container)"
        grep -qi 'audit' <<<"$fsmond_lines" && grep -qiE 'degraded|refused|not permitted|unavailable' <<<"$fsmond_lines" \
                && ok "journal: fsmond says why it is degraded" \
                || fail "journal: fsmond is degraded but does not say why (audit)"
        ;;
's "running"') fail "State is running inside a container, where audit is refused" ;;
s\ *) fail "unprivileged busctl: State is $state, want degraded" ;;
*) fail "unprivileged busctl get-property State: $state" ;;
esac
version=$(ct_as fsmonguest busctl get-property org.fsmon1 /org/fsmon1 org.fsmon1.Manager Version 2>&1)
[ "$version" = "s \"$(project_version)\"" ] && ok "Version property: $version" || fail "Version property: $version"

# Upload: a member of group fsmon, password on stdin.
before=$(ct_exec busctl get-property org.fsmon1 /org/fsmon1 org.fsmon1.Manager LastUploadResult 2>&1)
up=$(printf '%s\n' "$pw" | ct_exec runuser -u fsmonuser -- fsmonctl upload 2>&1)
uprc=$?
echo "--- fsmonctl upload (exit $uprc)"; echo "$up"; echo "---"
after=$(ct_exec busctl get-property org.fsmon1 /org/fsmon1 org.fsmon1.Manager LastUploadResult 2>&1)
sshd=$(ct_exec journalctl -b -u ssh -o cat --no-pager 2>/dev/null | grep -E 'fsmonup' | tail -n 3)
if grep -q 'Accepted password for fsmonup' <<<"$sshd"; then
        ok "fsmonctl upload reached the uploader, which logged in to sshd"
elif [ "$after" != "$before" ]; then
        ok "fsmonctl upload reached the uploader (LastUploadResult: $after)"
else
        fail "fsmonctl upload did not reach the uploader (exit $uprc; LastUploadResult $after; sshd: ${sshd:-nothing})"
fi
# (No audit here, so the spool is empty and the uploader need not log in:
# wrong passwords are tested in the VM, where there is something to send.)
[ $uprc -eq 0 ] && ok "fsmonctl upload: exit 0 ($up)" || fail "fsmonctl upload: exit $uprc"

# --man=no: the container has no man-db to look the pages up with.
out=$(ct_exec systemd-analyze verify --man=no fsmon.service 2>&1)
[ -z "$out" ] && ok "systemd-analyze verify (installed): clean" || { echo "$out"; fail "systemd-analyze verify (installed)"; }
exposure=$(ct_exec systemd-analyze security fsmon.service --no-pager 2>&1 | sed -n 's/.*Overall exposure level for fsmon.service: \([0-9.]*\).*/\1/p')
echo "note: systemd-analyze security (live) exposure: ${exposure:-?}"

restarts=$(ct_exec systemctl show -p NRestarts --value fsmon)
[ "$restarts" = 0 ] && ok "no restarts" || fail "fsmon.service restarted $restarts times"

phase "apt purge"
ct_exec rm -f /etc/fsmon/fsmon.conf.d/50-system-test.conf /etc/fsmon/known_hosts
ct_exec touch /etc/audit/rules.d/70-fsmon.rules   # as if the loader had written it
if ct_exec sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y fsmon' >"$tmp/purge.log" 2>&1 </dev/null; then
        ok "apt purge fsmon"
else
        tail -n 20 "$tmp/purge.log"; fail "apt purge fsmon"
fi
ct_exec pgrep -x fsmond >/dev/null && fail "fsmond still runs after purge" || ok "fsmond stopped"
ct_exec test -e /etc/audit/rules.d/70-fsmon.rules && fail "70-fsmon.rules left behind" || ok "70-fsmon.rules removed"
ct_exec test -e /var/lib/fsmon && fail "/var/lib/fsmon left after purge" || ok "/var/lib/fsmon removed by purge"
ct_exec test -e /lib/systemd/system/fsmon.service && fail "unit file left" || ok "unit removed"

phase "poweroff"
ct_stop poweroff
phase "done"
[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all checks passed"
