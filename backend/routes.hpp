// The demo backend's routes: a request line in, a response out.
//
// Everything here is synchronous and runs on the event loop; /slow and /print block it on purpose.

#pragma once

#include <string>
#include <string_view>

namespace pinwheel::demo {

/// Who this backend is, as reported by /whoami.
struct identity {
  /// The process id.
  int pid = 0;
  /// The --index given on the command line.
  int index = 0;
  /// --proxy-protocol: every connection opens with a PROXY protocol header (v1 or v2).
  bool proxy_protocol = false;
};

/// What to send back, less the framing (status line, Content-Length, Connection).
struct response {
  /// The HTTP status code.
  int status = 200;
  /// The Content-Type header value.
  std::string_view content_type = "text/plain";
  /// The Allow header value, or empty for none.
  std::string_view allow;
  /// The body, sent in full even where it is empty.
  std::string body;
};

/// Answers `method` on `target` (origin-form or absolute-form) for `client` ("ip:port", what
/// /whoami reports); /slow burns CPU, /print writes to stderr and /grow?mb=N keeps N MiB more
/// of touched memory before returning.
response route(std::string_view method, std::string_view target, const identity& self,
               std::string_view client);

/// The answer to a request that could not be parsed; `reason` goes into the body.
response bad_request(std::string_view reason);

/// The answer to a request in an HTTP version other than 1.x.
response http_version_not_supported();

}  // namespace pinwheel::demo
