"""The tests: each drives one load through a target and returns (row, problems): the
figures for results.csv and what went wrong. CPU is the proxy's (for direct, the backend's)
in clock ticks (utime+stime) and in schedstat nanoseconds, between the load's start and end."""

import json
import re
import selectors
import subprocess
import sys
import time
from dataclasses import dataclass

from .common import BENCH_DIR, BenchError, read_text, tail
from .procfs import (CpuMeter, cpu_seconds, passive_opens, pids_of, process_tree, rss_kib,
                     tcp_sockets)
from .syscalls import SyscallCounter


@dataclass(frozen=True)
class Test:
    name: str
    label: str
    pool: str              # "http" (two nginx) or "bulk" (one iperf3 -s)
    rounds: str            # "all" (--rounds), "extra" (--extra-rounds) or "once"
    health: bool = False   # health checks on in the proxies' configs


TESTS = [
    Test("keepalive", "keep-alive requests (wrk, saturation)", "http", "all"),
    Test("close", "new connection per request (wrk, Connection: close, saturation)", "http",
         "all"),
    Test("rate", "fixed offered rate, keep-alive and new connections (pinwheel-loadgen)",
         "http", "all"),
    Test("bulk", "bulk bytes (iperf3, 1 stream)", "bulk", "all"),
    Test("idle", "idle connections held open", "http", "extra"),
    Test("bulk32", "bulk bytes (iperf3, many streams)", "bulk", "extra"),
    Test("slowread", "slow readers of a large response", "http", "extra"),
    Test("churn", "new connection per request with health checks on (wrk)", "http", "extra",
         health=True),
    Test("syscalls", "system calls counted (perf) under both wrk loads", "http", "once"),
]
TEST_BY_NAME = {t.name: t for t in TESTS}


def cpu_roots(bench, target, proc, pool):
    """(role, PIDs) whose CPU is the figure: the proxy's, or for direct the backend's."""
    if target.server == "direct":
        return "backend", bench.backend_pids(pool, direct=True)
    return "proxy", [proc.pid]


def whole_tree(target):
    """Whether the target's figures sum its process tree (nginx: master and worker) or are
    its own process's (a Pinwheel that spawned its backends)."""
    return not target.spawns_backends


def start_meter(bench, target, proc, pool):
    role, roots = cpu_roots(bench, target, proc, pool)
    if target.spawns_backends:
        backends = [p for p in process_tree(proc.pid) if p != proc.pid]
        m = CpuMeter({"figure": roots, "proxy": [proc.pid], "backend": backends},
                     alone=("figure", "proxy"))
    else:
        m = CpuMeter({"figure": roots, "proxy": [proc.pid] if proc else [],
                      "backend": bench.backend_pids(pool)})
    m.role = role
    m.start()
    return m


def cpu_columns(bench, meter, proc, load_cpu):
    """The CPU columns of a row, and a note when other processes were busy meanwhile
    (this machine may be shared, e.g. with compilers)."""
    ours = meter.cpu["proxy"] + meter.cpu["backend"] + load_cpu
    other = max(0.0, meter.cores.get("cpu", 0.0) - ours)
    cols = {"cpu_role": meter.role, "cpu_s": round(meter.cpu["figure"], 3),
            "sched_s": round(meter.sched["figure"], 4),
            "proxy_cpu_s": round(meter.cpu["proxy"], 3) if proc else "",
            "backend_cpu_s": round(meter.cpu["backend"], 3),
            "loadgen_cpu_s": round(load_cpu, 3),
            "proxy_core_busy_s": round(meter.cores.get(f"cpu{bench.args.proxy_cpu}", 0), 3),
            "other_cpu_s": round(other, 3)}
    if other > 0.15 * meter.wall:
        bench.busy_rows += 1
        bench.log(f"    note: other processes used {other:.2f} CPU-s during this "
                  f"{meter.wall:.1f}s measurement: the machine was not quiet")
    return cols


