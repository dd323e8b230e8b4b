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

std::uint64_t descriptors_needed(std::size_t max_connections, std::size_t backends,
                                 std::size_t pipes) {
  return 2 * std::uint64_t{max_connections} + kReservedDescriptors +
         kDescriptorsPerBackend * std::uint64_t{backends} + 2 * std::uint64_t{pipes};
}

std::uint64_t connections_that_fit(std::uint64_t limit, std::size_t backends, std::size_t pipes) {
  std::uint64_t reserve = descriptors_needed(0, backends, pipes);
  return limit > reserve ? (limit - reserve) / 2 : 0;
}

std::string descriptor_warning(const options& o, std::size_t backends, std::uint64_t limit) {
  const std::size_t max_connections = o.balancer.max_connections;
  const std::size_t pipes = o.balancer.pipes();
  std::uint64_t needed = descriptors_needed(max_connections, backends, pipes);
  if (needed <= limit) return "";
  std::uint64_t fit = connections_that_fit(limit, backends, pipes);
  auto origin = o.origin.find("balancer.max_connections");
  std::string warning =
      "the open-file limit (" + std::to_string(limit) + ") fits " +
      (fit > 0 ? std::to_string(fit) + " connections" : std::string("no connection")) +
      ", not balancer.max_connections = " + std::to_string(max_connections) + " (" +
      (origin != o.origin.end() ? origin->second : "the default") +
      "): each takes 2 descriptors, and " + std::to_string(kReservedDescriptors) + " + " +
      std::to_string(kDescriptorsPerBackend) +
      " per backend + 2 per splice pipe (balancer.max_pipes = " + std::to_string(pipes) +
      ") are kept for the listener, health checks and pipes (" + std::to_string(needed) +
      " in all); ";
  if (fit > 0) warning += "accepting pauses at " + std::to_string(fit) + ". ";
  warning += "Raise LimitNOFILE= / ulimit -n to at least " + std::to_string(needed);
  if (fit > 0) warning += ", or lower balancer.max_connections to " + std::to_string(fit);
  return warning;
}

}  // namespace pinwheel
