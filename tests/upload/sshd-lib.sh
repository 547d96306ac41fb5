# shellcheck shell=bash
# A private sshd on 127.0.0.1 for the upload test and benchmark (sourced).
# Everything lives in $UP_DIR; the test user exists only while it runs.
# Needs root. Stops only the processes it started, by PID.
#
#   up_setup            temp dir, host key, user with a random password,
#                       remote dir, free port, sshd_config
#   up_sshd_start       starts sshd (-D -E $UP_DIR/sshd.log), waits for it
#   up_sshd_kill        SIGKILLs sshd and every process below it
#   up_cleanup          stops sshd, removes the user and the temp dir
#
# Sets UP_DIR UP_USER UP_PASSWORD UP_PORT UP_REMOTE UP_KNOWN_HOSTS UP_SSHD_PID.

up_descendants() {
        local p=$1 c
        for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
                up_descendants "$c"
                echo "$c"
        done
}

up_free_port() {
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

up_setup() {
        UP_DIR=$(mktemp -d /tmp/fsmon-upload.XXXXXX)
        chmod 755 "$UP_DIR"
        # sshd's privilege separation directory (its unit's RuntimeDirectory,
        # absent where systemd does not run). Left in place afterwards: tests
        # that start sshd run in parallel, and one's cleanup must not take it
        # from another's running sshd (seen: "Missing privilege separation
        # directory"). It is an empty directory on the /run tmpfs.
        [ -d /run/sshd ] || { mkdir -p /run/sshd && chmod 755 /run/sshd; }

        ssh-keygen -q -t ed25519 -N '' -C fsmon-test-host -f "$UP_DIR/hostkey" >/dev/null

        # Unique name; the password is random and never on a command line.
        UP_USER=fsmup$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
        UP_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
        mkdir -p "$UP_DIR/home" "$UP_DIR/remote"
        useradd -M -d "$UP_DIR/home" -s /bin/sh "$UP_USER" || return 1
        UP_USER_CREATED=1
        printf '%s:%s\n' "$UP_USER" "$UP_PASSWORD" | chpasswd || return 1
        chown "$UP_USER:" "$UP_DIR/home" "$UP_DIR/remote"

        mkdir -p "$UP_DIR/keys"
        UP_PORT=$(up_free_port)
        up_write_config
        UP_KNOWN_HOSTS=$UP_DIR/known_hosts
        printf '[127.0.0.1]:%s %s\n' "$UP_PORT" "$(cut -d' ' -f1,2 "$UP_DIR/hostkey.pub")" >"$UP_KNOWN_HOSTS"
        UP_REMOTE=$UP_DIR/remote
}

# UP_USE_PAM, UP_PASSWORD_AUTH, UP_KBDINT_AUTH (yes/no) pick the
# authentication methods; $1: extra sshd_config lines (optional).
up_write_config() {
        cat >"$UP_DIR/sshd_config" <<EOF
Port $UP_PORT
ListenAddress 127.0.0.1
HostKey $UP_DIR/hostkey
PidFile $UP_DIR/sshd.pid
UsePAM ${UP_USE_PAM:-no}
PasswordAuthentication ${UP_PASSWORD_AUTH:-yes}
KbdInteractiveAuthentication ${UP_KBDINT_AUTH:-no}
PubkeyAuthentication yes
AuthorizedKeysFile $UP_DIR/keys/%u
StrictModes no
PermitRootLogin no
AllowUsers $UP_USER
UseDNS no
MaxStartups 20:30:100
LogLevel DEBUG3
Subsystem sftp /usr/lib/openssh/sftp-server
${1:-}
EOF
}

up_sshd_start() {
        local i
        /usr/sbin/sshd -t -f "$UP_DIR/sshd_config" || return 1
        /usr/sbin/sshd -D -f "$UP_DIR/sshd_config" -E "$UP_DIR/sshd.log" &
        UP_SSHD_PID=$!
        for i in $(seq 100); do
                if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $UP_PORT), 1)" 2>/dev/null; then
                        return 0
                fi
                kill -0 "$UP_SSHD_PID" 2>/dev/null || break
                sleep 0.1
        done
        echo "sshd did not start:" >&2
        tail -20 "$UP_DIR/sshd.log" >&2
        return 1
}

up_sshd_kill() {
        local pids p
        [ -n "${UP_SSHD_PID:-}" ] || return 0
        pids="$(up_descendants "$UP_SSHD_PID") $UP_SSHD_PID"
        for p in $pids; do
                kill -KILL "$p" 2>/dev/null
        done
        wait "$UP_SSHD_PID" 2>/dev/null
        UP_SSHD_PID=
}

up_sshd_stop() {
        local pids p
        [ -n "${UP_SSHD_PID:-}" ] || return 0
        pids="$(up_descendants "$UP_SSHD_PID")"
        kill -TERM "$UP_SSHD_PID" 2>/dev/null
        for p in $pids; do
                kill -TERM "$p" 2>/dev/null
        done
        wait "$UP_SSHD_PID" 2>/dev/null
        UP_SSHD_PID=
}

up_cleanup() {
        # Runs from traps of scripts with set -e: every step must run.
        set +e
        up_sshd_stop
        if [ "${UP_USER_CREATED:-0}" = 1 ]; then
                userdel "$UP_USER" 2>/dev/null || userdel -f "$UP_USER" 2>/dev/null
                UP_USER_CREATED=0
        fi
        if [ -n "${UP_DIR:-}" ] && [ -d "$UP_DIR" ]; then
                # A test's tmpfs left mounted by a failure: unmount, never delete through it.
                findmnt -rn -o TARGET | grep "^$UP_DIR/" | sort -r | while read -r m; do umount "$m"; done || true
                rm -rf --one-file-system "$UP_DIR"
        fi
}

# Exits 77 unless root with the tools the test needs.
up_require() {
        local t
        if [ "$(id -u)" -ne 0 ]; then
                echo "SKIP: needs root (creates a user, starts sshd)"
                exit 77
        fi
        for t in /usr/sbin/sshd ssh-keygen useradd userdel chpasswd python3 "$@"; do
                if ! command -v "$t" >/dev/null 2>&1; then
                        echo "SKIP: $t is missing (tools/deps.sh installs it)"
                        exit 77
                fi
        done
}
