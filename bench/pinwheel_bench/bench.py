"""The comparison run: backends for the whole run, then rounds; in each round every test
runs against every target, in an order shuffled per round and test (seeded, logged), each
measurement on a fresh proxy."""

import datetime
import random
import statistics
import time

from . import targets as targets_mod
from . import workloads
from .common import BenchError, StartError, http_get, one_line, read_text, render, tail
from .processes import Processes, free_port
from .procfs import core_busy, cpu_seconds, tcp_sockets

# The slow-reader test's response: sparse, so it costs no disk; larger than any reader gets.
BIG_FILE_BYTES = 1 << 30


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
        self.rates = None

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
                ok = ready_line in (read_text(logfile) or "")
            if ok:
                return
            time.sleep(0.02)
        self.procs.stop(proc)
        raise BenchError(f"{what} did not start listening on 127.0.0.1:{port} within "
                         f"{timeout:.0f}s:\n{tail(logfile)}")

    def start_nginx(self, prefix, conf_text, port, cpu, name):
        conf = prefix / "nginx.conf"
        conf.write_text(conf_text)
        errlog = prefix / "error.log"
        proc = self.procs.start(
            name, ["nginx", "-e", str(errlog), "-p", str(prefix), "-c", str(conf),
                   "-g", "daemon off;"],
            cpu=cpu, log=prefix / "stderr.log")
        self.wait_listening(proc, port, name, errlog)
        return proc

    def start_backends(self):
        """Two single-worker nginx answering 200 "ok" (and /big, a large file), and one
        iperf3 server: all on the load core, for the whole run."""
        a = self.args
        self.http_ports = [free_port(), free_port()]
        self.http_backends = []
        # nginx's worker runs as nobody when we are root: it must reach big.bin.
        self.work.chmod(0o711)
        for i in range(2):
            for attempt in range(3):
                port = self.http_ports[i]
                prefix = self.path(f"backend{i}")
                prefix.mkdir(mode=0o755)
                with open(prefix / "big.bin", "wb") as f:
                    f.truncate(BIG_FILE_BYTES)
                (prefix / "big.bin").chmod(0o644)
                try:
                    self.http_backends.append(self.start_nginx(
                        prefix, render("nginx-backend.conf", port=port, prefix=prefix), port,
                        a.load_cpu, f"backend{i}"))
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

    def start_target(self, target, test):
        for attempt in range(3):
            try:
                return targets_mod.start(self, target, test.pool, test.health)
            except StartError as e:
                # Another program may have taken the free port before the proxy bound it.
                if attempt == 2:
                    raise
                self.log(f"    {target.name} did not start ({one_line(str(e))}); retrying "
                         "on another port")

    # ------------------------------------------------------------------ rates

    def offered_rates(self):
        """(keep-alive requests/s, new connections/s) for the fixed-rate test: --rate, or
        --rate-fraction of the slowest proxy's median saturation rate in the keepalive and
        close tests measured so far (so decided in round 1, then the same for every round
        and target)."""
        if self.rates:
            return self.rates
        a = self.args
        if a.rate:
            self.rates = a.rate
        else:
            rates = []
            for test in ("keepalive", "close"):
                per_target = {}
                for r in self.rows:
                    if (r["test"] == test and r.get("status") == "ok" and r.get("rps")
                            and targets_mod.BY_NAME[r["target"]].server != "direct"):
                        per_target.setdefault(r["target"], []).append(float(r["rps"]))
                if not per_target:
                    raise BenchError("the rate test needs the keepalive and close tests first "
                                     "(to find the slowest proxy's saturation rate) or --rate "
                                     "KEEPALIVE,CLOSE")
                slowest = min(statistics.median(v) for v in per_target.values())
                rates.append(max(1, int(round(slowest * a.rate_fraction, -1))))
            self.rates = tuple(rates)
            self.notes.append(
                f"Fixed-rate test: {self.rates[0]:,} keep-alive requests/s and "
                f"{self.rates[1]:,} new connections/s offered to every target "
                f"({a.rate_fraction:.0%} of the slowest proxy's saturation rate in round 1).")
        self.log(f"  fixed offered rates: {self.rates[0]}/s keep-alive, "
                 f"{self.rates[1]}/s new connections")
        return self.rates

    # ------------------------------------------------------------------ measuring

    def wait_quiet(self):
        """Waits (up to --quiet-wait seconds) until processes outside the benchmark use
        less than 10% of a core, so a shared machine disturbs the measurement less."""
        # Never more than --quiet-total in all: a machine that is never quiet is reported as
        # such (other_cpu_s) rather than waited for.
        limit = min(self.args.quiet_wait, self.args.quiet_total - self.quiet_waited)
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

    def measure(self, rnd, test, target, position):
        self.wait_quiet()
        row = {"round": rnd, "test": test.name, "target": target.name, "position": position,
               "started_at": datetime.datetime.now().isoformat(timespec="seconds")}
        self.log(f"  round {rnd} {test.name:9s} {target.label}")
        proc = None
        try:
            proc, port = self.start_target(target, test)
            data, problems = workloads.run(self, test, target, proc, port)
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
            self.failures.append(f"round {rnd} {test.name} {target.name}: {one_line(p)}")
        self.rows.append(row)

    def rounds_of(self, test):
        a = self.args
        return {"all": a.rounds, "extra": min(a.rounds, a.extra_rounds), "once": 1}[test.rounds]

    def run(self):
        a = self.args
        rng = random.Random(a.seed)
        self.start_backends()
        for rnd in range(1, a.rounds + 1):
            for test in a.tests:
                if rnd > self.rounds_of(test):
                    continue
                order = [t for t in a.targets if t.runs(test)]
                # A fresh order per round and test, so no target always follows the same one
                # (each proxy's run leaves caches, TIME_WAIT sockets and page cache behind).
                rng.shuffle(order)
                self.log(f"  round {rnd} {test.name}: order "
                         + ", ".join(t.name for t in order))
                for position, target in enumerate(order, 1):
                    self.measure(rnd, test, target, position)
