// What the admin protocol asks of the running balancer beyond the pool itself: the actions
// that take time or touch several parts (restarts, reload, switching strategy). The balancer
// implements it; tests fake it, so the protocol is tested without sockets or processes.
#pragma once

#include <optional>
#include <string>

#include "pool/backend.hpp"

namespace pinwheel {

/// The outcome of one action: ok, and a one-line message either way.
struct admin_result {
  bool ok = true;
  std::string message;
};

/// Auto-scaling as `ctl status` shows it.
struct scaling_status {
  int min = 0;
  int max = 0;
  /// Backends the run has now.
  int backends = 0;
  /// Last measured mean CPU utilisation and connections awaiting a reply per backend; empty
  /// before the first measurement.
  std::optional<double> cpu;
  std::optional<double> queued;
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
  /// Auto-scaling's range and last figures; empty when it is off.
  virtual std::optional<scaling_status> scaling() const { return std::nullopt; }
};

}  // namespace pinwheel
