// Reading a process's CPU time and memory from /proc. Small procfs reads: the kernel answers
// from the process's counters (statm and stat take no lock the process could hold for long),
// so the event loop may read one backend's RSS on a timer; bulk reads (every backend, every
// scrape) stay on the metrics thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pinwheel {

/// CPU and memory of one process, from /proc/PID/stat.
struct process_usage {
  /// utime + stime.
  double cpu_seconds = 0;
  std::uint64_t resident_bytes = 0;
  /// Unix time the process started.
  double start_time = 0;
};

/// The whole text of a (/proc) file; empty if it cannot be read.
std::string read_small_file(const std::string& path);

/// "btime N" in /proc/stat: when the host booted, in unix seconds; 0 if unknown.
double boot_time();

/// Parses the text of /proc/PID/stat; `boot_time` (unix seconds) and `ticks_per_second` turn
/// its start time into unix time. Empty if the text is not a stat line.
std::optional<process_usage> parse_proc_stat(std::string_view text, double boot_time,
                                             long ticks_per_second, long page_size);

/// Usage of process `pid`; empty if it is gone or unreadable.
std::optional<process_usage> read_process_usage(pid_t pid);

/// Resident bytes from the text of /proc/PID/statm (its second field, in pages).
std::optional<std::uint64_t> parse_statm_resident(std::string_view text, long page_size);

/// Resident memory (RSS) of process `pid`; empty if it is gone or unreadable.
std::optional<std::uint64_t> read_resident_bytes(pid_t pid);

}  // namespace pinwheel
