"""The CPU-scaling mode: Pinwheel spawning N demo backends, against N × one backend."""

import csv
import json
import os
import re
import statistics
import time

from .common import BENCH_DIR, BenchError, fmt, http_get, num, one_line, read_text, render, tail
from .processes import free_port


def run_scaling(bench, args):
    """Pinwheel spawning N demo backends serving /slow?ms=M: throughput for each N and its
    ratio to N × one backend's throughput (measured straight, no proxy)."""
    log = bench.log
    procs = bench.procs
    rows = []
    ncpu = os.cpu_count() or 1
    for n in args.scaling_n:
        if n > ncpu - 1:
            bench.notes.append(f"N = {n} exceeds cores − 1 = {ncpu - 1}: backends share "
                               "cores, so its ratio is not a clean scaling figure.")
    path = f"/slow?ms={args.slow_ms}"

    def wrk(port, conns, label, duration=None):
        duration = duration or args.duration
        argv = ["wrk", "-t1", f"-c{conns}", f"-d{duration}s", "--latency", "--timeout",
                "10s", "-s", str(BENCH_DIR / "wrk_report.lua"), f"http://127.0.0.1:{port}{path}"]
        out, err = bench.path("wrk.out"), bench.path("wrk.err")
        rc, _ = procs.run("wrk", argv, args.scaling_load_cpu, duration + 30, out, err)
        m = re.search(r"^WRK_JSON (\{.*\})$", read_text(out) or "", re.M)
        if rc != 0 or not m:
            raise BenchError(f"wrk against {label} failed (exit {rc}):\n{tail(out)}\n{tail(err)}")
        w = json.loads(m.group(1))
        secs = w["duration_us"] / 1e6
        bad = w["status_errors"] + w["connect_errors"] + w["read_errors"] + w["timeout_errors"]
        return w["requests"] / secs if secs else 0, w, bad

    def wait_http(port, proc, logfile, what, ok_in_a_row):
        deadline = time.monotonic() + 30
        good = 0
        while good < ok_in_a_row:
            if proc.poll() is not None:
                raise BenchError(f"{what} exited with {proc.returncode}:\n{tail(logfile)}")
            if time.monotonic() > deadline:
                raise BenchError(f"{what} never answered /health on {port}:\n{tail(logfile)}")
            good = good + 1 if http_get(port, "/health") == 200 else 0
            if good < ok_in_a_row:
                time.sleep(0.05)

    for rnd in range(1, args.rounds + 1):
        # One backend on its own: the unit the ratios are computed against.
        port = free_port()
        logfile = bench.path("backend-alone.log")
        row = {"round": rnd, "n": 0, "what": "one backend, direct"}
        bench.wait_quiet()
        proc = procs.start("pinwheel-backend", [str(args.backend_bin), "--port", str(port),
                                                "--index", "0"],
                           cpu=args.load_cpu, log=logfile)
        try:
            wait_http(port, proc, logfile, "pinwheel-backend", 1)
            rps, w, bad = wrk(port, 2, "one backend")
            row.update(rps=round(rps, 1), p50_us=w["p50_us"], p99_us=w["p99_us"], errors=bad,
                       status="ok" if w["requests"] and not bad else "fail")
        except BenchError as e:
            row.update(status="fail", note=one_line(str(e)))
            bench.failures.append(f"scaling round {rnd} one backend: {one_line(str(e))}")
        finally:
            procs.stop(proc)
        log(f"  scaling round {rnd}: one backend direct {row.get('rps', 0):.1f} req/s")
        rows.append(row)
        unit = row.get("rps") if row.get("status") == "ok" else None
        for n in args.scaling_n:
            port = free_port()
            d = bench.path(f"pinwheel-scaling-{n}")
            d.mkdir()
            conf = d / "pinwheel.toml"
            conf.write_text(render("pinwheel-scaling.toml", port=port, cpu=args.proxy_cpu,
                                   count=n, backend=args.backend_bin))
            logfile = d / "pinwheel.log"
            row = {"round": rnd, "n": n, "what": f"pinwheel, {n} backend(s)"}
            bench.wait_quiet()
            proc = procs.start("pinwheel", [str(args.pinwheel), "--config", str(conf)],
                               log=logfile)
            try:
                bench.wait_listening(proc, port, "pinwheel", logfile, timeout=30,
                                     ready_line="pinwheel: ready")
                wait_http(port, proc, logfile, "pinwheel", 2 * n)
                # Pinwheel logs "backend I (...) is up" per backend; give the health checks
                # a few seconds to bring all N up (informational: the load goes on anyway).
                deadline = time.monotonic() + 10
                while (len(re.findall(r"backend \d+ .* is up", read_text(logfile) or "")) < n
                       and time.monotonic() < deadline):
                    time.sleep(0.1)
                # Warm-up, unmeasured: lets health checks mark every backend up.
                if args.duration >= 3:
                    wrk(port, 2 * n, "pinwheel (warm-up)", duration=2)
                rps, w, bad = wrk(port, 2 * n, f"pinwheel with {n} backends")
                row.update(rps=round(rps, 1), p50_us=w["p50_us"], p99_us=w["p99_us"],
                           errors=bad, status="ok" if w["requests"] and not bad else "fail")
                if bad:
                    row["note"] = f"{bad} errors"
            except BenchError as e:
                row.update(status="fail", note=one_line(str(e)))
                bench.failures.append(f"scaling round {rnd} N={n}: {one_line(str(e))}")
            finally:
                procs.stop(proc)
            if unit and row.get("rps"):
                row["ratio_to_ideal"] = round(row["rps"] / (n * unit), 3)
            log(f"  scaling round {rnd}: N={n} {row.get('rps', 0):.1f} req/s, "
                f"ratio to {n} × one backend {row.get('ratio_to_ideal', '—')}")
            rows.append(row)
    return rows