def per_unit(meter, units, scale):
    """(ticks-based, schedstat-based) CPU per unit of work, times `scale`."""
    if not units:
        return 0, 0
    return meter.cpu["figure"] * scale / units, meter.sched["figure"] * scale / units


def run_wrk(bench, target, proc, port, close, counter=None):
    a = bench.args
    argv = ["wrk", "-t1", f"-c{a.connections}", f"-d{a.duration}s", "--latency",
            "--timeout", "5s", "-s", str(BENCH_DIR / "wrk_report.lua")]
    if close:
        argv += ["-H", "Connection: close"]
    argv.append(f"http://127.0.0.1:{port}/")
    out, err = bench.path("wrk.out"), bench.path("wrk.err")
    opens0 = passive_opens()
    meter = start_meter(bench, target, proc, "http")
    if counter:
        counter.enable()
    rc, load_cpu = bench.procs.run("wrk", argv, a.load_cpu, a.duration + 30, out, err)
    if counter:
        row_counts = counter.disable()
    meter.stop()
    opens = passive_opens() - opens0
    m = re.search(r"^WRK_JSON (\{.*\})$", read_text(out) or "", re.M)
    if rc != 0 or not m:
        raise BenchError(f"wrk failed (exit {rc}):\n{tail(out)}\n{tail(err)}")
    w = json.loads(m.group(1))
    reqs = w["requests"]
    secs = w["duration_us"] / 1e6
    errors = w["connect_errors"] + w["read_errors"] + w["write_errors"] + w["timeout_errors"]
    row = {
        "duration_s": round(secs, 3), "requests": reqs,
        "rps": round(reqs / secs, 1) if secs else 0,
        "p50_us": w["p50_us"], "p90_us": w["p90_us"], "p99_us": w["p99_us"],
        "errors": errors, "non_2xx": w["status_errors"],
        **cpu_columns(bench, meter, proc, load_cpu),
        "passive_opens": opens, "opens_per_req": round(opens / reqs, 3) if reqs else "",
    }
    ticks, sched = per_unit(meter, reqs, 1e6)
    unit = "conn" if close else "req"
    row[f"cpu_us_per_{unit}"] = round(ticks, 2)
    row[f"sched_us_per_{unit}"] = round(sched, 2)
    if counter:
        row["syscall_counts"] = row_counts
    problems = []
    if reqs == 0:
        problems.append("no requests completed")
    if w["status_errors"]:
        problems.append(f"{w['status_errors']} non-2xx responses")
    if errors > max(10, reqs * 0.001):
        problems.append(f"{errors} socket errors")
    one_accept = target.server == "direct" or target.spawns_backends
    if close and reqs and opens < reqs * (0.9 if one_accept else 1.8):
        problems.append(f"only {opens} accepted connections for {reqs} requests: "
                        "the client did not reconnect per request")
    bench.log(f"    {reqs} requests in {secs:.2f}s (wall {meter.wall:.2f}s), {row['rps']:.0f}/s, "
              f"p50 {w['p50_us']:.0f}µs p99 {w['p99_us']:.0f}µs, {meter.role} CPU "
              f"{meter.cpu['figure']:.2f}s = {ticks:.1f}µs/{unit} (schedstat {sched:.1f}), "
              f"accepts/req {row['opens_per_req']}, errors {errors}")
    return row, problems


