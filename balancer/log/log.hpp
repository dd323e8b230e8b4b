// Logging: one line per event on stderr, prefixed "pinwheel: ".
//
// Lines go through the process's stderr sink (log_sink): a call never blocks on the descriptor,
// whoever reads it and however slowly, and lines never interleave mid-line with the backends'
// forwarded output. At exit the sinks get up to a second to write what is still queued.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

#include "log/log_sink.hpp"

namespace pinwheel {

/// The sink in front of the process's stdout: backends' forwarded stdout goes there.
log_sink& stdout_sink();

/// The sink in front of the process's stderr: log lines and backends' forwarded stderr.
log_sink& stderr_sink();

/// Queues "pinwheel: <message>\n" for stderr.
void log_line(std::string_view message);

/// While alive, log lines are kept here instead of going to stderr, so a unit test can assert
/// what an operator would read. One at a time, on the thread that logs.
class log_capture {
 public:
  log_capture();
  ~log_capture();
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  /// The lines captured so far, each with its "pinwheel: " prefix and '\n'.
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

/// Streams the arguments into one log line.
template <class... Args>
void log(const Args&... args) {
  std::ostringstream line;
  (line << ... << args);
  log_line(line.str());
}

/// Like log(), with "warning: " before the message.
template <class... Args>
void log_warning(const Args&... args) {
  log("warning: ", args...);
}

}  // namespace pinwheel
