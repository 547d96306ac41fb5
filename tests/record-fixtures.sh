#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Regenerates the golden fixtures in tests/fixtures/ from the real kernel:
# builds tests/workload/workload.c for x86_64 and i386, runs it under a
# private auditd with audit rules limited to a login uid of its own, and keeps
# the log auditd wrote next to the actions the workload says it performed.
#
#   sudo tests/record-fixtures.sh        (root; needs auditd, gcc, gcc-multilib)
#
# On arm64 (run by tests/system/vm-test.sh in its arm64 VM, with
# FSMON_WORKLOAD64 a workload cross-built for arm64 and FSMON_FIXTURE_OUT the
# output directory): the 64-bit RAW run only, named workload-aarch64-raw,
# with aarch64's names for the calls (no open, creat, dup2, fork there).
#
# Kernel audit state is shared: everything runs under /tmp/fsmon-audit.lock;
# only this script's rules (key below) are added and removed, only the auditd
# it started is stopped (by PID), and the enabled flag and backlog limit are
# restored.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
        echo "record-fixtures.sh: must run as root" >&2
        exit 1
fi
# The shared lock helper: a timeout and a message naming the holder. The
# auditd started below gets 9>&- (flock(1) would have passed the lock on).
# shellcheck source=tests/lib/audit-lock.sh
. "$(dirname "$0")/lib/audit-lock.sh"
audit_lock_take "${FSMON_AUDIT_LOCK_WAIT:-600}" 9 || exit 1

top=$(cd "$(dirname "$0")/.." && pwd)
out=${FSMON_FIXTURE_OUT:-$top/tests/fixtures}
machine=$(uname -m)
key=fsmon-fixture-rec
auid=2718281
# Fixed, so that the tests know it; kept free of symlinks (the kernel's CWD
# records name real paths).
base=/tmp/fsmon-fixture-wd
workdir=$base/tree

b64_syscalls=open,openat,openat2,creat,read,write,pread,pwrite,readv,writev,preadv,pwritev,lseek,close,close_range,dup,dup2,dup3,fcntl,fork,vfork,clone,clone3,execve,execveat,getdents64,exit_group,copy_file_range,sendfile,splice,mmap,rename,renameat,renameat2,unlink,unlinkat,rmdir,mkdir,mkdirat,truncate,ftruncate
b32_syscalls=open,openat,openat2,creat,read,write,pread64,pwrite64,readv,writev,preadv,pwritev,lseek,_llseek,close,close_range,dup,dup2,dup3,fcntl,fcntl64,fork,vfork,clone,clone3,execve,execveat,getdents64,exit_group,copy_file_range,sendfile,sendfile64,splice,mmap2,rename,renameat,renameat2,unlink,unlinkat,rmdir,mkdir,mkdirat,truncate,truncate64,ftruncate,ftruncate64
rules=(
        "-F arch=b64 -F auid=$auid -S $b64_syscalls -k $key"
        "-F arch=b32 -F auid=$auid -S $b32_syscalls -k $key"
)
exit_nr64=231
if [ "$machine" = aarch64 ]; then
        # aarch64 has no open, creat, dup2, fork, vfork, rename, unlink, rmdir,
        # mkdir; libaudit calls getdents64 "getdents" there.
        b64_syscalls=openat,openat2,read,write,pread,pwrite,readv,writev,preadv,pwritev,lseek,close,close_range,dup,dup3,fcntl,clone,clone3,execve,execveat,getdents,exit_group,copy_file_range,sendfile,splice,mmap,renameat,renameat2,unlinkat,mkdirat,truncate,ftruncate
        rules=("-F arch=b64 -F auid=$auid -S $b64_syscalls -k $key")
        exit_nr64=94
fi

status_field() {
        auditctl -s | awk -v f="$1" '$1 == f { print $2 }'
}

if [ "$(status_field pid)" != 0 ]; then
        echo "record-fixtures.sh: an auditd (pid $(status_field pid)) is already running" >&2
        exit 1
fi
orig_enabled=$(status_field enabled)
orig_backlog=$(status_field backlog_limit)
if [ "$orig_enabled" = 2 ]; then
        echo "record-fixtures.sh: audit configuration is locked (enabled 2)" >&2
        exit 1
fi

tmp=$(mktemp -d /tmp/fsmon-fixture-rec.XXXXXX)
auditd_pid=
rules_loaded=0
cleanup() {
        set +e
        if [ "$rules_loaded" = 1 ]; then
                for r in "${rules[@]}"; do
                        # shellcheck disable=SC2086
                        auditctl -d exit,always $r >/dev/null 2>&1
                done
        fi
        if [ -n "$auditd_pid" ]; then
                kill -TERM "$auditd_pid" 2>/dev/null
                wait "$auditd_pid" 2>/dev/null
        fi
        auditctl -b "$orig_backlog" >/dev/null
        [ "$orig_enabled" = 0 ] && auditctl -e 0 >/dev/null
        rm -rf "$tmp" "$base"
}
trap cleanup EXIT