def run_bulk(bench, target, proc, port, flows=1):
    a = bench.args
    argv = ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(a.bulk_duration),
            "-P", str(flows), "-J", "--connect-timeout", "5000"]
    out, err = bench.path("iperf3.json"), bench.path("iperf3.err")
    meter = start_meter(bench, target, proc, "bulk")
    rc, load_cpu = bench.procs.run("iperf3", argv, a.load_cpu, a.bulk_duration + 30, out, err)
    meter.stop()
    try:
        j = json.loads(read_text(out) or "")
        received = j["end"]["sum_received"]["bytes"]
        secs = j["end"]["sum_received"]["seconds"]
    except (ValueError, KeyError, TypeError):
        raise BenchError(f"iperf3 failed (exit {rc}):\n{tail(out)}\n{tail(err)}")
    if rc != 0 or j.get("error"):
        raise BenchError(f"iperf3 failed (exit {rc}): {j.get('error')}\n{tail(err)}")
    ticks, sched = per_unit(meter, received / 1e9, 1)
    row = {
        "duration_s": round(secs, 3), "bytes": received, "flows": flows,
        "gbit_s": round(received * 8 / secs / 1e9, 3) if secs else 0,
        **cpu_columns(bench, meter, proc, load_cpu),
        "cpu_s_per_gb": round(ticks, 4), "sched_s_per_gb": round(sched, 4),
    }
    bench.log(f"    {received / 1e9:.2f} GB in {secs:.2f}s over {flows} flow(s) = "
              f"{row['gbit_s']:.2f} Gbit/s, {meter.role} CPU {meter.cpu['figure']:.2f}s = "
              f"{ticks:.3f} s/GB (schedstat {sched:.3f})")
    return row, ([] if received else ["no bytes transferred"])


class Holder:
    """A helper process on the load core that holds connections and answers one line per
    command on stdin (idle_holder.py, slow_reader.py)."""

    def __init__(self, bench, name, argv):
        self.bench = bench
        self.proc = bench.procs.start(name, [sys.executable] + argv, cpu=bench.args.load_cpu,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)

    def reply(self, timeout):
        if not self.sel.select(timeout=timeout):
            raise BenchError(f"{self.proc.args[1]} gave no answer within {timeout:.0f}s")
        return self.proc.stdout.readline().decode().strip()

    def ask(self, command, timeout=30):
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()
        return self.reply(timeout)

    def close(self):
        self.sel.close()
        self.bench.procs.stop(self.proc)
        self.proc.stdin.close()
        self.proc.stdout.close()


def run_idle(bench, target, proc, port):
    """Opens N idle connections through the proxy and holds them until the backends have
    accepted N more connections (so every one is really proxied), then reads the RSS of the
    proxy's process tree, and closes them."""
    n = bench.args.idle_conns
    role, roots = cpu_roots(bench, target, proc, "http")
    tree = whole_tree(target)
    ports = set(bench.http_ports[:1] if target.server == "direct" else bench.http_ports)
    if target.spawns_backends:
        ports = {port}  # its backends accept on the listening port itself
    base = tcp_sockets(ports, "01")
    time.sleep(0.2)
    rss0 = rss_kib(roots, tree)
    holder = Holder(bench, "idle-holder", [str(BENCH_DIR / "idle_holder.py"), "127.0.0.1",
                                           str(port), str(n), "--max-hold", "120"])
    try:
        line = holder.reply(90)
        m = re.match(r"CONNECTED ok=(\d+) failed=(\d+) seconds=([\d.]+)", line)
        if not m:
            raise BenchError(f"idle holder: unexpected reply {line!r}")
        connected, failed = int(m.group(1)), int(m.group(2))
        deadline = time.monotonic() + 10 + n / 500
        upstream = tcp_sockets(ports, "01") - base
        while upstream < connected and time.monotonic() < deadline:
            time.sleep(0.1)
            upstream = tcp_sockets(ports, "01") - base
        # Let the proxy finish any per-connection set-up before reading its memory.
        time.sleep(0.5)
        rss1 = max(rss_kib(roots, tree), rss_kib(roots, tree))
        alive_n = int(holder.ask("status").split()[1])
        holder.ask("close")
    finally:
        holder.close()
    per = (rss1 - rss0) * 1024 / n
    row = {"idle_target": n, "idle_connected": connected, "idle_upstream": upstream,
           "idle_alive": alive_n, "rss_before_kib": rss0, "rss_with_kib": rss1,
           "rss_bytes_per_conn": round(per, 1), "cpu_role": role}
    problems = []
    if connected < n:
        problems.append(f"only {connected} of {n} connections opened ({failed} failed)")
    if upstream < connected:
        problems.append(f"only {upstream} of {connected} connections reached a backend")
    if alive_n < connected:
        problems.append(f"{connected - alive_n} connections were closed by the proxy")
    bench.log(f"    {connected}/{n} connected, {upstream} upstream, {alive_n} alive; "
              f"{role} RSS {rss0} → {rss1} KiB = {per:.0f} bytes/conn")
    return row, problems


