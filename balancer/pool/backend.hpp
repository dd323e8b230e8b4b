// What the balancer knows about one backend while it runs.
//
// Owned by the balancer in a std::vector that never resizes after start-up, so
// sessions and checkers may hold references. Single-threaded.
#pragma once

#include <asio/ip/tcp.hpp>
#include <cstdint>

#include "pool/health_state.hpp"

namespace pinwheel {

struct backend {
  /// Position in the pool; also {index} in the spawn command and the log prefix.
  std::size_t index = 0;
  asio::ip::tcp::endpoint endpoint;
  /// Core the spawned process is pinned to; -1 for servers Pinwheel does not spawn.
  int cpu = -1;
  health_state health{1, 1};
  /// Proxied connections open right now (least-connections reads this).
  std::size_t active_connections = 0;
  /// Proxied connections ever opened.
  std::uint64_t total_connections = 0;

  /// Whether new connections may go here.
  bool usable() const { return health.up(); }
};

}  // namespace pinwheel
