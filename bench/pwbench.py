#!/usr/bin/env python3
"""Pinwheel's side-by-side proxy benchmark: Pinwheel, HAProxy, nginx stream and direct.

Run it through bench/run.sh (see bench/README.md). Every proxy is pinned to one core
(--proxy-cpu, default 0); the backends, wrk, iperf3 and the idle-connection holder share
another (--load-cpu, default 1). Tests are interleaved: for each round, for each test,
every target in turn. Each measurement starts a fresh proxy and stops it afterwards.

CPU is read from /proc/PID/stat (utime+stime, summed over the proxy's process tree)
before and after the load, and divided by the work the load generator reports.
Only the standard library is used; every process started is stopped by PID.
"""

import argparse
import csv
import ctypes
import datetime
import json
import os
import platform
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
DEFAULT_PACKAGES = ("haproxy nginx libnginx-mod-stream wrk iperf3 gnuplot-nox fonts-dejavu-core "
                    "python3 procps util-linux iproute2 linux-perf")

TARGETS = ["pinwheel", "haproxy", "nginx", "direct"]
# Opt-in (--targets): Pinwheel with [metrics] enabled = false, to measure what the metrics cost
# against "pinwheel" (metrics on, the default) in the same run; Pinwheel with its access log
# on, a line per connection to a file.
EXTRA_TARGETS = ["pinwheel-nometrics", "pinwheel-log"]
TARGET_LABEL = {"pinwheel": "Pinwheel", "haproxy": "HAProxy",
                "nginx": "nginx stream", "direct": "direct",
                "pinwheel-nometrics": "Pinwheel (metrics off)",
                "pinwheel-log": "Pinwheel + access log"}
TESTS = ["keepalive", "close", "bulk", "idle", "syscalls"]
TEST_LABEL = {"keepalive": "keep-alive requests (wrk)",
              "close": "new connection per request (wrk, Connection: close)",
              "bulk": "bulk bytes (iperf3, 1 stream)",
              "idle": "idle connections held open",
              "syscalls": "system calls counted (perf) under both wrk loads"}
# Columns whose figure for direct is the backend's (reference only, no ratio).
BACKEND_FIGURES = ("cpu_", "rss_", "syscalls_")

# (test, csv column, label, unit, lower is better, decimals, in the normalised plot)
FIGURES = [
    ("keepalive", "cpu_us_per_req", "CPU per request (keep-alive)", "µs", True, 1, True),
    ("keepalive", "rps", "Requests/s (keep-alive)", "req/s", False, 0, False),
    ("keepalive", "p50_us", "p50 latency (keep-alive)", "µs", True, 0, False),
    ("keepalive", "p99_us", "p99 latency (keep-alive)", "µs", True, 0, False),
    ("close", "cpu_us_per_conn", "CPU per connection (close)", "µs", True, 1, True),
    ("close", "rps", "Connections/s (close)", "conn/s", False, 0, False),
    ("close", "p50_us", "p50 latency (close)", "µs", True, 0, False),
    ("close", "p99_us", "p99 latency (close)", "µs", True, 0, False),
    ("bulk", "cpu_s_per_gb", "CPU per GB (iperf3)", "s/GB", True, 3, True),
    ("bulk", "gbit_s", "Throughput (iperf3)", "Gbit/s", False, 2, False),
    ("idle", "rss_bytes_per_conn", "RSS per idle connection", "bytes", True, 0, True),
    ("syscalls", "syscalls_per_req", "System calls per request (keep-alive)", "calls", True, 2,
     False),
    ("syscalls", "syscalls_per_conn", "System calls per connection (close)", "calls", True, 1,
     False),
]

CSV_FIELDS = [
    "round", "test", "target", "status", "note", "started_at", "duration_s",
    "requests", "rps", "p50_us", "p90_us", "p99_us", "errors", "non_2xx",
    "bytes", "gbit_s",
    "cpu_role", "cpu_s", "proxy_cpu_s", "backend_cpu_s", "loadgen_cpu_s",
    "proxy_core_busy_s", "other_cpu_s",
    "cpu_us_per_req", "cpu_us_per_conn", "cpu_s_per_gb",
    "passive_opens", "opens_per_req",
    "idle_target", "idle_connected", "idle_upstream", "idle_alive",
    "rss_before_kib", "rss_with_kib", "rss_bytes_per_conn",
    "syscalls_per_req", "eagain_reads_per_req", "syscalls_top_req",
    "syscalls_per_conn", "eagain_reads_per_conn", "syscalls_top_conn",
]


class BenchError(Exception):
    """A measurement or set-up step failed; the message says which and why."""


class StartError(BenchError):
    """A server exited while starting (e.g. its port was taken meanwhile): worth a retry
    on a fresh port."""


class Aborted(BaseException):
    """Raised from a signal handler or the wall-clock guard: stop and clean up."""


# --------------------------------------------------------------------------- /proc helpers

