// Spawns the backends, pins each to its core, restarts those that exit, and stops
// them on shutdown — Node's cluster.fork() + on('exit'), built in.
//
// Restarts back off exponentially while a backend keeps exiting soon after it
// started; after max_restarts such exits in a row it is given up (logged) and the
// others keep serving. Children get PR_SET_PDEATHSIG, so they die with the
// balancer even if it is SIGKILLed. Single-threaded.
#pragma once

#include <sys/types.h>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>

#include "config/options.hpp"
#include "health/health_checker.hpp"
#include "pool/backend_pool.hpp"
#include "supervisor/output_forwarder.hpp"

namespace pinwheel {

class supervisor {
 public:
  /// `on_given_up` hears of each backend given up as crash-looping.
  supervisor(asio::io_context& io, const backends_options& options, backend_pool& pool,
             health_checker& health, std::function<void(backend&)> on_given_up);

  /// Spawns every member of the pool that has a command.
  void start();

  /// SIGTERM to every backend, SIGKILL to those still running after stop_timeout; returns
  /// once all have been reaped.
  asio::awaitable<void> stop();

  /// SIGKILL to every backend's process group now (a third Ctrl-C).
  void kill_all();

 private:
  void spawn(backend& b);
  /// Copies a child's pipe to `target` until end of file.
  void forward(int pipe_fd, log_sink& target, const std::string& prefix);
  asio::awaitable<void> reap_loop();
  void exited(backend& b, int status);
  std::size_t running() const;
  /// The timer that delays `b`'s next start.
  asio::steady_timer& restart_timer(backend& b);

  asio::io_context& io_;
  const backends_options& options_;
  backend_pool& pool_;
  health_checker& health_;
  std::function<void(backend&)> on_given_up_;
  std::map<const backend*, std::unique_ptr<asio::steady_timer>> restart_timers_;
  asio::signal_set sigchld_;
  asio::steady_timer child_exited_;    // cancelled on every reap, to wake stop()
  asio::steady_timer outputs_closed_;  // cancelled when the last output pipe closes
  std::size_t open_outputs_ = 0;
  bool stopping_ = false;
};

/// "exited with status 1" or "was killed by signal 9 (Killed)".
std::string describe_exit(int wait_status);

}  // namespace pinwheel
