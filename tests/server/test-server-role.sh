#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The upload server's role, as shipped (server/): fsmon-server-setup.sh makes a
# fleet (group, chroot, sshd_config.d snippet) and two hosts' accounts; a
# private sshd on 127.0.0.1 (own config that includes the snippet the way
# Debian's sshd_config does, own host key, free port) serves them. Host A
# uploads real segments with fsmon's uploader; host B then can neither list,
# read, write, rename nor delete anything of A's, gets no shell, and uploads
# its own; fsmonctl verify and report over the server directory see two
# complete hosts. Root only (creates users and a group, removed at the end);
# 77 otherwise.
#
#   test-server-role.sh UPLOAD-DRIVER FSMONCTL
set -uo pipefail

driver=${1:?usage: test-server-role.sh UPLOAD-DRIVER FSMONCTL}
fsmonctl=${2:?usage}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
py=/usr/bin/python3
[ -x $py ] || py=python3

if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root (creates users, starts sshd)"; exit 77; fi
for t in /usr/sbin/sshd ssh-keygen sftp ssh useradd userdel groupadd groupdel chpasswd; do
        command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t is missing (tools/deps.sh)"; exit 77; }
done
$py -c 'import zstandard' 2>/dev/null || { echo "SKIP: python3-zstandard is missing (tools/deps.sh)"; exit 77; }

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# ChrootDirectory wants every component root-owned and not group/other
# writable: not under /tmp (1777).
dir=$(mktemp -d /run/fsmon-server-role.XXXXXX) || exit 1
chmod 0755 "$dir"
fleet=t$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
group=fsmon-$fleet
userA=fsmon-$fleet-a userB=fsmon-$fleet-b
sshd_pid= created_run_sshd=0

descendants() {
        local p=$1 c
        for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do descendants "$c"; echo "$c"; done
}
cleanup() {
        set +e
        if [ -n "$sshd_pid" ]; then
                for p in $(descendants "$sshd_pid") "$sshd_pid"; do kill -TERM "$p" 2>/dev/null; done
                wait "$sshd_pid" 2>/dev/null
        fi
        for u in "$userA" "$userB"; do
                id "$u" >/dev/null 2>&1 && userdel "$u"
        done
        getent group "$group" >/dev/null && groupdel "$group"
        rm -rf --one-file-system "$dir"
        [ "$created_run_sshd" = 1 ] && rmdir /run/sshd 2>/dev/null
        # Nothing of ours may be left.
        if id "$userA" >/dev/null 2>&1 || id "$userB" >/dev/null 2>&1 || getent group "$group" >/dev/null; then
                echo "FAIL: a test user or group is left"; exit 1
        fi
}
trap cleanup EXIT

[ -d /run/sshd ] || { mkdir -p /run/sshd && chmod 755 /run/sshd && created_run_sshd=1; }

# --- the shipped commands ----------------------------------------------------
export FSMON_SERVER_BASE=$dir/srv FSMON_SSHD_CONFIG_DIR=$dir/sshd_config.d
setup="sh $src/server/fsmon-server-setup.sh"
if $setup fleet "$fleet" && $setup host "$fleet" a && $setup host "$fleet" b; then
        pass "fsmon-server-setup.sh: fleet $fleet, accounts $userA and $userB"
else
        fail "fsmon-server-setup.sh"; exit 1
fi
pwA=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n') pwB=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf '%s:%s\n%s:%s\n' "$userA" "$pwA" "$userB" "$pwB" | chpasswd || { fail chpasswd; exit 1; }
[ "$(getent passwd "$userA" | cut -d: -f7)" = /usr/sbin/nologin ] || fail "$userA has a login shell"
[ "$(stat -c '%U:%G %a' "$dir/srv/$fleet/upload")" = "root:$group 1730" ] || fail "upload dir: $(stat -c '%U:%G %a' "$dir/srv/$fleet/upload")"

