#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The full path with the kernel's audit, in a qemu VM (TCG unless
# FSMON_VM_ACCEL=kvm): the cached Debian 12 root (mkroot.sh) with
# linux-image-cloud-ARCH, fsmon_*.deb installed into it, a test user, an
# upload account and sshd, written to an ext4 image (mkfs.ext4 -d, no loop
# mounts) and booted with the kernel and initrd of the tree; serial console
# to a file. vm-inner.sh runs inside once the system is up and checks that
#   - fsmon loaded its rules through augenrules (file, audit.rules, kernel),
#   - a workload run by a logged-in user (ssh) ends up in the spool as the
#     expected actions (offsets and sizes of what dd did), pseudonymised,
#   - "fsmonctl upload" sends them to the sshd in the VM.
# ARCH is the host's, or FSMON_VM_ARCH (arm64: a .deb cross-built with
# dpkg-buildpackage -aarm64, an arm64 root debootstrapped with
# qemu-user-static's help, qemu-system-aarch64 -M virt, TCG).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
arch=${FSMON_VM_ARCH:-$(dpkg --print-architecture)}
case "$arch" in
amd64) qemu=qemu-system-x86_64 console=ttyS0 ;;
arm64) qemu=qemu-system-aarch64 console=ttyAMA0 ;;
*) echo "SKIP: no VM test for $arch"; exit 77 ;;
esac
for t in $qemu mkfs.ext4 systemd-nspawn debootstrap dpkg-buildpackage; do
        command -v $t >/dev/null || { echo "SKIP: $t missing (tools/deps.sh installs it)"; exit 77; }
done
if [ "$arch" != "$(dpkg --print-architecture)" ]; then
        binfmt_enable "$arch" || { echo "SKIP: cannot run $arch binaries here (qemu-user-static, binfmt_misc)"; exit 77; }
fi
accel=${FSMON_VM_ACCEL:-tcg}
# TCG emulating arm64 on x86_64 is several times slower than x86_64 on x86_64.
[ "$arch" = amd64 ] && vm_timeout=${FSMON_VM_TIMEOUT:-600} || vm_timeout=${FSMON_VM_TIMEOUT:-1800}