def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return None


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name; index 0 is field 3 (state)."""
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    return text[text.rfind(")") + 2:].split()


def process_tree(root):
    """PIDs of `root` and all its descendants, found by walking /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            f = _stat_fields(entry)
            if f:
                children.setdefault(int(f[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if os.path.exists(f"/proc/{pid}"):
            out.append(pid)
            todo.extend(children.get(pid, []))
    return out


def group_members(pgid):
    """PIDs whose process group is `pgid` (our children each lead their own group)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            f = _stat_fields(entry)
            if f and int(f[2]) == pgid and f[0] != "Z":
                out.append(int(entry))
    return out


def cpu_seconds(roots):
    """utime+stime (stat fields 14 and 15) summed over the process trees of `roots`."""
    ticks = 0
    for root in roots:
        for pid in process_tree(root):
            f = _stat_fields(pid)
            if f:
                ticks += int(f[11]) + int(f[12])
    return ticks / CLK_TCK


def rss_kib(roots):
    """VmRSS summed over the process trees of `roots`, in KiB."""
    total = 0
    for root in roots:
        for pid in process_tree(root):
            m = re.search(r"^VmRSS:\s+(\d+) kB", _read(f"/proc/{pid}/status") or "", re.M)
            if m:
                total += int(m.group(1))
    return total


def core_busy():
    """Non-idle seconds per CPU from /proc/stat ({"cpu": all, "cpu0": ..., ...})."""
    out = {}
    for line in (_read("/proc/stat") or "").splitlines():
        if line.startswith("cpu"):
            name, *vals = line.split()
            v = [int(x) for x in vals[:8]]
            # user nice system idle iowait irq softirq steal: busy = all but idle, iowait
            out[name] = (sum(v) - v[3] - v[4]) / CLK_TCK
    return out


class CpuMeter:
    """CPU seconds of several process groups and of the cores, between start() and stop()."""

    def __init__(self, groups):
        self.groups = groups  # name -> list of root PIDs

    def _sample(self):
        return {k: cpu_seconds(v) for k, v in self.groups.items()}, core_busy()

    def start(self):
        self.t0 = time.monotonic()
        self.before = self._sample()

    def stop(self):
        self.wall = time.monotonic() - self.t0
        after = self._sample()
        self.cpu = {k: after[0][k] - self.before[0][k] for k in self.groups}
        self.cores = {k: after[1][k] - self.before[1].get(k, 0.0) for k in after[1]}


def passive_opens():
    """TCP PassiveOpens of this network namespace: one per accepted connection."""
    lines = (_read("/proc/net/snmp") or "").splitlines()
    for head, vals in zip(lines, lines[1:]):
        if head.startswith("Tcp:") and vals.startswith("Tcp:"):
            row = dict(zip(head.split()[1:], vals.split()[1:]))
            return int(row["PassiveOpens"])
    return 0


def tcp_sockets(local_ports, state):
    """How many TCP sockets in `state` (hex, '01' established, '0A' listen) have one of
    `local_ports` as their local port."""
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        text = _read(table) or ""
        for line in text.splitlines()[1:]:
            parts = line.split(None, 4)
            if len(parts) > 3 and parts[3] == state:
                if int(parts[1].rsplit(":", 1)[1], 16) in local_ports:
                    n += 1
    return n


# --------------------------------------------------------------------------- processes

_handed_out_ports = set()


def free_port():
    """A free loopback port, found by binding to port 0 (never the same one twice)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out_ports:
            _handed_out_ports.add(port)
            return port
    raise BenchError("could not find a free port on 127.0.0.1")


_libc = ctypes.CDLL(None, use_errno=True)


def _child_setup():
    # Our children die with us (SIGTERM lets nginx's master take its workers along),
    # and each leads its own process group so a terminal's Ctrl-C reaches only us.
    _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Processes:
    """Every process the benchmark starts, so that all of them are stopped by PID."""

    def __init__(self, log):
        self.log = log
        self.live = {}  # pid -> (name, Popen)

    def start(self, name, argv, cpu=None, stdout=None, stderr=None, stdin=None, env=None,
              log=None):
        """Starts `argv` (pinned to `cpu` with taskset); `log` is a file for its stdout
        and stderr together."""
        if log is not None:
            with open(log, "wb") as f:
                return self.start(name, argv, cpu, stdout=f, stderr=f, stdin=stdin, env=env)
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu)] + list(argv)
        proc = subprocess.Popen(argv, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                stdout=stdout if stdout is not None else subprocess.DEVNULL,
                                stderr=stderr if stderr is not None else subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=_child_setup, env=env,
                                close_fds=True)
        self.live[proc.pid] = (name, proc)
        return proc

    def stop(self, proc, sig=signal.SIGTERM, timeout=10.0):
        """Sends `sig` to the process, waits, then SIGKILLs what is left of its group."""
        if proc.pid not in self.live:
            return
        name = self.live[proc.pid][0]
        if proc.poll() is None:
            try:
                os.kill(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.log(f"  {name} (pid {proc.pid}) ignored {signal.Signals(sig).name}; killing")
        for pid in group_members(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.log(f"  {name} (pid {proc.pid}) survived SIGKILL?")
        deadline = time.monotonic() + 5
        while group_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        del self.live[proc.pid]

    def stop_all(self):
        for pid in sorted(self.live, reverse=True):
            if pid in self.live:
                self.stop(self.live[pid][1], timeout=5)

    def run(self, name, argv, cpu, timeout, outfile, errfile):
        """Runs a load generator to completion; returns (exit code, its CPU seconds)."""
        with open(outfile, "wb") as out, open(errfile, "wb") as err:
            proc = self.start(name, argv, cpu=cpu, stdout=out, stderr=err)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                del self.live[proc.pid]
                return proc.returncode, usage.ru_utime + usage.ru_stime
            if time.monotonic() > deadline:
                self.stop(proc)
                raise BenchError(f"{name} did not finish within {timeout:.0f}s")
            time.sleep(0.02)

# Reads that can come back empty-handed (EAGAIN) on a drained non-blocking socket.
EAGAIN_READS = ("recvfrom", "recvmsg", "read", "readv")
# The calls counted one by one (a proxy's usual ones); raw_syscalls:sys_enter counts them all,
# the rest shows as "other". Every syscall tracepoint (syscalls:sys_enter_*) would take perf
# ~10 s to tear down.
COUNTED_CALLS = (
    "read", "write", "readv", "writev", "recvfrom", "sendto", "recvmsg", "sendmsg", "recvmmsg",
    "sendmmsg", "splice", "pipe2", "epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl",
    "poll", "ppoll", "select", "accept", "accept4", "connect", "socket", "close", "shutdown",
    "setsockopt", "getsockopt", "getsockname", "getpeername", "ioctl", "fcntl", "clock_gettime",
    "gettimeofday", "futex", "timerfd_settime", "eventfd2", "io_uring_enter", "brk", "mmap",
    "munmap", "madvise", "getrusage", "sched_yield")


def syscall_tracepoint_exists(name):
    for root in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        events = Path(root) / "events" / "syscalls"
        if events.is_dir():
            return (events / name).is_dir()
    return True  # tracefs not visible here: let perf judge


class SyscallCounter:
    """Counts the system calls of running processes (every thread) with perf's syscall
    tracepoints: a count per call, and the reads that returned EAGAIN. The events are opened
    disabled and switched on and off through perf's control FIFO, which acknowledges each
    switch, so the window is exactly the load's. Counting costs the process little and the
    counts do not depend on how busy the machine is."""

    def __init__(self, bench, pids):
        self.bench = bench
        self.pids = pids
        self.out = bench.path("perf-stat.csv")
        self.err = bench.path("perf-stat.err")
        ctl, ack = bench.path("perf.ctl"), bench.path("perf.ack")
        os.mkfifo(ctl)
        os.mkfifo(ack)
        # Read-write opens never block on a FIFO, whether or not perf has opened its end.
        self.ctl = os.open(ctl, os.O_RDWR)
        self.ack = os.open(ack, os.O_RDWR | os.O_NONBLOCK)
        argv = ["perf", "stat", "-x,", "-o", str(self.out), "--delay=-1",
                "--control", f"fifo:{ctl},{ack}", "-p", ",".join(map(str, pids)),
                "-e", "raw_syscalls:sys_enter"]
        for call in COUNTED_CALLS:
            if syscall_tracepoint_exists(f"sys_enter_{call}"):
                argv += ["-e", f"syscalls:sys_enter_{call}"]
        for call in EAGAIN_READS:
            if syscall_tracepoint_exists(f"sys_exit_{call}"):
                argv += ["-e", f"syscalls:sys_exit_{call}", "--filter", "ret == -11"]
        with open(self.err, "wb") as err:
            self.proc = bench.procs.start("perf", argv, cpu=bench.args.load_cpu, stderr=err)

    def _command(self, what, timeout=30.0):
        os.write(self.ctl, what.encode() + b"\n")
        deadline = time.monotonic() + timeout
        got = b""
        while b"ack" not in got:
            if self.proc.poll() is not None:
                raise BenchError(f"perf stat exited ({self.proc.returncode}); it needs "
                                 "tracefs and root or kernel.perf_event_paranoid <= -1:\n"
                                 + tail(self.err))
            if time.monotonic() > deadline:
                raise BenchError(f"perf stat did not acknowledge '{what}' within "
                                 f"{timeout:.0f}s:\n{tail(self.err)}")
            r, _, _ = select_read([self.ack], 0.1)
            if r:
                got += os.read(self.ack, 64)

    def enable(self):
        self._command("enable")

    def disable(self):
        """Stops counting; returns ({call: count}, EAGAIN reads)."""
        self._command("disable")
        self.bench.procs.stop(self.proc, signal.SIGINT)
        counts, eagain, total = {}, 0, None
        for line in (_read(self.out) or "").splitlines():
            f = line.split(",")
            if len(f) < 3 or not f[0].isdigit():
                continue  # comments, and "<not counted>" for calls never made
            if f[2] == "raw_syscalls:sys_enter":
                total = int(f[0])
            elif f[2].startswith("syscalls:sys_enter_"):
                counts[f[2][len("syscalls:sys_enter_"):]] = int(f[0])
            elif f[2].startswith("syscalls:sys_exit_"):
                eagain += int(f[0])
        if not total:
            raise BenchError(f"perf stat counted nothing:\n{tail(self.err)}")
        counts["other"] = max(0, total - sum(counts.values()))
        return counts, eagain

    def close(self):
        self.bench.procs.stop(self.proc, signal.SIGINT)
        os.close(self.ctl)
        os.close(self.ack)


def select_read(fds, timeout):
    sel = selectors.DefaultSelector()
    try:
        for fd in fds:
            sel.register(fd, selectors.EVENT_READ)
        return [k.fd for k, _ in sel.select(timeout)], [], []
    finally:
        sel.close()


def one_line(text, limit=300):
    """A multi-line message (error plus log tail) as one line for tables and CSV."""
    text = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def tail(path, lines=15):
    text = _read(path) or ""
    return "\n".join(text.splitlines()[-lines:])


def http_get(port, path="/", timeout=2.0):
    """One HTTP/1.0 GET; returns the status code, or None if the exchange failed."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: bench\r\n\r\n".encode())
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
        return int(m.group(1)) if m else None
    except OSError:
        return None


# --------------------------------------------------------------------------- the bench

class Bench:
    def __init__(self, args, out_dir, work_dir):
        self.args = args
        self.out_dir = out_dir
        self.work = work_dir
        log_name = "scaling.log" if args.scaling else "run.log"
        self.log_file = open(out_dir / log_name, "a", encoding="utf-8")
        self.procs = Processes(self.log)
        self.rows = []
        self.failures = []
        self.notes = []
        self.seq = 0
        self.busy_rows = 0
        self.quiet_waited = 0.0

    def log(self, msg):
        line = f"[{datetime.datetime.now():%H:%M:%S}] {msg}"
        print(line, flush=True)
        self.log_file.write(line + "\n")
        self.log_file.flush()

    def path(self, name):
        self.seq += 1
        return self.work / f"{self.seq:03d}-{name}"

    # ------------------------------------------------------------------ servers

    def wait_listening(self, proc, port, what, logfile, timeout=15.0, ready_line=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.procs.stop(proc)
                raise StartError(f"{what} exited with {proc.returncode} while starting:\n"
                                 f"{tail(logfile)}")
            ok = tcp_sockets({port}, "0A") > 0
            if ok and ready_line:
                ok = ready_line in (_read(logfile) or "")
            if ok:
                return
            time.sleep(0.02)
        self.procs.stop(proc)
        raise BenchError(f"{what} did not start listening on 127.0.0.1:{port} within "
                         f"{timeout:.0f}s:\n{tail(logfile)}")

    def start_nginx(self, name, conf_body, port, cpu):
        prefix = self.path(name)
        prefix.mkdir()
        conf = prefix / "nginx.conf"
        conf.write_text(conf_body.format(prefix=prefix))
        errlog = prefix / "error.log"
        proc = self.procs.start(
            name, ["nginx", "-e", str(errlog), "-p", str(prefix), "-c", str(conf),
                   "-g", "daemon off;"],
            cpu=cpu, log=prefix / "stderr.log")
        self.wait_listening(proc, port, name, errlog)
        return proc

    def start_backends(self):
        """Two single-worker nginx answering 200 "ok", and one iperf3 server: all on
        the load core, for the whole run."""
        a = self.args
        self.http_ports = [free_port(), free_port()]
        self.http_backends = []
        for i in range(2):
            for attempt in range(3):
                port = self.http_ports[i]
                body = NGINX_BACKEND_CONF.replace("@PORT@", str(port))
                try:
                    self.http_backends.append(
                        self.start_nginx(f"backend{i}", body, port, a.load_cpu))
                    break
                except StartError:
                    if attempt == 2:
                        raise
                    self.http_ports[i] = free_port()
        for port in self.http_ports:
            if http_get(port) != 200:
                raise BenchError(f"backend nginx on port {port} does not answer 200")
        self.iperf_port = free_port()
        logfile = self.path("iperf3-server.log")
        self.iperf_server = self.procs.start(
            "iperf3-server", ["iperf3", "-s", "-p", str(self.iperf_port), "-B", "127.0.0.1"],
            cpu=a.load_cpu, log=logfile)
        self.wait_listening(self.iperf_server, self.iperf_port, "iperf3 -s", logfile)
        self.log(f"backends: nginx on {self.http_ports}, iperf3 -s on {self.iperf_port} "
                 f"(cpu {a.load_cpu})")

    def pool(self, kind):
        return self.http_ports if kind == "http" else [self.iperf_port]

    def backend_pids(self, kind, direct=False):
        if kind == "http":
            procs = self.http_backends[:1] if direct else self.http_backends
            return [p.pid for p in procs]
        return [self.iperf_server.pid]

    def start_target(self, target, kind):
        """Starts a fresh proxy of `target` in front of the `kind` pool ("http" or
        "bulk"); returns (Popen or None for direct, port the load should use)."""
        for attempt in range(3):
            try:
                return self._start_target(target, kind)
            except StartError as e:
                # Another program may have taken the free port before the proxy bound it.
                if attempt == 2:
                    raise
                self.log(f"    {target} did not start ({one_line(str(e))}); retrying "
                         "on another port")

    def _start_target(self, target, kind):
        a = self.args
        upstream = self.pool(kind)
        if target == "direct":
            return None, upstream[0]
        port = free_port()
        if target == "haproxy":
            d = self.path(f"haproxy-{kind}")
            d.mkdir()
            servers = "\n".join(f"    server s{i} 127.0.0.1:{p}" for i, p in enumerate(upstream))
            conf = d / "haproxy.cfg"
            conf.write_text(HAPROXY_CONF.format(port=port, servers=servers))
            logfile = d / "haproxy.log"
            proc = self.procs.start("haproxy", ["haproxy", "-db", "-f", str(conf)],
                                    cpu=a.proxy_cpu, log=logfile)
            self.wait_listening(proc, port, "haproxy", logfile)
        elif target == "nginx":
            servers = " ".join(f"server 127.0.0.1:{p};" for p in upstream)
            body = (NGINX_STREAM_CONF.replace("@PORT@", str(port))
                    .replace("@SERVERS@", servers).replace("@MODULE@", NGINX_STREAM_MODULE))
            proc = self.start_nginx(f"nginx-stream-{kind}", body, port, a.proxy_cpu)
        elif target in ("pinwheel", "pinwheel-nometrics", "pinwheel-log"):
            d = self.path(f"{target}-{kind}")
            d.mkdir()
            servers = ", ".join(f'"127.0.0.1:{p}"' for p in upstream)
            conf = d / "pinwheel.toml"
            metrics = "false" if target == "pinwheel-nometrics" else "true"
            text = PINWHEEL_CONF.format(port=port, cpu=a.proxy_cpu, servers=servers,
                                        metrics=metrics)
            if target == "pinwheel-log":
                text += PINWHEEL_ACCESS_LOG_CONF.format(path=d / "access.log")
            conf.write_text(text)
            logfile = d / "pinwheel.log"
            proc = self.procs.start("pinwheel", [str(a.pinwheel), "--config", str(conf)],
                                    cpu=a.proxy_cpu, log=logfile)
            self.wait_listening(proc, port, "pinwheel", logfile, ready_line="pinwheel: ready")
        else:
            raise BenchError(f"unknown target {target}")
        if kind == "http":
            # Proves the proxy forwards before anything is measured.
            deadline = time.monotonic() + 10
            while http_get(port) != 200:
                if time.monotonic() > deadline or proc.poll() is not None:
                    self.procs.stop(proc)
                    raise BenchError(f"{target} on port {port} does not forward a GET")
                time.sleep(0.05)
        return proc, port

    # ------------------------------------------------------------------ tests

    def cpu_roots(self, target, proc, kind):
        """(role, PIDs) whose CPU is the figure: the proxy's, or for direct the backend's."""
        if target == "direct":
            return "backend", self.backend_pids(kind, direct=True)
        return "proxy", [proc.pid]

    def meter(self, roots, proc, backends):
        m = CpuMeter({"figure": roots, "proxy": [proc.pid] if proc else [],
                      "backend": backends})
        m.start()
        return m

    def cpu_columns(self, meter, role, proc, load_cpu):
        """The CPU columns of a row, and a note when other processes were busy meanwhile
        (this machine may be shared, e.g. with compilers)."""
        ours = meter.cpu["proxy"] + meter.cpu["backend"] + load_cpu
        other = max(0.0, meter.cores.get("cpu", 0.0) - ours)
        cols = {"cpu_role": role, "cpu_s": round(meter.cpu["figure"], 3),
                "proxy_cpu_s": round(meter.cpu["proxy"], 3) if proc else "",
                "backend_cpu_s": round(meter.cpu["backend"], 3),
                "loadgen_cpu_s": round(load_cpu, 3),
                "proxy_core_busy_s": round(meter.cores.get(f"cpu{self.args.proxy_cpu}", 0), 3),
                "other_cpu_s": round(other, 3)}
        if other > 0.15 * meter.wall:
            self.busy_rows += 1
            self.log(f"    note: other processes used {other:.2f} CPU-s during this "
                     f"{meter.wall:.1f}s measurement: the machine was not quiet")
        return cols

    def run_wrk(self, target, proc, port, close, counter=None):
        a = self.args
        roots_role, roots = self.cpu_roots(target, proc, "http")
        backends = self.backend_pids("http")
        argv = ["wrk", "-t1", f"-c{a.connections}", f"-d{a.duration}s", "--latency",
                "--timeout", "5s", "-s", str(BENCH_DIR / "wrk_report.lua")]
        if close:
            argv += ["-H", "Connection: close"]
        argv.append(f"http://127.0.0.1:{port}/")
        out, err = self.path("wrk.out"), self.path("wrk.err")
        opens0 = passive_opens()
        meter = self.meter(roots, proc, backends)
        if counter:
            counter.enable()
        rc, load_cpu = self.procs.run("wrk", argv, a.load_cpu, a.duration + 30, out, err)
        if counter:
            row_counts = counter.disable()
        meter.stop()
        wall = meter.wall
        cpu = meter.cpu["figure"]
        opens = passive_opens() - opens0
        text = _read(out) or ""
        m = re.search(r"^WRK_JSON (\{.*\})$", text, re.M)
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
            **self.cpu_columns(meter, roots_role, proc, load_cpu),
            "passive_opens": opens, "opens_per_req": round(opens / reqs, 3) if reqs else "",
        }
        per = cpu * 1e6 / reqs if reqs else 0
        row["cpu_us_per_conn" if close else "cpu_us_per_req"] = round(per, 2)
        if counter:
            row["syscall_counts"] = row_counts
        problems = []
        if reqs == 0:
            problems.append("no requests completed")
        if w["status_errors"]:
            problems.append(f"{w['status_errors']} non-2xx responses")
        if errors > max(10, reqs * 0.001):
            problems.append(f"{errors} socket errors")
        if close and reqs and opens < reqs * (0.9 if target == "direct" else 1.8):
            problems.append(f"only {opens} accepted connections for {reqs} requests: "
                            "the client did not reconnect per request")
        self.log(f"    {reqs} requests in {secs:.2f}s (wall {wall:.2f}s), {row['rps']:.0f}/s, "
                 f"p50 {w['p50_us']:.0f}µs p99 {w['p99_us']:.0f}µs, {roots_role} CPU "
                 f"{cpu:.2f}s = {per:.1f}µs/{'conn' if close else 'req'}, "
                 f"accepts/req {row['opens_per_req']}, errors {errors}")
        return row, problems

    def run_bulk(self, target, proc, port):
        a = self.args
        roles, roots = self.cpu_roots(target, proc, "bulk")
        backends = self.backend_pids("bulk")
        argv = ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(a.bulk_duration),
                "-J", "--connect-timeout", "5000"]
        out, err = self.path("iperf3.json"), self.path("iperf3.err")
        meter = self.meter(roots, proc, backends)
        rc, load_cpu = self.procs.run("iperf3", argv, a.load_cpu, a.bulk_duration + 30, out, err)
        meter.stop()
        try:
            j = json.loads(_read(out) or "")
            received = j["end"]["sum_received"]["bytes"]
            secs = j["end"]["sum_received"]["seconds"]
        except (ValueError, KeyError, TypeError):
            raise BenchError(f"iperf3 failed (exit {rc}):\n{tail(out)}\n{tail(err)}")
        if rc != 0 or j.get("error"):
            raise BenchError(f"iperf3 failed (exit {rc}): {j.get('error')}\n{tail(err)}")
        gb = received / 1e9
        cpu = meter.cpu["figure"]
        row = {
            "duration_s": round(secs, 3), "bytes": received,
            "gbit_s": round(received * 8 / secs / 1e9, 3) if secs else 0,
            **self.cpu_columns(meter, roles, proc, load_cpu),
            "cpu_s_per_gb": round(cpu / gb, 4) if gb else 0,
        }
        self.log(f"    {gb:.2f} GB in {secs:.2f}s = {row['gbit_s']:.2f} Gbit/s, {roles} CPU "
                 f"{cpu:.2f}s = {row['cpu_s_per_gb']:.3f} s/GB")
        return row, ([] if received else ["no bytes transferred"])

    def run_idle(self, target, proc, port):
        """Opens N idle connections through the proxy and holds them until the backends
        have accepted N more connections (so every one is really proxied), then reads
        the RSS of the proxy's process tree, and closes them."""
        a = self.args
        n = a.idle_conns
        roles, roots = self.cpu_roots(target, proc, "http")
        ports = set(self.http_ports[:1] if target == "direct" else self.http_ports)
        base = tcp_sockets(ports, "01")
        time.sleep(0.2)
        rss0 = rss_kib(roots)
        holder = self.procs.start(
            "idle-holder", [sys.executable, str(BENCH_DIR / "idle_holder.py"), "127.0.0.1",
                            str(port), str(n), "--max-hold", "120"],
            cpu=a.load_cpu, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        sel = selectors.DefaultSelector()
        sel.register(holder.stdout, selectors.EVENT_READ)

        def reply(timeout):
            if not sel.select(timeout=timeout):
                raise BenchError(f"idle holder gave no answer within {timeout:.0f}s")
            return holder.stdout.readline().decode().strip()

        try:
            line = reply(90)
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
            rss1 = max(rss_kib(roots), rss_kib(roots))
            holder.stdin.write(b"status\n")
            holder.stdin.flush()
            alive_n = int(reply(30).split()[1])
            holder.stdin.write(b"close\n")
            holder.stdin.flush()
            reply(30)
        finally:
            sel.close()
            self.procs.stop(holder)
            holder.stdin.close()
            holder.stdout.close()
        per = (rss1 - rss0) * 1024 / n
        row = {"idle_target": n, "idle_connected": connected, "idle_upstream": upstream,
               "idle_alive": alive_n, "rss_before_kib": rss0, "rss_with_kib": rss1,
               "rss_bytes_per_conn": round(per, 1), "cpu_role": roles}
        problems = []
        if connected < n:
            problems.append(f"only {connected} of {n} connections opened ({failed} failed)")
        if upstream < connected:
            problems.append(f"only {upstream} of {connected} connections reached a backend")
        if alive_n < connected:
            problems.append(f"{connected - alive_n} connections were closed by the proxy")
        self.log(f"    {connected}/{n} connected, {upstream} upstream, {alive_n} alive; "
                 f"{roles} RSS {rss0} → {rss1} KiB = {per:.0f} bytes/conn")
        return row, problems

    def run_syscalls(self, target, proc, port):
        """System calls per keep-alive request and per new connection, counted on the proxy
        (for direct, the backend) under the same wrk loads as the keepalive and close tests."""
        _role, roots = self.cpu_roots(target, proc, "http")
        pids = sorted({p for r in roots for p in process_tree(r)})
        row, problems = {}, []
        for close, unit in ((False, "req"), (True, "conn")):
            counter = SyscallCounter(self, pids)
            try:
                data, more = self.run_wrk(target, proc, port, close, counter)
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
            self.log(f"    {total / reqs:.2f} system calls per {unit} ({eagain / reqs:.2f} "
                     f"reads found nothing): {row[f'syscalls_top_{unit}']}")
            if unit == "req":
                row["requests"] = reqs
        return row, problems

    def wait_quiet(self):
        """Waits (up to --quiet-wait seconds) until processes outside the benchmark use
        less than 10% of a core, so a shared machine disturbs the measurement less."""
        # Never more than 5 minutes in all: a machine that is never quiet is reported as
        # such (other_cpu_s) rather than waited for.
        limit = min(self.args.quiet_wait, 300 - self.quiet_waited)
        if limit <= 0:
            return
        start = time.monotonic()
        said = False
        while True:
            pids = list(self.procs.live)
            b0, o0, s0 = core_busy().get("cpu", 0.0), cpu_seconds(pids), time.process_time()
            time.sleep(0.5)
            other = (core_busy().get("cpu", 0.0) - b0 - (cpu_seconds(pids) - o0)
                     - (time.process_time() - s0))
            waited = time.monotonic() - start
            if other < 0.05:
                break
            if waited > limit:
                self.log(f"    machine still busy after {waited:.0f}s ({other / 0.5:.0%} of a "
                         "core used by others): measuring anyway")
                break
            if not said:
                self.log(f"    waiting for a quiet machine ({other / 0.5:.0%} of a core used "
                         "by other processes)")
                said = True
        self.quiet_waited += time.monotonic() - start

    def measure(self, rnd, test, target):
        kind = "bulk" if test == "bulk" else "http"
        self.wait_quiet()
        row = {"round": rnd, "test": test, "target": target,
               "started_at": datetime.datetime.now().isoformat(timespec="seconds")}
        self.log(f"  round {rnd} {test:9s} {TARGET_LABEL[target]}")
        proc = None
        try:
            proc, port = self.start_target(target, kind)
            if test == "keepalive":
                data, problems = self.run_wrk(target, proc, port, close=False)
            elif test == "close":
                data, problems = self.run_wrk(target, proc, port, close=True)
            elif test == "bulk":
                data, problems = self.run_bulk(target, proc, port)
            elif test == "syscalls":
                data, problems = self.run_syscalls(target, proc, port)
            else:
                data, problems = self.run_idle(target, proc, port)
            row.update(data)
            row["status"] = "ok" if not problems else "fail"
            row["note"] = "; ".join(problems)
        except BenchError as e:
            row["status"] = "fail"
            row["note"] = one_line(str(e))
            problems = [str(e)]
        finally:
            if proc is not None:
                self.procs.stop(proc)
        for p in problems:
            self.log(f"    FAILED: {p}")
            self.failures.append(f"round {rnd} {test} {target}: {one_line(p)}")
        self.rows.append(row)

    def run(self):
        a = self.args
        self.start_backends()
        for rnd in range(1, a.rounds + 1):
            for test in a.tests:
                for target in a.targets:
                    self.measure(rnd, test, target)


# --------------------------------------------------------------------------- configs

NGINX_BACKEND_CONF = """\
# Backend: one worker answering a fixed 200, keep-alive on, no access log.
worker_processes 1;
worker_rlimit_nofile 20000;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events { worker_connections 16000; }
http {
    access_log off;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {
        listen 127.0.0.1:@PORT@;
        location / { return 200 "ok\\n"; }
    }
}
""".replace("{", "{{").replace("}", "}}").replace("{{prefix}}", "{prefix}")

NGINX_STREAM_CONF = """\
# nginx stream: one worker, defaults except the limits 5,000 idle connections need.
load_module @MODULE@;
worker_processes 1;
worker_rlimit_nofile 20000;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events { worker_connections 16000; }
stream {
    upstream pool { @SERVERS@ }
    server {
        listen 127.0.0.1:@PORT@;
        proxy_pass pool;
    }
}
""".replace("{", "{{").replace("}", "}}").replace("{{prefix}}", "{prefix}")

HAPROXY_CONF = """\
# HAProxy: mode tcp, one thread, otherwise defaults (timeouts are mandatory).
global
    nbthread 1

defaults
    mode tcp
    timeout connect 5s
    timeout client 300s
    timeout server 300s

frontend bench
    bind 127.0.0.1:{port}
    default_backend pool

backend pool
    balance roundrobin
{servers}
"""

PINWHEEL_CONF = """\
[balancer]
listen = "127.0.0.1:{port}"
strategy = "round-robin"
cpu = {cpu}
max_connections = 20000
idle_timeout = "300s"

[backends]
servers = [{servers}]

[health]
kind = "none"

[metrics]
enabled = {metrics}
listen = "127.0.0.1:0"
"""

PINWHEEL_ACCESS_LOG_CONF = """
[access_log]
enabled = true
path = "{path}"
format = "text"
"""

PINWHEEL_SCALING_CONF = """\
[balancer]
listen = "127.0.0.1:{port}"
strategy = "least-connections"
cpu = {cpu}

[backends]
count = {count}
command = ["{backend}", "--port", "{{port}}", "--index", "{{index}}"]
base_port = 0

[health]
kind = "http"
path = "/health"

[metrics]
listen = "127.0.0.1:0"
"""


# --------------------------------------------------------------------------- reporting

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


def machine_info(args):
    cpu_model = "unknown"
    for line in (_read("/proc/cpuinfo") or "").splitlines():
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
        "loadavg": " ".join((_read("/proc/loadavg") or "? ? ?").split()[:3]),
        "haproxy": version_of(["haproxy", "-v"], r"version (\S+)"),
        "nginx": version_of(["nginx", "-v"], r"nginx/(\S+)"),
        "wrk": version_of(["wrk", "--version"], r"wrk (\S+)"),
        "iperf3": version_of(["iperf3", "--version"], r"iperf (\S+)"),
        "pinwheel": pin,
    }


def _num(v):
    if v in ("", None):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def summarize(rows, targets):
    """{(test, column, target): (median, min, max, n)} over the rounds that passed."""
    out = {}
    for test, col, *_ in FIGURES:
        for t in targets:
            vals = [_num(r.get(col)) for r in rows
                    if r["test"] == test and r["target"] == t and r.get("status") == "ok"]
            vals = [v for v in vals if v is not None]
            if vals:
                out[(test, col, t)] = (statistics.median(vals), min(vals), max(vals), len(vals))
    return out


def fmt(v, decimals):
    if v is None:
        return "—"
    return f"{v:,.{decimals}f}"


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
        r = last.get(t)
        if r:
            lines.append(f"| {TARGET_LABEL[t]} | {r.get('syscalls_per_req', '')} | "
                         f"{r.get('eagain_reads_per_req', '')} | {r.get('syscalls_top_req', '')} | "
                         f"{r.get('syscalls_per_conn', '')} | "
                         f"{r.get('eagain_reads_per_conn', '')} | "
                         f"{r.get('syscalls_top_conn', '')} |")
    lines.append("")
    return lines


def write_markdown(path, info, args, summary, targets, failures, notes, wall, plot_name,
                   busy_rows=0, quiet_waited=0.0, rows=()):
    lines = []
    lines.append("# Pinwheel proxy benchmark")
    lines.append("")
    lines.append(f"- **Date:** {info['date']}  ")
    lines.append(f"- **Machine:** {info['nproc']} CPUs (`nproc`), {info['cpu_model']}, "
                 f"kernel {info['kernel']}  ")
    lines.append(f"- **Versions:** Pinwheel {info['pinwheel']}; HAProxy {info['haproxy']}; "
                 f"nginx {info['nginx']}; wrk {info['wrk']}; iperf3 {info['iperf3']}  ")
    lines.append(f"- **Run:** {args.rounds} round(s), interleaved "
                 f"({' '.join(TARGET_LABEL[t] for t in targets)} per test); "
                 f"wrk {args.duration}s, `-t1 -c{args.connections}`; iperf3 {args.bulk_duration}s, "
                 f"1 stream; {args.idle_conns} idle connections; "
                 f"{'smoke mode; ' if args.smoke else ''}wall time {wall:.0f}s"
                 + (f" ({quiet_waited:.0f}s of it waiting for a quiet machine)"
                    if quiet_waited >= 1 else "") + "  ")
    lines.append(f"- **Load average at start:** {info['loadavg']} (1, 5, 15 min)  ")
    lines.append(f"- **Placement:** proxies on CPU {args.proxy_cpu}; two nginx backends, "
                 f"iperf3 server, wrk, iperf3 client and idle holder on CPU {args.load_cpu}  ")
    lines.append("- **Figures:** median over rounds, spread = min–max; × HAProxy = median ÷ "
                 "HAProxy's median. CPU = utime+stime of the proxy's process tree per unit of "
                 "work. For *direct* the CPU and RSS figures are the backend's (for reference "
                 "only, no ratio).")
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
    # Headline: one row per target, each cost figure with its own ratio to HAProxy.
    head = [f for f in FIGURES if f[6]] + [f for f in FIGURES if f[1] == "rps"]
    cols = []
    for test, col, label, unit, *_ in head:
        short = {"cpu_us_per_req": "CPU µs/request", "cpu_us_per_conn": "CPU µs/connection",
                 "cpu_s_per_gb": "CPU s/GB", "rss_bytes_per_conn": "RSS bytes/idle conn"}
        cols.append(short.get(col, f"{unit} ({'keep-alive' if test == 'keepalive' else test})"))
    lines.append("## Summary (medians)")
    lines.append("")
    lines.append("| Target | " + " | ".join(f"{c} | × HAProxy" for c in cols) + " |")
    lines.append("|---|" + "---:|---:|" * len(cols))
    for t in targets:
        cells = []
        for test, col, label, unit, lower, dec, _ in head:
            s = summary.get((test, col, t))
            base = summary.get((test, col, "haproxy"))
            reference = t == "direct" and col.startswith(BACKEND_FIGURES)
            val = fmt(s[0], dec) + (" (backend)" if reference else "") if s else "—"
            ratio = ("—" if not s or reference or not base or not base[0]
                     else f"{s[0] / base[0]:.2f}")
            cells += [val, ratio]
        lines.append(f"| {TARGET_LABEL[t]} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("## All figures")
    lines.append("")
    lines.append("| Figure | Target | Median | Spread (min–max) | × HAProxy |")
    lines.append("|---|---|---:|---:|---:|")
    for test, col, label, unit, lower, dec, _ in FIGURES:
        base = summary.get((test, col, "haproxy"))
        first = True
        for t in targets:
            s = summary.get((test, col, t))
            name = TARGET_LABEL[t]
            if t == "direct" and col.startswith(BACKEND_FIGURES):
                name += " (backend)"
            if s:
                med, lo, hi, _n = s
                ratio = ("—" if t == "direct" and col.startswith(BACKEND_FIGURES)
                         or not base or not base[0] else f"{med / base[0]:.2f}")
                cells = [fmt(med, dec), f"{fmt(lo, dec)}–{fmt(hi, dec)}", ratio]
            else:
                cells = ["—", "—", "—"]
            fig = f"{label}, {unit} ({'lower' if lower else 'higher'} is better)" if first else ""
            first = False
            lines.append(f"| {fig} | {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.extend(syscall_lines(rows, targets))
    if plot_name:
        lines.append(f"![CPU and memory per unit of work, normalised to HAProxy]({plot_name})")
        lines.append("")
    lines.append("Raw numbers, one row per target × test × round: `results.csv`. "
                 "How each figure is measured: `bench/README.md`.")
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_plot(out_dir, summary, targets, log):
    """Bars of the per-unit costs, normalised to HAProxy, with min–max error bars."""
    figs = [f for f in FIGURES if f[6]]
    proxies = [t for t in targets if t != "direct"
               and any((f[0], f[1], t) in summary for f in figs)]
    if "haproxy" not in proxies or not shutil.which("gnuplot"):
        log("plot skipped (needs HAProxy results and gnuplot)")
        return None
    dat = out_dir / "plot.dat"
    with open(dat, "w", encoding="utf-8") as f:
        f.write("# figure " + " ".join(f"{t} {t}_min {t}_max" for t in proxies) + "\n")
        for test, col, label, unit, *_ in figs:
            base = summary.get((test, col, "haproxy"))
            cells = []
            for t in proxies:
                s = summary.get((test, col, t))
                if s and base and base[0]:
                    cells += [f"{v / base[0]:.4f}" for v in s[:3]]
                else:
                    cells += ["NaN"] * 3
            short = label.replace(" (keep-alive)", "\\n(keep-alive)").replace(
                " (close)", "\\n(new conn.)").replace(" (iperf3)", "\\n(iperf3)")
            f.write(f'"{short}\\n[{unit}]" ' + " ".join(cells) + "\n")
    gp = out_dir / "plot.gp"
    colours = {"pinwheel": "#d95f02", "haproxy": "#1b9e77", "nginx": "#7570b3",
               "pinwheel-nometrics": "#e6ab02",
               "pinwheel-log": "#e7298a"}
    series = []
    for i, t in enumerate(proxies):
        c = 2 + 3 * i
        using = f"{c}:{c + 1}:{c + 2}" + (":xtic(1)" if i == 0 else "")
        series.append(f"'plot.dat' using {using} title '{TARGET_LABEL[t]}' "
                      f"lc rgb '{colours.get(t, '#666666')}'")
    gp.write_text(
        "set terminal pngcairo size 1000,560 font 'sans,11'\n"
        "set output 'plot.png'\n"
        "set title 'Cost per unit of work, normalised to HAProxy (lower is better; "
        "bars = median, whiskers = min-max)'\n"
        "set style data histograms\n"
        "set style histogram errorbars gap 2 lw 1\n"
        "set style fill solid 0.85 border -1\n"
        "set boxwidth 0.9\n"
        "set bmargin 5\n"
        "set yrange [0:*]\n"
        "set ylabel 'ratio to HAProxy'\n"
        "set grid ytics\n"
        "set key top left\n"
        "set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#444444'\n"
        "plot " + ", \\\n     ".join(series) + "\n", encoding="utf-8")
    p = subprocess.run(["gnuplot", "plot.gp"], cwd=out_dir, capture_output=True, timeout=60)
    if p.returncode != 0:
        log(f"gnuplot failed: {p.stderr.decode(errors='replace').strip()}")
        return None
    return "plot.png"


# --------------------------------------------------------------------------- scaling mode

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
        m = re.search(r"^WRK_JSON (\{.*\})$", _read(out) or "", re.M)
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
            conf.write_text(PINWHEEL_SCALING_CONF.format(
                port=port, cpu=args.proxy_cpu, count=n, backend=args.backend_bin))
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
                while (len(re.findall(r"backend \d+ .* is up", _read(logfile) or "")) < n
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
        v = [_num(r.get(col)) for r in rows if r["n"] == n and r.get("status") == "ok"]
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


# --------------------------------------------------------------------------- main

def parse_range(text):
    out = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-", 1)
            out.extend(range(int(lo), int(hi) + 1))
        elif part.strip():
            out.append(int(part))
    if not out or min(out) < 1:
        raise argparse.ArgumentTypeError(f"bad N range {text!r}: use e.g. 1-15 or 1,2,4")
    return out


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="bench/run.sh",
        description="Side-by-side benchmark of Pinwheel, HAProxy (mode tcp), nginx stream and "
                    "a direct connection: CPU per request, per connection, per GB, and RSS per "
                    "idle connection. Tests run interleaved over several rounds; the report "
                    "gives medians and min–max. See bench/README.md.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--smoke", action="store_true",
                    help="quick check: 1 round, 1 s per test, 200 idle connections")
    ap.add_argument("--scaling", action="store_true",
                    help="run the CPU-scaling mode (Pinwheel spawning N demo backends) instead "
                         "of the proxy comparison")
    ap.add_argument("--rounds", type=int, default=None, help="rounds (default 3; smoke 1)")
    ap.add_argument("--duration", type=int, default=None,
                    help="seconds per wrk run (default 10; smoke 1)")
    ap.add_argument("--bulk-duration", type=int, default=None,
                    help="seconds per iperf3 run (default 10; smoke 1)")
    ap.add_argument("--idle-conns", type=int, default=None,
                    help="idle connections held open (default 5000; smoke 200)")
    ap.add_argument("--connections", type=int, default=50, help="wrk connections (-c)")
    ap.add_argument("--targets", default=",".join(TARGETS),
                    help="comma-separated subset of " + ",".join(TARGETS) + "; also "
                    + ",".join(EXTRA_TARGETS) + " (Pinwheel with metrics off, with the access log)")
    ap.add_argument("--tests", default=",".join(TESTS),
                    help="comma-separated subset of " + ",".join(TESTS))
    ap.add_argument("--pinwheel", default=str(REPO_DIR / "build/balancer/pinwheel"),
                    help="pinwheel binary")
    ap.add_argument("--backend-bin", default=str(REPO_DIR / "build/backend/pinwheel-backend"),
                    help="demo backend binary (scaling mode)")
    ap.add_argument("--require-pinwheel", action="store_true",
                    help="fail instead of skipping Pinwheel when its binary is missing")
    ap.add_argument("--proxy-cpu", type=int, default=0, help="core every proxy is pinned to")
    ap.add_argument("--load-cpu", type=int, default=1,
                    help="core of the backends and load generators")
    ap.add_argument("--scaling-n", type=parse_range, default=None,
                    help="scaling mode: backend counts, e.g. 1-15 or 1,2,4 (default 1…cores−1)")
    ap.add_argument("--slow-ms", type=int, default=5,
                    help="scaling mode: CPU milliseconds per request (/slow?ms=…)")
    ap.add_argument("--scaling-load-cpu", type=int, default=None,
                    help="scaling mode: core for wrk (default: the proxy core; the load is "
                         "light there)")
    ap.add_argument("--out", default=None,
                    help="results folder (default bench/results/<date>/, copied to "
                         "bench/results/latest/)")
    ap.add_argument("--max-wall", type=int, default=None,
                    help="abort (and clean up) after this many seconds (default: none; "
                         "smoke 240)")
    ap.add_argument("--quiet-wait", type=float, default=None,
                    help="before each measurement wait up to this many seconds for other "
                         "processes to use <10%% of a core (default 10, at most 300 in all; smoke 0 = off)")
    ap.add_argument("--keep-work", action="store_true",
                    help="keep the working folder (configs and logs of every process)")
    a = ap.parse_args(argv)
    a.rounds = a.rounds or (1 if a.smoke else 3)
    a.duration = a.duration or (1 if a.smoke else 10)
    a.bulk_duration = a.bulk_duration or (1 if a.smoke else 10)
    a.idle_conns = a.idle_conns or (200 if a.smoke else 5000)
    a.max_wall = a.max_wall or (240 if a.smoke else None)
    if a.quiet_wait is None:
        a.quiet_wait = 0 if a.smoke else 10
    a.targets = [t.strip() for t in a.targets.split(",") if t.strip()]
    a.tests = [t.strip() for t in a.tests.split(",") if t.strip()]
    for t in a.targets:
        if t not in TARGETS + EXTRA_TARGETS:
            ap.error(f"unknown target {t!r}; choose from {','.join(TARGETS + EXTRA_TARGETS)}")
    for t in a.tests:
        if t not in TESTS:
            ap.error(f"unknown test {t!r}; choose from {','.join(TESTS)}")
    ncpu = os.cpu_count() or 1
    if a.scaling_n is None:
        a.scaling_n = list(range(1, max(2, ncpu)))
    if a.scaling_load_cpu is None:
        a.scaling_load_cpu = a.proxy_cpu
    for c in (a.proxy_cpu, a.load_cpu, a.scaling_load_cpu):
        if c >= ncpu:
            ap.error(f"CPU {c} does not exist (this machine has {ncpu})")
    a.pinwheel = Path(a.pinwheel).resolve()
    a.backend_bin = Path(a.backend_bin).resolve()
    return a


def check_tools(args):
    """Names every missing tool and the Debian packages to install (nothing is installed
    at run time)."""
    need = {"taskset": "util-linux", "python3": "python3"}
    if not args.scaling:
        need.update({"wrk": "wrk", "nginx": "nginx", "iperf3": "iperf3"})
        if "haproxy" in args.targets:
            need["haproxy"] = "haproxy"
        if "syscalls" in args.tests:
            need["perf"] = "linux-perf"
    else:
        need["wrk"] = "wrk"
    missing = [f"{tool} (package {pkg})" for tool, pkg in need.items() if not shutil.which(tool)]
    if not args.scaling and "nginx" in args.targets and not os.path.exists(NGINX_STREAM_MODULE):
        missing.append(f"{NGINX_STREAM_MODULE} (package libnginx-mod-stream)")
    if not shutil.which("gnuplot"):
        print("warning: gnuplot not found (package gnuplot-nox): no plot", file=sys.stderr)
    if missing:
        pkgs = os.environ.get("BENCH_PACKAGES", DEFAULT_PACKAGES)
        sys.exit("bench: missing " + ", ".join(missing) +
                 f"\nInstall the benchmark's packages: apt-get install -y {pkgs}")


def main(argv):
    args = parse_args(argv)
    check_tools(args)
    pinwheel_ok = args.pinwheel.is_file() and os.access(args.pinwheel, os.X_OK)
    skipped_note = None
    if args.scaling:
        for b, what in ((args.pinwheel, "pinwheel"), (args.backend_bin, "pinwheel-backend")):
            if not (b.is_file() and os.access(b, os.X_OK)):
                sys.exit(f"bench: the scaling mode needs the {what} binary; {b} does not exist "
                         "(build it, or pass --pinwheel/--backend-bin)")
    elif "pinwheel" in args.targets and not pinwheel_ok:
        if args.require_pinwheel:
            sys.exit(f"bench: Pinwheel binary {args.pinwheel} does not exist (build it or pass "
                     "--pinwheel PATH)")
        args.targets = [t for t in args.targets if not t.startswith("pinwheel")]
        skipped_note = (f"Pinwheel was skipped: {args.pinwheel} does not exist "
                        "(build it or pass --pinwheel PATH).")
        print(f"warning: {skipped_note}", file=sys.stderr)

    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M%S")
    default_out = args.out is None
    out_dir = Path(args.out).resolve() if args.out else BENCH_DIR / "results" / stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="pinwheel-bench-"))

    # Proxies need two descriptors per proxied connection: raise the soft limit to the
    # hard one; every child inherits it.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < 2 * args.idle_conns + 512 and not args.scaling:
        print(f"warning: descriptor hard limit {hard} is low for {args.idle_conns} idle "
              "connections", file=sys.stderr)

    bench = Bench(args, out_dir, work)
    if skipped_note:
        bench.notes.append(skipped_note)

    def on_signal(signum, _frame):
        raise Aborted(f"stopped by {signal.Signals(signum).name}")

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
        signal.signal(s, on_signal)
    if args.max_wall:
        signal.alarm(args.max_wall)

    t0 = time.monotonic()
    status = 0
    info = machine_info(args)
    bench.log(f"pinwheel bench → {out_dir} (work folder {work})")
    bench.log(f"machine: {info['nproc']} CPUs, {info['cpu_model']}, kernel {info['kernel']}; "
              f"pinwheel {info['pinwheel']}")
    scaling_rows = []
    try:
        if args.scaling:
            bench.log(f"scaling mode: N = {args.scaling_n}, /slow?ms={args.slow_ms}, "
                      f"{args.rounds} round(s) of {args.duration}s")
            scaling_rows = run_scaling(bench, args)
        else:
            bench.log(f"targets {args.targets}, tests {args.tests}, {args.rounds} round(s)")
            bench.run()
    except Aborted as e:
        bench.log(f"ABORTED: {e}")
        bench.failures.append(f"aborted: {e}")
        status = 2
    except BenchError as e:
        bench.log(f"FAILED: {e}")
        bench.failures.append(one_line(str(e)))
        status = 1
    finally:
        signal.alarm(0)
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        bench.procs.stop_all()
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_DFL)
    wall = time.monotonic() - t0

    if args.scaling:
        write_scaling(out_dir, scaling_rows, args, info, bench.notes)
        report = out_dir / "scaling.md"
    else:
        write_csv(out_dir / "results.csv", bench.rows)
        summary = summarize(bench.rows, args.targets)
        plot = write_plot(out_dir, summary, args.targets, bench.log)
        write_markdown(out_dir / "results.md", info, args, summary, args.targets,
                       bench.failures, bench.notes, wall, plot, bench.busy_rows,
                       bench.quiet_waited, bench.rows)
        report = out_dir / "results.md"
    bench.log(f"done in {wall:.0f}s; report: {report}")
    if bench.failures:
        bench.log(f"{len(bench.failures)} failure(s):")
        for f in bench.failures:
            bench.log(f"  - {f}")
        status = status or 1
    bench.log_file.close()
    if default_out:
        latest = BENCH_DIR / "results" / "latest"
        latest.mkdir(parents=True, exist_ok=True)
        for f in out_dir.iterdir():
            if f.is_file():
                shutil.copy2(f, latest / f.name)
    if args.keep_work or status:
        print(f"work folder kept: {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
