#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Sets up an fsmon upload server the distro way (README.md "Setting up the
# upload server"); run as root, read before you run it.
#
#   sh fsmon-server-setup.sh fleet FLEET          the group, the chroot, the sshd snippet
#   sh fsmon-server-setup.sh host FLEET NAME      an upload account for one host
#   sh fsmon-server-setup.sh remove-host FLEET NAME
#   sh fsmon-server-setup.sh remove-fleet FLEET   group and snippet (the data stays)
#
# Then give the host's account a password (`passwd fsmon-FLEET-NAME`, the
# host's upload password) and reload sshd after `sshd -t`.
# FSMON_SERVER_BASE (default /srv/fsmon) and FSMON_SSHD_CONFIG_DIR (default
# /etc/ssh/sshd_config.d) move the data and the snippet; FSMON_SNIPPET names
# the template (default: fsmon-upload.conf next to this script).
set -eu

base=${FSMON_SERVER_BASE:-/srv/fsmon}
confdir=${FSMON_SSHD_CONFIG_DIR:-/etc/ssh/sshd_config.d}
snippet=${FSMON_SNIPPET:-$(dirname "$0")/fsmon-upload.conf}
nologin=/usr/sbin/nologin
[ -x "$nologin" ] || nologin=/sbin/nologin

die() { echo "fsmon-server-setup: $*" >&2; exit 1; }
# Names become user and group names and paths: keep them plain.
check_name() {
        case $1 in
        ''|*[!a-z0-9-]*|-*) die "'$1': use lowercase letters, digits and '-'" ;;
        esac
}

[ $# -ge 2 ] || die "usage: fleet FLEET | host FLEET NAME | remove-host FLEET NAME | remove-fleet FLEET"
cmd=$1 fleet=$2
check_name "$fleet"
group=fsmon-$fleet

case $cmd in
fleet)
        getent group "$group" >/dev/null || groupadd --system "$group"
        # The chroot: root-owned all the way down, as sshd requires.
        install -d -o root -g root -m 0755 "$base" "$base/$fleet"
        # A drop box: hosts create their folder, cannot list or remove others.
        install -d -o root -g "$group" -m 1730 "$base/$fleet/upload"
        install -d -m 0755 "$confdir"
        sed -e "s|/srv/fsmon/FLEET|$base/$fleet|g" -e "s|FLEET|$fleet|g" "$snippet" >"$confdir/fsmon-$fleet.conf.tmp"
        chmod 0644 "$confdir/fsmon-$fleet.conf.tmp"
        mv "$confdir/fsmon-$fleet.conf.tmp" "$confdir/fsmon-$fleet.conf"
        echo "fleet $fleet: $base/$fleet/upload, $confdir/fsmon-$fleet.conf; check with 'sshd -t', then reload sshd"
        ;;
host)
        [ $# -eq 3 ] || die "usage: host FLEET NAME"
        check_name "$3"
        user=fsmon-$fleet-$3
        [ ${#user} -le 32 ] || die "$user: longer than 32 characters"
        getent group "$group" >/dev/null || die "no fleet $fleet: run 'fleet $fleet' first"
        # No home, no shell: the account only runs internal-sftp in the chroot.
        id "$user" >/dev/null 2>&1 ||
                useradd --system --gid "$group" --no-create-home --home-dir / --shell "$nologin" \
                        --comment "fsmon upload, fleet $fleet, host $3" "$user"
        echo "account $user: now 'passwd $user' (the host's upload password); the host's"
        echo "fsmon.conf: [upload] user=$user, remote_dir=/upload"
        ;;
remove-host)
        [ $# -eq 3 ] || die "usage: remove-host FLEET NAME"
        check_name "$3"
        ! id "fsmon-$fleet-$3" >/dev/null 2>&1 || userdel "fsmon-$fleet-$3"
        ;;
remove-fleet)
        rm -f "$confdir/fsmon-$fleet.conf"
        ! getent group "$group" >/dev/null || groupdel "$group"
        echo "fleet $fleet removed; its data stays in $base/$fleet"
        ;;
*)
        die "unknown command '$cmd'"
        ;;
esac
