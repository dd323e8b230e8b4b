#!/bin/bash
# Direct mode beside proxy mode: the balancer's CPU and the latency under `wrk -t1 -c20 -d5s`
# of /fast, two demo backends. Needs bpf() (root) for direct mode.
#   bench/direct_vs_proxy.sh [PINWHEEL] [BACKEND]
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$HERE/build/balancer/pinwheel}
BACKEND=${2:-$HERE/build/backend/pinwheel-backend}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
run() { # mode strategy
  cat > $WORK/pinwheel.toml <<T
[balancer]
mode = "$1"
listen = "127.0.0.1:0"
strategy = "$2"
[backends]
count = 2
command = ["$BACKEND", "--port", "{port}", "--index", "{index}"]
base_port = 0
socket_activation = true
[metrics]
enabled = false
T
  $B --config $WORK/pinwheel.toml > $WORK/pinwheel.log 2>&1 & P=$!
  # Poll, bounded: both backends up.
  for _ in $(seq 100); do [ "$(grep -c " is up" $WORK/pinwheel.log)" -ge 2 ] && break; sleep 0.1; done
  PORT=$(grep -o "listening on 127.0.0.1:[0-9]*" $WORK/pinwheel.log | head -1 | cut -d: -f2)
  T0=$(awk '{print $14+$15}' /proc/$P/stat)
  OUT=$(wrk -t1 -c20 -d5s http://127.0.0.1:$PORT/fast 2>&1)
  T1=$(awk '{print $14+$15}' /proc/$P/stat)
  REQ=$(echo "$OUT" | awk '/requests in/{print $1}')
  LAT=$(echo "$OUT" | awk '/Latency/{print $2}')
  echo "$1 $2: requests $REQ, latency avg $LAT, balancer CPU $(( (T1-T0)*10 )) ms, per 1000 requests $(echo "scale=2; ($T1-$T0)*10*1000/$REQ" | bc) ms"
  kill $P; wait $P 2>/dev/null
}
run proxy round-robin
run direct round-robin
run direct least-busy
