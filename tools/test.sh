#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is needed, builds fsmon
# twice (warnings as errors; then AddressSanitizer + UndefinedBehaviorSanitizer),
# runs `meson test` in both, and ends with "N passed, N failed".
#
#   FSMON_TEST_SUITES="unit"   run only these meson suites (default: all)
#   FSMON_SKIP_SANITIZERS=1    skip the sanitizer build
#
# Suites: unit (pure core, no root), fuzz-corpus (fuzz seeds as tests),
# integration (root; real auditd, dbus-daemon, polkitd, sshd started by the
# test), system (packages in systemd-nspawn and qemu; not run under sanitizers).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD

tools/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0 skipped=0
count() {
        local log=$1 p f s
        read -r p f s < <(python3 - "$log" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PY
)
        passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

suite_args=()
for s in ${FSMON_TEST_SUITES:-}; do suite_args+=(--suite "$s"); done

run() {
        local dir=$1; shift
        local label=$1; shift
        echo "=== $label: configure and build ($dir)"
        if [ -d "$dir/meson-private" ]; then
                meson setup --reconfigure "$dir" "$@" >/dev/null 2>&1 || meson setup --wipe "$dir" "$@" >/dev/null
        else
                meson setup "$dir" "$@" >/dev/null
        fi
        if [ $? -ne 0 ] || ! ninja -C "$dir"; then
                echo "=== $label: build FAILED"
                failed=$((failed + 1))
                return
        fi
        echo "=== $label: test"
        rm -f "$dir/meson-logs/testlog.json"
        meson test -C "$dir" --print-errorlogs --num-processes 2 "${suite_args[@]}" ${extra_test_args:-}
        if [ -f "$dir/meson-logs/testlog.json" ]; then
                count "$dir/meson-logs/testlog.json"
        else
                failed=$((failed + 1))
        fi
}

run build "plain" -Dwerror=true -Dbuildtype=debugoptimized
if [ -z "${FSMON_SKIP_SANITIZERS:-}" ]; then
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        LSAN_OPTIONS=suppressions=$top/fuzz/lsan.supp \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        FSMON_SANITIZED=1 extra_test_args="--no-suite system" \
        run build-sanitize "asan+ubsan" -Dwerror=true -Dbuildtype=debug \
                -Db_sanitize=address,undefined -Db_lundef=false
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
