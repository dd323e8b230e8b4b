#include "proxy_protocol/header_encoder.hpp"

#include <charconv>
#include <cstring>

#include "proxy_protocol/v2_signature.hpp"

namespace pinwheel::proxy_protocol {

namespace {

using asio::ip::address;
using asio::ip::address_v6;

void append(encoded_header& out, const char* text, std::size_t n) {
  std::memcpy(out.bytes.data() + out.size, text, n);
  out.size += n;
}

void append(encoded_header& out, std::string_view text) { append(out, text.data(), text.size()); }

void append_number(encoded_header& out, unsigned n) {
  char* begin = out.bytes.data() + out.size;
  auto [end, ec] = std::to_chars(begin, out.bytes.data() + out.bytes.size(), n);
  out.size += static_cast<std::size_t>(end - begin);
}

void append_be16(encoded_header& out, unsigned n) {
  out.bytes[out.size++] = static_cast<char>((n >> 8) & 0xff);
  out.bytes[out.size++] = static_cast<char>(n & 0xff);
}

address_v6 as_v6(const address& a) {
  return a.is_v6() ? a.to_v6() : asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4());
}

encoded_header encode_v1(const asio::ip::tcp::endpoint& source,
                         const asio::ip::tcp::endpoint& destination) {
  encoded_header out;
  bool v4 = source.address().is_v4() && destination.address().is_v4();
  append(out, v4 ? "PROXY TCP4 " : "PROXY TCP6 ");
  // to_string of an IPv6 address carries no scope here: headers name routable addresses.
  auto text = [&](const address& a) { return v4 ? a.to_v4().to_string() : as_v6(a).to_string(); };
  append(out, text(source.address()));
  append(out, " ");
  append(out, text(destination.address()));
  append(out, " ");
  append_number(out, source.port());
  append(out, " ");
  append_number(out, destination.port());
  append(out, "\r\n");
  return out;
}

encoded_header encode_v2(const asio::ip::tcp::endpoint& source,
                         const asio::ip::tcp::endpoint& destination) {
  encoded_header out;
  append(out, kV2Signature.data(), kV2Signature.size());
  out.bytes[out.size++] = 0x21;  // version 2, command PROXY
  if (source.address().is_v4() && destination.address().is_v4()) {
    out.bytes[out.size++] = 0x11;  // TCP over IPv4
    append_be16(out, 12);
    auto s = source.address().to_v4().to_bytes();
    auto d = destination.address().to_v4().to_bytes();
    append(out, reinterpret_cast<const char*>(s.data()), s.size());
    append(out, reinterpret_cast<const char*>(d.data()), d.size());
  } else {
    out.bytes[out.size++] = 0x21;  // TCP over IPv6
    append_be16(out, 36);
    auto s = as_v6(source.address()).to_bytes();
    auto d = as_v6(destination.address()).to_bytes();
    append(out, reinterpret_cast<const char*>(s.data()), s.size());
    append(out, reinterpret_cast<const char*>(d.data()), d.size());
  }
  append_be16(out, source.port());
  append_be16(out, destination.port());
  return out;
}

}  // namespace

const char* to_string(version v) {
  switch (v) {
    case version::none:
      return "none";
    case version::v1:
      return "v1";
    case version::v2:
      return "v2";
  }
  return "?";
}

encoded_header encode(version v, const asio::ip::tcp::endpoint& source,
                      const asio::ip::tcp::endpoint& destination) {
  switch (v) {
    case version::v1:
      return encode_v1(source, destination);
    case version::v2:
      return encode_v2(source, destination);
    case version::none:
      break;
  }
  return {};
}

encoded_header encode_local(version v) {
  encoded_header out;
  if (v == version::v1) {
    append(out, "PROXY UNKNOWN\r\n");
  } else if (v == version::v2) {
    append(out, kV2Signature.data(), kV2Signature.size());
    out.bytes[out.size++] = 0x20;  // version 2, command LOCAL
    out.bytes[out.size++] = 0x00;  // UNSPEC
    append_be16(out, 0);
  }
  return out;
}

}  // namespace pinwheel::proxy_protocol
