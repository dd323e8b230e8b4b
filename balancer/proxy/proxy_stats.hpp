// The proxy's own statistics, declared together: what happened to client connections as a
// whole (per-backend counters live in each backend). Plain integers written by the event loop
// only; the metrics thread reads a copy taken on the loop. Single-threaded.
#pragma once

#include <array>
#include <cstdint>

#include "common/bucket_histogram.hpp"

namespace pinwheel {

/// Why a client connection was turned away right after accept.
enum class reject_reason {
  local_error,  ///< the balancer had no memory for its session
};
inline constexpr std::size_t kRejectReasons = 1;

/// "local_error", as a metric label.
inline const char* to_label(reject_reason reason) {
  switch (reason) {
    case reject_reason::local_error:
      return "local_error";
  }
  return "unknown";
}

struct proxy_stats {
  /// Client connections accepted (every one: served, turned away or reset later).
  std::uint64_t accepted = 0;
  /// Turned away at once, by reason (index: reject_reason).
  std::array<std::uint64_t, kRejectReasons> rejected{};
  /// Successful connects to a backend, from the connect call to its completion.
  bucket_histogram connect_duration;
  /// Client connections, from accept to their end.
  bucket_histogram connection_duration;
};

}  // namespace pinwheel
