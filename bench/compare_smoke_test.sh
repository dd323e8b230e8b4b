#!/usr/bin/env bash
# Smoke test of bench/compare, run by ctest (tests/CMakeLists.txt, test compare_smoke):
#   bench/compare_smoke_test.sh PINWHEEL_BIN LOADGEN_BIN
# Runs the comparison in smoke mode (every setup and experiment, briefly) into a temporary
# folder, then checks that results.json, results.md and the plots exist and that the table
# has one well-formed row per setup, with no failed setup. Set COMPARE_SMOKE_KEEP=1 to keep
# the folder.
set -euo pipefail

if [[ $# -ne 2 || "$1" == "-h" || "$1" == "--help" ]]; then
  echo "usage: $0 PINWHEEL_BIN LOADGEN_BIN" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/smoke_common.sh
source "$here/smoke_common.sh"
smoke_begin compare-smoke COMPARE_SMOKE_KEEP

status=0
run "$here/compare" --smoke --pinwheel "$1" --loadgen "$2" --out "$tmp" --max-wall 200 || status=$?
if [[ "$status" -ne 0 ]]; then
  echo "smoke: bench/compare exited with $status"
fi

python3 - "$tmp" <<'PY' || status=1
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
problems = []
for name in ("results.json", "results.md", "latency.svg", "keepalive.svg", "cpu.svg", "ramp.svg"):
    if not (out / name).is_file() or (out / name).stat().st_size == 0:
        problems.append(f"{name} missing or empty")
if not problems:
    data = json.loads((out / "results.json").read_text())
    setups = list(data["results"])
    if "alone" not in setups or "node-cluster" not in setups or \
            not any(s.startswith("pinwheel-") for s in setups):
        problems.append(f"setups {setups}: expected alone, node-cluster and pinwheel-*")
    for name, r in data["results"].items():
        if "error" in r:
            problems.append(f"{name} failed: {r['error'][:300]}")
        for exp in ("blocking", "keepalive", "mix", "ramp", "load"):
            if exp not in r:
                problems.append(f"{name}: no {exp} result")
    md = (out / "results.md").read_text().splitlines()
    rows = [l for l in md if l.startswith("| ")]
    head = next((i for i, l in enumerate(md) if l.startswith("| setup |")), None)
    if head is None:
        problems.append("results.md has no '| setup |' table")
    else:
        columns = md[head].count("|")
        table = []
        for line in md[head + 2:]:
            if not line.startswith("|"):
                break
            table.append(line)
        if len(table) != len(setups):
            problems.append(f"table has {len(table)} rows for {len(setups)} setups")
        for line in table:
            if line.count("|") != columns:
                problems.append(f"row with {line.count('|') - 1} cells, header has {columns - 1}: {line}")
    for svg in out.glob("*.svg"):
        if "<svg" not in svg.read_text(errors="replace"):
            problems.append(f"{svg.name} is not an SVG")
for p in problems:
    print(f"smoke: {p}")
sys.exit(1 if problems else 0)
PY
if [[ "$status" -eq 0 ]]; then
  sed -n '/^| setup/,/^$/p' "$tmp/results.md"
  echo "smoke: PASSED"
else
  echo "smoke: FAILED"
fi
exit "$status"
