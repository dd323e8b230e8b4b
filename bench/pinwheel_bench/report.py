"""results.csv and results.md: the machine, the method, and each figure's median, spread
and ratio to HAProxy."""

import csv
import datetime
import os
import platform
import re
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .common import REPO_DIR, fmt, num, read_text
from .procfs import smt_siblings
from .targets import BY_NAME


@dataclass(frozen=True)
class Figure:
    test: str
    column: str
    label: str
    unit: str
    lower_is_better: bool = True
    decimals: int = 1
    headline: bool = False   # in the summary table
    plot: bool = False       # in plot.png (normalised to HAProxy)
    backend: bool = False    # for direct, the backend's figure (reference, no ratio)


FIGURES = [
    Figure("keepalive", "sched_us_per_req", "CPU per request, keep-alive (schedstat)", "µs",
           headline=True, plot=True, backend=True),
    Figure("keepalive", "cpu_us_per_req", "CPU per request, keep-alive (ticks)", "µs",
           headline=True, backend=True),
    Figure("keepalive", "rps", "Requests/s, keep-alive (saturation)", "req/s", False, 0,
           headline=True),
    Figure("keepalive", "p50_us", "p50 latency, keep-alive", "µs", decimals=0),
    Figure("keepalive", "p99_us", "p99 latency, keep-alive", "µs", decimals=0),
    Figure("close", "sched_us_per_conn", "CPU per new connection (schedstat)", "µs",
           headline=True, plot=True, backend=True),
    Figure("close", "cpu_us_per_conn", "CPU per new connection (ticks)", "µs", headline=True,
           backend=True),
    Figure("close", "rps", "Connections/s (saturation)", "conn/s", False, 0, headline=True),
    Figure("close", "p50_us", "p50 latency, new connections", "µs", decimals=0),
    Figure("close", "p99_us", "p99 latency, new connections", "µs", decimals=0, headline=True),
    Figure("rate", "rate_sched_us_per_req", "CPU per request at a fixed rate, keep-alive "
           "(schedstat)", "µs", headline=True, plot=True, backend=True),
    Figure("rate", "rate_cpu_us_per_req", "CPU per request at a fixed rate, keep-alive "
           "(ticks)", "µs", backend=True),
    Figure("rate", "rate_p99_us_req", "p99 latency at a fixed rate, keep-alive", "µs",
           decimals=0),
    Figure("rate", "rate_sched_us_per_conn", "CPU per connection at a fixed rate "
           "(schedstat)", "µs", headline=True, plot=True, backend=True),
    Figure("rate", "rate_cpu_us_per_conn", "CPU per connection at a fixed rate (ticks)", "µs",
           backend=True),
    Figure("rate", "rate_p99_us_conn", "p99 latency at a fixed rate, new connections", "µs",
           decimals=0),
    Figure("bulk", "sched_s_per_gb", "CPU per GB, 1 flow (schedstat)", "s", decimals=3,
           headline=True, plot=True, backend=True),
    Figure("bulk", "cpu_s_per_gb", "CPU per GB, 1 flow (ticks)", "s", decimals=3,
           backend=True),
    Figure("bulk", "gbit_s", "Throughput, 1 flow", "Gbit/s", False, 2),
    Figure("bulk32", "sched_s_per_gb", "CPU per GB, many flows (schedstat)", "s", decimals=3,
           headline=True, plot=True, backend=True),
    Figure("bulk32", "cpu_s_per_gb", "CPU per GB, many flows (ticks)", "s", decimals=3,
           backend=True),
    Figure("bulk32", "gbit_s", "Throughput, many flows", "Gbit/s", False, 2),
    Figure("idle", "rss_bytes_per_conn", "RSS per idle connection", "bytes", decimals=0,
           headline=True, plot=True, backend=True),
    Figure("slowread", "slow_rss_bytes_per_conn", "RSS per slow reader", "bytes", decimals=0,
           headline=True, plot=True, backend=True),
    Figure("slowread", "slow_sched_us_per_mb", "CPU per MB to slow readers (schedstat)", "µs",
           decimals=0, headline=True, backend=True),
    Figure("churn", "sched_us_per_conn", "CPU per new connection, health checks on "
           "(schedstat)", "µs", headline=True, plot=True),
    Figure("churn", "cpu_us_per_conn", "CPU per new connection, health checks on (ticks)",
           "µs"),
    Figure("churn", "rps", "Connections/s, health checks on", "conn/s", False, 0),
    Figure("churn", "p99_us", "p99 latency, health checks on", "µs", decimals=0),
    Figure("syscalls", "syscalls_per_req", "System calls per keep-alive request", "calls",
           decimals=2, headline=True, backend=True),
    Figure("syscalls", "syscalls_per_conn", "System calls per new connection", "calls",
           decimals=1, headline=True, backend=True),
]

