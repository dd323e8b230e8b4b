// Reading CPU time, memory and descriptors of processes from /proc. Small reads of files the
// kernel makes up on the spot (no disk): the metrics thread reads every backend per scrape;
// the event loop reads one small file per backend per auto-scaling interval, never per
// connection.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string_view>

#include "metrics/snapshot.hpp"

namespace pinwheel {

/// Parses the text of /proc/PID/stat; `boot_time` (unix seconds) and `ticks_per_second` turn
/// its start time into unix time. Empty if the text is not a stat line.
std::optional<process_usage> parse_proc_stat(std::string_view text, double boot_time,
                                             long ticks_per_second, long page_size);

/// Usage of process `pid`; empty if it is gone or unreadable.
std::optional<process_usage> read_process_usage(pid_t pid);

/// CPU seconds (user + system) that process `pid` has used so far, from /proc/PID/stat alone;
/// empty if it is gone or unreadable. For auto-scaling, on the event loop.
std::optional<double> read_cpu_seconds(pid_t pid);

/// The calling process: usage, open descriptors and the soft descriptor limit.
std::optional<own_process> read_own_process();

/// Fills in the usage of every running backend and of the balancer itself.
void add_process_usage(balancer_snapshot& snapshot);

}  // namespace pinwheel
