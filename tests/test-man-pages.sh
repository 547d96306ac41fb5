#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The man pages render without a single warning (the command lintian runs for
# manpage-has-errors-from-man, and groff -ww), and they cannot go stale: every
# long option that fsmond and fsmonctl (and each fsmonctl command) print in
# their --help is documented in the page, fsmonctl's options in the section
# of their command.
#   test-man-pages.sh MANDIR FSMOND FSMONCTL
set -uo pipefail
mandir=$1 fsmond=$2 fsmonctl=$3
export LC_ALL=C.UTF-8 MANROFFSEQ= MANWIDTH=80

have_man=0 have_groff=0
command -v man >/dev/null && have_man=1
command -v groff >/dev/null && have_groff=1
[ $have_man = 1 ] || [ $have_groff = 1 ] || { echo "SKIP: neither man nor groff installed (tools/deps.sh)"; exit 77; }

fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

# 1. Rendering: any output on stderr is a failure.
for page in "$mandir"/*.[1-8]; do
        name=$(basename "$page")
        if [ $have_man = 1 ]; then
                err=$(man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
                [ -z "$err" ] && ok "$name: man --warnings is silent" || bad "$name: man --warnings says: $err"
        fi
        if [ $have_groff = 1 ]; then
                err=$(groff -man -ww -z -K utf8 "$page" 2>&1)
                [ -z "$err" ] && ok "$name: groff -man -ww is silent" || bad "$name: groff -man -ww says: $err"
        fi
done

# The source of a section: from the line matching START (a regex) to the next
# line matching END, with \- turned into -.
section() { # FILE START END
        awk -v s="$2" -v e="$3" 'on && $0 ~ e { exit } $0 ~ s { on = 1 } on' "$1" | sed 's/\\-/-/g'
}
long_options() { # help text on stdin
        grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}
documented() { # TEXT OPTION
        grep -qE -- "$2([^a-z0-9-]|\$)" <<<"$1"
}

# 2. fsmond: every option of --help in OPTIONS.
page=$mandir/fsmond.8
help=$("$fsmond" --help) || bad "fsmond --help failed"
opts=$(long_options <<<"$help")
[ -n "$opts" ] || bad "fsmond --help lists no long options"
text=$(section "$page" '^\.SH OPTIONS' '^\.SH ')
for o in $opts; do
        documented "$text" "$o" && ok "fsmond.8 documents $o" || bad "fsmond.8: OPTIONS lacks $o (in fsmond --help)"
done

# 3. fsmonctl: the global options anywhere in the page; every command of
# --help has a section with every long option of its own --help.
page=$mandir/fsmonctl.1
help=$("$fsmonctl" --help) || bad "fsmonctl --help failed"
all=$(sed 's/\\-/-/g' "$page")
for o in $(long_options <<<"$help"); do
        documented "$all" "$o" && ok "fsmonctl.1 documents $o" || bad "fsmonctl.1 lacks $o (in fsmonctl --help)"
done
verbs=$(awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }' <<<"$help")
[ -n "$verbs" ] || bad "fsmonctl --help lists no commands"
for v in $verbs; do
        if ! grep -qE "^\.SS \"?$v( |\"|\$)" "$page"; then
                bad "fsmonctl.1: no section for the command $v"
                continue
        fi
        ok "fsmonctl.1 has a section for $v"
        vhelp=$("$fsmonctl" "$v" --help) || { bad "fsmonctl $v --help failed"; continue; }
        text=$(section "$page" "^\\.SS \"?$v( |\"|\$)" '^\.S[HS] ')
        for o in $(long_options <<<"$vhelp"); do
                [ "$o" = --help ] && continue   # COMMAND --help, in SYNOPSIS
                documented "$text" "$o" && ok "fsmonctl.1 documents $v $o" \
                        || bad "fsmonctl.1: the section of $v lacks $o (in fsmonctl $v --help)"
        done
done
grep -q 'COMMAND' "$page" && documented "$all" --help && ok "fsmonctl.1 names COMMAND --help" \
        || bad "fsmonctl.1 does not say that every command takes --help"

exit $fail
