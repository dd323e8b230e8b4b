// The open-file limit: raised as far as an unprivileged process may, and compared with what
// balancer.max_connections may need. The plan warns when it is short; the running balancer
// then pauses accepting at what fits, so that EMFILE never hits connects or health checks.
//
// Each open connection holds two descriptors, the client's and the backend's. On top, a
// reserve: 64 for the listener, the standard streams, the event loop and a margin, 4 per
// backend (a health check, a connect in flight, a spawned backend's output pipe) and 2 per
// splice pipe (balancer.max_pipes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "config/options.hpp"

namespace pinwheel {

/// Descriptors held besides the connections' own.
constexpr std::uint64_t kReservedDescriptors = 64;
/// Descriptors held per backend besides the connections' own.
constexpr std::uint64_t kDescriptorsPerBackend = 4;

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in effect
/// (the old one if the kernel refuses).
std::uint64_t raise_open_file_limit();

/// Descriptors that `max_connections` open connections, `backends` backends and `pipes` splice
/// pipes may need at once.
std::uint64_t descriptors_needed(std::size_t max_connections, std::size_t backends,
                                 std::size_t pipes);

/// Open connections that fit in `limit` descriptors beside the reserve for `backends` and
/// `pipes`; 0 when not even the reserve fits.
std::uint64_t connections_that_fit(std::uint64_t limit, std::size_t backends, std::size_t pipes);

/// A warning when that exceeds `limit`, naming the numbers and what to do; "" when it fits.
std::string descriptor_warning(const options& o, std::size_t backends, std::uint64_t limit);

}  // namespace pinwheel
