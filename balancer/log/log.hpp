// Logging: one line per event on stderr, prefixed "pinwheel: ".
//
// Each line goes out in a single write(2) so lines from the balancer and the
// backends' forwarded output never interleave mid-line.
#pragma once

#include <sstream>
#include <string_view>

namespace pinwheel {

/// Writes "pinwheel: <message>\n" to stderr.
void log_line(std::string_view message);

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

/// Writes `text` to `fd` completely (retrying short writes and EINTR); errors are ignored.
void write_fully(int fd, std::string_view text);

}  // namespace pinwheel
