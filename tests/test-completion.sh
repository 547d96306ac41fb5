#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The bash completion, sourced alone into a plain bash, completes every
# command and option that the programs' --help lists (and nothing they do not
# know: every completed option is accepted by --help's list). No root.
#
#   test-completion.sh SOURCE_ROOT FSMONCTL FSMOND
set -euo pipefail
src=$1 fsmonctl=$2 fsmond=$3
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# shellcheck source=shell-completion/bash/fsmonctl
. "$src/shell-completion/bash/fsmonctl"
# shellcheck source=shell-completion/bash/fsmond
. "$src/shell-completion/bash/fsmond"

# complete WORDS...: what the completion offers for the last word.
complete_words() {
        local func=$1; shift
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMPREPLY=()
        "$func"
        printf '%s\n' "${COMPREPLY[@]}" | sort -u
}

# Long options a --help text lists (and the commands of fsmonctl --help).
help_options() { grep -oE '(^|[ ,[])--[a-z][a-z-]*' | sed 's/^[ ,[]//' | sort -u; }

commands=$("$fsmonctl" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' | sort -u)
[ -n "$commands" ] || bad "no commands in fsmonctl --help"
offered=$(complete_words _fsmonctl fsmonctl "")
for c in $commands; do
        grep -qx "$c" <<<"$offered" || bad "fsmonctl <TAB> lacks the command $c"
done
for c in $(grep -v -- '^-' <<<"$offered"); do
        grep -qx "$c" <<<"$commands" || bad "fsmonctl <TAB> offers $c, which --help does not list"
done
echo "commands: $(echo $commands)"

for c in $commands; do
        want=$("$fsmonctl" "$c" --help | help_options)
        got=$(complete_words _fsmonctl fsmonctl "$c" --)
        for o in $want; do
                grep -qx -- "$o" <<<"$got" || bad "fsmonctl $c --<TAB> lacks $o"
        done
        for o in $got; do
                grep -qx -- "$o" <<<"$want" || bad "fsmonctl $c --<TAB> offers $o, which its --help does not list"
        done
        echo "fsmonctl $c: $(echo $got)"
done
for o in --help --version; do
        complete_words _fsmonctl fsmonctl -- | grep -qx -- "$o" || bad "fsmonctl --<TAB> lacks $o"
done

want=$("$fsmond" --help | help_options)
got=$(complete_words _fsmond fsmond -- | sed 's/=$//' | sort -u)
for o in $want; do
        grep -qx -- "$o" <<<"$got" || bad "fsmond --<TAB> lacks $o"
done
for o in $got; do
        grep -qx -- "$o" <<<"$want" || bad "fsmond --<TAB> offers $o, which its --help does not list"
done
echo "fsmond: $(echo $got)"

# Values, as the help names them.
[ "$(complete_words _fsmonctl fsmonctl report --format "" | tr '\n' ' ')" = "csv html json svg text " ] ||
        bad "report --format values"
[ "$(complete_words _fsmonctl fsmonctl decode --format "" | tr '\n' ' ')" = "json text " ] || bad "decode --format values"
[ "$(complete_words _fsmond fsmond --echo=t | tr '\n' ' ')" = "--echo=text " ] || bad "fsmond --echo= values"
complete_words _fsmonctl fsmonctl rules --config "$src/meson.b" | grep -qx "$src/meson.build" || bad "rules --config FILE"

# zsh (tools/deps.sh installs it): the files parse, and compinit registers
# them for both programs from their #compdef lines.
if command -v zsh >/dev/null; then
        for f in "$src"/shell-completion/zsh/_*; do
                zsh -n "$f" || bad "zsh -n $f"
        done
        zdump=$(mktemp)
        got=$(zsh -f -c 'fpath=("$1" $fpath); autoload -Uz compinit; compinit -u -d "$2"; print -r -- "${_comps[fsmonctl]} ${_comps[fsmond]}"' \
                zsh "$src/shell-completion/zsh" "$zdump")
        rm -f "$zdump"
        [ "$got" = "_fsmonctl _fsmond" ] || bad "zsh compinit registers '$got', not '_fsmonctl _fsmond'"
        echo "zsh: $got"
else
        echo "zsh not installed: its completion not checked"
fi
exit $fail
