#include "proxy_protocol/header_parser.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "proxy_protocol/v2_signature.hpp"

namespace pinwheel::proxy_protocol {

namespace {

using status = parse_result::status;
using asio::ip::tcp;

constexpr std::string_view kV1Prefix = "PROXY ";

parse_result invalid(std::string_view why) {
  parse_result r;
  r.what = status::invalid;
  r.error = why;
  return r;
}

// True when `bytes` so far agree with `prefix` (either may be the shorter).
bool agrees(std::string_view bytes, std::string_view prefix) {
  std::size_t n = std::min(bytes.size(), prefix.size());
  return bytes.substr(0, n) == prefix.substr(0, n);
}

// Splits off the text up to the next space (or the end).
std::string_view next_field(std::string_view& rest) {
  std::size_t space = rest.find(' ');
  std::string_view field = rest.substr(0, space);
  rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  return field;
}

bool parse_port(std::string_view text, unsigned short& port) {
  if (text.empty() || text.size() > 5) return false;
  // Digits only: from_chars alone would take a leading '-' or stop at trailing junk.
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  unsigned value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  if (value > 65535) return false;
  port = static_cast<unsigned short>(value);
  return true;
}

bool parse_address(std::string_view text, bool v4, asio::ip::address& out) {
  // Longest textual IPv6 address with an embedded IPv4 one is 45 characters.
  if (text.empty() || text.size() > 45) return false;
  char copy[46];
  std::memcpy(copy, text.data(), text.size());
  copy[text.size()] = '\0';
  asio::error_code ec;
  if (v4) {
    auto a = asio::ip::make_address_v4(copy, ec);
    if (ec) return false;
    out = a;
  } else {
    auto a = asio::ip::make_address_v6(copy, ec);
    // A scope ("%eth0") names an interface of the sender's host: meaningless here.
    if (ec || a.scope_id() != 0) return false;
    out = a;
  }
  return true;
}

parse_result parse_v1(std::string_view bytes) {
  std::size_t end = bytes.substr(0, kMaxV1Bytes).find("\r\n");
  if (end == std::string_view::npos) {
    if (bytes.size() >= kMaxV1Bytes) return invalid("v1: no CRLF within 107 bytes");
    // A lone LF or CR elsewhere than at the end can never become a valid line.
    std::string_view seen = bytes.substr(0, bytes.size() - (bytes.back() == '\r' ? 1 : 0));
    if (seen.find_first_of("\r\n") != std::string_view::npos)
      return invalid("v1: stray line break");
    return {};
  }
  parse_result r;
  r.consumed = end + 2;
  r.header.form = version::v1;
  std::string_view rest = bytes.substr(kV1Prefix.size(), end - kV1Prefix.size());
  std::string_view protocol = next_field(rest);
  // UNKNOWN: the sender relays something it cannot describe; the rest of the line is ignored.
  if (protocol == "UNKNOWN") {
    r.what = status::complete;
    return r;
  }
  bool v4 = protocol == "TCP4";
  if (!v4 && protocol != "TCP6") return invalid("v1: protocol is not TCP4, TCP6 or UNKNOWN");
  asio::ip::address source, destination;
  unsigned short source_port = 0, destination_port = 0;
  if (!parse_address(next_field(rest), v4, source)) return invalid("v1: bad source address");
  if (!parse_address(next_field(rest), v4, destination))
    return invalid("v1: bad destination address");
  if (!parse_port(next_field(rest), source_port)) return invalid("v1: bad source port");
  // The last field ends the line: nothing may follow it.
  if (rest.find(' ') != std::string_view::npos || !parse_port(rest, destination_port))
    return invalid("v1: bad destination port");
  r.header.source = tcp::endpoint(source, source_port);
  r.header.destination = tcp::endpoint(destination, destination_port);
  r.what = status::complete;
  return r;
}

unsigned be16(const char* p) {
  return (static_cast<unsigned>(static_cast<unsigned char>(p[0])) << 8) |
         static_cast<unsigned char>(p[1]);
}

parse_result parse_v2(std::string_view bytes) {
  constexpr std::size_t kFixed = 16;
  if (bytes.size() < kFixed) return {};
  auto version_command = static_cast<unsigned char>(bytes[12]);
  if ((version_command >> 4) != 2) return invalid("v2: unsupported version");
  unsigned command = version_command & 0x0f;
  if (command > 1) return invalid("v2: unknown command");
  std::size_t length = be16(bytes.data() + 14);
  if (kFixed + length > kMaxV2Bytes) return invalid("v2: header longer than 4096 bytes");
  if (bytes.size() < kFixed + length) return {};
  parse_result r;
  r.consumed = kFixed + length;
  r.header.form = version::v2;
  r.what = status::complete;
  // LOCAL: the sender's own connection (a health check); its addresses are the real ones.
  if (command == 0) return r;
  const char* body = bytes.data() + kFixed;
  auto family = static_cast<unsigned char>(bytes[13]);
  switch (family) {
    case 0x11: {  // TCP over IPv4
      if (length < 12) return invalid("v2: address block too short for IPv4");
      asio::ip::address_v4::bytes_type s, d;
      std::memcpy(s.data(), body, 4);
      std::memcpy(d.data(), body + 4, 4);
      r.header.source = tcp::endpoint(asio::ip::address_v4(s), be16(body + 8));
      r.header.destination = tcp::endpoint(asio::ip::address_v4(d), be16(body + 10));
      return r;
    }
    case 0x21: {  // TCP over IPv6
      if (length < 36) return invalid("v2: address block too short for IPv6");
      asio::ip::address_v6::bytes_type s, d;
      std::memcpy(s.data(), body, 16);
      std::memcpy(d.data(), body + 16, 16);
      r.header.source = tcp::endpoint(asio::ip::address_v6(s), be16(body + 32));
      r.header.destination = tcp::endpoint(asio::ip::address_v6(d), be16(body + 34));
      return r;
    }
    case 0x12:
    case 0x22:
      return invalid("v2: UDP is not relayed over a TCP connection");
    default:
      // UNSPEC or UNIX sockets: the specification says to keep the connection's addresses.
      return r;
  }
}

}  // namespace

parse_result parse_header(std::string_view bytes) {
  if (bytes.empty()) return {};
  std::string_view signature(kV2Signature.data(), kV2Signature.size());
  if (agrees(bytes, signature)) return parse_v2(bytes);
  if (agrees(bytes, kV1Prefix)) {
    if (bytes.size() <= kV1Prefix.size()) return {};
    return parse_v1(bytes);
  }
  return invalid("not a PROXY protocol header");
}

}  // namespace pinwheel::proxy_protocol
