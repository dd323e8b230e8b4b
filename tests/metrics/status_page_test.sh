#!/usr/bin/env bash
# Headless Chromium loads the status page (its script fetches /status.json and fills the
# table), the rows shown must be exactly Pinwheel's backends, and a screenshot is taken.
#   status_page_test.sh PINWHEEL_BIN BACKEND_BIN [SCREENSHOT.png]
set -euo pipefail
source "$(dirname "$0")/run_pinwheel.sh"
require chromium curl
start_pinwheel "$1" "$2" 3
send_requests 6

chrome() {
  # --virtual-time-budget: run the page's timers (several polls) before dumping.
  timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$dir/chrome" --hide-scrollbars --virtual-time-budget=4000 "$@" \
    "http://127.0.0.1:$metrics_port/" 2>>"$dir/chrome.log"
}
shot="${3:-$dir/status.png}"
# One browser run: the DOM after the script ran, and a screenshot of the same moment.
dom=$(chrome --dump-dom --window-size=1100,560 --screenshot="$shot") ||
  fail "chromium failed: $(tail -5 "$dir/chrome.log")"
rows=$(grep -o '<tr data-backend="[^"]*"' <<<"$dom" | sed 's/.*="\(.*\)"/\1/' | tr '\n' ' ')
[ "$rows" = "0 1 2 " ] || fail "the page shows backends [$rows], expected [0 1 2]: $dom"
ups=$(grep -o '<td class="state up">up</td>' <<<"$dom" | wc -l)
[ "$ups" -eq 3 ] || fail "expected 3 backends shown up, got $ups"
grep -q '<polyline' <<<"$dom" || fail "no chart drawn"
echo "rows shown: $rows(all up, chart drawn)"
[ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$shot is not a PNG"
echo "screenshot: $shot ($(stat -c %s "$shot") bytes)"
echo PASS
