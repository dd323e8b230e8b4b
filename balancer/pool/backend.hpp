// One backend: what it is (name, address, core, command), whether an operator lets it take
// traffic (admin state), whether it answers (health), its process, and its statistics.
//
// Owned by the backend_pool, which never moves or frees it during a run: sessions, checkers
// and the supervisor may hold references, even after it is retired. Named by `name`, never by
// its position. Single-threaded: the counters are plain integers written by the event loop only;
// the metrics thread sees them through a snapshot taken on the loop (metrics/snapshot.hpp).
#pragma once

#include <sys/types.h>

#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "pool/awaiting_list.hpp"
#include "pool/health_state.hpp"

namespace pinwheel {

/// What an operator allows a backend to do (HAProxy's ready / drain / maint).
enum class admin_state {
  enabled,   ///< takes new connections when healthy
  draining,  ///< no new connections; open ones finish
  disabled,  ///< no new connections, not even checked as a candidate
};

/// "enabled", "draining" or "disabled".
const char* to_string(admin_state state);

/// The process behind a spawned backend, as the supervisor last saw it.
struct backend_process {
  /// 0 while not running.
  pid_t pid = 0;
  std::chrono::steady_clock::time_point started{};
  /// Exits (or failed starts) in a row, each within min_uptime of starting.
  int quick_exits = 0;
  /// Starts in a row that failed for the balancer's own want of descriptors or memory: they
  /// back off like exits but never count towards giving the backend up.
  int local_start_failures = 0;
  /// Starts after the first.
  std::uint64_t restarts = 0;
  /// Crash-looping: the supervisor stopped restarting it.
  bool given_up = false;
  /// Memory limit: the RSS last read by the memory watch (0 before the first reading or with
  /// max_memory off), and restarts for going over max_memory (deliberate, never crashes).
  std::uint64_t resident_bytes = 0;
  std::uint64_t memory_restarts = 0;
};

/// What the running process last said over sd_notify (NOTIFY_SOCKET); reset on each start.
struct backend_notify {
  /// It sent READY=1.
  bool ready = false;
  /// It sent STOPPING=1: out of rotation until it exits or sends READY=1 again.
  bool stopping = false;
  /// Its last STATUS= line ("" if none).
  std::string status;
  /// Its last WATCHDOG=1, or its start.
  std::chrono::steady_clock::time_point last_watchdog{};
};

struct backend {
  /// Stable identity in logs, metrics and admin commands ("0", "1", … or a configured name).
  std::string name;
  asio::ip::tcp::endpoint endpoint;
  /// Core the spawned process is pinned to; -1 for servers Pinwheel does not spawn.
  int cpu = -1;
  /// The spawn command with placeholders filled in; empty for servers Pinwheel does not spawn.
  std::vector<std::string> argv;
  /// Share of new connections relative to the others (0 to 256); 0: never picked.
  unsigned weight = 1;

  admin_state admin = admin_state::enabled;
  health_state health{1, 1};
  backend_process process;
  backend_notify notify;

  /// Proxied connections open right now (least-connections reads this).
  std::size_t active_connections = 0;
  /// Connections whose client bytes went here with nothing back since (least-pending reads it).
  awaiting_list awaiting;
  /// Proxied connections ever opened; in direct mode, the connections the kernel program
  /// steered to it (read from its counters every 100 ms).
  std::uint64_t total_connections = 0;
  /// Connects to it that failed (the backend's fault: refused, timed out, reset).
  std::uint64_t connect_failures = 0;
  /// Of those, the ones retried on another backend.
  std::uint64_t redispatches = 0;
  /// Times a strategy chose it (a pick whose connect then failed counts too).
  std::uint64_t picked = 0;
  /// Bytes written to it (client to backend) and from it to clients.
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  /// How long its last completed health check took.
  std::chrono::nanoseconds last_check_duration{0};
  /// Health checks that failed through its fault (timeouts, refusals, bad answers).
  std::uint64_t check_failures = 0;

  /// Whether new connections may go here.
  bool usable() const { return admin == admin_state::enabled && health.up(); }
  /// Whether Pinwheel spawns its process.
  bool spawned() const { return !argv.empty(); }
};

}  // namespace pinwheel
