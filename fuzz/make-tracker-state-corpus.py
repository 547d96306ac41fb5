#!/usr/bin/env python3
# Writes the seed corpus of fuzz-tracker-state (fuzz/corpus/tracker-state/):
# a tracker state body, a whole state file (header: BLAKE2b-128 over the
# header up to " hash=" and the body, as daemon/store/tracker-state.c), and
# each way of damaging them.   make-tracker-state-corpus.py DIR
import hashlib, os, sys

d = sys.argv[1]
os.makedirs(d, exist_ok=True)
def hx(s): return s.encode().hex()
U = -9223372036854775808
body = f"""fsmon-tracker-state 2
f 0 0 {U} 0 1 0 0 0 0 {hx('/etc/passwd')}
f 0 120 120 1025 1 0 0 0 0 {hx('/tmp/log with space')}
f 0 {U} {U} 0 0 0 0 1 0 -
f 0 0 {U} 591872 1 1 1 0 0 {hx('/usr/share')}
f 0 {U} {U} 0 0 0 0 0 1 -
t
d 0 2 0
d 1 1 0
d 2 1 0
d 3 0 1
d 7 3 1
d 9 4 0
p 0 1200 1 0 0
p 0 1201 1200 0 1
t
d 0 2 0
d 1 1 0
p 0 1300 1200 1 0
x 5 0 1302 1300 1000 0 1 1795266436 257 3602040 {hx('sort')}
c 3 0 1300 1303 1795266436 258 3602041
n 4 6
end 3 5
"""
def wrap(body, boot="01234567-89ab-cdef-0123-456789abcdef", serial=3602042):
    h = f"fsmon-tracker-file 1 boot={boot} serial={serial} length={len(body.encode())}"
    return h + f" hash={hashlib.blake2b(h.encode() + body.encode(), digest_size=16).hexdigest()}\n" + body
files = {
    "good-body": body,
    "good-file": wrap(body),
    "empty-state": wrap("fsmon-tracker-state 2\nn 0 0\nend 0 0\n"),
    "bad-hash": wrap(body).replace("serial=3602042", "serial=3602043"),
    "bad-cut": wrap(body)[:-40],
    "bad-version": wrap(body.replace("state 2", "state 1")),
    "bad-dangling-file": body.replace("d 7 3 1", "d 7 9 1"),
    "bad-dup-fd": body.replace("d 7 3 1", "d 3 3 1"),
    "bad-dup-pid": body.replace("p 0 1300 1200 1 0", "p 0 1201 1200 1 0"),
    "bad-count": body.replace("end 3 5", "end 4 5"),
    "bad-after-end": body + "t\n",
    "bad-odd-hex": body.replace(hx('/etc/passwd'), hx('/etc/passwd') + "0"),
    "bad-nul-path": body.replace(hx('/etc/passwd'), "2f00"),
    "bad-fd-range": body.replace("d 7 3 1", "d 1048576 3 1"),
    "bad-negative-offset": body.replace("f 0 120 120", "f 0 -5 120"),
    "bad-flag": body.replace("f 0 120 120 1025 1 0 0 0 0", "f 0 120 120 1025 1 0 0 0 2"),
    "bad-no-newline": body[:-1],
    "good-nodes": body.replace("state 2\n", f"state 2\nN {hx('host-a')}\nN {hx('host-b')}\n")
                      .replace("p 0 1300", "p 2 1300").replace("f 0 120", "f 1 120"),
    "bad-node-range": body.replace("state 2\n", f"state 2\nN {hx('host-a')}\n").replace("p 0 1300", "p 2 1300"),
    "bad-node-late": body.replace("n 4 6\n", f"N {hx('host-a')}\nn 4 6\n"),
}
for name, text in files.items():
    open(os.path.join(d, name), "w").write(text)
open(os.path.join(d, "foreign"), "wb").write(b"SQLite format 3\x00" + bytes(100))
