#!/usr/bin/env bash
# Pinwheel's side-by-side proxy benchmark: Pinwheel, HAProxy, nginx stream and direct.
#
#   bench/run.sh [--smoke] [--rounds N] [--out DIR] [--pinwheel BIN] ...   # comparison
#   bench/run.sh --scaling [--scaling-n 1-15] [--backend-bin BIN] ...      # CPU scaling
#   bench/run.sh --help
#
# Works from any directory. Installs nothing: the Debian packages it needs are listed
# below for the project's bootstrap script (apt-get install -y $BENCH_PACKAGES).
set -euo pipefail

BENCH_PACKAGES="haproxy nginx libnginx-mod-stream wrk iperf3 gnuplot-nox fonts-dejavu-core python3 procps util-linux iproute2 linux-perf"
export BENCH_PACKAGES

if [[ "${1:-}" == "--packages" ]]; then
  echo "$BENCH_PACKAGES"
  exit 0
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The orchestrator replaces this shell, so signals reach it directly and it stops every
# process it started (by PID) before exiting.
exec python3 "$here/pwbench.py" "$@"