def run_slowread(bench, target, proc, port):
    """N clients ask for a large response and read it slowly through a small receive
    window: the proxy must apply backpressure to the backend (or buffer). Figures: the
    proxy's RSS growth per slow connection and its CPU per MB delivered."""
    a = bench.args
    n = a.slow_conns
    role, roots = cpu_roots(bench, target, proc, "http")
    rss0 = rss_kib(roots)
    holder = Holder(bench, "slow-reader", [
        str(BENCH_DIR / "slow_reader.py"), "127.0.0.1", str(port), str(n),
        "--rate", str(a.slow_rate), "--duration", str(a.duration), "--max-hold", "120"])
    try:
        line = holder.reply(30)
        m = re.match(r"STARTED ok=(\d+) failed=(\d+)", line)
        if not m:
            raise BenchError(f"slow reader: unexpected reply {line!r}")
        started = int(m.group(1))
        meter = start_meter(bench, target, proc, "http")
        reader0 = cpu_seconds([holder.proc.pid])
        line = holder.reply(a.duration + 30)
        meter.stop()
        reader_cpu = cpu_seconds([holder.proc.pid]) - reader0
        m = re.match(r"READ bytes=(\d+) alive=(\d+)", line)
        if not m:
            raise BenchError(f"slow reader: unexpected reply {line!r}")
        got, alive_n = int(m.group(1)), int(m.group(2))
        rss1 = max(rss_kib(roots), rss_kib(roots))
        holder.ask("close")
    finally:
        holder.close()
    ticks, sched = per_unit(meter, got / 1e6, 1e6)
    row = {"duration_s": round(meter.wall, 3), "bytes": got, "slow_conns": started,
           "slow_alive": alive_n, "rss_before_kib": rss0, "rss_with_kib": rss1,
           "slow_rss_bytes_per_conn": round((rss1 - rss0) * 1024 / n, 1),
           **cpu_columns(bench, meter, proc, reader_cpu),
           "slow_cpu_us_per_mb": round(ticks, 1), "slow_sched_us_per_mb": round(sched, 1)}
    problems = []
    if started < n:
        problems.append(f"only {started} of {n} slow readers connected")
    if alive_n < started:
        problems.append(f"{started - alive_n} slow readers were cut off")
    expected = n * a.slow_rate * a.duration
    if got < 0.5 * expected:
        problems.append(f"slow readers got {got} bytes, under half the {expected:.0f} they "
                        "asked for")
    bench.log(f"    {started} slow readers got {got / 1e6:.1f} MB, {alive_n} alive; {role} "
              f"RSS {rss0} → {rss1} KiB = {row['slow_rss_bytes_per_conn']:.0f} bytes/reader, "
              f"CPU {sched:.0f} µs/MB (schedstat)")
    return row, problems


