#!/usr/bin/env bash
# User-space instructions the balancer spends per keep-alive request, counted by callgrind:
# a count, so it repeats on a busy machine where CPU time does not. Two demo backends, 10
# keep-alive connections of GET /fast at 500 req/s; runs 1,000 and 6,000 requests and reports
# (I(6000) - I(1000)) / 5000, so start-up and shutdown cancel out. Kernel time is not counted.
# Used to price a change on the data path: run it on two builds (README, "Least-pending").
#   bench/instructions_per_request.sh PINWHEEL BACKEND LOADGEN STRATEGY   (needs valgrind)
set -euo pipefail
pinwheel=$(realpath "$1") backend=$(realpath "$2") loadgen=$(realpath "$3") strategy=$4
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
run_one() {
  local n=$1 port; port=$(free_port)
  cat > "$work/p.toml" <<TOML
[balancer]
listen = "127.0.0.1:$port"
strategy = "$strategy"
[backends]
count = 2
base_port = 0
command = ["$backend", "--port", "{port}", "--index", "{index}"]
[health]
kind = "none"
[metrics]
enabled = false
TOML
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.$n" "$pinwheel" --config "$work/p.toml" > "$work/log.$n" 2>&1 &
  local pid=$!
  for _ in $(seq 200); do grep -q "pinwheel: ready\|serving on" "$work/log.$n" 2>/dev/null && break; sleep 0.1; done
  "$loadgen" -t "127.0.0.1:$port" -r 500 -n "$n" -k -c 10 -m "1:GET /fast" -q --no-progress
  kill -TERM "$pid"
  wait "$pid" || true
  awk '/^summary:/ {print $2}' "$work/cg.$n"
}
a=$(run_one 1000); b=$(run_one 6000)
echo "$strategy: $(( (b - a) / 5000 )) instructions per request (I(1000)=$a I(6000)=$b)"
rm -rf "$work"
