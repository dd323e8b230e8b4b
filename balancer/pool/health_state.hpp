// The up/down state of one backend, driven by check results (HAProxy's rise/fall).
//
// Pure state: no I/O, no clock of its own (time comes in as arguments), so tests
// can drive it with a fake clock. Single-threaded like the rest of the balancer.
#pragma once

#include <chrono>

namespace pinwheel {

class health_state {
 public:
  using clock = std::chrono::steady_clock;

  enum class status {
    starting,  ///< just (re)started: down until its first success
    up,        ///< receives new connections
    down,      ///< failed `fall` times in a row: needs `rise` successes
  };

  /// `initially_up` is for backends nobody checks (health kind "none").
  health_state(int rise, int fall, bool initially_up = false);

  /// Records a check or proxy-connect result at `now`; returns true if up() changed.
  bool record(bool success, clock::time_point now);

  /// The backend's process (re)started or exited: down until its first success.
  /// Returns true if up() changed.
  bool restart(clock::time_point now);

  /// A reload changed rise or fall: they apply from the next result on.
  void set_thresholds(int rise, int fall) {
    rise_ = rise;
    fall_ = fall;
  }

  bool up() const { return status_ == status::up; }
  status current() const { return status_; }
  /// When the status last changed.
  clock::time_point since() const { return since_; }
  /// Successes (while down) or failures (while up) counted towards the next change.
  int streak() const { return streak_; }

 private:
  bool change_to(status next, clock::time_point now);

  int rise_;
  int fall_;
  status status_;
  int streak_ = 0;
  clock::time_point since_{};
};

/// "starting", "up" or "down".
const char* to_string(health_state::status status);

}  // namespace pinwheel
