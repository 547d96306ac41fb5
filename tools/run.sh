#!/usr/bin/env bash
# fsmon from a source tree on this machine (root, Debian 12): installs what is
# needed, builds, turns the kernel's audit on with an audit daemon, loads
# fsmon's rules the distro way (rules.d + augenrules) and runs fsmond in the
# foreground, showing each action it records, one short line each. A small
# demo workload runs as a "logged-in" user (login uid 1000), since fsmon
# records logged-in users only; when it ends, a summary and the commands to
# try next. ^C stops fsmond (and prints the summary again).
#
#   tools/run.sh [--json] [--pseudonyms] [--no-demo] [--no-deps] [--no-build]
#   tools/run.sh --undo     put back everything the run changed
#
# Everything it changes is written down first in /var/tmp/fsmon-run (the
# audit settings and rules as they were, whether it started auditd, whether
# /var/lib/fsmon existed); --undo restores exactly that. README, "Try it".
set -euo pipefail
orig_pwd=$(pwd)
cd "$(dirname "$0")/.."
src=$(pwd)

run_dir=${FSMON_RUN_DIR:-/var/tmp/fsmon-run}
build=${FSMON_BUILD_DIR:-$src/build}
state_dir=/var/lib/fsmon
rules_file=/etc/audit/rules.d/70-fsmon.rules
echo_format=plain demo=${FSMON_DEMO:-1} deps=1 do_build=1 undo=0

usage() {
        cat <<EOF
Usage: tools/run.sh [OPTIONS]
       tools/run.sh --undo

Builds fsmon from this tree and runs fsmond in the foreground on this
machine (root), showing each recorded action, with a demo workload.

  --json        print the records as JSON Lines (fsmond --echo), for scripts;
                progress and summary go to standard error
  --pseudonyms  show the paths as they are spooled (pseudonymised), not the
                plain names of the audit log
  --no-demo     no demo workload (FSMON_DEMO=0)
  --no-deps     do not run tools/deps.sh
  --no-build    use the build in \$FSMON_BUILD_DIR (default: build/) as it is
  --undo        stop what the run started and put back what it changed
  -h, --help    show this help

Notes and logs: $run_dir
EOF
}

for a in "$@"; do
        case $a in
        --json) echo_format=json ;;
        --pseudonyms) echo_format=text ;;
        --no-demo) demo=0 ;;
        --no-deps) deps=0 ;;
        --no-build) do_build=0 ;;
        --undo) undo=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown option '$a'; see 'tools/run.sh --help'." >&2; exit 2 ;;
        esac
done

# Progress and summaries: to the terminal (standard error in --json mode, so
# that standard output is only records).
say() { if [ "$echo_format" = json ]; then printf '%s\n' "$*" >&2; else printf '%s\n' "$*"; fi; }
die() { echo "run.sh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (it loads audit rules and starts daemons)."

# A daemon started from here gets none of our descriptors beyond 0-2: not
# a lock a caller holds (a test's /tmp/fsmon-audit.lock on fd 9), not the
# pipe of a "| tee". Run as: detached CMD... (in a subshell, so that our
# own descriptors stay).
detached() {
        local fd
        for fd in /proc/"$BASHPID"/fd/*; do
                fd=${fd##*/}
                [ "$fd" -gt 2 ] && eval "exec $fd>&-"
        done
        exec "$@"
}

fsmonctl=$build/daemon/fsmonctl/fsmonctl
fsmond=$build/daemon/fsmond/fsmond
conf=$run_dir/fsmon.conf

audit_setting() { auditctl -s | awk -v k="$1" '$1 == k { print $2 }'; }

