// Reads a PROXY protocol header (v1 or v2, told apart by their first bytes) from the start of
// a connection's bytes.
//
// Stateless: give it everything received so far; it says whether a whole header is there
// (and how many bytes it took: whatever follows is the client's own data), whether more bytes
// are needed, or why the bytes are not a valid header. It never reads past `bytes` and never
// asks for more than kMaxV1Bytes (v1) or kMaxV2Bytes (v2) in all, so a caller's buffer of
// kMaxV2Bytes always suffices. Safe from any thread.
#pragma once

#include <cstddef>
#include <string_view>

#include "proxy_protocol/proxy_header.hpp"

namespace pinwheel::proxy_protocol {

struct parse_result {
  enum class status {
    complete,    ///< `header` holds the header; it took `consumed` bytes
    incomplete,  ///< every byte so far fits a header: read more
    invalid,     ///< not a header, or a malformed one: `error` says what is wrong
  };
  status what = status::incomplete;
  std::size_t consumed = 0;
  proxy_header header;
  /// For invalid: what is wrong, e.g. "v1: bad source port".
  std::string_view error;
};

/// Parses the header at the start of `bytes`.
parse_result parse_header(std::string_view bytes);

}  // namespace pinwheel::proxy_protocol