if [ -n "${FSMON_WORKLOAD64:-}" ]; then
        install -m 0755 "$FSMON_WORKLOAD64" "$tmp/workload64"
else
        echo "== building the workload"
        gcc -m64 -std=gnu11 -O1 -g -Wall -Wextra -Wno-unused-parameter -Werror -pthread \
                -o "$tmp/workload64" "$top/tests/workload/workload.c"
        gcc -m32 -std=gnu11 -O1 -g -Wall -Wextra -Wno-unused-parameter -Werror -pthread \
                -o "$tmp/workload32" "$top/tests/workload/workload.c"
fi

[ "$orig_enabled" = 0 ] && auditctl -e 1 >/dev/null
# The kernel makes audited processes wait when the backlog is full; a larger
# backlog just makes that rarer.
auditctl -b 8192 >/dev/null
lost_before=$(status_field lost)

# record NAME BITS FORMAT [WORKLOAD-OPTION]
record() {
        local name=$1 bits=$2 format=$3 option=${4:-}
        local conf=$tmp/conf-$name logdir=$tmp/log-$name expected=$tmp/$name.expected.jsonl
        local i pid exit_nr

        echo "== $name: $bits-bit workload, log_format $format"
        rm -rf "$base"
        mkdir -m 0755 "$base" "$workdir"
        cp "$tmp/workload$bits" "$workdir/helper-prog"

        mkdir -m 0700 "$conf" "$conf/plugins.d" "$logdir"
        cat >"$conf/auditd.conf" <<EOF
local_events = yes
write_logs = yes
log_file = $logdir/audit.log
log_group = root
log_format = $format
flush = INCREMENTAL_ASYNC
freq = 50
max_log_file = 100
num_logs = 2
priority_boost = 0
name_format = NONE
max_log_file_action = IGNORE
space_left = 2
space_left_action = IGNORE
admin_space_left = 1
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
use_libwrap = no
tcp_listen_queue = 5
tcp_max_per_addr = 1
tcp_client_max_idle = 0
transport = TCP
distribute_network = no
q_depth = 2000
overflow_action = IGNORE
max_restarts = 10
plugin_dir = $conf/plugins.d
end_of_event_timeout = 2
EOF
        chmod 0600 "$conf/auditd.conf"

        auditd -n -s nochange -c "$conf" 9>&- &
        auditd_pid=$!
        for i in $(seq 100); do
                [ "$(status_field pid)" = "$auditd_pid" ] && break
                kill -0 "$auditd_pid" 2>/dev/null || { echo "auditd exited" >&2; exit 1; }
                sleep 0.1
        done
        [ "$(status_field pid)" = "$auditd_pid" ] || { echo "auditd did not register" >&2; exit 1; }

        for r in "${rules[@]}"; do
                # shellcheck disable=SC2086
                auditctl -a exit,always $r >/dev/null
                rules_loaded=1
        done

        # The subshell takes the login uid the rules select, then becomes the
        # workload; stdin from /dev/null, and from / so that no relative name
        # resolves by accident.
        (cd / && echo "$auid" >/proc/self/loginuid && exec "$tmp/workload$bits" "$workdir" "$expected" $option) </dev/null

