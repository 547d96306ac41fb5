#!/usr/bin/env bash
# Integration test of the uploader (daemon/upload/upload.[ch]) against a real sshd on
# 127.0.0.1 with its own config, host key, port and a test user with a
# password (created here, removed at the end). Root only; exit 77 otherwise.
#
#   test-upload.sh UPLOAD-DRIVER [TEST-UPLOAD-MANAGER]
#
# Expectations come from what the test itself did: the files it generated,
# the keys it pinned, the processes it killed.
set -uo pipefail

driver=${1:?usage: test-upload.sh UPLOAD-DRIVER [TEST-UPLOAD-MANAGER]}
glue=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=sshd-lib.sh
. "$here/sshd-lib.sh"
up_require cmp sha256sum

trap up_cleanup EXIT
up_setup || { echo "FAIL: setup"; exit 1; }
up_sshd_start || { echo "FAIL: sshd"; exit 1; }

fails=0
# shellcheck source=tests/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

# Segment-like files: spool names, random (incompressible) content, sizes
# around chunk boundaries, one empty.
make_spool() {
        local dir=$1; shift
        local i=0 size
        mkdir -p "$dir"
        for size in "$@"; do
                i=$((i + 1))
                head -c "$size" /dev/urandom >"$dir/$(printf 'seg-%012d.jsonl.zst' "$i")"
        done
}

# name and sha256 of every file below $1, for "nothing changed" checks.
snapshot() {
        (cd "$1" && find . -type f -print0 | sort -z | xargs -0r sha256sum)
}

run() {
        local out=$1 pw=$2; shift 2
        printf '%s\n' "$pw" | "$driver" --host 127.0.0.1 --port "$UP_PORT" --user "$UP_USER" \
                --remote-dir "$UP_REMOTE" --connect-timeout 20 --stall-timeout 20 "$@" >"$out" 2>&1
}

field() { sed -n "s/^$1 //p" "$2"; }

