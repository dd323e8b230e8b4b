"""The command line (bench/run.sh): options, tool checks, and the run from start to report."""

import argparse
import datetime
import os
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from .bench import Bench
from .common import BENCH_DIR, REPO_DIR, Aborted, BenchError, one_line
from .plot import write_plot
from .report import loadavg, machine_info, summarize, write_csv, write_markdown
from .scaling import run_scaling, write_scaling
from .targets import BY_NAME, NGINX_STREAM_MODULE, TARGETS
from .workloads import TEST_BY_NAME, TESTS

DEFAULT_PACKAGES = ("haproxy nginx libnginx-mod-stream wrk iperf3 gnuplot-nox fonts-dejavu-core "
                    "python3 procps util-linux iproute2 linux-perf")


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
    ap.add_argument("--rounds", type=int, default=None,
                    help="rounds of the CPU tests: keepalive, close, rate, bulk (default 7; "
                         "smoke 1)")
    ap.add_argument("--extra-rounds", type=int, default=2,
                    help="rounds of idle, bulk32, slowread and churn (at most --rounds); "
                         "syscalls runs once (a count)")
    ap.add_argument("--seed", type=int, default=None,
                    help="seed of the per-round shuffle of the target order (default: random, "
                         "logged and written to results.md)")
    ap.add_argument("--duration", type=int, default=None,
                    help="seconds per wrk run and slow-reader run (default 3; smoke 1)")
    ap.add_argument("--bulk-duration", type=int, default=None,
                    help="seconds per iperf3 run (default 3; smoke 1)")
    ap.add_argument("--bulk-flows", type=int, default=32,
                    help="parallel iperf3 streams in the bulk32 test")
    ap.add_argument("--rate", default=None,
                    help="fixed-rate test: KEEPALIVE,CLOSE requests/s offered (default: "
                         "--rate-fraction of the slowest proxy's saturation rates in round 1)")
    ap.add_argument("--rate-fraction", type=float, default=0.5,
                    help="fixed-rate test: share of the slowest proxy's saturation rate")
    ap.add_argument("--rate-duration", type=int, default=None,
                    help="seconds per fixed-rate load (two per measurement; default 2; "
                         "smoke 1)")
    ap.add_argument("--loadgen", default=None,
                    help="pinwheel-loadgen binary (default: beside --pinwheel's build, "
                         "BUILD/bench/loadgen/pinwheel-loadgen)")
    ap.add_argument("--idle-conns", type=int, default=None,
                    help="idle connections held open (default 5000; smoke 200)")
    ap.add_argument("--slow-conns", type=int, default=50,
                    help="slow readers in the slowread test")
    ap.add_argument("--slow-rate", type=int, default=65536,
                    help="bytes per second each slow reader reads")
    ap.add_argument("--connections", type=int, default=50,
                    help="wrk connections (-c), and the fixed-rate keep-alive pool")
    default_targets = [t.name for t in TARGETS if t.default]
    ap.add_argument("--targets", default=",".join(default_targets),
                    help="comma-separated targets, of: " + "; ".join(
                        f"{t.name} ({t.label}" + (f", only in {'/'.join(t.tests)}" if t.tests
                                                  else "") + ")" for t in TARGETS))
    ap.add_argument("--tests", default=",".join(t.name for t in TESTS),
                    help="comma-separated subset of " + ",".join(t.name for t in TESTS))
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
                         "processes to use <10%% of a core (default 10; smoke 0 = off)")
    ap.add_argument("--quiet-total", type=float, default=120,
                    help="wait at most this many seconds in all for a quiet machine")
    ap.add_argument("--keep-work", action="store_true",
                    help="keep the working folder (configs and logs of every process)")
    a = ap.parse_args(argv)
    a.rounds = a.rounds or (1 if a.smoke else 7)
    a.duration = a.duration or (1 if a.smoke else 3)
    a.bulk_duration = a.bulk_duration or (1 if a.smoke else 3)
    a.rate_duration = a.rate_duration or (1 if a.smoke else 2)
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1, 1 << 31)
    if a.rate:
        try:
            ka, close = (int(x) for x in a.rate.split(","))
            if ka < 1 or close < 1:
                raise ValueError
        except ValueError:
            ap.error(f"--rate {a.rate!r}: use KEEPALIVE,CLOSE requests/s, e.g. 20000,4000")
        a.rate = (ka, close)
    a.idle_conns = a.idle_conns or (200 if a.smoke else 5000)
    a.max_wall = a.max_wall or (240 if a.smoke else None)
    if a.quiet_wait is None:
        a.quiet_wait = 0 if a.smoke else 10
    a.targets = [t.strip() for t in a.targets.split(",") if t.strip()]
    a.tests = [t.strip() for t in a.tests.split(",") if t.strip()]
    for t in a.targets:
        if t not in BY_NAME:
            ap.error(f"unknown target {t!r}; choose from {','.join(BY_NAME)}")
    for t in a.tests:
        if t not in TEST_BY_NAME:
            ap.error(f"unknown test {t!r}; choose from {','.join(TEST_BY_NAME)}")
    a.targets = [BY_NAME[t] for t in a.targets]
    # Tests run in their listed order whatever the command line's order: the fixed-rate
    # test takes its rate from the saturation tests before it.
    a.tests = [t for t in TESTS if t.name in a.tests]
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
    if a.loadgen is None:
        beside = a.pinwheel.parent.parent / "bench/loadgen/pinwheel-loadgen"
        a.loadgen = (beside if beside.exists()
                     else REPO_DIR / "build/bench/loadgen/pinwheel-loadgen")
    a.loadgen = Path(a.loadgen).resolve()
    return a


def check_tools(args):
    """Names every missing tool and the Debian packages to install (nothing is installed
    at run time)."""
    need = {"taskset": "util-linux", "python3": "python3"}
    if not args.scaling:
        need.update({"wrk": "wrk", "nginx": "nginx", "iperf3": "iperf3"})
        servers = {t.server for t in args.targets}
        tests = {t.name for t in args.tests}
        if "haproxy" in servers:
            need["haproxy"] = "haproxy"
        if "syscalls" in tests:
            need["perf"] = "linux-perf"
    else:
        need["wrk"] = "wrk"
    missing = [f"{tool} (package {pkg})" for tool, pkg in need.items() if not shutil.which(tool)]
    if not args.scaling and "nginx" in servers and not os.path.exists(NGINX_STREAM_MODULE):
        missing.append(f"{NGINX_STREAM_MODULE} (package libnginx-mod-stream)")
    if not args.scaling and "rate" in tests and not os.access(args.loadgen, os.X_OK):
        missing.append(f"{args.loadgen} (built with the project: cmake --build build --target "
                       "pinwheel-loadgen; or pass --loadgen)")
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
    elif any(t.server == "pinwheel" for t in args.targets) and not pinwheel_ok:
        if args.require_pinwheel:
            sys.exit(f"bench: Pinwheel binary {args.pinwheel} does not exist (build it or pass "
                     "--pinwheel PATH)")
        args.targets = [t for t in args.targets if t.server != "pinwheel"]
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
            bench.log(f"targets {', '.join(t.name for t in args.targets)}; tests "
                      f"{', '.join(t.name for t in args.tests)}; {args.rounds} round(s); "
                      f"shuffle seed {args.seed} (--seed {args.seed} repeats the order)")
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
        write_markdown(out_dir / "results.md", info, args, summary, bench.failures,
                       bench.notes, wall, plot, bench.busy_rows, bench.quiet_waited,
                       bench.rows, loadavg())
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


