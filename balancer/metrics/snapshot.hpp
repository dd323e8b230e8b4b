// What the metrics listener publishes: a copy of every counter, taken in one go on the event
// loop (take_snapshot), then handed to the metrics thread, which adds what it reads from /proc
// and serializes it. A snapshot owns all its data: nothing in it points back into the balancer.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bucket_histogram.hpp"
#include "common/proc_stat.hpp"
#include "proxy/end_reason.hpp"
#include "proxy/proxy_stats.hpp"

namespace pinwheel {

/// A backend's state as one word, the value of the `state` label. Exactly one holds at a time:
/// given_up, then disabled/draining (the operator's word), then the health state.
inline constexpr std::array<const char*, 6> kBackendStates = {"up",       "down",     "starting",
                                                              "draining", "disabled", "given_up"};

struct backend_snapshot {
  std::string name;
  /// "host:port".
  std::string address;
  /// One of kBackendStates.
  std::string state;
  /// "enabled", "draining" or "disabled".
  std::string admin;
  /// 0 when not running (or not spawned).
  pid_t pid = 0;
  /// -1 when not spawned.
  int cpu = -1;
  std::uint64_t active_connections = 0;
  std::uint64_t total_connections = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t connect_failures = 0;
  std::uint64_t redispatches = 0;
  std::uint64_t picked = 0;
  std::uint64_t check_failures = 0;
  std::uint64_t restarts = 0;
  /// Restarts for going over [backends] max_memory (also in `restarts`).
  std::uint64_t memory_restarts = 0;
  /// Direct mode only: connections waiting in its listening socket's accept queue (the kernel
  /// completed them; the backend has not accepted them yet).
  std::optional<std::uint32_t> accept_queue;
  double last_check_seconds = 0;
  /// Unix time its process started; 0 when not running.
  double process_start_time = 0;
  /// Filled off the loop from /proc/PID/stat; empty when not running or unreadable.
  std::optional<process_usage> usage;
};

/// The balancer's own process, read off the loop.
struct own_process {
  process_usage usage;
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0;
};

struct balancer_snapshot {
  std::string version;
  std::string strategy;
  /// Unix time it was taken.
  double time = 0;
  std::uint64_t accepted = 0;
  std::array<std::uint64_t, kRejectReasons> rejected{};
  std::array<std::uint64_t, kEndReasonCount> ended{};
  std::uint64_t active_connections = 0;
  std::uint64_t max_connections = 0;
  /// Splice pipes lent to bulk directions now, and the most there may be (max_pipes).
  std::uint64_t splice_pipes_active = 0;
  std::uint64_t max_splice_pipes = 0;
  bucket_histogram connect_duration;
  bucket_histogram connection_duration;
  std::vector<backend_snapshot> backends;
  /// Spawned backends the run is set to have (auto-scaling's latest count, or the configured
  /// one); 0 when Pinwheel spawns none.
  std::uint64_t backends_desired = 0;
  /// Auto-scaling's bounds; both 0 when it is off.
  std::uint64_t autoscale_min = 0;
  std::uint64_t autoscale_max = 0;
  /// Filled off the loop; empty if /proc could not be read.
  std::optional<own_process> self;
};

}  // namespace pinwheel
