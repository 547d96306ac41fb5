#!/usr/bin/env python3
"""Checks daemon/'s layering (daemon/README.md): every include of an fsmon
header names its folder, a layer includes only the layers below it, and the
core includes no header of the edges (sockets, buses, disks' compressors, ssh).

  check-layers.py DAEMON_DIR        check the tree, print each violation
  check-layers.py --selftest        show that violations are caught
"""
import os
import re
import sys
import tempfile

# Which layers each layer may include (besides itself). Keep in step with
# daemon/README.md.
ALLOWED = {
    'shared': set(),
    'core': {'shared'},
    'store': {'shared', 'core'},
    'audit': {'shared', 'core'},
    'bus': {'shared'},
    'upload': {'shared'},
    'report': {'shared'},
    'service': {'shared', 'core', 'store', 'audit', 'bus', 'upload'},
    'fsmond': {'shared', 'core', 'bus', 'service'},
    'fsmonctl': {'shared', 'core', 'store', 'audit', 'report'},
}
# Headers of names only (no code, nothing to link) that a layer may include
# although it may not use the layer they live in: the bus's names are shared
# by fsmond, which serves them, and fsmonctl, which calls them.
NAMES_ONLY = {'bus/bus-names.h'}
# System headers that belong to edges: the core must not need them.
EDGE_SYSTEM = re.compile(r'^(systemd/|sys/socket\.h|linux/netlink\.h|zstd\.h|libssh/|'
                         r'netinet/|arpa/|sys/mman\.h|dlfcn\.h|pthread\.h)')
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')
GENERATED = {'fsmon-build.h'}


def check(top):
    problems = []
    layers = sorted(d for d in os.listdir(top) if os.path.isdir(os.path.join(top, d)))
    for layer in layers:
        if layer not in ALLOWED:
            problems.append(f'{layer}/: a folder that is no known layer (add it to ALLOWED and daemon/README.md)')
            continue
        for name in sorted(os.listdir(os.path.join(top, layer))):
            if not name.endswith(('.c', '.h')):
                continue
            path = os.path.join(layer, name)
            with open(os.path.join(top, path), encoding='utf-8', errors='replace') as f:
                for n, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    kind, target = m.groups()
                    where = f'{path}:{n}'
                    if kind == '<':
                        if layer == 'core' and EDGE_SYSTEM.match(target):
                            problems.append(f'{where}: the core includes the edge header <{target}>')
                        continue
                    if target in GENERATED:
                        continue
                    if target in NAMES_ONLY and layer != 'core' and ALLOWED[layer]:
                        continue
                    if '/' not in target:
                        problems.append(f'{where}: "{target}" does not name its folder')
                        continue
                    other = target.split('/', 1)[0]
                    if other == layer:
                        continue
                    if other not in ALLOWED:
                        problems.append(f'{where}: "{target}" is in no known layer')
                    elif other not in ALLOWED[layer]:
                        problems.append(f'{where}: {layer} includes "{target}" of {other}, a layer it may not use')
    return problems


def selftest():
    cases = {
        'core/a.c': ('#include "store/spool.h"\n', 'core includes "store/spool.h"'),
        'core/b.c': ('#include <systemd/sd-bus.h>\n', 'edge header <systemd/sd-bus.h>'),
        'shared/c.c': ('#include "log.h"\n', 'does not name its folder'),
        'bus/d.c': ('#include "service/service.h"\n', 'bus includes "service/service.h"'),
        'weird/e.c': ('\n', 'no known layer'),
        'fsmonctl/f.c': ('#include "bus/manager.h"\n', 'fsmonctl includes "bus/manager.h"'),
        'core/g.c': ('#include "bus/bus-names.h"\n', 'core includes "bus/bus-names.h"'),
    }
    ok = True
    for rel, (text, expect) in cases.items():
        with tempfile.TemporaryDirectory() as top:
            os.makedirs(os.path.join(top, os.path.dirname(rel)))
            with open(os.path.join(top, rel), 'w') as f:
                f.write(text)
            found = check(top)
            if not any(expect in p for p in found):
                print(f'selftest: {rel} with {text.strip()!r}: expected "{expect}", got {found}')
                ok = False
    with tempfile.TemporaryDirectory() as top:
        os.makedirs(os.path.join(top, 'fsmonctl'))
        with open(os.path.join(top, 'fsmonctl', 'y.c'), 'w') as f:
            f.write('#include "bus/bus-names.h"\n')
        os.makedirs(os.path.join(top, 'store'))
        with open(os.path.join(top, 'store', 'x.c'), 'w') as f:
            f.write('#include "core/config.h"\n#include "store/x.h"\n#include <stdio.h>\n#include "fsmon-build.h"\n')
        if check(top):
            print(f'selftest: a clean tree was refused: {check(top)}')
            ok = False
    return ok


def main():
    if sys.argv[1:] == ['--selftest']:
        sys.exit(0 if selftest() else 1)
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    problems = check(sys.argv[1])
    for p in problems:
        print(p)
    print(f'{len(problems)} layering violation(s) in {sys.argv[1]}')
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
