#include "config/cpu_plan.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>

namespace pinwheel {

std::vector<int> allowed_cpus(pid_t pid, std::error_code& ec) {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  ec.clear();
  if (sched_getaffinity(pid, sizeof(set), &set) != 0) {
    ec.assign(errno, std::system_category());
    return cpus;
  }
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

cpu_assignment assign_cpus(const std::vector<int>& allowed, std::optional<int> balancer_cpu,
                           int count, const std::vector<int>& backend_cpus) {
  cpu_assignment plan;
  auto is_allowed = [&](int cpu) {
    return std::find(allowed.begin(), allowed.end(), cpu) != allowed.end();
  };
  auto allowed_list = [&] {
    std::string list;
    for (int cpu : allowed) list += (list.empty() ? "" : ",") + std::to_string(cpu);
    return list;
  };

  if (allowed.empty()) {
    plan.error = "no core is available to this process";
    return plan;
  }
  plan.balancer = balancer_cpu.value_or(allowed.front());
  if (!is_allowed(plan.balancer)) {
    plan.error = "core " + std::to_string(plan.balancer) + " is not available to this process; " +
                 "available cores: " + allowed_list();
    return plan;
  }

  std::vector<int> pool;
  if (!backend_cpus.empty()) {
    for (int cpu : backend_cpus) {
      if (!is_allowed(cpu)) {
        plan.error = "core " + std::to_string(cpu) + " is not available to this process; " +
                     "available cores: " + allowed_list();
        return plan;
      }
    }
    pool = backend_cpus;
  } else {
    for (int cpu : allowed) {
      if (cpu != plan.balancer) pool.push_back(cpu);
    }
  }

  // By default one per core left, but never fewer than two: one backend balances nothing, and
  // a second answers while the first is busy even when they share a core (a 2-core host).
  int backends = count > 0 ? count : std::max<int>(2, static_cast<int>(pool.size()));
  if (pool.empty()) {
    // A single core: everyone shares it.
    pool.push_back(plan.balancer);
    plan.warning = "only core " + std::to_string(plan.balancer) +
                   " is available: the balancer and its backends share it";
  } else if (backends > static_cast<int>(pool.size())) {
    plan.warning = std::to_string(backends) + " backends on " + std::to_string(pool.size()) +
                   " core(s): backends share cores";
  }
  for (int i = 0; i < backends; ++i) plan.backends.push_back(pool[i % pool.size()]);
  return plan;
}

std::error_code pin_to_cpu(pid_t pid, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(pid, sizeof(set), &set) != 0) return {errno, std::system_category()};
  return {};
}

}  // namespace pinwheel
