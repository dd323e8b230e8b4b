#!/usr/bin/env bash
# A real Prometheus scrapes Pinwheel: the target is up, and the per-backend connections counter
# rises by the number of connections sent. Also: `promtool check metrics` finds nothing to say
# about a real scrape.
#   prometheus_test.sh PINWHEEL_BIN BACKEND_BIN
set -euo pipefail
source "$(dirname "$0")/run_pinwheel.sh"
require prometheus promtool curl python3
start_pinwheel "$1" "$2" 2

lint=$(get "http://127.0.0.1:$metrics_port/metrics" | promtool check metrics 2>&1) ||
  fail "promtool check metrics failed: $lint"
[ -z "$lint" ] || fail "promtool check metrics reports: $lint"
echo "promtool check metrics: clean"

prometheus_port=$(free_port)
cat >"$dir/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: pinwheel
    static_configs:
      - targets: ["127.0.0.1:$metrics_port"]
YAML
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
  --web.listen-address="127.0.0.1:$prometheus_port" >"$dir/prometheus.log" 2>&1 &
started_pids+=("$!")
api="http://127.0.0.1:$prometheus_port/api/v1"

target_up() {
  get "$api/targets" 2>/dev/null | python3 -c '
import json, sys
targets = json.load(sys.stdin)["data"]["activeTargets"]
sys.exit(0 if any(t["health"] == "up" and t["labels"]["job"] == "pinwheel" for t in targets) else 1)' 2>/dev/null
}
wait_for 20 target_up || fail "Prometheus never saw the target up: $(get "$api/targets" || tail -5 "$dir/prometheus.log")"
echo "target up"

# Prints "backend=value ..." for pinwheel_backend_connections_total, sorted by backend.
connections() {
  get "$api/query" --data-urlencode 'query=pinwheel_backend_connections_total' | python3 -c '
import json, sys
result = json.load(sys.stdin)["data"]["result"]
print(" ".join(sorted(r["metric"]["backend"] + "=" + str(int(float(r["value"][1]))) for r in result)))'
}
have_both() { [ "$(connections | wc -w)" -eq 2 ]; }
wait_for 10 have_both || fail "no per-backend series in Prometheus: $(connections)"
before=$(connections)
[ "$before" = "0=0 1=0" ] || fail "expected no connections yet, Prometheus has: $before"

sent=20
for _ in $(seq $sent); do get "http://127.0.0.1:$listen_port/whoami" >/dev/null; done
# Round-robin: half each.
rose() { [ "$(connections)" = "0=$((sent / 2)) 1=$((sent / 2))" ]; }
wait_for 15 rose || fail "Prometheus has $(connections) after $sent connections (expected 0=$((sent / 2)) 1=$((sent / 2)))"
echo "pinwheel_backend_connections_total rose by $sent in Prometheus: $(connections)"
echo PASS
