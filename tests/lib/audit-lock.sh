# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by every test and tool that touches the kernel's audit state (rules,
# settings, loginuid, auditd): /tmp/fsmon-audit.lock, waited for with a
# timeout, and a failure that says who holds it. Source it, then
#
#   audit_lock_take [SECONDS] [FD]   waits at most SECONDS (default
#                                    $FSMON_AUDIT_LOCK_WAIT or 120) and takes
#                                    the lock on FD (default 9); returns 0, or
#                                    1 after printing
#                                    "audit lock held by PID N (COMMAND) for S s"
#   audit_lock_holders               "PID COMMAND" of every other process that
#                                    has the lock file open
#   fd_check PID NAME                fails (1) when PID has the audit lock, a
#                                    pipe or a socket of the caller open: what
#                                    a daemon must not inherit
#
# Choose SECONDS shorter than the test's meson timeout minus its own work, so
# that a busy machine gives a message, never a silent kill by meson.
# A daemon started while the lock is held gets "9>&-" (FD closed) or
# "exec 9>&-" in its subshell; fd_check proves it.

FSMON_AUDIT_LOCK=${FSMON_AUDIT_LOCK:-/tmp/fsmon-audit.lock}

audit_lock_holders() {
        local lock f pid
        lock=$(readlink -f "$FSMON_AUDIT_LOCK") || return 0
        find /proc/[0-9]*/fd -maxdepth 1 -lname "$lock" 2>/dev/null | while read -r f; do
                pid=${f#/proc/}
                pid=${pid%%/*}
                audit_lock_is_ours "$pid" && continue
                [ -r "/proc/$pid/cmdline" ] || continue
                echo "$pid $(audit_lock_command "$pid")"
        done | sort -un
}

# This shell, or a process it started (flock -w, $(...)): not "the holder".
audit_lock_is_ours() {
        local p=$1 i
        for i in 1 2 3 4; do
                [ "$p" = $$ ] && return 0
                p=$(awk '$1 == "PPid:" { print $2 }' "/proc/$p/status" 2>/dev/null) || return 1
                [ -n "$p" ] && [ "$p" != 0 ] || return 1
        done
        return 1
}

# What PID runs, for a person: its command line, shortened.
audit_lock_command() {
        local c
        c=$( { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null) || c=
        c=${c% }
        [ -n "$c" ] || c=$(cat "/proc/$1/comm" 2>/dev/null) || c="?"
        [ -n "$c" ] || c="?"
        [ ${#c} -le 100 ] || c="${c:0:97}..."
        printf '%s\n' "$c"
}

# The process that holds the flock now, from /proc/locks (by inode), when it
# is still alive; else the first other process that has the file open (the
# locker may have exited and left the lock to a child that inherited it).
audit_lock_holder() {
        local ino pid
        ino=$(stat -c %i "$FSMON_AUDIT_LOCK" 2>/dev/null) || return 0
        pid=$(awk -v ino="$ino" '$2 == "FLOCK" { n = split($6, a, ":"); if (a[n] == ino) { print $5; exit } }' /proc/locks)
        if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
                echo "$pid $(audit_lock_command "$pid")"
                return 0
        fi
        # The topmost of them: a test, rather than the decoder it runs.
        local list p ppid
        list=$(audit_lock_holders)
        while read -r p _; do
                [ -n "$p" ] || continue
                ppid=$(awk '$1 == "PPid:" { print $2 }' "/proc/$p/status" 2>/dev/null)
                grep -q "^$ppid " <<<"$list" || { grep "^$p " <<<"$list"; return 0; }
        done <<<"$list"
        head -n1 <<<"$list"
}

audit_lock_take() {
        local wait=${1:-${FSMON_AUDIT_LOCK_WAIT:-120}} fd=${2:-9} t0 holder
        eval "exec $fd>>\"\$FSMON_AUDIT_LOCK\""
        flock -n "$fd" && return 0
        t0=$(date +%s)
        holder=$(audit_lock_holder)
        echo "audit lock: held by PID ${holder%% *} (${holder#* }), waiting up to $wait s" >&2
        flock -w "$wait" "$fd" && return 0
        holder=$(audit_lock_holder)
        [ -n "$holder" ] || holder="? (unknown)"
        echo "audit lock held by PID ${holder%% *} (${holder#* }) for $(( $(date +%s) - t0 )) s" \
                "(waited that long for $FSMON_AUDIT_LOCK; the holder must close it or end)" >&2
        return 1
}

fd_check() {
        local pid=$1 name=$2 lock f t bad=0
        lock=$(readlink -f "$FSMON_AUDIT_LOCK")
        [ -d "/proc/$pid/fd" ] || { echo "fd_check: $name (PID $pid) is not running" >&2; return 1; }
        for f in /proc/"$pid"/fd/*; do
                t=$(readlink "$f" 2>/dev/null) || continue
                if [ "$t" = "$lock" ]; then
                        echo "fd_check: $name (PID $pid) holds the audit lock on fd ${f##*/}" >&2
                        bad=1
                elif [[ $t == pipe:* || $t == socket:* ]] && caller_has "$t"; then
                        echo "fd_check: $name (PID $pid) inherited fd ${f##*/} ($t) from its starter" >&2
                        bad=1
                fi
        done
        return $bad
}

# Whether this shell (or its parent, the test's runner) has the same pipe or
# socket open: a descriptor shared with the starter is an inherited one.
caller_has() {
        local t=$1 p f
        for p in $$ "${BASHPID:-$$}" "$PPID"; do
                for f in /proc/"$p"/fd/*; do
                        [ "$(readlink "$f" 2>/dev/null)" = "$t" ] && return 0
                done
        done
        return 1
}
