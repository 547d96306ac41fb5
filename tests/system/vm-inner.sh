#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs inside the qemu VM of vm-test.sh, as root, once the system is up
# (fsmon-vmtest.service). Prints "FSMON-VM ok|FAIL|note: ..." lines on the
# console, "FSMON-VM DONE <failures>" at the end, and powers the VM off.
# Expectations come from what the workload below does, not from fsmon.
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
. /root/vm-test.env     # UPLOAD_PW
fails=0
say() { echo "FSMON-VM [$(cut -d' ' -f1 /proc/uptime)] $*" >/dev/console; }
ok() { say "ok: $*"; }
fail() { say "FAIL: $*"; fails=$((fails + 1)); }
prop() { timeout 30 busctl get-property org.fsmon1 /org/fsmon1 org.fsmon1.Manager "$1" 2>&1; }
spool=/var/lib/fsmon/spool
records() {     # every action record in the given segment files
        local f
        for f in "$@"; do
                case "$f" in
                *.zst) zstdcat -q "$f" ;;
                *) cat "$f" ;;
                esac
        done 2>/dev/null | jq -c 'select(.op)' 2>/dev/null
}
spool_records() {       # every action record in the spool, read again when a
                        # segment was closed (renamed) between the listing and its reading
        local try f ok tmp
        tmp=$(mktemp)
        for try in 1 2 3 4 5 6 7 8 9 10; do
                ok=1
                : >"$tmp"
                for f in "$spool"/seg-*; do
                        [ "$f" = "$spool/seg-*" ] && break      # none
                        case "$f" in
                        *.zst) zstdcat -q "$f" >>"$tmp" 2>/dev/null || ok=0 ;;
                        *) cat "$f" >>"$tmp" 2>/dev/null || ok=0 ;;
                        esac
                done
                [ $ok = 1 ] && break
                sleep 0.2
        done
        jq -R -c 'fromjson? | select(.op)' <"$tmp" 2>/dev/null   # (a line being written: skipped)
        rm -f "$tmp"
}
finish() {
        kill "$watcher" 2>/dev/null
        say "journal of fsmon.service:"
        journalctl -b -u fsmon -o short-monotonic --no-pager | tail -n 80 | sed 's/^/FSMON-VM | /' >/dev/console
        say "DONE $fails"
        systemctl poweroff --no-block
        exit 0
}

say "booted"
# Should a step hang, show where, while the host still waits.
( sleep 300
  say "still running after 300 s: processes and journal follow"
  ps -eo pid,stat,wchan:24,etimes,args --sort=start_time | tail -n 40 | sed 's/^/FSMON-VM | /' >/dev/console
  journalctl -b -n 40 -o short-monotonic --no-pager | sed 's/^/FSMON-VM | /' >/dev/console
  timeout 10 auditctl -s | sed 's/^/FSMON-VM | /' >/dev/console ) &
watcher=$!

# 1. fsmon is up and has loaded its rules through augenrules.
for _ in $(seq 120); do
        st=$(systemctl is-active fsmon)
        [ "$st" = activating ] || break
        sleep 0.5
done
[ "$st" = active ] && ok "fsmon.service active" || { fail "fsmon.service is $st"; finish; }
systemctl is-active --quiet auditd && ok "auditd active" || fail "auditd is $(systemctl is-active auditd)"
[ -s /etc/audit/rules.d/70-fsmon.rules ] && ok "70-fsmon.rules written" || fail "no /etc/audit/rules.d/70-fsmon.rules"
grep -q -- '-k fsmon' /etc/audit/audit.rules && ok "augenrules merged them into audit.rules" \
        || fail "fsmon's rules are not in /etc/audit/audit.rules (augenrules did not run)"
n=$(timeout 30 auditctl -l | grep -c 'key=fsmon')
[ "$n" -ge 2 ] && ok "kernel has $n rules with key fsmon" || fail "kernel has $n rules with key fsmon: $(auditctl -l | head -n 5)"
[ "$(prop RulesLoaded)" = "b true" ] && ok "RulesLoaded true" || fail "RulesLoaded: $(prop RulesLoaded)"
[ "$(prop State)" = 's "running"' ] && ok "State running" || fail "State: $(prop State)"