CSV_FIELDS = [
    "round", "test", "target", "position", "status", "note", "started_at", "duration_s",
    "requests", "rps", "p50_us", "p90_us", "p99_us", "errors", "non_2xx",
    "bytes", "flows", "gbit_s",
    "cpu_role", "cpu_s", "sched_s", "proxy_cpu_s", "backend_cpu_s", "loadgen_cpu_s",
    "proxy_core_busy_s", "other_cpu_s",
    "cpu_us_per_req", "sched_us_per_req", "cpu_us_per_conn", "sched_us_per_conn",
    "cpu_s_per_gb", "sched_s_per_gb",
    "rate_req_s", "rate_req_ok", "rate_cpu_us_per_req", "rate_sched_us_per_req",
    "rate_p50_us_req", "rate_p99_us_req", "rate_send_lag_p99_ms_req",
    "rate_conn_s", "rate_conn_ok", "rate_cpu_us_per_conn", "rate_sched_us_per_conn",
    "rate_p50_us_conn", "rate_p99_us_conn", "rate_send_lag_p99_ms_conn",
    "passive_opens", "opens_per_req",
    "idle_target", "idle_connected", "idle_upstream", "idle_alive",
    "rss_before_kib", "rss_with_kib", "rss_bytes_per_conn",
    "slow_conns", "slow_alive", "slow_rss_bytes_per_conn", "slow_cpu_us_per_mb",
    "slow_sched_us_per_mb",
    "syscalls_per_req", "eagain_reads_per_req", "syscalls_top_req",
    "syscalls_per_conn", "eagain_reads_per_conn", "syscalls_top_conn",
]
BASELINE = "haproxy"
# For the bulk figures Pinwheel is also compared with HAProxy at Pinwheel's buffer size.
EQUAL_BUFFERS = "haproxy-256k"
# ... and with HAProxy splicing too, as Pinwheel does for bulk flows.
SPLICING = "haproxy-splice"


def version_of(argv, pattern=None):
    try:
        p = subprocess.run(argv, capture_output=True, timeout=10)
        text = (p.stdout + p.stderr).decode("utf-8", "replace").strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unavailable"
    if p.returncode != 0 and not text:
        return "unavailable"
    if pattern:
        m = re.search(pattern, text)
        return m.group(1) if m else (text.splitlines() or ["?"])[0]
    return (text.splitlines() or ["?"])[0]


def loadavg():
    return " ".join((read_text("/proc/loadavg") or "? ? ?").split()[:3])


def machine_info(args):
    cpu_model = "unknown"
    for line in (read_text("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    git = version_of(["git", "-C", str(REPO_DIR), "describe", "--always", "--dirty"])
    pin = "not built"
    if args.pinwheel and Path(args.pinwheel).is_file():
        v = version_of([str(args.pinwheel), "--version"])
        v = re.sub(r"^pinwheel\s+", "", v, flags=re.I)
        pin = f"{v} (git {git})" if v != "unavailable" and re.match(r"\d", v) else f"git {git}"
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "kernel": platform.release(),
        "loadavg": loadavg(),
        "smt": {c: smt_siblings(c) for c in sorted({args.proxy_cpu, args.load_cpu})},
        "haproxy": version_of(["haproxy", "-v"], r"version (\S+)"),
        "nginx": version_of(["nginx", "-v"], r"nginx/(\S+)"),
        "wrk": version_of(["wrk", "--version"], r"wrk (\S+)"),
        "iperf3": version_of(["iperf3", "--version"], r"iperf (\S+)"),
        "pinwheel": pin,
    }


def summarize(rows, targets):
    """{(test, column, target): (median, min, max, n)} over the rounds that passed."""
    out = {}
    for f in FIGURES:
        for t in targets:
            vals = [num(r.get(f.column)) for r in rows
                    if r["test"] == f.test and r["target"] == t.name and r.get("status") == "ok"]
            vals = [v for v in vals if v is not None]
            if vals:
                out[(f.test, f.column, t.name)] = (statistics.median(vals), min(vals), max(vals),
                                                   len(vals))
    return out


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in CSV_FIELDS})


