#!/usr/bin/env python3
"""Checks that org.fsmon1's names are defined once and agree everywhere:
daemon/bus/bus-names.h defines the bus name, object path, interface and every
error fsmond sends; man/org.fsmon1.5 (SYNOPSIS and ERRORS) and the comment of
dbus/org.fsmon1.Manager.xml list exactly those errors; each is sent by the
daemon (used in daemon/bus/*.c); no other C file spells a name out.

  check-bus-names.py SOURCE_ROOT   check the tree, print each disagreement
  check-bus-names.py --selftest SOURCE_ROOT   show that disagreements are caught
"""
import glob
import os
import re
import sys

DEFINE = re.compile(r'^#define (FSMON_(?:BUS|ERROR)_[A-Z_]+) "([^"]+)"', re.M)
ERROR = re.compile(r'org\.fsmon1\.Error\.([A-Za-z]+)')


def check(header, man, xml, daemon_bus, others):
    """header, man, xml: texts; daemon_bus, others: {path: text} of C files."""
    problems = []
    defs = dict(DEFINE.findall(header))
    for key in ('FSMON_BUS_NAME', 'FSMON_BUS_PATH', 'FSMON_BUS_INTERFACE'):
        if key not in defs:
            problems.append(f'bus-names.h: {key} is not defined')
    errors = {v.rsplit('.', 1)[1]: k for k, v in defs.items() if k.startswith('FSMON_ERROR_')}
    for k, v in defs.items():
        if k.startswith('FSMON_ERROR_') and not v.startswith('org.fsmon1.Error.'):
            problems.append(f'bus-names.h: {k} is "{v}", not under org.fsmon1.Error.')

    synopsis = man.split('.SH DESCRIPTION')[0]
    for key, label in (('FSMON_BUS_NAME', 'name:'), ('FSMON_BUS_PATH', 'object:'),
                       ('FSMON_BUS_INTERFACE', 'interface:')):
        if key in defs and not re.search(rf'^{label}\s+{re.escape(defs[key])}$', synopsis, re.M):
            problems.append(f'org.fsmon1.5: the SYNOPSIS does not say "{label} {defs[key]}"')

    man_errors = set(ERROR.findall(man.split('.SH ERRORS', 1)[-1].split('\n.SH ', 1)[0])) \
        if '.SH ERRORS' in man else set()
    if '.SH ERRORS' not in man:
        problems.append('org.fsmon1.5: no ERRORS section')
    m = re.search(r'org\.fsmon1\.Error\.\{([^}]*)\}', xml)
    xml_errors = {e.strip() for e in m.group(1).split(',')} if m else set()
    if not m:
        problems.append('org.fsmon1.Manager.xml: no "org.fsmon1.Error.{...}" list in the comment')

    for where, found in (('man/org.fsmon1.5 ERRORS', man_errors), ('dbus/org.fsmon1.Manager.xml', xml_errors)):
        for e in sorted(set(errors) - found):
            problems.append(f'{where}: org.fsmon1.Error.{e} (bus-names.h) is not documented')
        for e in sorted(found - set(errors)):
            problems.append(f'{where}: org.fsmon1.Error.{e} is documented, but bus-names.h does not define it')

    sent = ''.join(daemon_bus.values())
    for e, key in sorted(errors.items()):
        if not re.search(rf'\b{key}\b', sent):
            problems.append(f'bus-names.h: {key} is defined, but the daemon (daemon/bus/) never sends it')

    for path, text in sorted({**daemon_bus, **others}.items()):
        if path.endswith('bus-names.h'):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            code = re.sub(r'//.*|/\*.*?\*/', '', line)
            if ERROR.search(code) and '"' in code:
                problems.append(f'{path}:{n}: spells out an error name; use bus-names.h')
            if re.search(r'"(org\.fsmon1|/org/fsmon1|org\.fsmon1\.Manager)"', code):
                problems.append(f'{path}:{n}: spells out a bus name; use bus-names.h')
    return problems


def read_tree(root):
    def read(p):
        with open(os.path.join(root, p), encoding='utf-8') as f:
            return f.read()
    sources = sorted(os.path.relpath(p, root) for p in glob.glob(os.path.join(root, 'daemon', '*', '*.[ch]')))
    daemon_bus = {p: read(p) for p in sources if p.startswith('daemon/bus/')}
    others = {p: read(p) for p in sources if not p.startswith('daemon/bus/')}
    return (read('daemon/bus/bus-names.h'), read('man/org.fsmon1.5'),
            read('dbus/org.fsmon1.Manager.xml'), daemon_bus, others)


def selftest(root):
    header, man, xml, bus, others = read_tree(root)
    if check(header, man, xml, bus, others):
        print('selftest: the tree itself does not pass; run the check first')
        return False
    mutations = {
        'an undocumented error': (header + '#define FSMON_ERROR_NEW "org.fsmon1.Error.New"\n', man, xml, bus, others,
                                  'org.fsmon1.Error.New (bus-names.h) is not documented'),
        'a documented error nobody defines': (header, man.replace('.SH AUTHORIZATION', '.TP\n.B org.fsmon1.Error.Gone\nx\n.SH AUTHORIZATION'),
                                              xml, bus, others, 'org.fsmon1.Error.Gone is documented'),
        'an error the daemon never sends': (header, man, xml,
                                            {p: t.replace('FSMON_ERROR_RELOAD_FAILED', 'X') for p, t in bus.items() if not p.endswith('bus-names.h')},
                                            others, 'FSMON_ERROR_RELOAD_FAILED is defined, but the daemon'),
        'a name spelled out': (header, man, xml, bus, {**others, 'daemon/x/y.c': 'f("org.fsmon1.Error.Busy");\n'},
                               'daemon/x/y.c:1: spells out an error name'),
        'a wrong path in the man page': (header, man.replace('object:     /org/fsmon1', 'object:     /org/fsmon'), xml, bus, others,
                                         'does not say "object: /org/fsmon1"'),
    }
    ok = True
    for what, (*texts, expect) in mutations.items():
        found = check(*texts)
        if not any(expect in p for p in found):
            print(f'selftest: {what}: expected "{expect}", got {found}')
            ok = False
    return ok


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--selftest':
        sys.exit(0 if selftest(sys.argv[2]) else 1)
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    problems = check(*read_tree(sys.argv[1]))
    for p in problems:
        print(p)
    print(f'{len(problems)} disagreement(s) about org.fsmon1\'s names')
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