tmp=$(mktemp -d /var/tmp/fsmon-vm-test.XXXXXX)
tree=$tmp/root
qemu_pid=
cleanup() {
        [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
        mountpoint -q "$tree" && umount "$tree"
        rm -rf "$tmp"
}
trap cleanup EXIT
T0=$(date +%s)
phase() { log "$* (+$(($(date +%s) - T0)) s)"; }

phase "root (debootstrap once, cached)"
root=$("$here/mkroot.sh" "$arch") || { rc=$?; echo "FAIL: mkroot.sh"; exit $rc; }
kernel=$(ls "$root"/boot/vmlinuz-* | sort -V | tail -n1)
initrd=$(ls "$root"/boot/initrd.img-* | sort -V | tail -n1)
[ -r "$kernel" ] && [ -r "$initrd" ] || { echo "FAIL: no kernel/initrd in $root/boot"; exit 1; }
phase "build the .deb ($arch)"
deb=$(build_deb "$tmp" "$arch") || { echo "FAIL: dpkg-buildpackage"; exit 1; }

phase "prepare the VM tree"
mkdir -p "$tree" "$tmp/upper" "$tmp/work"
mount -t overlay overlay -o "lowerdir=$root,upperdir=$tmp/upper,workdir=$tmp/work" "$tree" 2>/dev/null \
        || cp -a "$root/." "$tree/"
cp "$deb" "$tree/root/fsmon.deb"
cp "$here/vm-inner.sh" "$tree/root/vm-inner.sh"
# A foreign machine records fixtures on its real kernel too (vm-inner.sh):
# the workload cross-built in the build root, the recorder as it is.
record=
if [ "$arch" != "$(dpkg --print-architecture)" ]; then
        record=1
        phase "build the workload ($arch)"
        mkdir -p "$tmp/wl" "$tree/root/record"
        cp "$FSMON_SRC/tests/workload/workload.c" "$tmp/wl/"
        broot=$("$here/mkcross.sh" "$arch") || { echo "FAIL: mkcross.sh"; exit 1; }
        gnu=$(dpkg-architecture -a"$arch" -qDEB_HOST_GNU_TYPE 2>/dev/null)
        systemd-nspawn --register=no --keep-unit --quiet --private-network -D "$broot" --bind="$tmp/wl:/wl" \
                "$gnu-gcc" -std=gnu11 -O1 -g -Wall -Wextra -Wno-unused-parameter -Werror -pthread \
                -o /wl/workload /wl/workload.c </dev/null >"$tmp/wl/build.log" 2>&1 ||
                { cat "$tmp/wl/build.log"; echo "FAIL: building the workload for $arch"; exit 1; }
        install -m 0755 "$tmp/wl/workload" "$tree/root/record/workload"
        install -m 0755 "$FSMON_SRC/tests/record-fixtures.sh" "$tree/root/record/record-fixtures.sh"
        install -D -m 0644 "$FSMON_SRC/tests/lib/audit-lock.sh" "$tree/root/record/lib/audit-lock.sh"
fi
printf 'UPLOAD_PW=%s\n' "$(head -c 18 /dev/urandom | base64 | tr -d '/+=')" >"$tree/root/vm-test.env"
chmod 600 "$tree/root/vm-test.env"
cat >"$tree/etc/systemd/system/fsmon-vmtest.service" <<'UNIT'
[Unit]
Description=fsmon system test (tests/system/vm-test.sh)
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/root/vm-inner.sh
StandardOutput=journal
TimeoutStartSec=15min
[Install]
WantedBy=multi-user.target
UNIT
# Setup inside the tree (nspawn without boot: no service starts; the
# package's postinst enables fsmon.service for the VM's boot).
if ! systemd-nspawn --register=no --keep-unit --quiet --private-network -D "$tree" /bin/bash -ec '
        export DEBIAN_FRONTEND=noninteractive
        . /root/vm-test.env
        apt-get install -y /root/fsmon.deb
        useradd -m -s /bin/bash fsmonuser
        usermod -a -G fsmon fsmonuser
        useradd -m -s /bin/bash fsmonup
        printf "fsmonup:%s\n" "$UPLOAD_PW" | chpasswd
        install -d -o fsmonup -g fsmonup -m 0755 /home/fsmonup/incoming
        ls /etc/ssh/ssh_host_ed25519_key >/dev/null 2>&1 || ssh-keygen -A
        hostkey="127.0.0.1 $(cut -d" " -f1,2 /etc/ssh/ssh_host_ed25519_key.pub)"
        install -d -m 0700 /root/.ssh
        ssh-keygen -q -t ed25519 -N "" -f /root/.ssh/id_ed25519
        echo "$hostkey" >/root/.ssh/known_hosts
        install -d -m 0700 -o fsmonuser -g fsmonuser /home/fsmonuser/.ssh
        install -m 0600 -o fsmonuser -g fsmonuser /root/.ssh/id_ed25519.pub /home/fsmonuser/.ssh/authorized_keys
        echo "$hostkey" >/etc/fsmon/known_hosts
        mkdir -p /etc/fsmon/fsmon.conf.d
        printf "[upload]\nhost = 127.0.0.1\nport = 22\nuser = fsmonup\nremote_dir = /home/fsmonup/incoming\nknown_hosts = /etc/fsmon/known_hosts\n\n[spool]\nsegment_max_age = 2s\n" \
                >/etc/fsmon/fsmon.conf.d/50-system-test.conf
        # --debug: the journal of a failure then says where the capture stood
        # (lines, events, held back, how far behind the kernel).
        mkdir -p /etc/systemd/system/fsmon.service.d
        printf "[Service]\nExecStart=\nExecStart=/usr/sbin/fsmond --no-load-rules --debug\n" \
                >/etc/systemd/system/fsmon.service.d/50-debug.conf
        systemctl enable fsmon-vmtest.service
        systemctl mask serial-getty@ttyS0.service serial-getty@ttyAMA0.service getty@tty1.service
        systemctl is-enabled fsmon.service auditd.service ssh.service
        echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >/etc/fstab
        ' >"$tmp/setup.log" 2>&1; then
        tail -n 30 "$tmp/setup.log"
        echo "FAIL: preparing the VM tree"
        exit 1
fi
phase "mkfs.ext4 -d (image)"
mkfs.ext4 -q -F -L fsmonroot -d "$tree" "$tmp/disk.raw" 3G || { echo "FAIL: mkfs.ext4 -d"; exit 1; }
umount "$tree" 2>/dev/null

phase "boot the VM (qemu, accel=$accel)"
case "$accel" in
kvm) cpu=host ;;
*) cpu=max ;;
esac
case "$arch" in
amd64) machine="q35,accel=$accel" ;;
# virt: a device tree from qemu, virtio-mmio disk, PL011 serial (ttyAMA0);
# the kernel boots directly (its EFI stub is not needed), no firmware.
# cortex-a57 rather than max under TCG: no pointer authentication or SVE
# to emulate on every instruction.
arm64) machine="virt,accel=$accel"; [ "$accel" = tcg ] && cpu=cortex-a57 ;;
esac
serial=$tmp/serial.log
$qemu -machine "$machine" -cpu "$cpu" -m 1536 -smp 2 \
        -kernel "$kernel" -initrd "$initrd" \
        -append "root=/dev/vda rw console=$console panic=-1 loglevel=4" \
        -drive "file=$tmp/disk.raw,if=virtio,format=raw" \
        -display none -monitor none -serial "file:$serial" -nic none -no-reboot &
