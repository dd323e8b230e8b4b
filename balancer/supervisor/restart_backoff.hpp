// When to start a backend again after it exited, and when to give up on it.
//
// An exit within min_uptime of starting is a quick exit; a failed start is one too. The first
// restart waits restart_delay, each further quick exit in a row doubles the wait up to
// restart_delay_max, and the exit after max_restarts quick ones in a row gives the backend up.
// A run of min_uptime or longer starts the count over. Pure: times come in as arguments, so
// tests need no clock. Immutable after construction.
#pragma once

#include <chrono>

#include "config/duration.hpp"
#include "config/options.hpp"

namespace pinwheel {

class restart_backoff {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  /// What to do after one exit.
  struct decision {
    /// Quick exits in a row, this one included (0 after a run of min_uptime or longer).
    int quick_exits = 0;
    /// Crash-looping: do not start it again.
    bool give_up = false;
    /// How long to wait before the next start, when not giving up.
    duration delay{0};
  };

  /// Reads restart_delay, restart_delay_max, min_uptime and max_restarts.
  explicit restart_backoff(const backends_options& options);

  /// A process started at `started` ended (or failed to start) at `now`, after `quick_exits`
  /// quick exits in a row.
  decision after_exit(int quick_exits, time_point started, time_point now) const;

 private:
  duration delay_;
  duration delay_max_;
  duration min_uptime_;
  int max_restarts_;
};

}  // namespace pinwheel
