// What a PROXY protocol header says (HAProxy's PROXY protocol, versions 1 and 2).
//
// The header is the first bytes a proxy sends on a connection it opens for a client, so the
// server behind it learns the client's own address instead of the proxy's.
#pragma once

#include <asio/ip/tcp.hpp>
#include <optional>

namespace pinwheel::proxy_protocol {

/// Which header a connection carries: none, the text form (v1) or the binary form (v2).
enum class version { none, v1, v2 };

/// "none", "v1" or "v2", as configs write it.
const char* to_string(version v);

struct proxy_header {
  /// The client and the address it connected to. Unset for v2 LOCAL, v1 UNKNOWN and address
  /// families other than TCP over IPv4/IPv6: the receiver then keeps the connection's own.
  std::optional<asio::ip::tcp::endpoint> source;
  std::optional<asio::ip::tcp::endpoint> destination;
  version form = version::none;
};

/// Longest v1 header the specification allows ("PROXY TCP6 " + two full IPv6 addresses +
/// two ports + CRLF), and the longest either encoder writes.
constexpr std::size_t kMaxV1Bytes = 107;
constexpr std::size_t kMaxEncodedBytes = kMaxV1Bytes;
/// Longest v2 header accepted (16-byte preamble and TLVs included): larger ones are refused
/// rather than buffered, since the addresses need 52 bytes at most.
constexpr std::size_t kMaxV2Bytes = 4096;

}  // namespace pinwheel::proxy_protocol
