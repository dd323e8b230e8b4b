#include "supervisor/restart_backoff.hpp"

#include <algorithm>

namespace pinwheel {

restart_backoff::restart_backoff(const backends_options& options)
    : delay_(options.restart_delay),
      delay_max_(options.restart_delay_max),
      min_uptime_(options.min_uptime),
      max_restarts_(options.max_restarts) {}

restart_backoff::decision restart_backoff::after_exit(int quick_exits, time_point started,
                                                      time_point now) const {
  decision d;
  d.quick_exits = now - started >= min_uptime_ ? 0 : quick_exits + 1;
  // The delay is set even when giving up: a caller that retries anyway (the balancer's own
  // shortage is never the backend's fault) still backs off.
  d.delay = delay_;
  // Doubling stops at the ceiling, so a long crash loop cannot overflow the delay.
  for (int i = 1; i < d.quick_exits && d.delay < delay_max_; ++i) d.delay *= 2;
  d.delay = std::min(d.delay, delay_max_);
  d.give_up = d.quick_exits > max_restarts_;
  return d;
}

}  // namespace pinwheel
