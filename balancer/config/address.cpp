#include "config/address.hpp"

#include <charconv>

namespace pinwheel {

std::optional<asio::ip::address> parse_host(std::string_view text, std::string& error) {
  if (text == "localhost") return asio::ip::address_v4::loopback();
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  asio::error_code ec;
  auto address = asio::ip::make_address(std::string(text), ec);
  if (ec) {
    error = "\"" + std::string(text) + "\" is not an IP address (use e.g. 127.0.0.1 or ::1)";
    return std::nullopt;
  }
  return address;
}

std::optional<asio::ip::tcp::endpoint> parse_endpoint(std::string_view text, std::string& error) {
  std::size_t colon = text.rfind(':');
  bool bracketed = !text.empty() && text.front() == '[';
  if (colon == std::string_view::npos || (bracketed && text[colon - 1] != ']') ||
      (!bracketed && text.find(':') != colon)) {
    error = "\"" + std::string(text) + "\" is not host:port (IPv6 as [::1]:8080)";
    return std::nullopt;
  }
  std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    error = "port \"" + std::string(port_text) + "\" in \"" + std::string(text) +
            "\" is not a number from 0 to 65535";
    return std::nullopt;
  }
  auto host = parse_host(text.substr(0, colon), error);
  if (!host) return std::nullopt;
  return asio::ip::tcp::endpoint(*host, static_cast<unsigned short>(port));
}

std::string to_string(const asio::ip::tcp::endpoint& endpoint) {
  std::string host = endpoint.address().to_string();
  if (endpoint.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

namespace {

// "::ffff:127.0.0.1" is 127.0.0.1 to the kernel.
asio::ip::address unmapped(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  return address;
}

}  // namespace

bool covers(const asio::ip::address& bound, const asio::ip::address& target) {
  asio::ip::address b = unmapped(bound), t = unmapped(target);
  if (b == t) return true;
  if (!b.is_unspecified()) return false;
  return b.is_v6() || t.is_v4();
}

bool clash(const asio::ip::tcp::endpoint& a, const asio::ip::tcp::endpoint& b) {
  return a.port() == b.port() &&
         (covers(a.address(), b.address()) || covers(b.address(), a.address()));
}

}  // namespace pinwheel
