#!/usr/bin/env bash
# A real Prometheus scrapes Pinwheel: the target is up, and the per-backend connections counter
# rises by the number of connections sent. Also: `promtool check metrics` finds nothing to say
# about a real scrape.
#   prometheus_test.sh PINWHEEL_BIN BACKEND_BIN
set -euo pipefail
source "$(dirname "$0")/run_pinwheel.sh"
require prometheus promtool curl python3 grep sed
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

# The API's JSON is compact and regular: grep reads it without another process per poll.
target_up() { get "$api/targets?state=active" 2>/dev/null | grep -q '"health":"up"'; }
wait_for 20 target_up || fail "Prometheus never saw the target up: $(get "$api/targets" || tail -5 "$dir/prometheus.log")"
echo "target up"

# Prints "0=N 1=M": pinwheel_backend_connections_total of backends 0 and 1 as Prometheus has it.
connections() {
  local out="" backend value
  for backend in 0 1; do
    value=$(get "$api/query" --data-urlencode "query=pinwheel_backend_connections_total{backend=\"$backend\"}" |
      grep -o '"value":\[[^]]*\]' | sed 's/.*,"\([0-9.e+-]*\)"\]/\1/')
    out+="${out:+ }$backend=${value:-none}"
  done
  echo "$out"
}
have_both() { ! grep -q none <<<"$(connections)"; }
wait_for 10 have_both || fail "no per-backend series in Prometheus: $(connections)"
before=$(connections)
[ "$before" = "0=0 1=0" ] || fail "expected no connections yet, Prometheus has: $before"

sent=20
send_requests $sent
# Round-robin: half each.
rose() { [ "$(connections)" = "0=$((sent / 2)) 1=$((sent / 2))" ]; }
wait_for 15 rose || fail "Prometheus has $(connections) after $sent connections (expected 0=$((sent / 2)) 1=$((sent / 2)))"
echo "pinwheel_backend_connections_total rose by $sent in Prometheus: $(connections)"
echo PASS
