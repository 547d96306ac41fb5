#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""strace of a real program as the oracle for fsmon's records.

    strace-oracle.py expect STRACE_OUT WORKDIR CWD > expected.jsonl
        the records fsmon must give for what `strace -f -y -s 0` saw (calls on
        files under WORKDIR; CWD: the working directory the traced program
        started in), from strace's view alone: the kernel names every
        descriptor (-y, from /proc at each call); positions follow from the
        calls as strace printed them (open: 0, read/write: + result, lseek:
        its result, pread/pwrite/pointer offsets: unmoved); a position that
        cannot follow from them (a descriptor the program inherited, an
        O_APPEND write) is "*": not compared.
    strace-oracle.py compare NAME EXPECTED ACTUAL WORKDIR
        ACTUAL: fsmon's records (the live spool). Per process and file, the
        sequence of compared records must be equal; prints
        "NAME: actions exact N / expected M" and exits 1 unless N == M and
        nothing extra was recorded.

Compared ops: the transfers (read, write, pread, pwrite, readv, writev,
preadv, pwritev, copies as read + write with "via"), mmap, rename, unlink,
rmdir, mkdir, truncate and exec (of a program under WORKDIR).
"""
import difflib
import json
import os
import re
import sys

COMPARED = {"read", "write", "pread", "pwrite", "readv", "writev", "preadv", "pwritev",
            "mmap", "rename", "unlink", "rmdir", "mkdir", "truncate", "exec"}
ANY = "*"

LINE = re.compile(r"^(\d+) +(.*)$")
CALL = re.compile(r"^([a-z0-9_]+)\((.*)\) += (-?\d+|0x[0-9a-f]+|\?)(.*)$")
FDARG = re.compile(r"^(-?\d+|AT_FDCWD)<(.*)>$")


def split_args(s):
    """Top-level comma split, respecting quotes, brackets, braces."""
    out, depth, cur, q, i = [], 0, [], False, 0
    while i < len(s):
        c = s[i]
        if q:
            cur.append(c)
            if c == "\\" and i + 1 < len(s):
                cur.append(s[i + 1])
                i += 1
            elif c == '"':
                q = False
        elif c == '"':
            q = True
            cur.append(c)
        elif c in "[{(<":
            depth += 1
            cur.append(c)
        elif c in "]})>":
            depth -= 1
            cur.append(c)
        elif c == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if cur or out:
        out.append("".join(cur).strip())
    return out


def unquote(s):
    if not (s.startswith('"') and s.endswith('"')):
        return None
    return bytes(s[1:-1], "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8", "surrogateescape")


def fdpath(arg):
    """(fd, path) of a -y descriptor argument; path None if not a file."""
    m = FDARG.match(arg)
    if not m:
        return None, None
    p = m.group(2)
    if p.endswith(" (deleted)"):
        p = p[: -len(" (deleted)")]
    fd = -100 if m.group(1) == "AT_FDCWD" else int(m.group(1))
    return fd, (p if p.startswith("/") else None)


class Desc:
    def __init__(self, pos, append):
        self.pos = pos
        self.append = append


def expect(strace_out, workdir, cwd0):
    # Merge "<unfinished ...>" with "<... NAME resumed>".
    pending, calls = {}, []
    for raw in open(strace_out, encoding="utf-8", errors="surrogateescape"):
        m = LINE.match(raw.rstrip("\n"))
        if not m:
            continue
        pid, rest = int(m.group(1)), m.group(2)
        if rest.endswith("<unfinished ...>"):
            pending[pid] = rest[: -len("<unfinished ...>")]
            continue
        r = re.match(r"^<\.\.\. [a-z0-9_]+ resumed>(.*)$", rest)
        if r:
            rest = pending.pop(pid, "") + r.group(1)
        calls.append((pid, rest))

    tgid = {}                   # thread id -> process id
    tables = {}                 # pid -> {fd: Desc}
    cwds = {}
    out = []

    def proc(t):
        return tgid.get(t, t)

    def under(p):
        return isinstance(p, str) and (p == workdir or p.startswith(workdir + "/"))

    def resolve(pid, dirarg, name):
        if name is None:
            return None
        if name.startswith("/"):
            return os.path.normpath(name)
        base = cwds.get(pid, cwd0)
        if dirarg is not None:
            fd, p = fdpath(dirarg)
            if p is None:
                return None
            base = p
        return os.path.normpath(os.path.join(base, name))

    def rec(pid, op, **kw):
        r = {"op": op, "pid": pid}
        r.update(kw)
        out.append(r)

    def xfer(pid, op, arg, moves, pos, n, is_write, via=None):
        fd, path = fdpath(arg)
        if path is None:
            return
        d = tables.setdefault(pid, {}).get(fd)
        if not moves:
            off = pos
        elif d is None or (is_write and d.append) or d.pos is None:
            off = ANY
        else:
            off = d.pos
        if moves and d is not None:
            d.pos = None if (off is ANY or off is None) else off + n
        kw = {"path": path, "fd": fd, "offset": off, "bytes": n}
        if via:
            kw["via"] = via
        rec(pid, op, **kw)

    for t, text in calls:
        m = CALL.match(text)
        if not m:
            continue
        name, args, ret = m.group(1), split_args(m.group(2)), m.group(3)
        if ret == "?" or ret.startswith("-"):
            continue            # failed (or never returned): no record
        ret = int(ret, 0)
        pid = proc(t)
        table = tables.setdefault(pid, {})

        if name in ("clone", "clone3", "fork", "vfork"):
            child = ret
            if "CLONE_THREAD" in m.group(2):
                tgid[child] = pid
                continue
            shared = "CLONE_FILES" in m.group(2)
            tables[child] = table if shared else dict(table)
            if pid in cwds:
                cwds[child] = cwds[pid]
            continue
        if name in ("open", "openat", "openat2", "creat"):
            flags = args[1] if name == "open" else args[2] if name != "creat" else "O_WRONLY|O_CREAT|O_TRUNC"
            table[ret] = Desc(0, "O_APPEND" in flags)
            continue
        if name == "close":
            fd, _ = fdpath(args[0])
            table.pop(fd, None)
            continue
        if name in ("dup", "dup2", "dup3") or (name == "fcntl" and "F_DUPFD" in args[1]):
            fd, _ = fdpath(args[0])
            if fd in table:
                table[ret] = table[fd]
            else:
                table.pop(ret, None)
            continue
        if name == "fcntl" and args[1] == "F_SETFL":
            fd, _ = fdpath(args[0])
            if fd in table:
                table[fd].append = "O_APPEND" in args[2]
            continue
        if name == "lseek":
            fd, _ = fdpath(args[0])
            if fd in table:
                table[fd].pos = ret
            continue
        if name == "chdir":
            p = resolve(pid, None, unquote(args[0]))
            if p:
                cwds[pid] = p
            continue
        if name == "fchdir":
            _, p = fdpath(args[0])
            if p:
                cwds[pid] = p
            continue

        if name in ("read", "readv"):
            xfer(pid, name, args[0], True, None, ret, False)
        elif name in ("write", "writev"):
            xfer(pid, name, args[0], True, None, ret, True)
        elif name in ("pread64", "preadv"):
            xfer(pid, "pread" if name == "pread64" else "preadv", args[0], False, int(args[-1]), ret, False)
        elif name in ("pwrite64", "pwritev"):
            xfer(pid, "pwrite" if name == "pwrite64" else "pwritev", args[0], False, int(args[-1]), ret, True)
        elif name in ("preadv2", "pwritev2"):
            pos = int(args[3])
            w = name == "pwritev2"
            op = ("writev" if w else "readv") if pos == -1 else ("pwritev" if w else "preadv")
            xfer(pid, op, args[0], pos == -1, None if pos == -1 else pos, ret, w)
        elif name in ("copy_file_range", "splice"):
            xfer(pid, "read", args[0], args[1] == "NULL", None, ret, False, via=name)
            xfer(pid, "write", args[2], args[3] == "NULL", None, ret, True, via=name)
        elif name in ("sendfile", "sendfile64"):
            xfer(pid, "read", args[1], args[2] == "NULL", None, ret, False, via="sendfile")
            xfer(pid, "write", args[0], True, None, ret, True, via="sendfile")
        elif name == "mmap":
            fd, path = fdpath(args[4])
            if path is not None and "MAP_ANONYMOUS" not in args[3]:
                rec(pid, "mmap", path=path, fd=fd, offset=None, bytes=int(args[1]))
        elif name in ("rename", "renameat", "renameat2"):
            if name == "rename":
                a, b = resolve(pid, None, unquote(args[0])), resolve(pid, None, unquote(args[1]))
            else:
                a, b = resolve(pid, args[0], unquote(args[1])), resolve(pid, args[2], unquote(args[3]))
            rec(pid, "rename", path=a, new_path=b)
        elif name in ("unlink", "rmdir", "mkdir"):
            rec(pid, name, path=resolve(pid, None, unquote(args[0])))
        elif name == "unlinkat":
            rec(pid, "rmdir" if "AT_REMOVEDIR" in args[2] else "unlink",
                path=resolve(pid, args[0], unquote(args[1])))
        elif name == "mkdirat":
            rec(pid, "mkdir", path=resolve(pid, args[0], unquote(args[1])))
        elif name == "truncate":
            rec(pid, "truncate", path=resolve(pid, None, unquote(args[0])), size=int(args[1]))
        elif name == "ftruncate":
            fd, path = fdpath(args[0])
            if path is not None:
                rec(pid, "truncate", path=path, fd=fd, size=int(args[1]))
        elif name in ("execve", "execveat"):
            p = resolve(pid, args[0] if name == "execveat" else None,
                        unquote(args[1] if name == "execveat" else args[0]))
            rec(pid, "exec", path=p)
            # exec closes close-on-exec descriptors; which ones strace does
            # not say: forget positions of all (they come back as "*").
            for d in table.values():
                d.pos = None

    for r in out:
        if r["op"] in COMPARED and (under(r.get("path")) or under(r.get("new_path"))):
            print(json.dumps(r, separators=(",", ":"), ensure_ascii=False))


KEYS = {
    "mmap": ("path", "fd", "bytes"),
    "rename": ("path", "new_path"),
    "unlink": ("path",), "rmdir": ("path",), "mkdir": ("path",),
    "truncate": ("path", "fd", "size"),
    "exec": ("path",),
}
XFER = ("path", "fd", "offset", "bytes", "via")


def canon(r, like=None):
    keys = KEYS.get(r["op"], XFER)
    parts = [r["op"]]
    for k in keys:
        if k == "offset" and like is not None and like.get("offset") == ANY:
            v = ANY
        elif k == "fd" and r["op"] == "truncate" and "fd" not in r:
            v = None
        else:
            v = r.get(k, "<missing>")
        parts.append(f"{k}={json.dumps(v, ensure_ascii=False)}")
    return " ".join(parts)


def compare(name, expected_file, actual_file, workdir):
    exp = [json.loads(l) for l in open(expected_file) if l.strip()]
    act = [json.loads(l) for l in open(actual_file) if l.strip()]
    pids = {r["pid"] for r in exp}

    def under(p):
        return isinstance(p, str) and (p == workdir or p.startswith(workdir + "/"))

    act = [r for r in act if r.get("pid") in pids and r["op"] in COMPARED
           and (under(r.get("path")) or under(r.get("new_path")))]

    def groups(rs):
        g = {}
        for r in rs:
            g.setdefault((r["pid"], r.get("path")), []).append(r)
        return g

    ge, ga = groups(exp), groups(act)
    exact, extra, report = 0, 0, []
    for key in list(ge) + [k for k in ga if k not in ge]:
        e, a = ge.get(key, []), ga.get(key, [])
        # Offsets the oracle cannot know ("*") are not compared.
        ce = [canon(r) for r in e]
        ca = []
        for i, r in enumerate(a):
            like = e[i] if i < len(e) else None
            ca.append(canon(r, like))
        sm = difflib.SequenceMatcher(a=ce, b=ca, autojunk=False)
        for tag, i1, i2, j1, j2 in sm.get_opcodes():
            if tag == "equal":
                exact += i2 - i1
                continue
            extra += max(0, (j2 - j1) - (i2 - i1))
            report.extend(f"  - {x}" for x in ce[i1:i2])
            report.extend(f"  + {x}" for x in ca[j1:j2])
    ops = {}
    for r in exp:
        ops[r["op"]] = ops.get(r["op"], 0) + 1
    print(f"{name}: actions exact {exact} / expected {len(exp)}"
          + (f", {extra} more recorded" if extra else "")
          + " (" + ", ".join(f"{k} {v}" for k, v in sorted(ops.items())) + ")")
    if report:
        print("\n".join(report[:40]))
    return 0 if exact == len(exp) and not report else 1


def main(argv):
    if len(argv) == 5 and argv[1] == "expect":
        expect(argv[2], argv[3].rstrip("/"), argv[4])
        return 0
    if len(argv) == 6 and argv[1] == "compare":
        return compare(argv[2], argv[3], argv[4], argv[5].rstrip("/"))
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
