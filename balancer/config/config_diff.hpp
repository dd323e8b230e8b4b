// What a reload changes: the running configuration and plan against a newly loaded one, with
// backends matched by identity (spawned ones by index, servers by address).
//
// Keys that only a restart of Pinwheel can apply (restart_only_keys) are not applied: the
// diff puts their running values back into the new options and lists them, so the rest can be
// applied and the operator is told what waits for a restart.
#pragma once

#include <asio/ip/tcp.hpp>
#include <string>
#include <vector>

#include "config/options.hpp"
#include "config/run_plan.hpp"

namespace pinwheel {

struct config_diff {
  /// Keys changed in the file that only a restart applies ("balancer.cpu", ...); their running
  /// values were kept.
  std::vector<std::string> needs_restart;
  /// What changes, one short phrase each, for the log and `ctl reload`.
  std::vector<std::string> changes;
  bool strategy = false;
  /// connect/idle/drain/proxy_header timeouts, retries.
  bool timeouts = false;
  /// interval, timeout, rise, fall, path, tcp <-> http.
  bool health = false;
  bool listen = false;
  /// accept_proxy, trusted, send_proxy.
  bool proxy_protocol = false;
  /// A backend's weight, or slow_start: the strategy is made anew to take them.
  bool weights = false;
  /// Spawned backends by index: new ones, ones to drain and stop, ones to restart (their
  /// command, core, host or port changed).
  std::vector<std::size_t> added, removed, restarted;
  /// Servers Pinwheel does not spawn, by address.
  std::vector<asio::ip::tcp::endpoint> servers_added, servers_removed;

  bool empty() const { return changes.empty() && needs_restart.empty(); }
};

/// Compares; may change `next` and `next_plan`: restart-only keys get their running values
/// back, and with base_port = 0 a backend that stays keeps the port it has (its command
/// re-filled), so only a real change restarts it.
config_diff diff_configs(const options& running, const run_plan& running_plan, options& next,
                         run_plan& next_plan);

}  // namespace pinwheel
