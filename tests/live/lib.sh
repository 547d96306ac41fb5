# Shared by the live tests: a private auditd, rules for one login uid, fsmond
# on temporary directories. Everything is undone by live_cleanup (trap it).
# Callers hold /tmp/fsmon-audit.lock (kernel audit state is global):
# live_begin takes it through tests/lib/audit-lock.sh (a timeout, then a
# failure naming the holder); bench/live takes it itself.

# shellcheck source=tests/lib/audit-lock.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/audit-lock.sh"

live_auditd_pid=
live_fsmond_pid=
live_rules=()
live_saved_status=
live_tmp=()

# live_begin AUID_BASE FSMOND FSMONCTL: what every live test starts with.
# Skips (77) without root or auditd. Takes /tmp/fsmon-audit.lock on fd 9 for
# the rest of the test (auditd and fsmond are started without it), sets an
# EXIT trap that runs live_cleanup and removes $dir and every directory the
# test adds to live_tmp, and TERM/INT traps that exit through it (a timeout
# or ^C still restores the kernel). Then: $dir, a login uid $auid of the
# test's own range (AUID_BASE + 0..32767), fail=0, the config, a private
# auditd and fsmon's rules. Returns 0, 77 (skip) or another failure status.
live_begin() {
        local auid_base=$1 fsmond=$2 fsmonctl=$3

        [ "$(id -u)" -eq 0 ] || { echo "needs root"; return 77; }
        command -v auditd >/dev/null && command -v auditctl >/dev/null || { echo "needs auditd"; return 77; }
        trap 'exit 143' TERM
        trap 'exit 130' INT
        # The live tests' meson timeout is 900 s; their work takes up to
        # 5 minutes on a busy 2-core machine (README, "Tests").
        audit_lock_take "${FSMON_AUDIT_LOCK_WAIT:-420}" 9 || return 1

        dir=$(mktemp -d /tmp/fsmon-live.XXXXXX) || return 1
        live_tmp+=("$dir")
        auid=$((auid_base + RANDOM))
        fail=0
        trap 'live_cleanup; rm -rf "${live_tmp[@]}"' EXIT

        live_config "$dir" "$auid" "$fsmond"
        live_setup "$dir" || return $?
        live_rules_load "$fsmonctl" "$dir" || return 1
}

# live_setup DIR: auditd writing RAW to DIR/log, kernel settings saved.
live_setup() {
        local dir=$1
        mkdir -p "$dir/log" "$dir/plugins" "$dir/state"
        chmod 0700 "$dir/state"
        cat >"$dir/auditd.conf" <<EOC
local_events = yes
write_logs = yes
log_file = $dir/log/audit.log
log_format = RAW
flush = INCREMENTAL_ASYNC
freq = 50
max_log_file = 1024
num_logs = 4
max_log_file_action = ROTATE
space_left = 2
space_left_action = IGNORE
admin_space_left = 1
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
plugin_dir = $dir/plugins
end_of_event_timeout = 2
EOC
        chmod 0640 "$dir/auditd.conf"
        live_saved_status=$(auditctl -s)
        if pgrep -x auditd >/dev/null; then
                echo "live: an auditd runs already (not ours); refusing to start another" >&2
                return 77
        fi
        auditctl -e 1 >/dev/null
        auditctl -b 65536 >/dev/null
        auditctl --backlog_wait_time 60000 >/dev/null 2>&1 || true
        # 9>&-: the audit lock must not outlive the test in a child.
        auditd -n -c "$dir" >"$dir/auditd.out" 2>&1 9>&- &
        live_auditd_pid=$!
        for _ in $(seq 100); do
                [ -s "$dir/log/audit.log" ] && break
                sleep 0.1
        done
        if [ ! -s "$dir/log/audit.log" ]; then
                echo "live: auditd did not start:" >&2; cat "$dir/auditd.out" >&2
                return 1
        fi
        fd_check "$live_auditd_pid" auditd || return 1
}

