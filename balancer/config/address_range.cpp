#include "config/address_range.hpp"

#include <charconv>

namespace pinwheel {

namespace {

asio::ip::address unmapped(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

template <class Bytes>
bool prefix_matches(const Bytes& a, const Bytes& b, unsigned bits) {
  for (std::size_t i = 0; i < a.size() && bits > 0; ++i, bits = bits >= 8 ? bits - 8 : 0) {
    unsigned mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a[i] & mask) != (b[i] & mask)) return false;
  }
  return true;
}

}  // namespace

bool address_range::contains(const asio::ip::address& candidate) const {
  asio::ip::address a = unmapped(candidate);
  if (a.is_v4() != network.is_v4()) return false;
  if (a.is_v4()) return prefix_matches(a.to_v4().to_bytes(), network.to_v4().to_bytes(), prefix);
  return prefix_matches(a.to_v6().to_bytes(), network.to_v6().to_bytes(), prefix);
}

std::optional<address_range> parse_address_range(std::string_view text, std::string& error) {
  std::string quoted = "\"" + std::string(text) + "\"";
  std::size_t slash = text.find('/');
  std::string host(text.substr(0, slash));
  asio::error_code ec;
  auto network = asio::ip::make_address(host, ec);
  if (ec) {
    error = quoted +
            " is not an address block; write e.g. \"10.0.0.0/8\", \"fd00::/8\" or "
            "\"192.0.2.7\"";
    return std::nullopt;
  }
  network = unmapped(network);
  unsigned width = network.is_v4() ? 32 : 128;
  unsigned prefix = width;
  if (slash != std::string_view::npos) {
    std::string_view bits = text.substr(slash + 1);
    auto [end, parse_ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
    if (bits.empty() || parse_ec != std::errc() || end != bits.data() + bits.size() ||
        prefix > width) {
      error = quoted + ": the prefix length must be 0 to " + std::to_string(width);
      return std::nullopt;
    }
  }
  address_range range{network, prefix};
  // Host bits set: the block is not what was meant, e.g. 10.1.0.0/8 for 10.0.0.0/8.
  bool host_bits = false;
  if (network.is_v4()) {
    auto b = network.to_v4().to_bytes();
    for (unsigned i = prefix; i < width; ++i) host_bits |= (b[i / 8] >> (7 - i % 8)) & 1;
  } else {
    auto b = network.to_v6().to_bytes();
    for (unsigned i = prefix; i < width; ++i) host_bits |= (b[i / 8] >> (7 - i % 8)) & 1;
  }
  if (host_bits) {
    error = quoted + " has bits set past its /" + std::to_string(prefix) +
            " prefix; write the block's first address";
    return std::nullopt;
  }
  return range;
}

std::string to_string(const address_range& range) {
  return range.network.to_string() + "/" + std::to_string(range.prefix);
}

}  // namespace pinwheel