# ---- undo -----------------------------------------------------------------
if [ $undo = 1 ]; then
        [ -d "$run_dir/before" ] || die "nothing to undo: no run recorded in $run_dir."
        b=$run_dir/before
        say "== Undoing what tools/run.sh changed (recorded in $b)"
        if [ -s "$run_dir/fsmond.pid" ]; then
                pid=$(cat "$run_dir/fsmond.pid")
                if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$fsmond")" ]; then
                        say "   stopping fsmond (PID $pid)"
                        kill -TERM "$pid"
                        for _ in $(seq 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
                fi
        fi
        if [ -x "$fsmonctl" ]; then
                say "   fsmonctl rules --unload: $rules_file out, augenrules --load, backlog settings back"
                "$fsmonctl" rules --unload --config "$conf" 2>&1 | sed 's/^/   /'
        else
                rm -f "$rules_file"
                augenrules --load >/dev/null
        fi
        if [ -e "$b/70-fsmon.rules" ]; then
                say "   $rules_file was there before: put back"
                cp -p "$b/70-fsmon.rules" "$rules_file"
                augenrules --load >/dev/null
        fi
        # augenrules rewrote audit.rules (and kept a .prev): as they were.
        for f in audit.rules audit.rules.prev; do
                if [ -e "$b/etc-audit/$f" ]; then
                        cp -p "$b/etc-audit/$f" "/etc/audit/$f"
                else
                        rm -f "/etc/audit/$f"
                fi
        done
        if [ -s "$b/auditd.started" ]; then
                pid=$(cat "$b/auditd.started")
                if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = auditd ]; then
                        say "   stopping the auditd this run started (PID $pid)"
                        kill -TERM "$pid"
                        for _ in $(seq 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
                fi
        fi
        # The kernel's settings as they were before the run (fsmon puts back
        # what it raised; this also covers "enabled", which the run set).
        for k in backlog_limit backlog_wait_time failure rate_limit enabled; do
                v=$(awk -v k="$k" '$1 == k { print $2 }' "$b/status")
                [ -n "$v" ] && [ "$(audit_setting "$k")" != "$v" ] || continue
                case $k in
                backlog_limit) auditctl -b "$v" >/dev/null ;;
                backlog_wait_time) auditctl --backlog_wait_time "$v" >/dev/null ;;
                failure) auditctl -f "$v" >/dev/null ;;
                rate_limit) auditctl -r "$v" >/dev/null ;;
                enabled) [ "$v" != 2 ] && auditctl -e "$v" >/dev/null ;;
                esac
                say "   $k put back to $v"
        done
        if [ ! -e "$b/state-dir.existed" ] && [ -d "$state_dir" ]; then
                say "   removing $state_dir (the run created it: key, spool, checkpoint)"
                rm -rf "$state_dir"
        fi
        # What is different from before, if anything.
        auditctl -l >"$run_dir/rules.after" 2>&1 || true
        ok=1
        cmp -s "$b/rules" "$run_dir/rules.after" || { say "   kernel rules differ from before:"; diff "$b/rules" "$run_dir/rules.after" | sed 's/^/   /'; ok=0; }
        for k in enabled failure backlog_limit backlog_wait_time rate_limit; do
                v=$(awk -v k="$k" '$1 == k { print $2 }' "$b/status")
                [ "$(audit_setting "$k")" = "$v" ] || { say "   $k is $(audit_setting "$k"), was $v"; ok=0; }
        done
        if [ $ok = 1 ]; then
                rm -rf "$run_dir"
                say "== Done: audit rules, settings, rules.d and $state_dir are as before the run."
        else
                die "undo incomplete (see above); the record stays in $run_dir."
        fi
        exit 0
fi

# ---- 1. dependencies and build --------------------------------------------
mkdir -p "$run_dir"
t0=$(date +%s)
if [ $deps = 1 ]; then
        say "== 1/4 Dependencies (tools/deps.sh; apt's output goes to $run_dir/deps.log)"
        # deps.sh's own lines are progress; apt's output goes to the log.
        FSMON_DEPS_LOG=$run_dir/deps.log tools/deps.sh 2>&1 | sed 's/^deps.sh: /   /' || {
                tail -20 "$run_dir/deps.log" >&2
                die "tools/deps.sh failed; apt's whole output is in $run_dir/deps.log."
        }
fi
if [ $do_build = 1 ]; then
        say "== 2/4 Building (meson, ninja; output in $run_dir/build.log)"
        {
                [ -d "$build/meson-private" ] || meson setup "$build"
                ninja -C "$build"
        } >"$run_dir/build.log" 2>&1 || { tail -30 "$run_dir/build.log" >&2; die "the build failed; see $run_dir/build.log."; }
        say "   built $(realpath --relative-to="$src" "$fsmond") and $(realpath --relative-to="$src" "$fsmonctl") ($(( $(date +%s) - t0 )) s so far)"
fi
[ -x "$fsmond" ] && [ -x "$fsmonctl" ] || die "no build in $build (run without --no-build)."

# ---- 2. what the run changes, written down before it changes it -----------
b=$run_dir/before
if [ ! -d "$b" ]; then
        # A second run keeps the first one's "before".
        mkdir -p "$b.tmp/etc-audit"
        auditctl -s >"$b.tmp/status"
        auditctl -l >"$b.tmp/rules" 2>&1 || true
        [ -e "$rules_file" ] && cp -p "$rules_file" "$b.tmp/70-fsmon.rules"
        for f in audit.rules audit.rules.prev; do
                [ -e "/etc/audit/$f" ] && cp -p "/etc/audit/$f" "$b.tmp/etc-audit/$f"
        done
        [ -d "$state_dir" ] && touch "$b.tmp/state-dir.existed"
        mv "$b.tmp" "$b"
fi
# fsmond's own reads are never recorded: the rules' exe= must name this
# binary, not /usr/sbin/fsmond. Everything else is the default config.
cat >"$conf" <<EOF
# Written by tools/run.sh: the defaults, with the fsmond of this build.
[paths]
fsmond = $(realpath "$fsmond")
EOF

