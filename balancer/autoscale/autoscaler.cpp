#include "autoscale/autoscaler.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdio>

#include "common/spawn_background.hpp"
#include "log/log.hpp"

namespace pinwheel {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

std::string figures(const load_sample& s) {
  char text[160];
  if (s.measured == 0) return "no backend measured";
  std::snprintf(text, sizeof text,
                "measured %d of %d backend(s): mean cpu %.2f, %.2f connection(s) awaiting a "
                "reply per backend",
                s.measured, s.backends, s.cpu / s.measured, s.queued / s.measured);
  return text;
}

}  // namespace

autoscaler::autoscaler(asio::io_context& io, const options& options, backend_pool& pool,
                       std::function<int()> backends_now, std::function<bool(int)> scale_to,
                       load_sampler::cpu_reader read)
    : io_(io),
      options_(options),
      pool_(pool),
      backends_now_(std::move(backends_now)),
      scale_to_(std::move(scale_to)),
      sampler_(std::move(read)),
      decider_(options.autoscale),
      timer_(io) {}

void autoscaler::start() {
  decider_.reset();
  if (running_ || stopped_ || !options_.backends.autoscaled()) return;
  running_ = true;
  const backends_options& b = options_.backends;
  log("auto-scaling between ", b.min, " and ", b.max, " backends, measuring every ",
      format_duration(options_.autoscale.interval));
  spawn_background(io_, run(), "auto-scaling");
}

void autoscaler::stop() {
  stopped_ = true;
  timer_.cancel();
}

asio::awaitable<void> autoscaler::run() {
  while (!stopped_ && options_.backends.autoscaled()) {
    timer_.expires_after(options_.autoscale.interval);
    co_await timer_.async_wait(use_tuple);  // cancelled or not, the loop condition decides
    if (stopped_ || !options_.backends.autoscaled()) break;
    tick(clock::now());
  }
  if (!stopped_) log("auto-scaling off ([backends] min and max no longer differ)");
  running_ = false;
  last_.reset();
}

bool autoscaler::settling(int backends) const {
  int members = 0;
  for (const backend* b : pool_.members()) {
    if (!b->spawned()) continue;
    ++members;
    if (b->health.current() == health_state::status::starting && !b->process.given_up) return true;
  }
  return members != backends;
}

void autoscaler::tick(clock::time_point now) {
  int backends = backends_now_();
  load_sample s = sampler_.sample(pool_.members(), backends, now);
  last_ = s;
  // A backend just up is judged from its second reading on, not taken for an idle one.
  if (s.fresh > 0 || settling(backends)) {
    decider_.reset();
    return;
  }
  const backends_options& b = options_.backends;
  scale_decision d = decider_.decide(s, b.min, b.max, now);
  if (d.at_max && !told_at_max_) {
    log_warning("auto-scaling: the load calls for more backends but max ", b.max, " are running (",
                figures(s), "); raise [backends] max to allow more");
  }
  told_at_max_ = d.at_max;
  if (d.direction == scale_direction::none) return;
  log("auto-scaling ", d.direction == scale_direction::up ? "up" : "down", ": ", backends, " -> ",
      d.target, " backends (", d.reason, "; ", figures(s), ")");
  // The scale path logged why; the load must then hold anew before the next try.
  if (!scale_to_(d.target)) decider_.reset();
}

}  // namespace pinwheel
