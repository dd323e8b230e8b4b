"""Every process the benchmark starts: pinned with taskset, in its own process group, and
stopped by PID (also when the benchmark itself is stopped)."""

import ctypes
import os
import selectors
import signal
import socket
import subprocess
import time

from .common import BenchError
from .procfs import group_members

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



def select_read(fds, timeout):
    sel = selectors.DefaultSelector()
    try:
        for fd in fds:
            sel.register(fd, selectors.EVENT_READ)
        return [k.fd for k, _ in sel.select(timeout)], [], []
    finally:
        sel.close()
