#!/usr/bin/env python3
"""Pseudonymises the paths ("path", "new_path", "exe") of JSON Lines records (or plain paths given as
arguments) the way fsmon's contract says, with an independent implementation
(Python's hashlib): each component becomes the unpadded base64url of the
first 12 bytes of BLAKE2b-128 keyed with the 32-byte key.

    pseudonymize.py KEYFILE < plain.jsonl > pseudo.jsonl
    pseudonymize.py KEYFILE --path /some/path
"""
import base64
import hashlib
import json
import sys


def token(key, name):
    h = hashlib.blake2b(name, digest_size=16, key=key).digest()
    return base64.urlsafe_b64encode(h[:12]).decode().rstrip("=")


def pseudo(key, path):
    if path is None:
        return None
    parts = [p for p in path.encode("utf-8", "surrogateescape").split(b"/") if p]
    return "/" + "/".join(token(key, p) for p in parts) if parts else "/"


def main():
    key = open(sys.argv[1], "rb").read()
    assert len(key) == 32, "a key is 32 bytes"
    if len(sys.argv) > 3 and sys.argv[2] == "--path":
        for p in sys.argv[3:]:
            print(pseudo(key, p))
        return
    for line in sys.stdin:
        r = json.loads(line)
        for k in ("path", "new_path", "exe"):
            if k in r:
                r[k] = pseudo(key, r[k])
        print(json.dumps(r, separators=(",", ":")))


main()
