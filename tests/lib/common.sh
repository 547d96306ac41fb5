# Shared by the shell tests (sourced): reporting and waiting for a condition.
# A test waits for what it needs to see, never for a fixed time; a bare
# sleep is only right where the test checks that something does NOT happen
# within a span (say why beside it).

# pass WHAT / fail WHAT: one line each; fail counts into $fails.
fails=${fails:-0}
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# wait_for SECONDS CMD...: runs CMD every 0.1 s until it succeeds (0) or
# SECONDS have passed (1). CMD's output is discarded.
wait_for() {
        local n=$(($1 * 10)); shift
        for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
        return 1
}
