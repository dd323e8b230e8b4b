// What the admin protocol asks of the running balancer beyond the pool itself: the actions
// that take time or touch several parts (restarts, reload, switching strategy). The balancer
// implements it; tests fake it, so the protocol is tested without sockets or processes.
#pragma once

#include <string>

#include "pool/backend.hpp"

namespace pinwheel {

/// The outcome of one action: ok, and a one-line message either way.
struct admin_result {
  bool ok = true;
  std::string message;
};

class admin_actions {
 public:
  virtual ~admin_actions() = default;
  /// Queues a rolling restart of `b` alone (drain, stop, start, wait until up).
  virtual admin_result restart(backend& b) = 0;
  /// Queues a rolling restart of every spawned backend, one at a time.
  virtual admin_result restart_all() = 0;
  /// Switches the strategy for new connections.
  virtual admin_result set_strategy(const std::string& name) = 0;
  /// Re-reads the config file and applies what changed.
  virtual admin_result reload() = 0;
  /// The strategy in force.
  virtual std::string strategy_name() const = 0;
};

}  // namespace pinwheel
