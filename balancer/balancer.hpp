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
//   SIGHUP                    reload the config file (as `pinwheel ctl reload`).
//   SIGUSR1                   reopen the access log file (logrotate's convention: rename it,
//                             send USR1, the next lines go to a new file); logged.
//   SIGUSR2, SIGALRM          logged and ignored.
//   SIGPIPE                   ignored: a write to a closed peer is an error code, not a death.
// Reload: load and validate the file (a bad one is rejected with the start-up message and
// nothing changes), diff against the running setup (config_diff), then apply on the event loop
// without dropping a connection: strategy, timeouts, health settings and listen addresses at
// once; added backends start, removed ones drain then stop, changed ones roll. Keys only a
// restart applies are named in the reply and log and keep their running values.
// Under systemd (NOTIFY_SOCKET set, Type=notify) it sends READY=1 once it listens and a backend
// is up, STATUS= lines as backends come and go, and STOPPING=1 when it begins to stop.
// When every spawned backend has been given up, it stops and exits 1, so a service manager
// restarts the whole unit.
#pragma once

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <memory>
#include <optional>

#include "admin/admin_actions.hpp"
#include "admin/admin_protocol.hpp"
#include "admin/admin_server.hpp"
#include "autoscale/autoscaler.hpp"
#include "config/config_diff.hpp"
#include "config/config_loader.hpp"
#include "config/options.hpp"
#include "config/run_plan.hpp"
#include "direct/direct_steering.hpp"
#include "direct/listener_load.hpp"
#include "direct/reuseport_group.hpp"
#include "health/health_checker.hpp"
#include "metrics/metrics_server.hpp"
#include "pool/backend_pool.hpp"
#include "proxy/access_log.hpp"
#include "proxy/buffer_pool.hpp"
#include "proxy/server.hpp"
#include "proxy/session.hpp"
#include "strategy/strategy.hpp"
#include "supervisor/guardian.hpp"
#include "supervisor/memory_watch.hpp"
#include "supervisor/rolling_restart.hpp"
#include "supervisor/service_notifier.hpp"
#include "supervisor/supervisor.hpp"
#include "supervisor/system_process_env.hpp"

namespace pinwheel {

class balancer : public admin_actions {
 public:
  /// `o` and `plan` are the running setup: reloads change them in place. `flags` are applied
  /// again on every reload.
  balancer(options& o, run_plan& plan, overrides flags = {});

  /// Runs until a stop signal and the shutdown that follows; returns the exit code.
  /// Throws config_error if the listen address cannot be bound, background_failure if a
  /// background loop failed.
  int run();

  // admin_actions, for `pinwheel ctl`.
  admin_result restart(backend& b) override;
  admin_result restart_all() override;
  admin_result set_strategy(const std::string& name) override;
  admin_result reload() override;
  std::string strategy_name() const override { return strategy_name_; }
  std::optional<scaling_status> scaling() const override;

