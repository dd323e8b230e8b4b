// Restarting or removing spawned backends one at a time, so the others carry the load and no
// open connection is cut: drain (no new connections) -> wait until its connections have ended
// (at most drain_timeout) -> stop -> start -> wait until its health checks pass -> next.
// Removal (scale down) stops after the drain and retires the backend from the pool.
//
// The restart is the supervisor's deliberate kind: never a crash, no back-off. A backend that
// does not come up within kReadyTimeout stops the roll-out (the rest keep their old process),
// so a bad new command never takes more than one backend down. An operator's admin state is
// kept: only the drain the roll-out set itself is lifted. Single-threaded.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <string>

#include "config/options.hpp"
#include "pool/backend_pool.hpp"
#include "supervisor/supervisor.hpp"

namespace pinwheel {

/// How long a restarted backend may take to pass its health checks before the roll-out stops.
constexpr std::chrono::seconds kReadyTimeout{60};

class rolling_restart {
 public:
  /// `drain_timeout` bounds the wait for a backend's connections to end.
  rolling_restart(asio::io_context& io, backend_pool& pool, supervisor& supervisor,
                  const duration& drain_timeout);

  /// Queues a restart of `b` (once: a backend already queued is not queued twice).
  void restart(backend& b);
  /// Queues the removal of `b`: drained, stopped, then retired from the pool.
  void remove(backend& b);
  /// Drops what is queued and lets the one in progress finish (balancer shutdown).
  void stop();

  /// Backends queued or in progress.
  std::size_t pending() const { return queue_.size() + (busy_ ? 1 : 0); }

 private:
  struct step {
    backend* target;
    bool remove;
  };

  void enqueue(step s);
  asio::awaitable<void> run();
  asio::awaitable<void> drain(backend& b);
  /// Waits until `b` passes its checks; false if it did not within kReadyTimeout.
  asio::awaitable<bool> wait_until_up(backend& b);
  asio::awaitable<void> pause();

  asio::io_context& io_;
  backend_pool& pool_;
  supervisor& supervisor_;
  const duration& drain_timeout_;
  std::deque<step> queue_;
  backend* current_ = nullptr;
  bool busy_ = false;
  bool stopped_ = false;
};

}  // namespace pinwheel