        pid=$(head -n1 "$expected" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
        exit_nr=$([ "$bits" = 64 ] && echo $exit_nr64 || echo 252)
        # Wait until the kernel queue is drained, then until auditd has
        # written the workload's last event (on a slow machine, TCG, that
        # takes more than the second that is enough here).
        for i in $(seq 100); do
                [ "$(status_field backlog)" = 0 ] && break
                sleep 0.1
        done
        sleep 1
        for i in $(seq 60); do
                grep -aqE "^type=SYSCALL .* syscall=$exit_nr .* pid=$pid .*key=\"$key\"" "$logdir/audit.log" && break
                sleep 0.5
        done

        for r in "${rules[@]}"; do
                # shellcheck disable=SC2086
                auditctl -d exit,always $r >/dev/null
        done
        rules_loaded=0
        kill -TERM "$auditd_pid"
        wait "$auditd_pid" || true
        auditd_pid=

        if ! grep -aqE "^type=SYSCALL .* syscall=$exit_nr .* pid=$pid .*key=\"$key\"" "$logdir/audit.log"; then
                echo "record-fixtures.sh: $name: the workload's exit_group is not in the log" >&2
                exit 1
        fi
        # Besides the workload's, only auditd's and auditctl's own netlink
        # calls (their CONFIG_CHANGE events) may be there.
        if grep -a '^type=SYSCALL ' "$logdir/audit.log" | grep -av " auid=$auid " |
           grep -avE ' comm="(auditd|auditctl)" ' | grep -q .; then
                echo "record-fixtures.sh: $name: SYSCALL records of other login uids in the log" >&2
                exit 1
        fi
        if [ -n "$option" ] && ! child_exit_first "$logdir/audit.log" "$pid"; then
                echo "   a clone event is not after its child's exit in (time, serial) order; again"
                rm -rf "$conf" "$logdir"
                return 1
        fi
        install -m 0644 "$logdir/audit.log" "$out/$name.log"
        install -m 0644 "$expected" "$out/$name.expected.jsonl"
        echo "   $(wc -l <"$out/$name.log") log lines, $(wc -c <"$out/$name.log") bytes," \
             "$(wc -l <"$out/$name.expected.jsonl") expected actions"
}

# For --lifecycle: does the log order (audit time, then serial) put each
# CLONE_VFORK child's exit_group before its parent's clone/clone3 event? The kernel stamps
# an event's time at syscall entry, so that takes children that live and die
# within the parent's clone tick; not every run does.
child_exit_first() {
        python3 - "$1" "$2" <<'PY'
import re, sys
log, parent = sys.argv[1], sys.argv[2]
clones, exits = {}, {}
for line in open(log, encoding="latin-1"):
    m = re.match(r"type=SYSCALL msg=audit\((\d+)\.(\d+):(\d+)\): ", line)
    if not m:
        continue
    stamp = (int(m[1]), int(m[2]), int(m[3]))
    f = dict(re.findall(r" (syscall|exit|pid|a0)=([-0-9a-f]+)", line))
    # clone3 (flags out of sight), clone(CLONE_FILES | CLONE_VFORK | SIGCHLD)
    if f.get("pid") == parent and (f.get("syscall") == "435" or (f.get("syscall") == "56" and f.get("a0") == "4411")):
        clones[f.get("exit")] = stamp
    elif f.get("syscall") == "231":
        exits[f.get("pid")] = stamp
ok = len(clones) == 2 and all(c in exits and exits[c] < s for c, s in clones.items())
sys.exit(0 if ok else 1)
PY
}

mkdir -p "$out"
if [ "$machine" = aarch64 ]; then
        record workload-aarch64-raw 64 RAW
        lost_after=$(status_field lost)
        [ "$lost_after" = "$lost_before" ] || { echo "record-fixtures.sh: the kernel lost records" >&2; exit 1; }
        {
                echo "Recorded: $(date -u '+%Y-%m-%d %H:%M UTC')"
                echo "Kernel:   $(uname -srm)"
                echo "auditd:   $(auditctl -v | sed 's/auditctl version //')"
                echo "libc:     $(ldd --version | head -n1)"
        } >"$out/workload-aarch64-raw.recorded"
        echo "== fixtures written to $out"
        exit 0
fi
record workload-raw 64 RAW
record workload-enriched 64 ENRICHED
record workload32-raw 32 RAW
for try in $(seq 30); do
        record workload-lifecycle-raw 64 RAW --lifecycle && break
        [ "$try" = 30 ] && { echo "record-fixtures.sh: no run with the children first" >&2; exit 1; }
done

lost_after=$(status_field lost)
if [ "$lost_after" != "$lost_before" ]; then
        echo "record-fixtures.sh: the kernel lost $((lost_after - lost_before)) records; run again" >&2
        exit 1
fi

cat >"$out/README" <<EOF
Golden fixtures for fsmonctl decode, recorded from the real kernel by
tests/record-fixtures.sh (do not edit by hand; run it again as root).

  *.log             the audit log as a private auditd wrote it (RAW or ENRICHED)
                    while tests/workload/workload.c ran with login uid $auid,
                    with rules for arch b64 and b32 selecting that uid (key $key)
  *.expected.jsonl  the file actions the workload performed, written by the
                    workload itself (checked against the kernel's file
                    positions as it ran), per the tracker semantics
  workload-raw, workload-enriched: x86_64 workload; workload32-raw: i386 (-m32);
  workload-lifecycle-raw: x86_64, only children (clone3, clone with
  CLONE_FILES) whose whole lives are logged before their parent's clone
  event, and an orphan whose parent was killed (workload --lifecycle)
  workload-aarch64-raw: the same workload on arm64, recorded on the kernel of
  the arm64 VM of tests/system/vm-test.sh (FSMON_VM_ARCH=arm64,
  FSMON_FIXTURE_SAVE=DIR keeps it); where and when: workload-aarch64-raw.recorded

Working directory of the workload: $workdir
Compared by tests/compare-actions.py (see README.md, "Test fixtures").

Recorded: $(date -u '+%Y-%m-%d %H:%M UTC')
Kernel:   $(uname -srm)
auditd:   $(auditctl -v | sed 's/auditctl version //')
libc:     $(ldd --version | head -n1)
EOF
echo "== fixtures written to $out"
