// The head of an HTTP/1.x request as the metrics listener needs it: method and path, or the
// status to refuse it with. Only what a scraper, a browser or curl sends is accepted.
#pragma once

#include <string>
#include <string_view>

namespace pinwheel {

struct http_request_head {
  std::string method;
  /// The target without its query string.
  std::string path;
  /// 0 when well formed; else 400 (malformed) or 505 (not HTTP/1.x).
  int error_status = 0;
  /// Why it was refused, for the response body.
  std::string error;
};

/// Parses `head`: the request line and header lines, each ending in CRLF (or LF), up to and
/// without the empty line.
http_request_head parse_request_head(std::string_view head);

}  // namespace pinwheel
