// Which core the balancer and each backend run on.
//
// Cores come from sched_getaffinity, so cpusets and container limits are
// respected rather than the hardware count.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace pinwheel {

/// The cores process `pid` (0: the caller) may run on, ascending; empty with `ec` set if the
/// kernel will not say.
std::vector<int> allowed_cpus(pid_t pid, std::error_code& ec);

struct cpu_assignment {
  int balancer = 0;
  /// One core per backend, in index order.
  std::vector<int> backends;
  /// Set when the plan is impossible (a requested core is not allowed); the rest is then empty.
  std::string error;
  /// Set when backends must share cores (or the balancer's): worth one warning, never fatal.
  std::string warning;
};

/// Plans cores: the balancer on `balancer_cpu` (default: the first allowed core); `count`
/// backends (0: one per remaining core, at least one) on `backend_cpus` if given, otherwise on
/// the remaining cores, wrapping around when there are more backends than cores.
cpu_assignment assign_cpus(const std::vector<int>& allowed, std::optional<int> balancer_cpu,
                           int count, const std::vector<int>& backend_cpus);

/// Pins `pid` (0: the caller) to one core.
std::error_code pin_to_cpu(pid_t pid, int cpu);

}  // namespace pinwheel