 private:
  /// Applies a validated new setup; says what changed (for the log and ctl).
  /// Reads, validates and plans the config file again, then applies it; the old setup stays
  /// when anything fails.
  admin_result reload_config();
  admin_result apply(options next, run_plan next_plan);
  /// Adds, removes (drains first) and rolls spawned backends as `d` says; returns what could not
  /// be done now. Shared by reload and auto-scaling.
  std::vector<std::string> change_spawned(const config_diff& d, const run_plan& next_plan);
  /// Auto-scaling's way to change the backend count: the running setup with `count` backends,
  /// planned and applied like a reload. Logs why and returns false if it cannot.
  bool scale_to(int count);
  /// Throws config_error for what a reload cannot change in direct mode (or into it).
  void check_direct_reload(const options& next, const run_plan& next_plan) const;
  /// Addresses a new plan may take although this run holds them (ours, not a stranger's).
  std::vector<asio::ip::tcp::endpoint> held_endpoints(const options& next) const;
  /// Makes and installs strategy `name` (also to take new weights).
  void install_strategy(const std::string& name);
  asio::awaitable<void> handle_signals();
  asio::awaitable<void> shutdown();
  void stop(const std::string& why, int exit_code);
  /// Caps open connections at what the open-file limit can hold, with a warning.
  void limit_connections_to_descriptors();
  void on_health_change(backend& b);
  void on_given_up(backend& b);
  /// Binds the metrics listener and starts its thread on the cores other than the balancer's
  /// (`allowed`: the cores the process may use).
  void start_metrics(const std::vector<int>& allowed);
  /// Called on the metrics thread: asks the event loop for a snapshot and waits for it, up to
  /// a second; nothing if the loop did not answer (busy, wedged or stopped).
  std::optional<balancer_snapshot> snapshot_from_loop();
  /// Opens [access_log] path if enabled; throws config_error naming the key if it cannot.
  void open_access_log();
  void reopen_access_log();
  /// Direct mode: makes the listening sockets (one per backend) and loads the steering
  /// program; throws std::runtime_error saying why it cannot (BPF not permitted, ...).
  void open_direct_listeners();
  /// Direct mode: a check's socket, bound to a port the kernel program sends to `b`'s socket.
  std::function<void()> route_probe(const backend& b, asio::ip::tcp::socket& socket,
                                    std::error_code& ec);
  /// Direct mode: samples each backend's queue and CPU every millisecond while the strategy is
  /// least-busy, and steers anew when a backend turns busy or idle; copies the program's
  /// per-backend connection counts into the pool every 100 ms.
  asio::awaitable<void> watch_load();
  bool direct_mode() const { return options_.balancer.mode == balancer_mode::direct; }
  /// Where clients connect: the proxy's first listener, or direct mode's shared port.
  asio::ip::tcp::endpoint public_endpoint() const;
  /// Privileges: drops root to [balancer] user once everything that needs root is bound or
  /// open, handing the admin socket and the access log file to that user first; throws
  /// std::runtime_error if it cannot.
  void give_up_root();

  options& options_;
  run_plan& plan_;
  overrides flags_;
  asio::io_context io_;
  backend_pool pool_;
  std::unique_ptr<strategy> strategy_;
  std::string strategy_name_;
  std::unique_ptr<access_log> access_log_;
  buffer_pool small_buffers_;
  buffer_pool large_buffers_;
  pipe_pool pipes_;
  health_checker health_;
  proxy_context context_;
  client_limiter limiter_;
  server server_;
  /// Direct mode only: the listening sockets, one per backend, and what steers between them.
  std::optional<direct::reuseport_group> direct_group_;
  std::optional<direct::direct_steering> steering_;
  std::optional<direct::listener_load> load_;
  asio::ip::tcp::endpoint direct_endpoint_;
  system_process_env process_env_;
  // Before the supervisor: NOTIFY_SOCKET is ours, not the backends'.
  service_notifier service_;
  std::optional<guardian> guardian_;
  std::optional<supervisor> supervisor_;
  asio::signal_set signals_;
  std::optional<rolling_restart> rolling_;
  /// [backends] max_memory: restarts (rolling) a backend whose RSS is over it.
  std::optional<memory_watch> memory_watch_;
  std::optional<autoscaler> autoscaler_;
  admin_protocol admin_protocol_;
  std::optional<admin_server> admin_server_;
  /// The cores the process was allowed at start, before pinning itself (for reload plans).
  std::vector<int> host_cpus_;
  /// Names for servers added by a reload: never one used before in this run.
  std::size_t next_server_name_ = 0;
  int stop_signals_seen_ = 0;
  bool ready_ = false;
  bool stopping_ = false;
  int exit_code_ = 0;
  /// Last: destroyed (its thread stopped) before anything its snapshots read.
  std::optional<metrics_server> metrics_;
};

}  // namespace pinwheel
