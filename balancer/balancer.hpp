// One Pinwheel run: wires the server, the strategy, health checks and the
// supervisor to one single-threaded io_context pinned to the balancer's core.
//
// Start-up: pin, bind, spawn backends, check them, accept once one is up.
// SIGINT/SIGTERM: stop accepting, drain, stop backends, exit 0; a second signal
// cuts the drain short.
#pragma once

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "pool/backend.hpp"
#include "proxy/buffer_pool.hpp"
#include "health/health_checker.hpp"
#include "config/options.hpp"
#include "config/run_plan.hpp"
#include "proxy/server.hpp"
#include "proxy/session.hpp"
#include "strategy/strategy.hpp"
#include "supervisor/supervisor.hpp"

namespace pinwheel {

class balancer {
 public:
  balancer(const options& o, const run_plan& plan);

  /// Runs until a stop signal and the shutdown that follows; returns the exit code.
  /// Throws config_error if the listen address cannot be bound.
  int run();

 private:
  asio::awaitable<void> handle_signals();
  asio::awaitable<void> shutdown();
  void on_health_change(backend& b);
  std::size_t backends_up() const;

  const options& options_;
  const run_plan& plan_;
  asio::io_context io_;
  std::vector<backend> backends_;
  std::unique_ptr<strategy> strategy_;
  buffer_pool small_buffers_;
  buffer_pool large_buffers_;
  health_checker health_;
  proxy_context context_;
  server server_;
  std::optional<supervisor> supervisor_;
  asio::signal_set stop_signals_;
  bool ready_ = false;
  bool stopping_ = false;
};

}  // namespace pinwheel
