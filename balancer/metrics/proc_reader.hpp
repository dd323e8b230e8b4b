// Reading CPU time, memory and descriptors of every backend and the balancer from /proc (the
// per-process parsing is common/proc_stat): on the metrics thread only, never on the event loop.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string_view>

#include "common/proc_stat.hpp"
#include "metrics/snapshot.hpp"

namespace pinwheel {

/// The calling process: usage, open descriptors and the soft descriptor limit.
std::optional<own_process> read_own_process();

/// Fills in the usage of every running backend and of the balancer itself.
void add_process_usage(balancer_snapshot& snapshot);

}  // namespace pinwheel