def write_scaling(out_dir, rows, args, info, notes):
    fields = ["round", "n", "what", "status", "note", "rps", "ratio_to_ideal", "p50_us", "p99_us",
              "errors"]
    with open(out_dir / "scaling.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in fields})

    def med(n, col):
        v = [num(r.get(col)) for r in rows if r["n"] == n and r.get("status") == "ok"]
        v = [x for x in v if x is not None]
        return (statistics.median(v), min(v), max(v)) if v else None

    unit = med(0, "rps")
    lines = ["# Pinwheel CPU scaling", "",
             f"- **Date:** {info['date']}; {info['nproc']} CPUs, {info['cpu_model']}, kernel "
             f"{info['kernel']}; Pinwheel {info['pinwheel']}, wrk {info['wrk']}  ",
             f"- **Load:** `GET /slow?ms={args.slow_ms}` (each request burns {args.slow_ms} ms of "
             f"CPU in the demo backend), wrk `-t1 -c2N` for {args.duration}s, {args.rounds} "
             f"round(s); balancer and wrk on CPU {args.proxy_cpu}/{args.scaling_load_cpu}, "
             "backends placed by Pinwheel  ",
             "- **Ideal** = N × the requests/s of one backend measured directly (no proxy); "
             "ratio = measured ÷ ideal  ", ""]
    lines += [f"> {n}" for n in notes] + ([""] if notes else [])
    lines.append("| N backends | requests/s (median) | spread (min–max) | ideal | ratio | "
                 "p50 µs | p99 µs |")
    lines.append("|---:|---:|---:|---:|---:|---:|---:|")
    if unit:
        lines.append(f"| 1 (direct, no proxy) | {unit[0]:,.1f} | {unit[1]:,.1f}–{unit[2]:,.1f} "
                     f"| — | — | {fmt((med(0, 'p50_us') or [None])[0], 0)} "
                     f"| {fmt((med(0, 'p99_us') or [None])[0], 0)} |")
    for n in args.scaling_n:
        m = med(n, "rps")
        if not m:
            lines.append(f"| {n} | — | — | — | — | — | — |")
            continue
        ideal = n * unit[0] if unit else None
        ratio = f"{m[0] / ideal:.2f}" if ideal else "—"
        lines.append(f"| {n} | {m[0]:,.1f} | {m[1]:,.1f}–{m[2]:,.1f} | {fmt(ideal, 1)} | "
                     f"{ratio} | {fmt(med(n, 'p50_us')[0], 0)} | {fmt(med(n, 'p99_us')[0], 0)} |")
    (out_dir / "scaling.md").write_text("\n".join(lines) + "\n", encoding="utf-8")

