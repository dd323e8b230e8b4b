// Which of a backend's repeated check failures deserve a log line: the first of a run, a new
// reason (at most once a second, so a flapping reason cannot flood the log), and a reminder
// every 10 s while the failures go on. Each line says how many failures and for how long.
//
// Pure: no I/O, no clock of its own (time comes in as arguments). Single-threaded.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace pinwheel {

class check_failure_log {
 public:
  using clock = std::chrono::steady_clock;

  /// While the reason stays the same, lines are this far apart.
  static constexpr std::chrono::seconds kRepeat{10};
  /// A changed reason is logged at once, but never sooner than this after the last line.
  static constexpr std::chrono::seconds kMinGap{1};

  /// Counts a failed check at `now`; returns the line to log, e.g. "check failed: connect:
  /// Connection refused (12 failures in 2s400ms)", or nullopt when this one is not worth a line.
  std::optional<std::string> failed(const std::string& why, clock::time_point now);

  /// Ends the run (a check passed, or the process was restarted): the next failure is a first.
  void reset();

  /// Failures counted in this run.
  int failures() const { return failures_; }

 private:
  int failures_ = 0;
  clock::time_point first_{};
  clock::time_point last_line_{};
  std::string last_logged_why_;
};

}  // namespace pinwheel