# ---- 3. audit ---------------------------------------------------------------
say "== 3/4 Kernel audit and fsmon's rules"
if [ "$(audit_setting enabled)" = 0 ]; then
        auditctl -e 1 >/dev/null
        say "   auditing enabled (auditctl -e 1; it was off)"
fi
if ! pgrep -x auditd >/dev/null; then
        ( detached auditd ) </dev/null >/dev/null 2>&1
        for _ in $(seq 50); do pgrep -x auditd >/dev/null && break; sleep 0.1; done
        pid=$(pgrep -xo auditd) || die "auditd did not start (see its messages: journalctl, or auditd -f)."
        [ -s "$b/auditd.started" ] || echo "$pid" >"$b/auditd.started"
        say "   auditd started (PID $pid; none ran), writing /var/log/audit/audit.log"
else
        say "   auditd runs already (PID $(pgrep -xo auditd))"
fi
"$fsmonctl" rules --load --config "$conf" 2>&1 | sed 's/^fsmonctl: /   /' ||
        say "   (rules not loaded: fsmond will run degraded and say why)"

# ---- 4. fsmond ----------------------------------------------------------------
summary() {
        local j
        j=$("$fsmonctl" report --format json --progress=no "$state_dir/spool" 2>/dev/null) || j=
        if [ -n "$j" ] && command -v jq >/dev/null; then
                jq -r --arg spool "$state_dir/spool" '
                        "   recorded so far: \(.totals.actions) actions on \(.totals.files) files, " +
                        "\(.totals.bytes_read) bytes read, \(.totals.bytes_written) bytes written" +
                        (if .totals.lost_events > 0 then ", \(.totals.lost_events) events lost" else "" end),
                        "   spool: \($spool) (pseudonymised; the key is '"$state_dir"'/key)"' <<<"$j"
        else
                echo "   spool: $state_dir/spool (fsmonctl report reads it)"
        fi
}
# A path as the user can type it from where they started.
shown() {
        local r
        r=$(realpath -m --relative-to="$orig_pwd" "$1")
        case $r in ../*) echo "$1" ;; *) echo "$r" ;; esac
}
next_steps() {
        local ctl run
        ctl=$(shown "$fsmonctl")
        run=$(shown "$src/tools/run.sh")
        cat <<EOF
   next, in another terminal:
     $ctl report
         what the spool holds: files, programs, bytes (--format html: a page with charts)
     $ctl decode --format text /var/log/audit/audit.log
         the audit log itself, a line per action (no daemon needed)
     $ctl status
         fsmond's state; needs the system bus and fsmon's bus policy, as the
         packages install them (here it says what is missing)
   stop: ^C here (fsmon's rules stay loaded; a restart reads back what happened meanwhile)
   undo: $run --undo   (rules, kernel settings, auditd and $state_dir as before)
EOF
}

if [ "$demo" = 1 ]; then
        (
                sleep 2
                # Only the workload is the "logged-in" user; the summary
                # below (jq, fsmonctl report) is not recorded.
                (
                        echo 1000 >/proc/self/loginuid
                        for _ in 1 2 3; do
                                cat /etc/os-release >/dev/null
                                ls /usr/share/doc >/dev/null
                                sleep 1
                        done
                )
                # auditd ends an event after end_of_event_timeout (2 s).
                sleep 3
                {
                        echo "== The demo is over: as login uid 1000, cat /etc/os-release and ls /usr/share/doc, 3 times."
                        summary
                        next_steps
                } | if [ "$echo_format" = json ]; then cat >&2; else cat; fi
        ) </dev/null &
        demo_pid=$!
fi

case $echo_format in
json) say "== 4/4 fsmond --echo (records as JSON Lines on standard output; ^C stops)" ;;
*) say "== 4/4 fsmond, recording; one line per action: time, program[pid], op, path, bytes at offset (^C stops)" ;;
esac
( detached "$fsmond" --config "$conf" --echo="$echo_format" ) </dev/null &
fsmond_pid=$!
echo "$fsmond_pid" >"$run_dir/fsmond.pid"
stop() { kill -TERM "$fsmond_pid" 2>/dev/null || true; }
trap stop INT TERM
rc=0
while :; do
        wait "$fsmond_pid" && rc=0 || rc=$?
        [ -d "/proc/$fsmond_pid" ] || break
done
trap - INT TERM
rm -f "$run_dir/fsmond.pid"
[ -z "${demo_pid:-}" ] || kill "$demo_pid" 2>/dev/null || true
{
        echo "== fsmond stopped (exit status $rc)."
        summary
        echo "   fsmon's rules are still loaded; undo everything: $(shown "$src/tools/run.sh") --undo"
} | if [ "$echo_format" = json ]; then cat >&2; else cat; fi
exit 0