# 2. A workload run by a logged-in user (ssh session: pam_loginuid sets auid).
say "workload"
out=$(timeout 120 ssh -i /root/.ssh/id_ed25519 -o BatchMode=yes fsmonuser@127.0.0.1 'sh -s' 2>&1 <<'WL'
set -e
echo "loginuid=$(cat /proc/self/loginuid) uid=$(id -u)"
# Let the login's own burst (the user's systemd starting) drain first: on a
# slow VM it can overflow the audit multicast, and fsmond records a gap.
sleep 10
mkdir -p ~/wl && cd ~/wl
sh -c 'echo "writer=$$"; exec dd if=/dev/zero of=data.bin bs=3333 count=3 status=none'
sh -c 'echo "reader=$$"; exec dd if=data.bin of=/dev/null bs=2222 skip=1 status=none'
WL
)
say "workload: $(echo $out)"
uid=$(id -u fsmonuser)
grep -q "loginuid=$uid uid=$uid" <<<"$out" && ok "workload ran with loginuid $uid" || fail "workload login: $out"
w=$(sed -n 's/^writer=//p' <<<"$out")
r=$(sed -n 's/^reader=//p' <<<"$out")
[ -n "$w" ] && [ -n "$r" ] || { fail "workload did not run"; finish; }

# 3. Its actions reach the spool.
# Until the reader's last read (EOF) is spooled, for at most 90 s.
SECONDS=0
while [ $SECONDS -lt 90 ]; do
        spool_records | jq -n -e --argjson r "$r" 'any(inputs; .pid == $r and .op == "read" and .bytes == 0)' >/dev/null && break
        sleep 2
done
say "waited $SECONDS s for the spool"
all=$(spool_records)
say "spool: $(ls "$spool" | tr '\n' ' '); $(wc -l <<<"$all") records; EventsProcessed $(prop EventsProcessed); ActionsRecorded $(prop ActionsRecorded); EventsLost $(prop EventsLost)"
gaps=$(jq -c 'select(.op == "gap")' <<<"$all")
[ -n "$gaps" ] && say "note: the spool has gap records (events lost): $(echo $gaps | tail -c 400)"
# The writer's shell wrote "writer=PID" to the ssh pipe (no path), then dd
# wrote data.bin: its path is the one path the writer wrote to.
path=$(jq -r -s --argjson p "$w" '[.[] | select(.pid == $p and .op == "write" and .path != null) | .path] | unique | if length == 1 then .[0] else empty end' <<<"$all")
writes=$(jq -c -s --argjson p "$w" --arg P "$path" '[.[] | select(.pid == $p and .op == "write" and .path == $P) | [.offset, .bytes]]' <<<"$all")
[ "$writes" = '[[0,3333],[3333,3333],[6666,3333]]' ] && ok "writer: 3 writes of 3333 at 0, 3333, 6666" \
        || fail "writer's writes to one file (offset, bytes): $writes, want [[0,3333],[3333,3333],[6666,3333]]"
opened=$(jq -c -s --argjson p "$w" --arg P "$path" '[.[] | select(.pid == $p and .op == "open" and .path == $P)] | length' <<<"$all")
[ "$opened" -ge 1 ] && ok "writer: open of the same path" || fail "writer: no open of $path"
comps=$(awk -F/ '{print NF - 1}' <<<"$path")
[ "$comps" = 4 ] && ok "path has 4 components like /home/fsmonuser/wl/data.bin" || fail "path '$path' has $comps components, want 4"
grep -qE 'data\.bin|fsmonuser' <<<"$path" && fail "path is not pseudonymised: $path" || ok "path pseudonymised"
grep -qE 'data\.bin|fsmonuser' <<<"$all" && fail "a plain name of the workload is in the spool" || ok "no plain workload names in the spool"
# dd asks for the position first (lseek(fd, 0, SEEK_CUR)), then skips.
seek=$(jq -c -s --argjson p "$r" --arg P "$path" '[.[] | select(.pid == $p and .op == "lseek" and .path == $P) | .offset]' <<<"$all")
[ "$(jq -c 'last' <<<"$seek")" = 2222 ] && ok "reader: lseek to 2222 (dd skip=1): $seek" || fail "reader's lseeks: $seek, want the last at 2222"
reads=$(jq -c -s --argjson p "$r" --arg P "$path" '[.[] | select(.pid == $p and .op == "read" and .path == $P) | [.offset, .bytes]]' <<<"$all")
[ "$reads" = '[[2222,2222],[4444,2222],[6666,2222],[8888,1111],[9999,0]]' ] && ok "reader: reads from 2222 to EOF at 9999" \
        || fail "reader's reads: $reads, want [[2222,2222],[4444,2222],[6666,2222],[8888,1111],[9999,0]]"
