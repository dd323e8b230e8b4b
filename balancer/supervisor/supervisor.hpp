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
#include <memory>
#include <vector>

#include "config/options.hpp"
#include "config/run_plan.hpp"
#include "health/health_checker.hpp"
#include "pool/backend.hpp"
#include "supervisor/output_forwarder.hpp"

namespace pinwheel {

class supervisor {
 public:
  supervisor(asio::io_context& io, const backends_options& options, const run_plan& plan,
             std::vector<backend>& backends, health_checker& health);

  /// Spawns every backend.
  void start();

  /// SIGTERM to every backend, SIGKILL to those still running after stop_timeout; returns
  /// once all have been reaped.
  asio::awaitable<void> stop();

  /// SIGKILL to every backend's process group now (a third Ctrl-C).
  void kill_all();

 private:
  struct child {
    pid_t pid = 0;
    std::chrono::steady_clock::time_point started;
    int quick_exits = 0;  // exits in a row, each within min_uptime of starting
    std::unique_ptr<asio::steady_timer> restart_timer;
  };

  void spawn(std::size_t index);
  /// Copies a child's pipe to `target` until end of file.
  void forward(int pipe_fd, log_sink& target, const std::string& prefix);
  asio::awaitable<void> reap_loop();
  void exited(std::size_t index, int status);
  std::size_t running() const;

  asio::io_context& io_;
  const backends_options& options_;
  const run_plan& plan_;
  std::vector<backend>& backends_;
  health_checker& health_;
  std::vector<child> children_;
  asio::signal_set sigchld_;
  asio::steady_timer child_exited_;    // cancelled on every reap, to wake stop()
  asio::steady_timer outputs_closed_;  // cancelled when the last output pipe closes
  std::size_t open_outputs_ = 0;
  bool stopping_ = false;
};

/// "exited with status 1" or "was killed by signal 9 (Killed)".
std::string describe_exit(int wait_status);

}  // namespace pinwheel