# live_rules_load FSMONCTL DIR: the rules fsmond's config renders (fsmonctl
# rules), loaded rule by rule; kernel settings and "-D" lines are left out:
# the test sets those itself and deletes exactly these rules.
live_rules_load() {
        local fsmonctl=$1 dir=$2 r
        mapfile -t live_rules < <("$fsmonctl" rules --config "$dir/fsmon.conf" | grep -E '^-a ')
        [ ${#live_rules[@]} -gt 0 ] || { echo "live: fsmonctl rules rendered nothing" >&2; return 1; }
        for r in "${live_rules[@]}"; do
                # shellcheck disable=SC2086
                auditctl $r >/dev/null || { echo "live: auditctl $r failed" >&2; return 1; }
        done
}

# live_config DIR AUID FSMOND [EXTRA]: a config with every path below DIR.
live_config() {
        local dir=$1 auid=$2 fsmond=$3
        cat >"$dir/fsmon.conf" <<EOC
[monitor]
users = $auid-$auid
# Nothing excluded: the restart test compares with fsmonctl decode, which
# applies no path filter (an ASan-built workload reads /proc at start).
exclude =

[spool]
fsync = interval

[paths]
state_dir = $dir/state
rules_file = $dir/70-fsmon.rules
audit_log_dir = $dir/log
fsmond = $(realpath "$fsmond")
EOC
        [ -n "${4:-}" ] && printf '%s\n' "$4" >>"$dir/fsmon.conf"
        return 0
}

# live_start_fsmond DIR FSMOND: runs fsmond (it only checks the rules) and
# waits until it reads the live stream.
live_start_fsmond() {
        local dir=$1 fsmond=$2
        "$fsmond" --config "$dir/fsmon.conf" --no-load-rules >>"$dir/fsmond.log" 2>&1 9>&- &
        live_fsmond_pid=$!
        for _ in $(seq 100); do
                grep -q "Read back\|Following" "$dir/fsmond.log" 2>/dev/null && break
                kill -0 "$live_fsmond_pid" 2>/dev/null || { cat "$dir/fsmond.log" >&2; return 1; }
                sleep 0.1
        done
        # Neither the audit lock nor one of our pipes in the daemon.
        fd_check "$live_fsmond_pid" fsmond
}

live_stop_fsmond() {
        [ -n "$live_fsmond_pid" ] || return 0
        kill -TERM "$live_fsmond_pid" 2>/dev/null
        wait "$live_fsmond_pid" 2>/dev/null
        live_fsmond_pid=
}

# All records spooled below DIR/state/spool, in segment order.
live_spooled() {
        local dir=$1 f
        for f in $(ls "$dir/state/spool" | grep -E '^seg-' | sort); do
                case "$f" in
                *.zst) zstdcat "$dir/state/spool/$f" ;;
                *) cat "$dir/state/spool/$f" ;;
                esac
        done | grep '"op"'
}

live_cleanup() {
        local r
        if [ -n "$live_fsmond_pid" ]; then
                kill -KILL "$live_fsmond_pid" 2>/dev/null
                wait "$live_fsmond_pid" 2>/dev/null
        fi
        for r in "${live_rules[@]}"; do
                # shellcheck disable=SC2086
                auditctl ${r/#-a /-d } >/dev/null 2>&1
        done
        if [ -n "$live_auditd_pid" ]; then
                kill -TERM "$live_auditd_pid" 2>/dev/null
                wait "$live_auditd_pid" 2>/dev/null
        fi
        if [ -n "$live_saved_status" ]; then
                local enabled backlog wait
                enabled=$(awk '$1=="enabled"{print $2}' <<<"$live_saved_status")
                backlog=$(awk '$1=="backlog_limit"{print $2}' <<<"$live_saved_status")
                wait=$(awk '$1=="backlog_wait_time"{print $2}' <<<"$live_saved_status")
                [ -n "$backlog" ] && auditctl -b "$backlog" >/dev/null
                [ -n "$wait" ] && auditctl --backlog_wait_time "$wait" >/dev/null 2>&1
                [ -n "$enabled" ] && [ "$enabled" != 2 ] && auditctl -e "$enabled" >/dev/null
        fi
}
