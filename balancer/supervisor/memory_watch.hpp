// [backends] max_memory (PM2's max_memory_restart): reads each running backend's resident
// memory (RSS, /proc/PID/statm of its process — the one Pinwheel started, not its children)
// once every kMemoryCheckInterval and hands a backend over the limit to `restart`, which
// the wiring makes a rolling restart of that one backend (drain, stop, start, wait until up):
// never a crash. Each process is handed over once; its replacement is watched anew.
// The limit is read at every check, so a reload changes it at once. Single-threaded.
#pragma once

#include <sys/types.h>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>

#include "config/options.hpp"
#include "pool/backend_pool.hpp"

namespace pinwheel {

/// How often each backend's RSS is read while max_memory is set.
constexpr std::chrono::milliseconds kMemoryCheckInterval{500};

class memory_watch {
 public:
  /// `resident_bytes` reads a process's RSS (empty if it is gone); `restart` restarts one
  /// backend deliberately.
  memory_watch(asio::io_context& io, backend_pool& pool, const backends_options& options,
               std::function<std::optional<std::uint64_t>(pid_t)> resident_bytes,
               std::function<void(backend&)> restart);

  /// Starts the checks (they idle while max_memory is 0).
  void start();
  /// Stops them (shutdown).
  void stop();
  /// One round of checks, now (the loop's body; tests call it directly).
  void check();

 private:
  asio::awaitable<void> loop();

  asio::io_context& io_;
  backend_pool& pool_;
  const backends_options& options_;
  std::function<std::optional<std::uint64_t>(pid_t)> resident_bytes_;
  std::function<void(backend&)> restart_;
  asio::steady_timer timer_;
  /// The process of each backend already handed over for a restart.
  std::map<const backend*, pid_t> restarting_;
  bool stopped_ = false;
};

}  // namespace pinwheel
