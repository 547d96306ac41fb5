#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Runs `FSMONCTL upload` on a pseudo-terminal as a person would: waits for
the prompt, types PASSWORD and Enter, and collects what the terminal shows.
Prints the screen output (with the typed password replaced by <TYPED> if it
ever appears) and exits with fsmonctl's exit code; 99 on a hang."""
import os
import pty
import select
import sys
import time

fsmonctl, password = sys.argv[1], sys.argv[2].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(fsmonctl, [fsmonctl, "upload"])

out = b""
typed = False
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.1)
    if ready:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    if not typed and b"Upload password: " in out:
        os.write(fd, password + b"\r")
        typed = True
else:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace"))
    sys.exit(99)

_, status = os.waitpid(pid, 0)
sys.stdout.write(out.replace(password, b"<TYPED>").decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
