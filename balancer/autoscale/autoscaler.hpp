// Auto-scaling on the event loop: every [autoscale] interval it samples the spawned backends'
// load (load_sampler) and lets scale_decider decide; a change is carried out by `scale_to`,
// the wiring's scale path (the reload's way of adding a backend, or draining and removing the
// highest-numbered one). Each decision is logged with the figures it was made on.
//
// While a change is in flight — a removed backend still draining, or a backend starting (just
// added, restarted, rolled) or up but not yet read twice — it measures but does not decide,
// and the load must hold anew afterwards. Runs only while [backends] min < max; start() again after
// a reload turns it on. Single-threaded.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <functional>
#include <optional>

#include "autoscale/load_sampler.hpp"
#include "autoscale/scale_decider.hpp"
#include "config/options.hpp"
#include "pool/backend_pool.hpp"

namespace pinwheel {

class autoscaler {
 public:
  using clock = std::chrono::steady_clock;

  /// `options` are the running ones (a reload changes them in place); `backends_now` says how
  /// many backends the run has; `scale_to(n)` makes it n, or logs why it cannot and returns
  /// false.
  autoscaler(asio::io_context& io, const options& options, backend_pool& pool,
             std::function<int()> backends_now, std::function<bool(int)> scale_to,
             load_sampler::cpu_reader read);

  /// Starts sampling when auto-scaling is on and it is not running yet. After a reload: the
  /// load must hold anew under the new thresholds.
  void start();
  /// Stops sampling (shutdown).
  void stop();

  /// The last sample, for `ctl status` and the metrics; empty before the first.
  const std::optional<load_sample>& last_sample() const { return last_; }

 private:
  asio::awaitable<void> run();
  void tick(clock::time_point now);
  /// A change is in flight: a backend is draining out or starting.
  bool settling(int backends) const;

  asio::io_context& io_;
  const options& options_;
  backend_pool& pool_;
  std::function<int()> backends_now_;
  std::function<bool(int)> scale_to_;
  load_sampler sampler_;
  scale_decider decider_;
  asio::steady_timer timer_;
  std::optional<load_sample> last_;
  bool running_ = false;
  bool stopped_ = false;
  /// The "max reached" line was logged for the current stretch of high load.
  bool told_at_max_ = false;
};

}  // namespace pinwheel
