// One Pinwheel run: wires the backend pool, the strategy, the server, health checks and the
// supervisor to one single-threaded io_context pinned to the balancer's core.
//
// Start-up: pin, start the guardian (backends die with us even on kill -9), bind, spawn
// backends, start checking them, accept at once (a client waits up to connect_timeout for a
// first backend to come up).
// Signals (each logged):
//   SIGINT, SIGTERM, SIGQUIT  stop: refuse new connections, drain, stop backends, exit 0;
//                             a second one cuts the drain short (RST), a third SIGKILLs the
//                             backends.
//   SIGHUP                    reload: not supported yet, logged and ignored.
//   SIGUSR1                   reopen the access log file (logrotate's convention: rename it,
//                             send USR1, the next lines go to a new file); logged.
//   SIGUSR2, SIGALRM          logged and ignored.
//   SIGPIPE                   ignored: a write to a closed peer is an error code, not a death.
// Under systemd (NOTIFY_SOCKET set, Type=notify) it sends READY=1 once it listens and a backend
// is up, STATUS= lines as backends come and go, and STOPPING=1 when it begins to stop.
// When every spawned backend has been given up, it stops and exits 1, so a service manager
// restarts the whole unit.
#pragma once

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <memory>
#include <optional>

#include "config/options.hpp"
#include "config/run_plan.hpp"
#include "health/health_checker.hpp"
#include "pool/backend_pool.hpp"
#include "proxy/access_log.hpp"
#include "proxy/buffer_pool.hpp"
#include "proxy/server.hpp"
#include "proxy/session.hpp"
#include "strategy/strategy.hpp"
#include "supervisor/guardian.hpp"
#include "supervisor/service_notifier.hpp"
#include "supervisor/supervisor.hpp"
#include "supervisor/system_process_env.hpp"

namespace pinwheel {

class balancer {
 public:
  balancer(const options& o, const run_plan& plan);

  /// Runs until a stop signal and the shutdown that follows; returns the exit code.
  /// Throws config_error if the listen address cannot be bound, background_failure if a
  /// background loop failed.
  int run();

 private:
  asio::awaitable<void> handle_signals();
  asio::awaitable<void> shutdown();
  void stop(const std::string& why, int exit_code);
  /// Caps open connections at what the open-file limit can hold, with a warning.
  void limit_connections_to_descriptors();
  void on_health_change(backend& b);
  void on_given_up(backend& b);
  /// Opens [access_log] path if enabled; throws config_error naming the key if it cannot.
  void open_access_log();
  void reopen_access_log();

  const options& options_;
  const run_plan& plan_;
  asio::io_context io_;
  backend_pool pool_;
  std::unique_ptr<strategy> strategy_;
  std::unique_ptr<access_log> access_log_;
  buffer_pool small_buffers_;
  buffer_pool large_buffers_;
  health_checker health_;
  proxy_context context_;
  client_limiter limiter_;
  server server_;
  system_process_env process_env_;
  // Before the supervisor: NOTIFY_SOCKET is ours, not the backends'.
  service_notifier service_;
  std::optional<guardian> guardian_;
  std::optional<supervisor> supervisor_;
  asio::signal_set signals_;
  int stop_signals_seen_ = 0;
  bool ready_ = false;
  bool stopping_ = false;
  int exit_code_ = 0;
};

}  // namespace pinwheel