def run_rate(bench, target, proc, port):
    """The same offered rate for every target (open loop, pinwheel-loadgen): keep-alive
    requests over a fixed pool of connections, then a new connection per request. Each
    proxy handles the same events, so CPU per request compares the work, not the batching
    that saturation allows."""
    a = bench.args
    ka_rate, close_rate = bench.offered_rates()
    row, problems = {}, []
    for keep_alive, rate, unit in ((True, ka_rate, "req"), (False, close_rate, "conn")):
        out = bench.path("loadgen.json")
        err = bench.path("loadgen.err")
        argv = [str(a.loadgen), "-t", f"127.0.0.1:{port}", "-r", str(rate),
                "-d", f"{a.rate_duration}s", "--timeout", "5s", "--json", str(out), "-q",
                "--no-progress"]
        if keep_alive:
            argv += ["-k", "-c", str(a.connections), "--fill-pool"]
        meter = start_meter(bench, target, proc, "http")
        rc, load_cpu = bench.procs.run("pinwheel-loadgen", argv, a.load_cpu,
                                       a.rate_duration + 30, bench.path("loadgen.out"), err)
        meter.stop()
        try:
            j = json.loads(read_text(out) or "")
            c = j["classes"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            raise BenchError(f"pinwheel-loadgen failed (exit {rc}):\n{tail(err)}")
        ticks, sched = per_unit(meter, c["ok"], 1e6)
        cols = cpu_columns(bench, meter, proc, load_cpu)
        row.update({f"rate_{unit}_s": rate, f"rate_{unit}_ok": c["ok"],
                    f"rate_cpu_us_per_{unit}": round(ticks, 2),
                    f"rate_sched_us_per_{unit}": round(sched, 2),
                    f"rate_p50_us_{unit}": round(c["latency_ms"]["p50"] * 1000),
                    f"rate_p99_us_{unit}": round(c["latency_ms"]["p99"] * 1000),
                    f"rate_send_lag_p99_ms_{unit}": j["send_lag_ms"]["p99"]})
        if unit == "req":
            row.update(cols)
        if c["ok"] < 0.99 * c["sent"] or c["sent"] < 0.97 * rate * a.rate_duration:
            problems.append(f"{'keep-alive' if keep_alive else 'new-connection'} load at "
                            f"{rate}/s: {c['ok']} ok of {c['sent']} sent "
                            f"(errors {c['errors']}, timeouts {c['timeouts']})")
        bench.log(f"    {rate}/s offered ({'keep-alive' if keep_alive else 'new connections'}"
                  f"): {c['ok']} ok, p99 {c['latency_ms']['p99']:.2f} ms, {meter.role} CPU "
                  f"{ticks:.1f} µs/{unit} (schedstat {sched:.1f}), generator lag p99 "
                  f"{j['send_lag_ms']['p99']:.2f} ms")
    return row, problems


def run_syscalls(bench, target, proc, port):
    """System calls per keep-alive request and per new connection, counted on the proxy
    (for direct, the backend) under the same wrk loads as the keepalive and close tests."""
    _role, roots = cpu_roots(bench, target, proc, "http")
    pids = sorted(set(pids_of(roots, whole_tree(target))))
    row, problems = {}, []
    for close, unit in ((False, "req"), (True, "conn")):
        counter = SyscallCounter(bench, pids)
        try:
            data, more = run_wrk(bench, target, proc, port, close, counter)
        finally:
            counter.close()
        problems += more
        (counts, eagain), reqs = data["syscall_counts"], data["requests"]
        if not reqs:
            continue
        total = sum(counts.values())
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:10]
        row[f"syscalls_per_{unit}"] = round(total / reqs, 3)
        row[f"eagain_reads_per_{unit}"] = round(eagain / reqs, 3)
        row[f"syscalls_top_{unit}"] = " ".join(f"{c}:{n / reqs:.2f}" for c, n in top)
        bench.log(f"    {total / reqs:.2f} system calls per {unit} ({eagain / reqs:.2f} "
                  f"reads found nothing): {row[f'syscalls_top_{unit}']}")
        if unit == "req":
            row["requests"] = reqs
    return row, problems


def run(bench, test, target, proc, port):
    """Runs `test` against a started target."""
    if test.name == "keepalive":
        return run_wrk(bench, target, proc, port, close=False)
    if test.name in ("close", "churn"):
        return run_wrk(bench, target, proc, port, close=True)
    if test.name == "bulk":
        return run_bulk(bench, target, proc, port)
    if test.name == "bulk32":
        return run_bulk(bench, target, proc, port, flows=bench.args.bulk_flows)
    if test.name == "idle":
        return run_idle(bench, target, proc, port)
    if test.name == "slowread":
        return run_slowread(bench, target, proc, port)
    if test.name == "rate":
        return run_rate(bench, target, proc, port)
    if test.name == "syscalls":
        return run_syscalls(bench, target, proc, port)
    raise BenchError(f"unknown test {test.name}")