# --- sshd with the snippet, included as Debian's sshd_config does -----------
ssh-keygen -q -t ed25519 -N '' -f "$dir/hostkey" >/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$dir/userkey" >/dev/null
mkdir -p "$dir/keys"
# B also gets a key, so that OpenSSH's sftp can probe as B without a password prompt.
cp "$dir/userkey.pub" "$dir/keys/$userB"
port=$($py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$dir/sshd_config" <<CONF
Include $dir/sshd_config.d/*.conf
Port $port
ListenAddress 127.0.0.1
HostKey $dir/hostkey
PidFile $dir/sshd.pid
UsePAM no
KbdInteractiveAuthentication no
AuthorizedKeysFile $dir/keys/%u
StrictModes no
UseDNS no
LogLevel VERBOSE
Subsystem sftp /usr/lib/openssh/sftp-server
CONF
if ! /usr/sbin/sshd -t -f "$dir/sshd_config" 2>"$dir/sshd-t.err"; then
        fail "sshd -t refuses the snippet: $(cat "$dir/sshd-t.err")"; exit 1
fi
pass "sshd -t accepts the snippet"
/usr/sbin/sshd -D -f "$dir/sshd_config" -E "$dir/sshd.log" &
sshd_pid=$!
for _ in $(seq 100); do
        $py -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
        sleep 0.1
done
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$dir/hostkey.pub")" >"$dir/known_hosts"

# --- two hosts' real segments (the independent writer) -----------------------
$py "$src/tests/verify/gen-fleet.py" "$dir/gen" --hosts 2 --segments 6 --records 40 --seed 11 >/dev/null || { fail gen; exit 1; }
read -r hostA hostB < <(ls "$dir/gen" | sort | tr '\n' ' ')
upload() { # USER PASSWORD HOST-ID
        mkdir -p "$dir/spool-$3"
        cp "$dir/gen/$3"/* "$dir/spool-$3/"
        printf '%s\n' "$2" | "$driver" --host 127.0.0.1 --port "$port" --user "$1" --remote-dir /upload \
                --known-hosts "$dir/known_hosts" --host-id "$3" --spool "$dir/spool-$3" \
                --connect-timeout 20 --stall-timeout 20 >"$dir/up-$3.out" 2>&1
}
up=$dir/srv/$fleet/upload
if upload "$userA" "$pwA" "$hostA" && grep -q '^result ok' "$dir/up-$hostA.out" &&
   diff -r "$dir/gen/$hostA" "$up/$hostA" >/dev/null; then
        pass "host A uploads with fsmon's uploader: 6 segments byte-identical in upload/$hostA"
else
        fail "host A's upload"; cat "$dir/up-$hostA.out"; tail -20 "$dir/sshd.log"
fi
[ "$(stat -c '%U %a' "$up/$hostA")" = "$userA 700" ] || fail "A's folder: $(stat -c '%U %a' "$up/$hostA")"
f=$(ls "$up/$hostA" | head -1)
[ "$(stat -c '%U %a' "$up/$hostA/$f")" = "$userA 600" ] || fail "A's segment: $(stat -c '%U %a' "$up/$hostA/$f")"

# --- host B against A's data: every attempt refused -------------------------
sftpB() { # batch commands on stdin; exit status of sftp -b
        sftp -b - -i "$dir/userkey" -P "$port" -o UserKnownHostsFile="$dir/known_hosts" \
                -o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes "$userB@127.0.0.1" >"$dir/sftp.out" 2>&1
}
echo "pwd" | sftpB && grep -q '/' "$dir/sftp.out" || { fail "B cannot open an sftp session at all"; cat "$dir/sftp.out"; }
echo data >"$dir/evil"
probe() { # WHAT COMMAND
        if printf '%s\n' "$2" | sftpB; then
                fail "B could $1 ($2): $(cat "$dir/sftp.out")"
        else
                pass "B cannot $1: $(grep -v '^sftp>' "$dir/sftp.out" | tail -1)"
        fi
}
probe "list the upload folder" "ls /upload"
probe "list A's folder" "ls /upload/$hostA"
probe "read A's segment" "get /upload/$hostA/$f $dir/stolen"
probe "delete A's segment" "rm /upload/$hostA/$f"
probe "rename A's segment" "rename /upload/$hostA/$f /upload/$hostA/x"
probe "write into A's folder" "put $dir/evil /upload/$hostA/evil"
probe "remove A's folder" "rmdir /upload/$hostA"
probe "rename A's folder" "rename /upload/$hostA /upload/gone"
probe "chmod A's folder" "chmod 777 /upload/$hostA"
probe "write outside the upload folder" "put $dir/evil /evil"
[ -e "$dir/stolen" ] && fail "B's get left a copy of A's data"
if diff -r "$dir/gen/$hostA" "$up/$hostA" >/dev/null; then pass "A's folder unchanged"; else fail "A's folder changed"; fi
if ssh -i "$dir/userkey" -p "$port" -o UserKnownHostsFile="$dir/known_hosts" -o BatchMode=yes \
        -o IdentitiesOnly=yes "$userB@127.0.0.1" id >"$dir/ssh.out" 2>&1 && grep -q 'uid=' "$dir/ssh.out"; then
        fail "B got a shell: $(cat "$dir/ssh.out")"
else
        pass "B gets no shell (ForceCommand internal-sftp)"
fi

# --- B uploads its own; the collector verifies and reports ------------------
if upload "$userB" "$pwB" "$hostB" && grep -q '^result ok' "$dir/up-$hostB.out" &&
   diff -r "$dir/gen/$hostB" "$up/$hostB" >/dev/null; then
        pass "host B uploads its own segments"
else
        fail "host B's upload"; cat "$dir/up-$hostB.out"
fi
"$fsmonctl" verify --format json "$up" >"$dir/verify.json"; rc=$?
if [ $rc = 0 ] && $py -c "
import json,sys; v=json.load(open(sys.argv[1]))
assert v['summary']['hosts'] == 2 and v['summary']['complete'] == 2, v['summary']
assert sorted(h['host'] for h in v['hosts']) == sorted(sys.argv[2:]), v['hosts']
" "$dir/verify.json" "$hostA" "$hostB"; then
        pass "fsmonctl verify over the server directory: two complete hosts"
else
        fail "verify: exit $rc: $(head -c 600 "$dir/verify.json")"
fi
"$fsmonctl" report --format json "$up" >"$dir/report.json" || fail "report: exit $?"
$py -c "
import json,sys; r=json.load(open(sys.argv[1]))
assert r['completeness']['status'] == 'complete' and len(r['hosts']) == 2, r['completeness']
" "$dir/report.json" && pass "fsmonctl report: two hosts, fleet complete" || fail "report completeness"

# remove-host/remove-fleet (the cleanup checks that they worked)
$setup remove-host "$fleet" a >/dev/null && $setup remove-host "$fleet" b >/dev/null &&
        $setup remove-fleet "$fleet" >/dev/null || fail "fsmon-server-setup.sh remove-*"
[ -e "$dir/sshd_config.d/fsmon-$fleet.conf" ] && fail "remove-fleet left the snippet"

[ $failures = 0 ] && echo "all ok" || echo "$failures failure(s)"
[ $failures = 0 ]
