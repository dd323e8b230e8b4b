// Logging: one line per event on stderr, prefixed "pinwheel: ".
//
// Lines go through the process's stderr sink (log_sink): a call never blocks on the descriptor,
// whoever reads it and however slowly, and lines never interleave mid-line with the backends'
// forwarded output. At exit the sinks get up to a second to write what is still queued.
#pragma once

#include <sstream>
#include <string_view>

#include "log/log_sink.hpp"

namespace pinwheel {

/// The sink in front of the process's stdout: backends' forwarded stdout goes there.
log_sink& stdout_sink();

/// The sink in front of the process's stderr: log lines and backends' forwarded stderr.
log_sink& stderr_sink();

/// Queues "pinwheel: <message>\n" for stderr.
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

}  // namespace pinwheel