forks=$(jq -c -s --argjson c "$w" '[.[] | select(.op == "fork" and .child == $c)] | length' <<<"$all")
[ "$forks" -ge 1 ] && ok "fork of the writer recorded" || fail "no fork record with child $w"

# 4. Upload by a member of group fsmon to the sshd in this VM.
SECONDS=0                   # the workload's segment closes after segment_max_age
while [ $SECONDS -lt 60 ]; do
        [ "$(records "$spool"/seg-*.open | jq -s --argjson p "$w" '[.[] | select(.pid == $p)] | length')" = 0 ] && break
        sleep 2
done
nseg=$(ls "$spool"/seg-*.jsonl* 2>/dev/null | wc -l)
bad=$(printf 'not-the-password\n' | timeout 120 runuser -u fsmonuser -- fsmonctl upload 2>&1)
rc=$?
[ $rc -ne 0 ] && ok "wrong upload password refused (exit $rc: $(echo $bad | tail -c 120))" || fail "upload with a wrong password: exit 0"
[ "$(ls "$spool"/seg-*.jsonl* 2>/dev/null | wc -l)" -ge "$nseg" ] && ok "segments stay after a refused upload" \
        || fail "segments left the spool after a refused upload"
say "upload"
up=$(printf '%s\n' "$UPLOAD_PW" | timeout 120 runuser -u fsmonuser -- fsmonctl upload 2>&1)
rc=$?
say "fsmonctl upload (exit $rc): $(echo $up | tail -c 300)"
[ $rc -eq 0 ] && ok "fsmonctl upload: exit 0" || fail "fsmonctl upload: exit $rc"
journalctl -b -u ssh -o cat | grep -q 'Accepted password for fsmonup' && ok "sshd: uploader logged in" \
        || fail "sshd saw no password login of fsmonup"
mapfile -t sent < <(find /home/fsmonup/incoming -type f | sort)
got=$(records "${sent[@]}")
gw=$(jq -c -s --argjson p "$w" --arg P "$path" '[.[] | select(.pid == $p and .op == "write" and .path == $P) | [.offset, .bytes]]' <<<"$got")
[ "$gw" = "$writes" ] && [ "$gw" != '[]' ] && ok "server received the workload's writes (${#sent[@]} files)" \
        || fail "server's copy: writes $gw; files: ${sent[*]}"
[ "$(prop LastUpload)" != "t 0" ] && ok "LastUpload set: $(prop LastUploadResult)" || fail "LastUpload: $(prop LastUpload)"
left=$(records "$spool"/seg-*.jsonl* | jq -s --argjson p "$w" '[.[] | select(.pid == $p)] | length')
[ "$left" = 0 ] && ok "uploaded segments left the local spool" || fail "$left workload records still in closed local segments"


# Fixtures from this kernel (vm-test.sh puts the recorder and a workload
# built for this machine here when it wants them): the RAW log of a private
# auditd and the workload's own expectations, read back from the image and
# decoded on the host. fsmon's auditd and fsmond are stopped and fsmon's rules
# removed first: the recorder starts its own auditd, and the first matching
# rule decides the key, fsmon's would take the workload's events.
if [ -x /root/record/workload ]; then
        say "recording fixtures ($(uname -m))"
        systemctl stop fsmon.service auditd.service
        auditctl -D -k fsmon >/dev/null
        if FSMON_WORKLOAD64=/root/record/workload FSMON_FIXTURE_OUT=/root/fixtures \
           timeout 600 bash /root/record/record-fixtures.sh >/root/record/record.log 2>&1; then
                ok "fixtures recorded: $(ls /root/fixtures | tr '\n' ' ')"
        else
                fail "record-fixtures.sh: $(tail -n 3 /root/record/record.log | tr '\n' ' ')"
                mkdir -p /root/fixtures && cp /root/record/record.log /root/fixtures/
        fi
fi

finish
