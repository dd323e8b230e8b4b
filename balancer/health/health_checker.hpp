// Active health checks (TCP connect or HTTP GET), one loop per backend, plus the
// results reported from outside: failed proxy connects and process restarts.
//
// Every up/down change is logged with its reason and reported to on_change.
// Single-threaded.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/options.hpp"
#include "pool/backend_pool.hpp"

namespace pinwheel {

class health_checker {
 public:
  health_checker(asio::io_context& io, const health_options& options, backend_pool& pool,
                 std::function<void(backend&)> on_change);

  /// Starts checking every backend (nothing for kind "none").
  void start();
  /// Stops all checks; pending ones end within their timeout.
  void stop();

  /// A failed proxy connect (passive check); ignored for kind "none", where nothing
  /// would ever bring the backend back. `why` is logged on a change.
  void connect_failed(backend& b, const std::string& why);
  /// The backend's process was started: checked backends stay down until their first good
  /// check; unchecked ones (kind "none") are trusted at once.
  void process_started(backend& b);
  /// The backend's process exited: down at once.
  void process_exited(backend& b, const std::string& why);

 private:
  asio::awaitable<void> check_loop(backend& b, asio::steady_timer& timer);
  /// One check; nullopt on success, otherwise why it failed.
  asio::awaitable<std::optional<std::string>> check_once(const backend& b);
  asio::awaitable<std::optional<std::string>> probe(const backend& b);
  void report(backend& b, bool changed, const std::string& why);

  asio::io_context& io_;
  const health_options& options_;
  backend_pool& pool_;
  std::function<void(backend&)> on_change_;
  std::vector<std::unique_ptr<asio::steady_timer>> timers_;
  bool stopped_ = false;
};

}  // namespace pinwheel
