#!/usr/bin/env python3
"""Checks a benchmark results folder: every target × test has a passing row and every
figure is present and non-zero. Used by bench/smoke_test.sh; exits 1 and names each
problem otherwise.

usage: check_results.py COMPARISON_DIR [SCALING_DIR]
                        [--targets pinwheel,haproxy,haproxy-256k,nginx,direct]
"""

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pinwheel_bench.targets import BY_NAME, TARGETS  # noqa: E402
from pinwheel_bench.workloads import TEST_BY_NAME  # noqa: E402

REQUIRED = {
    "keepalive": ["requests", "rps", "p50_us", "p99_us", "cpu_s", "sched_s", "cpu_us_per_req",
                  "sched_us_per_req"],
    "close": ["requests", "rps", "p50_us", "p99_us", "cpu_s", "sched_s", "cpu_us_per_conn",
              "sched_us_per_conn"],
    "rate": ["rate_req_s", "rate_req_ok", "rate_sched_us_per_req", "rate_p99_us_req",
             "rate_conn_s", "rate_conn_ok", "rate_sched_us_per_conn", "rate_p99_us_conn"],
    "bulk": ["bytes", "gbit_s", "cpu_s", "sched_s", "cpu_s_per_gb", "sched_s_per_gb"],
    "bulk32": ["bytes", "gbit_s", "sched_s", "sched_s_per_gb"],
    "idle": ["idle_connected", "idle_upstream", "rss_with_kib", "rss_bytes_per_conn"],
    "slowread": ["bytes", "slow_conns", "slow_alive", "rss_with_kib", "slow_sched_us_per_mb"],
    "churn": ["requests", "rps", "p99_us", "sched_us_per_conn"],
    "syscalls": ["syscalls_per_req", "syscalls_per_conn"],
}


def positive(v):
    try:
        return float(v) > 0
    except (TypeError, ValueError):
        return False


def check_comparison(d, targets, problems):
    csv_path = d / "results.csv"
    if not csv_path.is_file():
        problems.append(f"{csv_path} is missing")
        return
    rows = list(csv.DictReader(open(csv_path, encoding="utf-8")))
    for test, cols in REQUIRED.items():
        for target in targets:
            if not BY_NAME[target].runs(TEST_BY_NAME[test]):
                continue
            mine = [r for r in rows if r["test"] == test and r["target"] == target]
            if not mine:
                problems.append(f"{test}/{target}: no row in results.csv")
            for r in mine:
                where = f"{test}/{target} round {r['round']}"
                if r["status"] != "ok":
                    problems.append(f"{where}: status {r['status']}: {r['note']}")
                for c in cols:
                    if not positive(r.get(c)):
                        problems.append(f"{where}: {c} is missing or zero ({r.get(c)!r})")
    md = d / "results.md"
    text = md.read_text(encoding="utf-8") if md.is_file() else ""
    if "| Figure | Target |" not in text:
        problems.append(f"{md} has no results table")
    if not (d / "plot.png").is_file() or (d / "plot.png").stat().st_size == 0:
        problems.append(f"{d / 'plot.png'} is missing")


def check_scaling(d, problems):
    csv_path = d / "scaling.csv"
    if not csv_path.is_file():
        problems.append(f"{csv_path} is missing")
        return
    rows = list(csv.DictReader(open(csv_path, encoding="utf-8")))
    if not any(r["n"] == "0" for r in rows) or not any(r["n"] != "0" for r in rows):
        problems.append("scaling.csv lacks the one-backend baseline or a Pinwheel row")
    for r in rows:
        where = f"scaling round {r['round']} N={r['n']}"
        if r["status"] != "ok":
            problems.append(f"{where}: status {r['status']}: {r['note']}")
        for c in ("rps", "p50_us", "p99_us"):
            if not positive(r.get(c)):
                problems.append(f"{where}: {c} is missing or zero ({r.get(c)!r})")
    if not (d / "scaling.md").is_file():
        problems.append(f"{d / 'scaling.md'} is missing")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("comparison", type=Path)
    ap.add_argument("scaling", type=Path, nargs="?")
    ap.add_argument("--targets", default=",".join(t.name for t in TARGETS if t.default))
    args = ap.parse_args()
    problems = []
    check_comparison(args.comparison, args.targets.split(","), problems)
    if args.scaling:
        check_scaling(args.scaling, problems)
    for p in problems:
        print(f"check: {p}")
    print(f"check: {'FAILED, ' + str(len(problems)) + ' problem(s)' if problems else 'all figures present'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
