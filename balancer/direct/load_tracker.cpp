#include "direct/load_tracker.hpp"

namespace pinwheel::direct {

load_tracker::load_tracker(std::size_t backends, busy_rule rule) : rule_(rule), state_(backends) {}

void load_tracker::record(std::size_t backend, const load_reading& reading) {
  state& s = state_.at(backend);
  backend_load& load = s.load;
  load.queue_shrinking = s.has_queue && reading.queue < load.queue;
  load.queue = reading.queue;
  load.backlog = reading.backlog;
  s.has_queue = true;

  if (!reading.run_ns || (s.window_start && *reading.run_ns < s.window_start_run_ns)) {
    // No process, or another one (its run time went back): no share until a window passes.
    load.cpu_share.reset();
    s.window_start.reset();
  }
  if (reading.run_ns) {
    if (!s.window_start) {
      s.window_start = reading.at;
      s.window_start_run_ns = *reading.run_ns;
    } else if (reading.at - *s.window_start >= rule_.cpu_window) {
      const auto wall = std::chrono::duration<double, std::nano>(reading.at - *s.window_start);
      load.cpu_share = static_cast<double>(*reading.run_ns - s.window_start_run_ns) / wall.count();
      s.window_start = reading.at;
      s.window_start_run_ns = *reading.run_ns;
    }
  }

  const bool stuck_queue = load.queue >= rule_.queue_at_least && !load.queue_shrinking;
  const bool on_cpu = load.cpu_share && *load.cpu_share >= rule_.cpu_share_at_least;
  load.busy = stuck_queue || on_cpu;
}

void load_tracker::forget(std::size_t backend) { state_.at(backend) = state{}; }

}  // namespace pinwheel::direct
