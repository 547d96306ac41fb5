#!/usr/bin/env bash
# fsmon's main job on this machine: installs what is needed, builds, and runs
# it. Today: `fsmonctl decode` on the audit log the project recorded from the
# real kernel (tests/fixtures/workload-raw.log), with pseudonyms on.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

log=tests/fixtures/workload-raw.log
echo "== fsmonctl decode $log (pseudonymised, a random key for this run)" >&2
build/daemon/fsmonctl decode "$log"