def syscall_lines(rows, targets):
    """The system calls test's breakdown: the commonest calls per unit of work, per target,
    from its last passing round (counts barely move between rounds)."""
    last = {}
    for r in rows:
        if r["test"] == "syscalls" and r.get("status") == "ok":
            last[r["target"]] = r
    if not last:
        return []
    lines = ["## System calls by call", "",
             "Counted with `perf stat -e raw_syscalls:sys_enter -e syscalls:sys_enter_CALL… "
             "-p PID` on the proxy's process (for direct, the backend's) during the same "
             "wrk loads; per request (keep-alive) and per connection (`Connection: close`). "
             "*Empty reads* are recv/read calls that returned EAGAIN.", "",
             "| Target | per request | empty reads | top calls per request | per connection | "
             "empty reads | top calls per connection |",
             "|---|---:|---:|---|---:|---:|---|"]
    for t in targets:
        r = last.get(t.name)
        if r:
            lines.append(f"| {t.label} | {r.get('syscalls_per_req', '')} | "
                         f"{r.get('eagain_reads_per_req', '')} | {r.get('syscalls_top_req', '')} | "
                         f"{r.get('syscalls_per_conn', '')} | "
                         f"{r.get('eagain_reads_per_conn', '')} | "
                         f"{r.get('syscalls_top_conn', '')} |")
    lines.append("")
    return lines


def ratio(summary, f, name, base=BASELINE):
    s, b = summary.get((f.test, f.column, name)), summary.get((f.test, f.column, base))
    if not s or not b or not b[0] or (f.backend and BY_NAME[name].server == "direct"):
        return None
    return s[0] / b[0]


