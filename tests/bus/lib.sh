# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by tests/bus/test-*.sh (sourced): checks for root and tools (exit 77
# otherwise), creates the test users and the polkit files, writes the bus
# config, and cleans everything up on exit. Needs $src (the source tree).
# Users: $member (in group "fsmon"), $nonmember, $slow (polkit answers it
# after 3 s). Leaves the system as it found it: the users, the group (if it
# created it), the polkit action and rules files, the processes it started.

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root"
polkitd=
for p in /usr/lib/polkit-1/polkitd /usr/libexec/polkitd /usr/lib/polkit/polkitd; do
        [ -x "$p" ] && { polkitd=$p; break; }
done
[ -n "$polkitd" ] || skip "polkitd not installed"
for t in dbus-daemon dbus-send busctl setpriv useradd userdel groupadd gcore python3; do
        command -v "$t" >/dev/null || skip "$t not installed"
done
getent passwd polkitd >/dev/null || skip "no polkitd user"
[ -d /usr/share/polkit-1/actions ] && [ -d /etc/polkit-1/rules.d ] || skip "no polkit directories"
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3)

# shellcheck source=tests/lib/common.sh
. "$src/tests/lib/common.sh"

tmp=$(mktemp -d /tmp/fsmon-bus-test.XXXXXX)
chmod 755 "$tmp"       # the test users reach the bus socket in here
id=$$
member=fsbm$id nonmember=fsbn$id slow=fsbs$id
policy_file=/usr/share/polkit-1/actions/org.fsmon1.test-$id.policy
rules_file=/etc/polkit-1/rules.d/49-fsmon-test-$id.rules
slow_rules_file=/etc/polkit-1/rules.d/48-fsmon-test-slow-$id.rules
created_group=0
dbus_pid= polkit_pid= fsmond_pid= extra_pids=

cleanup() {
        for p in $fsmond_pid $extra_pids $polkit_pid $dbus_pid; do
                kill "$p" 2>/dev/null
        done
        for p in $fsmond_pid $extra_pids $polkit_pid $dbus_pid; do
                for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
                kill -9 "$p" 2>/dev/null
        done
        for u in $member $nonmember $slow; do
                getent passwd "$u" >/dev/null && userdel "$u" 2>/dev/null
        done
        # Only an empty group goes: another run of this test may share it.
        if [ $created_group = 1 ] && [ -z "$(getent group fsmon | cut -d: -f4)" ]; then
                groupdel fsmon 2>/dev/null
        fi
        rm -f "$policy_file" "$rules_file" "$slow_rules_file"
        rm -rf "$tmp"
}
trap cleanup EXIT
# A test killed by its timeout cleans up too.
trap 'exit 1' INT TERM HUP

# ---- users and group ----
if ! getent group fsmon >/dev/null; then
        groupadd --system fsmon || { echo "cannot create group fsmon"; exit 1; }
        created_group=1
fi
useradd -M -N -g users -G fsmon -s /usr/sbin/nologin "$member" || exit 1
useradd -M -N -g users -s /usr/sbin/nologin "$nonmember" || exit 1
useradd -M -N -g users -s /usr/sbin/nologin "$slow" || exit 1
slow_uid=$(id -u "$slow")

as() { # USER CMD...: run CMD as USER with their groups
        local u=$1; shift
        setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}

# ---- polkit: fsmon's actions and rules, plus a slow rule for one user ----
cp "$src/polkit/org.fsmon1.policy" "$policy_file"
cp "$src/polkit/org.fsmon1.rules" "$rules_file"
cat >"$slow_rules_file" <<EOF
// fsmon bus test $id: answers "yes" to $slow after 3 s, so that the test can
// kill the caller while polkit decides.
polkit.addRule(function(action, subject) {
        if (action.id.indexOf("org.fsmon1.") == 0 && subject.user == "$slow") {
                polkit.spawn(["/bin/sleep", "3"]);
                return polkit.Result.YES;
        }
});
EOF
chmod 644 "$policy_file" "$rules_file" "$slow_rules_file"

# ---- bus config: the system bus's default policy, plus fsmon's policy file
# from the source tree and polkit's, through an includedir ----
mkdir "$tmp/system.d" "$tmp/state"
cp "$src/dbus/org.fsmon1.conf" "$tmp/system.d/"
cp /usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf "$tmp/system.d/"
socket=$tmp/system_bus_socket
cat >"$tmp/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Peer"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus" send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <includedir>$tmp/system.d</includedir>
</busconfig>
EOF
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$socket

# A config with every path in the temp dir. fsmond also gets --no-load-rules
# (it only reads the kernel's rule list), and augenrules points at /bin/false:
# this test never changes kernel audit state (no audit lock needed). Its
# capture only listens to the audit multicast group.
mkdir "$tmp/state/audit"
cat >"$tmp/fsmon.conf" <<EOF
[paths]
state_dir = $tmp/state
rules_file = $tmp/state/70-fsmon.rules
audit_log_dir = $tmp/state/audit
augenrules = /bin/false
EOF

has_name() { busctl --timeout=2 status "$1" >/dev/null 2>&1; }

start_dbus() {
        dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile 2>>"$tmp/dbus.log" &
        dbus_pid=$!
        wait_for 10 test -S "$socket" && wait_for 10 busctl --timeout=1 list
}
start_polkit() {
        # polkitd starts as root and drops to its own user.
        "$polkitd" --no-debug >>"$tmp/polkitd.log" 2>&1 &
        polkit_pid=$!
        wait_for 20 has_name org.freedesktop.PolicyKit1
}
stop_pid() {
        kill "$1" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
        kill -9 "$1" 2>/dev/null
        wait "$1" 2>/dev/null
}

status_value() { # KEY: from GetStatus as root
        busctl --timeout=5 --json=short call org.fsmon1 /org/fsmon1 org.fsmon1.Manager GetStatus |
                "$python" -c 'import json,sys; print(json.load(sys.stdin)["data"][0][sys.argv[1]]["data"])' "$1"
}

# dbus-send names the error; it never sets ALLOW_INTERACTIVE_AUTHORIZATION.
call_error() { # USER METHOD [ARGS...]: prints the D-Bus error name, or "ok"
        local u=$1 m=$2 out; shift 2
        out=$(as "$u" dbus-send --system --print-reply --reply-timeout=10000 --dest=org.fsmon1 \
                /org/fsmon1 "org.fsmon1.Manager.$m" "$@" 2>&1)
        if [ $? -eq 0 ]; then echo ok; else sed -n 's/^Error \([^:]*\):.*/\1/p' <<<"$out" | head -1; fi
}
expect_error() { # WHAT EXPECTED USER METHOD [ARGS...]
        local what=$1 want=$2 got; shift 2
        got=$(call_error "$@")
        if [ "$got" = "$want" ]; then pass "$what ($got)"; else fail "$what: expected $want, got '$got'"; fi
}

