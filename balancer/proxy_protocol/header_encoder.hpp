// Writes PROXY protocol headers (v1 text, v2 binary) for TCP over IPv4 and IPv6.
//
// Into caller-provided memory, so the proxy can place the header right before the client's
// first bytes and send both with one write. No allocation; safe from any thread.
#pragma once

#include <array>
#include <cstddef>

#include "proxy_protocol/proxy_header.hpp"

namespace pinwheel::proxy_protocol {

/// An encoded header: bytes [0, size) of `bytes`.
struct encoded_header {
  std::array<char, kMaxEncodedBytes> bytes{};
  std::size_t size = 0;
};

/// The header announcing a relayed connection from `source` to `destination` in form `v`
/// (v1 or v2). Mixed families (one IPv4, one IPv6) are sent as IPv6, the IPv4 one mapped
/// (::ffff:a.b.c.d), as the header has one family. Empty for version::none.
encoded_header encode(version v, const asio::ip::tcp::endpoint& source,
                      const asio::ip::tcp::endpoint& destination);

/// The header of a connection the proxy makes for itself (a health check): v2 LOCAL, or v1
/// "PROXY UNKNOWN"; either tells the receiver to keep the connection's own addresses.
encoded_header encode_local(version v);

}  // namespace pinwheel::proxy_protocol