def summary_lines(summary, targets):
    """One row per headline figure: each target's median, then each proxy's ratio to
    HAProxy (for bulk figures also to HAProxy with Pinwheel's buffer size)."""
    shown = [t for t in targets if any((f.test, f.column, t.name) in summary for f in FIGURES)]
    compared = [t for t in shown if t.server not in ("direct", "haproxy")]
    head = ["Figure"] + [t.label for t in shown] + [f"{t.label} ÷ HAProxy" for t in compared]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for f in FIGURES:
        if not f.headline or not any((f.test, f.column, t.name) in summary for t in shown):
            continue
        cells = [f"{f.label}, {f.unit}"]
        for t in shown:
            s = summary.get((f.test, f.column, t.name))
            cells.append(fmt(s[0], f.decimals) if s else "—")
        for t in compared:
            r = ratio(summary, f, t.name)
            text = f"{r:.2f}" if r is not None else "—"
            eq = ratio(summary, f, t.name, EQUAL_BUFFERS) if t.server == "pinwheel" else None
            sp = ratio(summary, f, t.name, SPLICING) if t.server == "pinwheel" else None
            extra = ([f"{eq:.2f} at equal buffers"] if eq is not None else []) + \
                ([f"{sp:.2f} against HAProxy splicing"] if sp is not None else [])
            if extra:
                text += f" ({', '.join(extra)})"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def write_markdown(path, info, args, summary, failures, notes, wall, plot_name, busy_rows=0,
                   quiet_waited=0.0, rows=(), loadavg_end=""):
    targets = args.targets
    a = args
    lines = ["# Pinwheel proxy benchmark", ""]
    lines.append(f"- **Date:** {info['date']}  ")
    smt = "; ".join(f"CPU {c}: siblings {s}" for c, s in info["smt"].items())
    lines.append(f"- **Machine:** {info['nproc']} CPUs (`nproc`), {info['cpu_model']}, "
                 f"kernel {info['kernel']}; SMT siblings ({smt})  ")
    lines.append(f"- **Versions:** Pinwheel {info['pinwheel']}; HAProxy {info['haproxy']}; "
                 f"nginx {info['nginx']}; wrk {info['wrk']}; iperf3 {info['iperf3']}  ")
    lines.append(f"- **Run:** {a.rounds} round(s) of the CPU tests (keepalive, close, rate, "
                 f"bulk), {min(a.extra_rounds, a.rounds)} of idle, bulk32, slowread and churn, "
                 f"one of syscalls; target order shuffled per round and test (seed {a.seed}); "
                 f"wrk {a.duration}s `-t1 -c{a.connections}`; fixed rate {a.rate_duration}s per "
                 f"load; iperf3 {a.bulk_duration}s, 1 and {a.bulk_flows} streams; "
                 f"{a.idle_conns} idle connections; {a.slow_conns} slow readers at "
                 f"{a.slow_rate // 1024} KiB/s; health checks every 100 ms in churn; "
                 f"{'smoke mode; ' if a.smoke else ''}wall time {wall:.0f}s"
                 + (f" ({quiet_waited:.0f}s of it waiting for a quiet machine)"
                    if quiet_waited >= 1 else "") + "  ")
    lines.append(f"- **Load average:** {info['loadavg']} at start, {loadavg_end} at end "
                 "(1, 5, 15 min)  ")
    lines.append(f"- **Placement:** proxies on CPU {a.proxy_cpu}; two nginx backends, "
                 f"iperf3 server, wrk, pinwheel-loadgen, iperf3 client and connection holders "
                 f"on CPU {a.load_cpu}  ")
    lines.append("- **Figures:** median over rounds, spread = min–max; ratio = median ÷ "
                 "HAProxy's median. CPU = time on CPU of the proxy's process tree per unit of "
                 "work, from schedstat (ns) and from utime+stime (10 ms ticks). On loopback the "
                 "receiving socket's softirq work runs in the sender's context, so it is "
                 "charged to whichever process sends (a proxy pays for part of its peers' "
                 "receive, they for part of its own). For *direct* the CPU and RSS figures are "
                 "the backend's (reference only, no ratio).")
    lines.append("")
    if failures:
        lines.append(f"**{len(failures)} measurement(s) failed** and are left out of the "
                     "medians:")
        lines.append("")
        lines.extend(f"- {f}" for f in failures)
        lines.append("")
    for n in notes:
        lines.append(f"> {n}")
        lines.append("")
    if busy_rows:
        lines.append(f"> {busy_rows} measurement(s) ran while processes outside the benchmark "
                     "used more than 15% of a core (column `other_cpu_s` in results.csv): "
                     "their throughput and latency are less trustworthy than the CPU-per-unit "
                     "figures, which count only the proxy's own CPU time.")
        lines.append("")
    lines += ["## Summary (medians)", ""] + summary_lines(summary, targets) + [""]
    lines += ["## All figures", "",
              "| Figure | Target | Median | Spread (min–max) | n | × HAProxy |",
              "|---|---|---:|---:|---:|---:|"]
    for f in FIGURES:
        first = True
        for t in targets:
            s = summary.get((f.test, f.column, t.name))
            if not s:
                continue
            name = t.label + (" (backend)" if f.backend and t.server == "direct" else "")
            med, lo, hi, n = s
            r = ratio(summary, f, t.name)
            cells = [fmt(med, f.decimals), f"{fmt(lo, f.decimals)}–{fmt(hi, f.decimals)}",
                     str(n), "—" if r is None else f"{r:.2f}"]
            label = (f"{f.label}, {f.unit} ({'lower' if f.lower_is_better else 'higher'} is "
                     "better)") if first else ""
            first = False
            lines.append(f"| {label} | {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.extend(syscall_lines(rows, targets))
    if plot_name:
        lines.append(f"![CPU and memory per unit of work, normalised to HAProxy]({plot_name})")
        lines.append("")
    lines.append("Raw numbers, one row per target × test × round (with its position in the "
                 "round's order): `results.csv`. How each figure is measured: "
                 "`bench/README.md`.")
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