qemu_pid=$!
booted=
for _ in $(seq "$vm_timeout"); do
        kill -0 "$qemu_pid" 2>/dev/null || break
        if [ -z "$booted" ] && grep -aq 'FSMON-VM \[[0-9. ]*\] booted' "$serial" 2>/dev/null; then
                booted=1
                phase "VM up, vm-inner.sh running"
        fi
        sleep 1
done
timed_out=
if kill -0 "$qemu_pid" 2>/dev/null; then
        timed_out=1
        kill "$qemu_pid"
fi
wait "$qemu_pid"
qemu_pid=
phase "VM stopped"
# What the VM left on its disk, for the diagnosis of a failure: its journal
# and fsmon's spool, read from the image without mounting it.
postmortem() {
        local pm=$tmp/postmortem
        mkdir -p "$pm"
        debugfs -R "rdump /var/log/journal /var/log/audit /var/lib/fsmon $pm" "$tmp/disk.raw" >/dev/null 2>&1
        echo "--- journal of the VM (fsmon, auditd, kernel audit), last lines"
        journalctl -D "$pm/journal" --no-pager -o short-monotonic -u fsmon -u auditd -u fsmon-vmtest \
                2>/dev/null | tail -n 30
        echo "--- spool: $(ls "$pm/fsmon/spool" 2>/dev/null | tr '\n' ' ')"
        if [ -n "${FSMON_KEEP:-}" ]; then
                echo "kept: $tmp (disk.raw, serial.log, postmortem/)"
                trap - EXIT
        fi
}
if [ -n "$timed_out" ]; then
        echo "FAIL: the VM did not finish within $vm_timeout s"
        grep -a 'FSMON-VM' "$serial" | sed 's/^.*FSMON-VM /  /' | tr -d '\r'
        postmortem
        exit 1
fi

grep -a 'FSMON-VM' "$serial" | sed 's/^.*FSMON-VM /  /' | tr -d '\r'
done_line=$(grep -a 'FSMON-VM \[[0-9. ]*\] DONE' "$serial" | tail -n1 | tr -d '\r')
if [ -z "$done_line" ]; then
        echo "FAIL: vm-inner.sh did not finish; console tail:"
        tail -n 30 "$serial" | tr -d '\r'
        postmortem
        exit 1
fi
n=${done_line##* }
phase "done"
[ "$n" = 0 ] || { echo "$n check(s) failed in the VM"; postmortem; exit 1; }
# The fixtures recorded on the VM's kernel, decoded here exactly: the actions
# the workload says it performed (compare-actions.py). FSMON_FIXTURE_SAVE=DIR
# keeps them (tests/fixtures/ takes them as they are).
if [ -n "$record" ]; then
        debugfs -R "rdump /root/fixtures $tmp" "$tmp/disk.raw" >/dev/null 2>&1
        fsmonctl=${FSMONCTL:-$(command -v fsmonctl)}
        fx=$tmp/fixtures/workload-aarch64-raw
        [ -s "$fx.log" ] && [ -s "$fx.expected.jsonl" ] || { echo "FAIL: no fixtures in the image"; exit 1; }
        if [ -n "$fsmonctl" ]; then
                "$fsmonctl" decode --plain "$fx.log" >"$tmp/decoded.jsonl" &&
                python3 "$FSMON_SRC/tests/compare-actions.py" "$fx.expected.jsonl" "$tmp/decoded.jsonl" /tmp/fsmon-fixture-wd/tree ||
                        { echo "FAIL: the $arch fixture decoded here differs from what the workload did"; exit 1; }
                echo "ok: the $arch kernel's RAW log decoded here: the workload's actions"
        else
                echo "note: no fsmonctl (FSMONCTL) to decode the $arch fixture with"
        fi
        if [ -n "${FSMON_FIXTURE_SAVE:-}" ]; then
                mkdir -p "$FSMON_FIXTURE_SAVE" && cp "$tmp"/fixtures/* "$FSMON_FIXTURE_SAVE"/
                echo "fixtures saved in $FSMON_FIXTURE_SAVE"
        fi
fi
echo "all checks passed"
