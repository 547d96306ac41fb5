#!/usr/bin/env python3
# bench/replay-gen.py: a synthetic RAW audit log on stdout, for bench/replay-memory:
# PATHS opens of distinct files (each closed again; every 16th kept open until its
# process exits) by PROCS processes (forked at the start, each exits at the end),
# spread over SECONDS of event time. Format as auditd writes it (RAW), fsmon's key.
import sys

paths, procs, seconds = (int(a) for a in sys.argv[1:4])
out = sys.stdout
serial = 1000
t0 = 1790000000.0
total = paths + 2 * procs
step = seconds / max(total, 1)
n = 0

def ts():
    global serial, n
    serial += 1
    n += 1
    t = t0 + n * step
    return "%d.%03d:%d" % (int(t), int((t % 1) * 1000), serial)

def syscall(h, pid, nr, exit_, a0, a1="0", items=0):
    return ("type=SYSCALL msg=audit(%s): arch=c000003e syscall=%d success=yes exit=%d a0=%s a1=%s a2=241 a3=1b6 "
            "items=%d ppid=1 pid=%d auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 "
            "fsgid=1000 tty=pts0 ses=3 comm=\"worker\" exe=\"/usr/bin/worker\" key=\"fsmon\"\n"
            % (h, nr, exit_, a0, a1, items, pid))

def proctitle(h):
    return "type=PROCTITLE msg=audit(%s): proctitle=776F726B6572\n" % h

buf = []
def flush():
    out.write("".join(buf))
    buf.clear()

first = 100000
for p in range(procs):                  # fork: clone in the parent returns the child
    h = ts()
    buf.append(syscall(h, 1, 56, first + p, "1200011"))
    buf.append(proctitle(h))
held = {}
for i in range(paths):
    pid = first + i % procs
    fd = 3 + len(held.get(pid, ()))
    h = ts()
    buf.append(syscall(h, pid, 257, fd, "ffffff9c", "7ffd0000", 2))
    buf.append('type=CWD msg=audit(%s): cwd="/home/u%d"\n' % (h, pid))
    buf.append('type=PATH msg=audit(%s): item=0 name="/srv/data/u%d/" inode=2 dev=fe:00 mode=040755 ouid=1000 '
               'ogid=1000 rdev=00:00 nametype=PARENT cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0\n' % (h, pid))
    buf.append('type=PATH msg=audit(%s): item=1 name="/srv/data/u%d/d%d/file-%08d.dat" inode=%d dev=fe:00 '
               'mode=0100644 ouid=1000 ogid=1000 rdev=00:00 nametype=CREATE cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 '
               'cap_frootid=0\n' % (h, pid, i // 1000, i, i + 10))
    buf.append(proctitle(h))
    if i % 16 == 0 and len(held.get(pid, ())) < 8:
        held.setdefault(pid, []).append(fd)
    else:
        h = ts()
        buf.append(syscall(h, pid, 3, 0, "%x" % fd))
        buf.append(proctitle(h))
    if len(buf) > 4096:
        flush()
for p in range(procs):
    h = ts()
    buf.append(syscall(h, first + p, 231, 0, "0"))
    buf.append(proctitle(h))
flush()
