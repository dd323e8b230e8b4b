#include "health/check_failure_log.hpp"

#include "config/duration.hpp"

namespace pinwheel {

std::optional<std::string> check_failure_log::failed(const std::string& why,
                                                     clock::time_point now) {
  if (++failures_ == 1) first_ = now;
  bool first = failures_ == 1;
  bool new_reason = why != last_logged_why_ && now - last_line_ >= kMinGap;
  bool reminder = now - last_line_ >= kRepeat;
  if (!first && !new_reason && !reminder) return std::nullopt;
  last_line_ = now;
  last_logged_why_ = why;
  if (first) return "check failed: " + why + " (first failure)";
  // Tenths of a second are plenty for "how long has this been going on".
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - first_);
  elapsed -= elapsed % 100;
  return "check failed: " + why + " (" + std::to_string(failures_) + " failures in " +
         format_duration(elapsed) + ")";
}

void check_failure_log::reset() {
  failures_ = 0;
  last_logged_why_.clear();
}

}  // namespace pinwheel
