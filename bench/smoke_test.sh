#!/usr/bin/env bash
# Smoke test of the benchmark, run by ctest (tests/CMakeLists.txt):
#   bench/smoke_test.sh PINWHEEL_BIN BACKEND_BIN
# Runs the comparison in smoke mode (1 round, ~1 s per test, 200 idle connections, all
# four targets) and the scaling mode for N = 1, into a temporary folder, then checks that
# every figure is present and non-zero. Exits non-zero if anything failed. Each run is
# bounded (--max-wall) and stops every process it started; ports are picked free.
# Set BENCH_SMOKE_KEEP=1 to keep the results folder.
set -euo pipefail

if [[ $# -ne 2 || "$1" == "-h" || "$1" == "--help" ]]; then
  echo "usage: $0 PINWHEEL_BIN BACKEND_BIN" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pinwheel="$(realpath "$1")"
backend="$(realpath "$2")"

# shellcheck source=bench/smoke_common.sh
source "$here/smoke_common.sh"
smoke_begin bench-smoke BENCH_SMOKE_KEEP

status=0
echo "smoke: comparison (all four targets)"
run "$here/run.sh" --smoke --require-pinwheel --pinwheel "$pinwheel" --backend-bin "$backend" \
  --out "$tmp/compare" --max-wall 180 || status=1
echo "smoke: scaling mode, N = 1"
run "$here/run.sh" --scaling --smoke --scaling-n 1 --pinwheel "$pinwheel" \
  --backend-bin "$backend" --out "$tmp/scaling" --max-wall 90 || status=1

run python3 "$here/check_results.py" "$tmp/compare" "$tmp/scaling" || status=1
if [[ -f "$tmp/compare/results.md" ]]; then
  sed -n '/^| Figure/,/^$/p' "$tmp/compare/results.md"
fi
if [[ "$status" -eq 0 ]]; then
  echo "smoke: PASSED"
else
  echo "smoke: FAILED"
fi
exit "$status"
