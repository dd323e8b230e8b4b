// Formats one access log line for a closed connection, text (logfmt) or JSON.
//
// text: time=2026-11-23T06:10:00.123Z client=127.0.0.1:51234 backend=0
//       backend_address=127.0.0.1:9001 connect_time=0.000412 duration=0.012345 bytes_in=78
//       bytes_out=1234 retries=0 end=client_close
// json: the same keys in one object; an absent backend or connect time is "-" in text, null
//       in JSON. Times in seconds (microsecond resolution), as Prometheus counts them;
//       bytes_in went client -> backend, bytes_out backend -> client (the metrics' words).
// Text values with spaces, quotes, '=' or control characters are quoted with \-escapes, so a
// backend name can never forge a key. Appends to a caller's string, which keeps its capacity
// from line to line: no allocation per line once it has grown.
#pragma once

#include <chrono>
#include <string>

#include "config/options.hpp"
#include "proxy/connection_record.hpp"

namespace pinwheel {

/// Appends the line for `record` (ended at `ended`), without its newline, to `out`.
void append_access_log_line(std::string& out, const connection_record& record,
                            std::chrono::system_clock::time_point ended, access_log_format format);

}  // namespace pinwheel
