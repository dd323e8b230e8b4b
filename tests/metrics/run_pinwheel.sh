# Sourced by the metrics shell tests: starts Pinwheel with demo backends on free loopback ports
# and reads its ports from the log. Sets $dir, $pinwheel_pid, $listen_port, $metrics_port.
# Every process started here is stopped on exit, by PID.

fail() { echo "FAIL: $*" >&2; exit 1; }

require() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null ||
      fail "$tool is not installed (deploy/bootstrap.sh test installs it)"
  done
}

started_pids=()
dir="$(mktemp -d /tmp/pinwheel-metrics-test-XXXXXX)"
cleanup() {
  for pid in "${started_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${started_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

# Polls `$@` every 0.1 s for up to $timeout seconds.
wait_for() {
  local timeout=$1
  shift
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.1
  done
}

# start_pinwheel PINWHEEL_BIN BACKEND_BIN COUNT
start_pinwheel() {
  local bin backend count=$3
  bin=$(realpath "$1")
  backend=$(realpath "$2")
  cat >"$dir/pinwheel.toml" <<TOML
[balancer]
listen = "127.0.0.1:0"
strategy = "round-robin"
[backends]
count = $count
command = ["$backend", "--port", "{port}", "--index", "{index}"]
base_port = 0
restart_delay = "50ms"
stop_timeout = "2s"
[health]
kind = "http"
interval = "200ms"
[metrics]
listen = "127.0.0.1:0"
TOML
  "$bin" --config "$dir/pinwheel.toml" >"$dir/pinwheel.log" 2>&1 &
  pinwheel_pid=$!
  started_pids+=("$pinwheel_pid")
  backends_up() {
    kill -0 "$pinwheel_pid" 2>/dev/null || fail "pinwheel exited: $(cat "$dir/pinwheel.log")"
    [ "$(grep -c ') is up' "$dir/pinwheel.log")" -ge "$count" ]
  }
  wait_for 15 backends_up || fail "backends did not come up: $(cat "$dir/pinwheel.log")"
  listen_port=$(sed -n 's/^pinwheel: listening on 127.0.0.1:\([0-9]*\) .*/\1/p' "$dir/pinwheel.log")
  metrics_port=$(sed -n 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$dir/pinwheel.log")
  [ -n "$listen_port" ] && [ -n "$metrics_port" ] || fail "no ports in: $(cat "$dir/pinwheel.log")"
}

# A loopback port free a moment ago, for a server that cannot be told to pick its own.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

get() { curl --noproxy '*' -sf --max-time 5 "$@"; }

# send_requests N: N requests to Pinwheel, each on a new connection (bash's /dev/tcp: no
# process per request, which matters on a loaded machine). Fails if one gets no reply.
send_requests() {
  local i line
  for ((i = 0; i < $1; i++)); do
    exec 3<>"/dev/tcp/127.0.0.1/$listen_port"
    printf 'GET /whoami HTTP/1.0\r\nHost: pinwheel\r\n\r\n' >&3
    IFS= read -r -t 5 line <&3 || fail "request $i: no reply"
    [[ "$line" == "HTTP/1."?" 200"* ]] || fail "request $i: $line"
    while IFS= read -r -t 5 line <&3; do :; done
    exec 3<&-
  done
}
