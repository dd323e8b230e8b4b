"""Readings from /proc and /sys: CPU time (clock ticks and schedstat nanoseconds), RSS,
TCP counters and sockets, per-core busy time, SMT siblings."""

import os
import re
import time

from .common import read_text

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name; index 0 is field 3 (state)."""
    text = read_text(f"/proc/{pid}/stat")
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


def pids_of(roots, tree=True):
    """`roots` and, with `tree`, all their descendants."""
    return [p for r in roots for p in process_tree(r)] if tree else list(roots)


def cpu_seconds(roots, tree=True):
    """utime+stime (stat fields 14 and 15, clock ticks) summed over the process trees of
    `roots` (the processes alone without `tree`); includes threads that already exited."""
    ticks = 0
    for pid in pids_of(roots, tree):
        f = _stat_fields(pid)
        if f:
            ticks += int(f[11]) + int(f[12])
    return ticks / CLK_TCK


def sched_seconds(roots, tree=True):
    """Time on CPU in nanoseconds (first field of /proc/PID/task/TID/schedstat, the
    scheduler's sum_exec_runtime) summed over every thread of the process trees of `roots`,
    in seconds. Exact rather than sampled at each tick; threads that exited are missed, which
    none of the measured proxies does during a measurement."""
    ns = 0
    for pid in pids_of(roots, tree):
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            text = read_text(f"/proc/{pid}/task/{tid}/schedstat")
            if text:
                ns += int(text.split()[0])
    return ns / 1e9


def rss_kib(roots, tree=True):
    """VmRSS summed over the process trees of `roots` (or the processes alone), in KiB."""
    total = 0
    for pid in pids_of(roots, tree):
        m = re.search(r"^VmRSS:\s+(\d+) kB", read_text(f"/proc/{pid}/status") or "", re.M)
        if m:
            total += int(m.group(1))
    return total


def core_busy():
    """Non-idle seconds per CPU from /proc/stat ({"cpu": all, "cpu0": ..., ...})."""
    out = {}
    for line in (read_text("/proc/stat") or "").splitlines():
        if line.startswith("cpu"):
            name, *vals = line.split()
            v = [int(x) for x in vals[:8]]
            # user nice system idle iowait irq softirq steal: busy = all but idle, iowait
            out[name] = (sum(v) - v[3] - v[4]) / CLK_TCK
    return out


def smt_siblings(cpu):
    """The logical CPUs sharing `cpu`'s physical core, as the kernel lists them ("0,8"),
    or "unknown"."""
    text = read_text(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
    return text.strip() if text else "unknown"


class CpuMeter:
    """CPU seconds of several process groups (clock ticks and schedstat) and of the cores,
    between start() and stop()."""

    def __init__(self, groups, alone=()):
        self.groups = groups  # name -> list of root PIDs
        self.alone = alone    # the groups measured without their descendants

    def _sample(self):
        tree = {k: k not in self.alone for k in self.groups}
        return ({k: cpu_seconds(v, tree[k]) for k, v in self.groups.items()},
                {k: sched_seconds(v, tree[k]) for k, v in self.groups.items()}, core_busy())

    def start(self):
        self.t0 = time.monotonic()
        self.before = self._sample()

    def stop(self):
        self.wall = time.monotonic() - self.t0
        after = self._sample()
        self.cpu = {k: after[0][k] - self.before[0][k] for k in self.groups}
        self.sched = {k: after[1][k] - self.before[1][k] for k in self.groups}
        self.cores = {k: after[2][k] - self.before[2].get(k, 0.0) for k in after[2]}


def passive_opens():
    """TCP PassiveOpens of this network namespace: one per accepted connection."""
    lines = (read_text("/proc/net/snmp") or "").splitlines()
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
        text = read_text(table) or ""
        for line in text.splitlines()[1:]:
            parts = line.split(None, 4)
            if len(parts) > 3 and parts[3] == state:
                if int(parts[1].rsplit(":", 1)[1], 16) in local_ports:
                    n += 1
    return n
