#!/usr/bin/env bash
# Runs each libFuzzer target for a while (default 60 s each), starting from
# its seed corpus: tools/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}; shift || true
CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args=-fsanitize=fuzzer-no-link \
        -Dbuildtype=debugoptimized >/dev/null 2>&1 || meson setup --reconfigure build-fuzz >/dev/null
ninja -C build-fuzz >/dev/null
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(ls fuzz/corpus))
export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
for t in "${targets[@]}"; do
        work=$(mktemp -d)
        echo "== fuzz-$t for ${secs}s"
        build-fuzz/fuzz/fuzz-"$t" -max_total_time="$secs" -max_len=65536 "$work" fuzz/corpus/"$t"
        rm -rf "$work"
done
