// Spawns the backends, pins each to its core, restarts those that exit, and stops them on
// shutdown — Node's cluster.fork() + on('exit'), built in.
//
// A start that fails (no pipes, no process, no exec) is handled like an exit at once. Restarts
// back off as restart_backoff decides; a backend given up as crash-looping keeps
// process.given_up, is never started again, and is reported to on_given_up while the others
// keep serving. Each backend is its own process group, which is SIGKILLed when its leader
// exits (so nothing it started keeps the port) and watched by the guardian, so the whole tree
// dies with the balancer even on kill -9. All OS access and time go through process_env.
// Single-threaded.
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
#include <set>
#include <string>

#include "config/options.hpp"
#include "health/health_checker.hpp"
#include "pool/backend_pool.hpp"
#include "supervisor/guardian.hpp"
#include "supervisor/notify_receiver.hpp"
#include "supervisor/output_forwarder.hpp"
#include "supervisor/process_env.hpp"
#include "supervisor/restart_backoff.hpp"

namespace pinwheel {

class supervisor {
 public:
  /// `guardian` may be null (no protection beyond PR_SET_PDEATHSIG); `on_given_up` hears of
  /// each backend given up as crash-looping.
  supervisor(asio::io_context& io, const backends_options& options, backend_pool& pool,
             health_checker& health, process_env& env, guardian* guardian,
             std::function<void(backend&)> on_given_up);

  ~supervisor();
  supervisor(const supervisor&) = delete;
  supervisor& operator=(const supervisor&) = delete;

  /// Socket activation with a socket made elsewhere (direct mode's shared port): `b` gets a
  /// copy of `listen_fd` as descriptor 3 instead of one bound to its own address. Before start().
  void adopt_listener(const backend& b, int listen_fd);

  /// Opens the backends' NOTIFY_SOCKET (and, with socket_activation, binds the listening
  /// sockets not adopted) and spawns every member of the pool that has a
  /// command; throws std::system_error if the socket cannot be made.
  void start();

  /// SIGTERM to every backend, SIGKILL to those still running after stop_timeout; returns
  /// once all have been reaped. Pending restarts are cancelled.
  asio::awaitable<void> stop();

  /// SIGKILL to every backend's process group now (a third Ctrl-C).
  void kill_all();

  /// A deliberate restart of `b` (rolling restart, reload): stops its process (SIGTERM, SIGKILL
  /// after stop_timeout) and starts it again at once with its current argv and cpu. It never
  /// counts as a crash: no back-off, and its quick-exit streak and given-up mark are cleared.
  /// Returns once a new process was started (or the start failed, which backs off as usual).
  asio::awaitable<void> replace(backend& b);
  /// Stops `b` for good (scale down): SIGTERM, SIGKILL after stop_timeout, never restarted.
  /// Returns once it has been reaped; the caller then retires it from the pool.
  asio::awaitable<void> stop_one(backend& b);
  /// Starts a backend added to the pool after start() (scale up).
  void add(backend& b) { spawn(b, false); }

 private:
  /// Binds and listens on b's address (socket activation); throws std::system_error.
  void bind_listener(backend& b);
  /// Starts `b` unless it runs, is given up, or we are stopping; `restart`: not its first.
  void spawn(backend& b, bool restart);
  /// Starts b's process with its output forwarded; 0 and `failure` set if none runs, and
  /// `local_error` too when the failure was the balancer's own (descriptors, memory).
  pid_t start_process(backend& b, std::string& failure, std::error_code& local_error);
  /// Fills in the limits and the user a backend starts with ([backends] user, max_*).
  void apply_privileges(process_spec& spec) const;
  /// Copies a child's pipe to `target` until end of file.
  void forward(int pipe_fd, log_sink& target, const std::string& prefix);
  asio::awaitable<void> reap_loop();
  /// An sd_notify datagram from `pid`: a backend's process or one in its process group.
  void notified(pid_t pid, const notify_message& m);
  /// Kills backends whose last WATCHDOG=1 is older than the watchdog interval.
  asio::awaitable<void> watchdog_loop();
  void exited(backend& b, int status);
  /// After an exit or a failed start (`how`): restart later, or give up.
  /// `counts`: whether this was the backend's doing, bringing it nearer to being given up.
  void schedule_restart(backend& b, const std::string& how, bool counts = true);
  std::size_t running() const;
  /// SIGTERM to b's group, then SIGKILL after stop_timeout; returns once it was reaped.
  asio::awaitable<void> terminate(backend& b);
  /// The timer that delays `b`'s next start.
  asio::steady_timer& restart_timer(backend& b);

  asio::io_context& io_;
  const backends_options& options_;
  backend_pool& pool_;
  health_checker& health_;
  process_env& env_;
  guardian* guardian_;
  restart_backoff backoff_;
  std::function<void(backend&)> on_given_up_;
  std::map<const backend*, std::unique_ptr<asio::steady_timer>> restart_timers_;
  /// Backends being stopped on purpose: restarted at once (replace) or not at all (stop_one).
  std::map<const backend*, bool> deliberate_stops_;
  notify_receiver notify_;
  /// Socket activation: each backend's listening socket, bound by us and kept across restarts.
  std::map<const backend*, int> listen_fds_;
  asio::steady_timer watchdog_timer_;
  asio::signal_set sigchld_;
  asio::steady_timer child_exited_;    // cancelled on every reap, to wake stop()
  asio::steady_timer outputs_closed_;  // cancelled when the last output pipe closes
  std::size_t open_outputs_ = 0;
  bool stopping_ = false;
};

/// "exited with status 1" or "was killed by signal 9 (Killed)".
std::string describe_exit(int wait_status);

}  // namespace pinwheel
