// A block of addresses in CIDR notation ("10.0.0.0/8", "fd00::/8", or one address).
#pragma once

#include <asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace pinwheel {

struct address_range {
  asio::ip::address network;
  /// Leading bits that must match: 0 to 32 for IPv4, 0 to 128 for IPv6.
  unsigned prefix = 0;

  /// True when `a` lies in the block. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is taken
  /// as its IPv4 address, so an IPv4 block covers clients of a dual-stack socket too.
  bool contains(const asio::ip::address& a) const;
};

/// Parses "10.0.0.0/8", "::1/128" or a lone address (a /32 or /128). Bits set past the prefix
/// are refused ("10.1.0.0/8" is most likely a typo). On failure returns nullopt and sets
/// `error` to why.
std::optional<address_range> parse_address_range(std::string_view text, std::string& error);

/// "10.0.0.0/8".
std::string to_string(const address_range& range);

}  // namespace pinwheel
