// Active health checks (TCP connect or HTTP GET), one loop per backend, plus the
// results reported from outside: failed proxy connects and process restarts.
//
// Every up/down change is logged with its reason and reported to on_change. While a backend
// is starting, its failing checks are logged too (first, new reason, every 10 s), so a
// backend that never comes up says why.
//
// What is never held against a backend:
// - a check that failed for the balancer's own shortage (is_local_error: out of descriptors,
//   buffers, memory or local ports) is skipped, and logged once per run of such skips;
// - a spawned backend with no process (between restarts, or given up) is not checked at all,
//   so a stranger that takes its port can never bring it up; checks start one starting
//   interval after its process does, and a result about a process that has since exited is
//   dropped.
// Single-threaded.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "config/options.hpp"
#include "health/check_failure_log.hpp"
#include "pool/backend_pool.hpp"

namespace pinwheel {

class health_checker {
 public:
  /// Opens and binds a check's socket before it connects to `b`, setting `ec` on failure, and
  /// returns what to undo once the check is over (may be empty). Direct mode uses it: every
  /// backend listens on the shared public port, so a check's source port tells the kernel
  /// program which backend the check is for.
  using probe_route = std::function<std::function<void()>(
      const backend& b, asio::ip::tcp::socket& socket, std::error_code& ec)>;

  health_checker(asio::io_context& io, const health_options& options, backend_pool& pool,
                 std::function<void(backend&)> on_change);

  /// Backends expect a PROXY header (send_proxy): checks send v2 LOCAL, or for v1 nothing
  /// with tcp checks and "PROXY UNKNOWN" before an http check's request (else the backend
  /// could not read it); either tells the backend the connection is the balancer's own.
  void send_proxy(proxy_protocol::version v) { send_proxy_ = v; }

  /// How checks reach each backend (direct mode); unset: a plain connect to its endpoint.
  void route_probes(probe_route route) { route_ = std::move(route); }

  /// What brings a starting spawned backend up (default: its first passing check).
  void readiness(readiness_kind kind) { readiness_ = kind; }

  /// Starts checking every backend (nothing for kind "none").
  void start();
  /// Stops all checks; pending ones end within their timeout.
  void stop();
  /// Starts checking a backend added after start() (reload).
  void add(backend& b);
  /// Stops checking a backend retired from the pool (reload).
  void remove(backend& b);

  /// A failed proxy connect (passive check); ignored for kind "none", where nothing
  /// would ever bring the backend back. `why` is logged on a change.
  void connect_failed(backend& b, const std::string& why);
  /// The backend's process was started: checked backends stay down until their first good
  /// check, due one starting interval from now; unchecked ones (kind "none") are trusted at once.
  void process_started(backend& b);
  /// The backend's process sent READY=1: up at once under readiness "notify", checked at once
  /// under "both".
  void ready_announced(backend& b);
  /// The backend's process sent STOPPING=1: down at once (starting again).
  void stopping_announced(backend& b);
  /// The backend's process exited: down at once, and not checked until a new one starts.
  void process_exited(backend& b, const std::string& why);

 private:
  /// What one check found.
  struct check_result {
    enum class outcome {
      passed,
      failed,   ///< the backend's fault: counts towards `fall`
      skipped,  ///< the balancer's own shortage: counts for nothing
    };
    outcome what = outcome::passed;
    /// Why it failed or was skipped.
    std::string why;
  };

  /// One backend's check loop state.
  struct watch {
    explicit watch(asio::io_context& io) : timer(io) {}
    /// Paces the checks; cancelled to wake the loop when a process starts.
    asio::steady_timer timer;
    /// Failures while starting, for the "still starting" lines.
    check_failure_log starting_failures;
    /// health.since() of the starting period those failures belong to.
    health_state::clock::time_point starting_since{};
    /// A check was skipped for a local error and no check has completed since.
    bool skipping = false;
    /// The backend was retired: the loop ends (the watch itself stays, the loop holds it).
    bool retired = false;
  };

  asio::awaitable<void> check_loop(backend& b, watch& w);
  /// One check, bounded by the timeout.
  asio::awaitable<check_result> check_once(const backend& b);
  asio::awaitable<check_result> probe(const backend& b);
  /// Whether there is something to check: a spawned backend needs a running process.
  static bool checkable(const backend& b);
  /// Whether a starting spawned backend still waits for READY=1 before a check may count.
  bool awaits_ready(const backend& b) const;
  void record(backend& b, watch& w, const check_result& result);
  void report(backend& b, bool changed, const std::string& why);

  asio::io_context& io_;
  const health_options& options_;
  proxy_protocol::version send_proxy_ = proxy_protocol::version::none;
  readiness_kind readiness_ = readiness_kind::health;
  backend_pool& pool_;
  std::function<void(backend&)> on_change_;
  probe_route route_;
  std::map<const backend*, std::unique_ptr<watch>> watches_;
  bool stopped_ = false;
};

}  // namespace pinwheel
