#!/usr/bin/env bash
# CPU-scaling mode of the benchmark: Pinwheel spawning N demo backends.
#   bench/scaling.sh [--scaling-n 1-15] [--slow-ms 5] [--rounds N] [--out DIR] ...
# Same as bench/run.sh --scaling; see bench/README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/run.sh" --scaling "$@"
