#!/usr/bin/env python3
"""Pinwheel's side-by-side proxy benchmark: Pinwheel, HAProxy, nginx stream and direct.

Run it through bench/run.sh (see bench/README.md); the code is in bench/pinwheel_bench/
and the server configs in bench/templates/. Only the standard library is used; every
process started is stopped by PID.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pinwheel_bench.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
