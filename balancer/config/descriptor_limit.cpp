#include "config/descriptor_limit.hpp"

#include <sys/resource.h>

namespace pinwheel {

std::uint64_t raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return raised.rlim_cur;
  }
  return limit.rlim_cur;
}

std::uint64_t descriptors_needed(std::size_t max_connections, std::size_t backends) {
  return 2 * std::uint64_t{max_connections} + kReservedDescriptors +
         kDescriptorsPerBackend * std::uint64_t{backends};
}

std::string descriptor_warning(const options& o, std::size_t backends, std::uint64_t limit) {
  std::uint64_t needed = descriptors_needed(o.balancer.max_connections, backends);
  if (needed <= limit) return "";
  std::uint64_t reserve = needed - 2 * std::uint64_t{o.balancer.max_connections};
  std::uint64_t fit = limit > reserve ? (limit - reserve) / 2 : 0;
  auto origin = o.origin.find("balancer.max_connections");
  std::string warning =
      "balancer.max_connections = " + std::to_string(o.balancer.max_connections) + " (" +
      (origin != o.origin.end() ? origin->second : "the default") + ") needs up to " +
      std::to_string(needed) + " file descriptors (2 per connection, plus " +
      std::to_string(kReservedDescriptors) + " + " + std::to_string(kDescriptorsPerBackend) +
      " per backend for the listener, health checks and pipes), but the open-file limit is " +
      std::to_string(limit) + ": ";
  warning += fit > 0 ? "connections beyond about " + std::to_string(fit) + " will fail"
                     : "connections will fail";
  warning += "; raise LimitNOFILE= / ulimit -n to at least " + std::to_string(needed);
  if (fit > 0) warning += ", or lower balancer.max_connections to " + std::to_string(fit);
  return warning;
}

}  // namespace pinwheel
