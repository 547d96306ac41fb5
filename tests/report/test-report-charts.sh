#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The report's charts as a person sees them: `fsmonctl report --format svg`
# (and --format html) rendered by headless Chromium to a PNG whose pixels
# must show the three charts (png-check.py).
#   test-report-charts.sh FSMONCTL
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fsmonctl=$1
browser=$(command -v chromium || command -v chromium-browser) || { echo "chromium missing"; exit 77; }

tmp=$(mktemp -d /tmp/fsmon-report-charts.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 "$here/gen-segments.py" "$tmp/server" --hosts 2 --sessions 200 --seed 3 || exit 1

fail=0
for format in svg html; do
        "$fsmonctl" report --format "$format" --progress=no "$tmp/server" >"$tmp/report.$format" \
                || { echo "fsmonctl report --format $format failed"; exit 1; }
        if [ "$format" = svg ]; then
                python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$tmp/report.svg" \
                        || { echo "FAIL: the SVG is not well-formed XML"; fail=1; }
        fi
        mkdir -p "$tmp/profile-$format"
        timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
                --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
                --user-data-dir="$tmp/profile-$format" --window-size=960,1000 \
                --screenshot="$tmp/report-$format.png" "file://$tmp/report.$format" >"$tmp/chromium.log" 2>&1
        if [ ! -s "$tmp/report-$format.png" ]; then
                echo "FAIL: chromium made no screenshot of the $format"
                tail -5 "$tmp/chromium.log"
                fail=1
                continue
        fi
        echo "== $format"
        python3 "$here/png-check.py" "$tmp/report-$format.png" || fail=1
        # FSMON_KEEP_PNG=DIR keeps the screenshots, to look at them.
        [ -n "${FSMON_KEEP_PNG:-}" ] && cp "$tmp/report-$format.png" "$FSMON_KEEP_PNG/"
done
exit $fail