# Every file of $1 has a byte-identical twin in $2, and $2 holds nothing else.
same_tree() {
        local ref=$1 got=$2 f ok=0
        for f in "$ref"/*; do
                [ -e "$f" ] || continue
                cmp -s "$f" "$got/$(basename "$f")" || { echo "  differs or missing: $(basename "$f")"; ok=1; }
        done
        [ "$(ls -A "$ref" | sort)" = "$(ls -A "$got" | sort)" ] || { echo "  other files on the server: $(ls -A "$got")"; ok=1; }
        return $ok
}

log_mark() { wc -c <"$UP_DIR/sshd.log"; }
log_since() { tail -c +$(($1 + 1)) "$UP_DIR/sshd.log"; }
# Waits (10 s at most) until sshd's log after mark $1 matches $2: sshd
# writes it through its monitor, a little after the client is gone.
log_wait() {
        local i
        for i in $(seq 100); do
                log_since "$1" | grep -q -- "$2" && return 0
                sleep 0.1
        done
        return 1
}

# --- 1. right password: server files byte-identical, local spool emptied ----
t=$UP_DIR/t1
make_spool "$t/spool" 1000003 65536 0 3145728 131071 1
cp -a "$t/spool" "$t/ref"
mark=$(log_mark)
run "$t/out" "$UP_PASSWORD" --async --known-hosts "$UP_KNOWN_HOSTS" --host-id host1 --spool "$t/spool"
if [ "$(field result "$t/out")" = ok ] && same_tree "$t/ref" "$UP_REMOTE/host1" &&
   [ -z "$(ls -A "$t/spool")" ] && [ "$(field fds_leaked "$t/out")" = 0 ] &&
   [ "$(grep -c '^delivered ' "$t/out")" = 6 ] &&
   [ "$(grep '^delivered ' "$t/out" | cut -d' ' -f2 | sort -u | wc -l)" = 6 ]; then
        pass "right password: 6 segments byte-identical on the server, spool empty, no descriptor left open"
else
        fail "right password"; cat "$t/out"
fi
# The log check of case 3 must be able to see password attempts.
log_wait "$mark" 'method password' || fail "sshd log shows no password attempt for a real login (LogLevel?)"

# --- 2. wrong password: refused, nothing changed on either side -------------
t=$UP_DIR/t2
make_spool "$t/spool" 200000 300000
before_local=$(snapshot "$t/spool") before_remote=$(snapshot "$UP_REMOTE")
run "$t/out" "not-$UP_PASSWORD" --async --known-hosts "$UP_KNOWN_HOSTS" --host-id host2 --spool "$t/spool"
if [ "$(field result "$t/out")" = WrongPassword ] &&
   [ "$(field error "$t/out")" = org.fsmon1.Error.WrongPassword ] &&
   [ "$(snapshot "$t/spool")" = "$before_local" ] && [ "$(snapshot "$UP_REMOTE")" = "$before_remote" ] &&
   [ ! -e "$UP_REMOTE/host2" ] && ! grep -q '^delivered ' "$t/out" && [ "$(field fds_leaked "$t/out")" = 0 ]; then
        pass "wrong password: refused, spool and server unchanged, no descriptor left open"
else
        fail "wrong password"; cat "$t/out"
fi

# --- 3. host key changed / unknown / other type: aborted before any password -
t=$UP_DIR/t3
make_spool "$t/spool" 100000
before_local=$(snapshot "$t/spool") before_remote=$(snapshot "$UP_REMOTE")
ssh-keygen -q -t ed25519 -N '' -f "$t/otherkey" >/dev/null
ssh-keygen -q -t ecdsa -N '' -f "$t/ecdsakey" >/dev/null
printf '[127.0.0.1]:%s %s\n' "$UP_PORT" "$(cut -d' ' -f1,2 "$t/otherkey.pub")" >"$t/changed"
printf '[127.0.0.1]:%s %s\n' "$UP_PORT" "$(cut -d' ' -f1,2 "$t/ecdsakey.pub")" >"$t/othertype"
printf '[127.0.0.2]:%s %s\n' "$UP_PORT" "$(cut -d' ' -f1,2 "$UP_DIR/hostkey.pub")" >"$t/unknown"
for kind in changed othertype unknown; do
        mark=$(log_mark)
        run "$t/out-$kind" "$UP_PASSWORD" --known-hosts "$t/$kind" --host-id host3 --spool "$t/spool"
        # The preauth child's log ends when it does: all it would log is in.
        log_wait "$mark" 'child log fd closed' || fail "host key $kind: sshd did not log the end of the connection"
        log=$(log_since "$mark")
        if [ "$(field result "$t/out-$kind")" = HostKeyMismatch ] &&
           [ "$(field error "$t/out-$kind")" = org.fsmon1.Error.HostKeyMismatch ] &&
           grep -q 'Connection from 127.0.0.1' <<<"$log" &&
           ! grep -Eq 'userauth-request|method password|keyboard-interactive|Failed password|Accepted password' <<<"$log" &&
           [ "$(snapshot "$t/spool")" = "$before_local" ] && [ "$(snapshot "$UP_REMOTE")" = "$before_remote" ]; then
                pass "host key $kind: aborted, sshd saw no authentication request"
        else
                fail "host key $kind"; cat "$t/out-$kind"; grep -E 'userauth|password' <<<"$log" | head -5
        fi
done

# --- 3b. pinned file missing: NotConfigured, no connection ------------------
run "$t/out-nc" "$UP_PASSWORD" --known-hosts "$t/does-not-exist" --host-id host3 --spool "$t/spool"
if [ "$(field result "$t/out-nc")" = NotConfigured ] && [ "$(snapshot "$t/spool")" = "$before_local" ]; then
        pass "no pinned known_hosts: NotConfigured"
else
        fail "no pinned known_hosts"; cat "$t/out-nc"
fi

# --- 4. sshd killed mid-upload; a later upload delivers each segment once ----
t=$UP_DIR/t4
make_spool "$t/spool" 16777216 16777216 16777216 16777216 16777216 16777216
cp -a "$t/spool" "$t/ref"
# Small writes, few in flight: slow enough to be caught mid-transfer.
run "$t/out1" "$UP_PASSWORD" --async --known-hosts "$UP_KNOWN_HOSTS" --host-id host4 --spool "$t/spool" \
        --chunk 8192 --requests 2 &
driver_pid=$!
killed=0
for _ in $(seq 600); do
        # Kill once a segment is through and the next one is partly written.
        if grep -q '^delivered ' "$t/out1" 2>/dev/null &&
           [ -n "$(find "$UP_REMOTE/host4" -name '*.part' -size +1k 2>/dev/null)" ]; then
                up_sshd_kill
                killed=1
                break
        fi
        kill -0 "$driver_pid" 2>/dev/null || break
        sleep 0.05
done
wait "$driver_pid"
first=$(grep -c '^delivered ' "$t/out1")
left=$(ls -A "$t/spool" | wc -l)
if [ $killed = 1 ] && [ "$(field result "$t/out1")" != ok ] &&
   [ "$(field error "$t/out1")" = org.fsmon1.Error.ConnectionFailed ] &&
   [ "$first" -ge 1 ] && [ "$first" -lt 6 ] && [ $((first + left)) = 6 ]; then
        pass "sshd killed mid-upload: $(field result "$t/out1"), $first delivered, $left still spooled"
else
        fail "sshd killed mid-upload (killed=$killed, first=$first, left=$left)"; cat "$t/out1"
fi
for f in "$t/spool"/*; do
        cmp -s "$f" "$t/ref/$(basename "$f")" || fail "spooled $(basename "$f") damaged after the failed upload"
done
up_sshd_start || fail "sshd restart"
run "$t/out2" "$UP_PASSWORD" --async --known-hosts "$UP_KNOWN_HOSTS" --host-id host4 --spool "$t/spool"
delivered=$(cat "$t/out1" "$t/out2" | grep '^delivered ' | cut -d' ' -f2 | sort)
if [ "$(field result "$t/out2")" = ok ] && same_tree "$t/ref" "$UP_REMOTE/host4" &&
   [ -z "$(ls -A "$t/spool")" ] &&
   [ "$delivered" = "$(ls "$t/ref" | sort)" ] &&
   [ "$(grep -c '^delivered ' "$t/out2")" = "$left" ]; then
        pass "after the kill: every segment delivered exactly once, no .part left"
else
        fail "upload after the kill"; cat "$t/out2"
fi

# --- 4b. a stalled server (session processes stopped): the stall timeout ----
t=$UP_DIR/t4b
make_spool "$t/spool" 16777216 16777216
before_local=$(snapshot "$t/spool")
run "$t/out" "$UP_PASSWORD" --known-hosts "$UP_KNOWN_HOSTS" --host-id host4b --spool "$t/spool" \
        --chunk 8192 --requests 2 --stall-timeout 3 &
driver_pid=$!
stopped=""
for _ in $(seq 600); do
        if [ -n "$(find "$UP_REMOTE/host4b" -name '*.part' -size +1k 2>/dev/null)" ]; then
                stopped=$(up_descendants "$UP_SSHD_PID")
                for p in $stopped; do kill -STOP "$p" 2>/dev/null; done
                break
        fi
        kill -0 "$driver_pid" 2>/dev/null || break
        sleep 0.05
done
start=$SECONDS
wait "$driver_pid"
took=$((SECONDS - start))
for p in $stopped; do kill -CONT "$p" 2>/dev/null; done
if [ -n "$stopped" ] && [ "$(field result "$t/out")" = ETIMEDOUT ] &&
   [ "$(field error "$t/out")" = org.fsmon1.Error.ConnectionFailed ] && [ "$took" -le 15 ] &&
   [ "$(snapshot "$t/spool")" = "$before_local" ]; then
        pass "stalled server: $(field message "$t/out") (after ${took}s), spool intact"
else
        fail "stalled server (took ${took}s)"; cat "$t/out"
fi

# --- 4c. nobody listening: a clear connection error -------------------------
port=$(up_free_port)
printf '%s\n' "$UP_PASSWORD" | "$driver" --host 127.0.0.1 --port "$port" --user "$UP_USER" \
        --remote-dir "$UP_REMOTE" --known-hosts "$UP_KNOWN_HOSTS" --host-id host4c \
        --spool "$t/spool" >"$t/out-refused" 2>&1
if [ "$(field result "$t/out-refused")" = ECONNREFUSED ] &&
   [ "$(field error "$t/out-refused")" = org.fsmon1.Error.ConnectionFailed ] &&
   [ "$(snapshot "$t/spool")" = "$before_local" ]; then
        pass "server down: $(field message "$t/out-refused")"
else
        fail "server down"; cat "$t/out-refused"
fi

# --- 4d. a server that accepts but never speaks SSH: the connect timeout ----
port=$(up_free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
print("ready", flush=True)
conns = []
while True:
        c, _ = s.accept(); conns.append(c)
' "$port" >"$t/mute.out" &
mute_pid=$!
for _ in $(seq 50); do grep -q ready "$t/mute.out" 2>/dev/null && break; sleep 0.1; done
start=$SECONDS
printf '%s\n' "$UP_PASSWORD" | "$driver" --host 127.0.0.1 --port "$port" --user "$UP_USER" \
        --remote-dir "$UP_REMOTE" --known-hosts "$UP_KNOWN_HOSTS" --host-id host4d --connect-timeout 2 \
        --spool "$t/spool" >"$t/out-mute" 2>&1
took=$((SECONDS - start))
kill "$mute_pid" 2>/dev/null; wait "$mute_pid" 2>/dev/null
if [ "$(field result "$t/out-mute")" = ETIMEDOUT ] && [ "$(field error "$t/out-mute")" = org.fsmon1.Error.ConnectionFailed ] &&
   [ "$took" -le 10 ] && [ "$(snapshot "$t/spool")" = "$before_local" ]; then
        pass "mute server: $(field message "$t/out-mute") (after ${took}s)"
else
        fail "mute server (took ${took}s)"; cat "$t/out-mute"
fi

# --- 5. crash leftovers: final name present (not removed locally), .part ----
t=$UP_DIR/t5
make_spool "$t/spool" 500000 700000 900000
cp -a "$t/spool" "$t/ref"
mkdir -p "$UP_REMOTE/host5"
# As if the daemon died after the rename but before removing the segment...
cp "$t/ref/seg-000000000001.jsonl.zst" "$UP_REMOTE/host5/"
head -c 4000 /dev/urandom >"$UP_REMOTE/host5/seg-000000000001.jsonl.zst.part"
# ... and, for the next one, during the transfer.
head -c 12345 /dev/urandom >"$UP_REMOTE/host5/seg-000000000002.jsonl.zst.part"
# A final name with other content (same size) is not taken for delivered.
head -c 900000 /dev/urandom >"$UP_REMOTE/host5/seg-000000000003.jsonl.zst"
chown -R "$UP_USER:" "$UP_REMOTE/host5"
run "$t/out" "$UP_PASSWORD" --known-hosts "$UP_KNOWN_HOSTS" --host-id host5 --spool "$t/spool"
if [ "$(field result "$t/out")" = ok ] && same_tree "$t/ref" "$UP_REMOTE/host5" &&
   [ -z "$(ls -A "$t/spool")" ] &&
   grep -q 'present=1 ' "$t/out" && grep -q "bytes_sent=1600000 " "$t/out"; then
        pass "leftovers: present segment not resent, .part replaced, different final replaced"
else
        fail "leftovers"; cat "$t/out"
fi

# --- 5b. what proves a final name is this segment --------------------------
# By default: the same size and the same first and last 16 KiB (the segment's
# header and footer, whose hash is chained over every record), so a present
# segment is not read back whole. Here a server-side copy whose middle was
# changed but whose ends were not passes for delivered, as documented
# (README "Upload"); with --readback the whole file is compared and it is
# replaced.
for mode in size readback; do
        t=$UP_DIR/t5b-$mode
        make_spool "$t/spool" 1000000
        cp -a "$t/spool" "$t/ref"
        mkdir -p "$UP_REMOTE/host5b-$mode"
        f=$UP_REMOTE/host5b-$mode/seg-000000000001.jsonl.zst
        cp "$t/ref/seg-000000000001.jsonl.zst" "$f"
        printf 'changed in the middle' | dd of="$f" bs=1 seek=500000 conv=notrunc status=none
        chown -R "$UP_USER:" "$UP_REMOTE/host5b-$mode"
        extra=(); [ "$mode" = readback ] && extra=(--readback)
        run "$t/out" "$UP_PASSWORD" "${extra[@]}" --known-hosts "$UP_KNOWN_HOSTS" --host-id "host5b-$mode" \
                --spool "$t/spool"
        if [ "$mode" = size ] && [ "$(field result "$t/out")" = ok ] && grep -q 'present=1 ' "$t/out" &&
           grep -q "bytes_sent=0 " "$t/out" && ! cmp -s "$t/ref/seg-000000000001.jsonl.zst" "$f"; then
                pass "present by size, header and footer: not read back whole, not resent"
        elif [ "$mode" = readback ] && [ "$(field result "$t/out")" = ok ] && grep -q 'present=0 ' "$t/out" &&
             grep -q "bytes_sent=1000000 " "$t/out" && same_tree "$t/ref" "$UP_REMOTE/host5b-$mode"; then
                pass "--readback compares the whole file: the changed copy is replaced"
        else
                fail "present segment ($mode)"; cat "$t/out"
        fi
done

# --- 6. remote directory unwritable: a clear error, spool intact ------------
t=$UP_DIR/t6
make_spool "$t/spool" 100000 100000
before_local=$(snapshot "$t/spool")
mkdir -p "$UP_DIR/locked" "$UP_DIR/locked/host6b"
chmod 755 "$UP_DIR/locked" "$UP_DIR/locked/host6b"    # root's: the user cannot write
for id in host6a host6b; do
        run "$t/out-$id" "$UP_PASSWORD" --known-hosts "$UP_KNOWN_HOSTS" --remote-dir "$UP_DIR/locked" \
                --host-id "$id" --spool "$t/spool"
        if [ "$(field result "$t/out-$id")" = EACCES ] &&
           [ "$(field error "$t/out-$id")" = org.fsmon1.Error.UploadFailed ] &&
           grep -q '^message permission denied' "$t/out-$id" &&
           [ "$(snapshot "$t/spool")" = "$before_local" ] && ! grep -q '^delivered ' "$t/out-$id"; then
                pass "unwritable remote dir ($id): $(field message "$t/out-$id")"
        else
                fail "unwritable remote dir ($id)"; cat "$t/out-$id"
        fi
done
run "$t/out-missing" "$UP_PASSWORD" --known-hosts "$UP_KNOWN_HOSTS" --remote-dir "$UP_DIR/nonexistent" \
        --host-id host6 --spool "$t/spool"
if [ "$(field result "$t/out-missing")" = ENOENT ] && [ "$(snapshot "$t/spool")" = "$before_local" ]; then
        pass "missing remote dir: $(field message "$t/out-missing")"
else
        fail "missing remote dir"; cat "$t/out-missing"
fi

# --- 7. remote disk full (a small tmpfs as the host directory) --------------
t=$UP_DIR/t7
make_spool "$t/spool" 300000 3000000
before_local=$(snapshot "$t/spool")
mkdir -p "$UP_REMOTE/host7"
if mount -t tmpfs -o size=1m,mode=0750,uid="$(id -u "$UP_USER")" fsmon-test "$UP_REMOTE/host7" 2>/dev/null; then
        run "$t/out" "$UP_PASSWORD" --known-hosts "$UP_KNOWN_HOSTS" --host-id host7 --spool "$t/spool"
        if [ "$(field result "$t/out")" = ENOSPC ] &&
           [ "$(field error "$t/out")" = org.fsmon1.Error.UploadFailed ] &&
           [ "$(grep -c '^delivered ' "$t/out")" = 1 ] && [ "$(ls "$t/spool")" = seg-000000000002.jsonl.zst ] &&
           [ -z "$(find "$UP_REMOTE/host7" -name '*.part')" ]; then
                pass "remote disk full: $(field message "$t/out")"
        else
                fail "remote disk full"; cat "$t/out"
        fi
        umount "$UP_REMOTE/host7"
else
        echo "note: cannot mount a tmpfs here, disk-full case not run"
fi

# --- 8. read-back verification, and cancellation -----------------------------
t=$UP_DIR/t8
make_spool "$t/spool" 2000000 1 777777
cp -a "$t/spool" "$t/ref"
run "$t/out" "$UP_PASSWORD" --readback --known-hosts "$UP_KNOWN_HOSTS" --host-id host8 --spool "$t/spool"
if [ "$(field result "$t/out")" = ok ] && same_tree "$t/ref" "$UP_REMOTE/host8" && [ -z "$(ls -A "$t/spool")" ]; then
        pass "read-back verification"
else
        fail "read-back verification"; cat "$t/out"
fi
make_spool "$t/spool2" 8000000 8000000
run "$t/out-cancel" "$UP_PASSWORD" --async --cancel-after 1000000 --chunk 8192 --requests 2 \
        --known-hosts "$UP_KNOWN_HOSTS" --host-id host8c --spool "$t/spool2"
if [ "$(field result "$t/out-cancel")" = ECANCELED ] && [ "$(ls "$t/spool2" | wc -l)" = 2 ]; then
        pass "cancel: stopped, spool intact"
else
        fail "cancel"; cat "$t/out-cancel"
fi

# --- 10. fsmond's glue: manager hook + real spool (test-upload-manager) -----
if [ -n "$glue" ]; then
        t=$UP_DIR/t10
        mkdir -p "$t/wrong" "$t/right"
        printf '%s\n' "not-$UP_PASSWORD" | "$glue" wrong "$t/wrong" "$UP_PORT" "$UP_USER" "$UP_REMOTE" \
                "$UP_KNOWN_HOSTS" >"$t/out-wrong" 2>&1
        rc_wrong=$?
        printf '%s\n' "$UP_PASSWORD" | "$glue" right "$t/right" "$UP_PORT" "$UP_USER" "$UP_REMOTE" \
                "$UP_KNOWN_HOSTS" >"$t/out-right" 2>&1
        rc_right=$?
        got=$UP_REMOTE/manager-test
        ok=1
        [ $rc_wrong = 0 ] || ok=0
        [ $rc_right = 0 ] || ok=0
        # The three closed segments byte-identical, plus the one that was open.
        for f in "$t/right/expected"/*; do
                cmp -s "$f" "$got/$(basename "$f")" || ok=0
        done
        [ "$(ls "$t/right/expected" | wc -l)" = 3 ] || ok=0
        [ "$(ls "$got" | wc -l)" = 4 ] || ok=0
        [ -z "$(find "$got" -name '*.part')" ] || ok=0
        # (Emptied by the upload, the test checks that; then the one segment
        # it wrote after the upload.)
        [ "$(ls -A "$t/right/spool" | grep -c '^seg-')" = 1 ] || ok=0
        if [ $ok = 1 ]; then
                pass "fsmond glue: wrong password kept the spool; right one sent 3 closed + the open segment, spool empty and writable after"
        else
                fail "fsmond glue (rc wrong=$rc_wrong right=$rc_right)"; cat "$t/out-wrong" "$t/out-right"; ls -la "$got"
        fi
fi

# --- 9. keyboard-interactive only (PAM): the password answers the prompt ----
# sshd's PAM session writes the test user's loginuid (pam_loginuid): that is
# audit state, so this case runs under the shared audit lock.
t=$UP_DIR/t9
make_spool "$t/spool" 100000
cp -a "$t/spool" "$t/ref"
# (tests/lib/audit-lock.sh: a timeout well inside the meson timeout, then a
# failure that names the holder, never a silent skip.)
lockfd=
if [ -e /etc/pam.d/sshd ]; then
        # shellcheck source=tests/lib/audit-lock.sh
        . "$(dirname "$0")/../lib/audit-lock.sh"
        exec {lockfd}>>"$FSMON_AUDIT_LOCK"
        audit_lock_take "${FSMON_AUDIT_LOCK_WAIT:-120}" "$lockfd" || { fail "keyboard-interactive: audit lock not free"; lockfd=; }
fi
if [ -n "$lockfd" ]; then
        up_sshd_stop
        UP_USE_PAM=yes UP_PASSWORD_AUTH=no UP_KBDINT_AUTH=yes up_write_config
        if up_sshd_start; then
                mark=$(log_mark)
                run "$t/out-wrong" "not-$UP_PASSWORD" --known-hosts "$UP_KNOWN_HOSTS" --host-id host9 --spool "$t/spool"
                run "$t/out" "$UP_PASSWORD" --known-hosts "$UP_KNOWN_HOSTS" --host-id host9 --spool "$t/spool"
                log_wait "$mark" 'Accepted keyboard-interactive'
                up_sshd_stop
                log=$(log_since "$mark")
                if [ "$(field result "$t/out-wrong")" = WrongPassword ] && [ "$(field result "$t/out")" = ok ] &&
                   same_tree "$t/ref" "$UP_REMOTE/host9" && [ -z "$(ls -A "$t/spool")" ] &&
                   grep -q 'Accepted keyboard-interactive' <<<"$log" && ! grep -q 'method password' <<<"$log"; then
                        pass "keyboard-interactive only: wrong password refused, right one delivers"
                else
                        fail "keyboard-interactive"; cat "$t/out-wrong" "$t/out"
                fi
        else
                fail "sshd with PAM did not start"
        fi
        flock -u "$lockfd"
        exec {lockfd}>&-
else
        echo "note: no /etc/pam.d/sshd, keyboard-interactive case not run"
fi

if [ $fails -gt 0 ]; then
        echo "--- sshd log (tail)"; tail -30 "$UP_DIR/sshd.log"
        echo "$fails failure(s)"
        exit 1
fi
echo "all upload cases passed"
