#include "log/log.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>

namespace pinwheel {

namespace {

// What exit gives queued lines to get out: enough for a reader that keeps up, and all a reader
// that has stalled for good can hold up the exit.
constexpr std::chrono::seconds kExitFlushTimeout(1);

struct standard_sinks {
  log_sink out{STDOUT_FILENO, "stdout"};
  log_sink err{STDERR_FILENO, "stderr"};
};

void stop_at_exit();

standard_sinks& sinks() {
  // Never destroyed, only stopped at exit: a line logged later in the exit (from a static
  // destructor, say) is then dropped rather than handed to a destroyed sink.
  static standard_sinks* const instance = [] {
    auto* created = new standard_sinks;
    std::atexit(stop_at_exit);
    return created;
  }();
  return *instance;
}

void stop_at_exit() {
  // One deadline for both: their writers drain side by side meanwhile. stderr first: it holds
  // the last word ("stopped").
  const auto deadline = std::chrono::steady_clock::now() + kExitFlushTimeout;
  sinks().err.stop(deadline);
  sinks().out.stop(deadline);
}

}  // namespace

log_sink& stdout_sink() { return sinks().out; }

log_sink& stderr_sink() { return sinks().err; }

namespace {
std::string* captured = nullptr;  // set by a live log_capture
}  // namespace

log_capture::log_capture() { captured = &text_; }
log_capture::~log_capture() { captured = nullptr; }

void log_line(std::string_view message) {
  if (captured != nullptr) {
    captured->append("pinwheel: ").append(message).push_back('\n');
    return;
  }
  stderr_sink().write_line({"pinwheel: ", message});
}

}  // namespace pinwheel
