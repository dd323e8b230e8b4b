// Reading CPU time, memory and descriptors of every backend and the balancer from /proc (the
// per-process parsing is common/proc_stat). The metrics thread reads every backend per scrape;
// the event loop reads one small file per backend per auto-scaling interval, never per
// connection.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string_view>

#include "common/proc_stat.hpp"
#include "metrics/snapshot.hpp"

namespace pinwheel {

/// CPU seconds (user + system) that process `pid` has used so far, from /proc/PID/stat alone;
/// empty if it is gone or unreadable. For auto-scaling, on the event loop.
std::optional<double> read_cpu_seconds(pid_t pid);

/// The calling process: usage, open descriptors and the soft descriptor limit.
std::optional<own_process> read_own_process();

/// Fills in the usage of every running backend and of the balancer itself.
void add_process_usage(balancer_snapshot& snapshot);

}  // namespace pinwheel
