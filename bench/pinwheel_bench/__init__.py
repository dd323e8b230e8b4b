"""Pinwheel's side-by-side proxy benchmark (bench/run.sh), in modules:

common      paths, errors and small text helpers
procfs      /proc and /sys readings: CPU (ticks and schedstat), RSS, sockets, SMT siblings
processes   starting, pinning and stopping every process by PID; free ports
syscalls    perf's syscall counter
targets     the targets (Pinwheel, HAProxy, nginx stream, direct, variants) and their
            configs, rendered from bench/templates/
workloads   the load of each test and the figures it yields
bench       the interleaved, shuffled rounds
report      results.csv and results.md
plot        plot.png (gnuplot)
scaling     the CPU-scaling mode
cli         the command line
"""
