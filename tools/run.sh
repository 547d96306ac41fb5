#!/usr/bin/env bash
# fsmon's main job on this machine (root, Debian 12): installs what is
# needed, builds, makes sure the kernel's audit is on and an audit daemon
# runs, loads fsmon's rules the distro way (rules.d + augenrules), and runs
# fsmond live in the foreground, printing each action it records (--echo)
# besides spooling it to /var/lib/fsmon. ^C stops it (rules stay loaded, so
# a restart reads back what happened meanwhile).
#
# fsmon records users who logged in (login uid >= 1000). A root shell here
# has none; to see records, run something as a "logged-in" user, e.g.
#   sudo bash -c 'echo 1000 >/proc/self/loginuid; exec cat /etc/os-release'
# FSMON_DEMO=1 (the default) does that once a second for a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

if [ "$(auditctl -s | awk '$1=="enabled"{print $2}')" = 0 ]; then
        auditctl -e 1 >/dev/null
fi
if ! pgrep -x auditd >/dev/null; then
        echo "== starting auditd (no audit daemon runs)" >&2
        auditd
fi
echo "== fsmonctl rules --load: /etc/audit/rules.d/70-fsmon.rules, augenrules --load" >&2
build/daemon/fsmonctl/fsmonctl rules --load >&2 || echo "(rules not loaded; fsmond will say why)" >&2

if [ "${FSMON_DEMO:-1}" = 1 ]; then
        (
                sleep 2
                echo 1000 >/proc/self/loginuid
                for _ in 1 2 3; do
                        cat /etc/os-release >/dev/null
                        ls /usr/share/doc >/dev/null
                        sleep 1
                done
        ) &
fi
echo "== fsmond --echo (foreground; ^C stops)" >&2
exec build/daemon/fsmond/fsmond --echo
