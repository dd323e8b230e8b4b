"""System calls counted with perf's syscall tracepoints."""

import os
import signal
import time
from pathlib import Path

from .common import BenchError, read_text, tail
from .processes import select_read

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
        for line in (read_text(self.out) or "").splitlines():
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

