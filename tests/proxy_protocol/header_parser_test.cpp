#include "proxy_protocol/header_parser.hpp"

#include <gtest/gtest.h>

#include <string>

#include "proxy_protocol/header_encoder.hpp"

namespace pinwheel::proxy_protocol {
namespace {

using status = parse_result::status;
using namespace std::string_literals;

parse_result parse(const std::string& bytes) { return parse_header(bytes); }

TEST(HeaderParser, V1WithClientBytesAfterIt) {
  std::string bytes = "PROXY TCP4 192.0.2.7 198.51.100.1 51234 443\r\nGET / HTTP/1.1\r\n";
  auto r = parse(bytes);
  ASSERT_EQ(r.what, status::complete);
  EXPECT_EQ(bytes.substr(r.consumed), "GET / HTTP/1.1\r\n");
  EXPECT_EQ(r.header.source->address().to_string(), "192.0.2.7");
  EXPECT_EQ(r.header.source->port(), 51234);
  EXPECT_EQ(r.header.destination->port(), 443);
}

TEST(HeaderParser, V1UnknownKeepsTheConnectionsAddresses) {
  auto r = parse("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n");
  ASSERT_EQ(r.what, status::complete);
  EXPECT_FALSE(r.header.source);
  EXPECT_EQ(r.consumed, 35u);
}

TEST(HeaderParser, EveryStrictPrefixOfAValidHeaderIsIncomplete) {
  asio::ip::tcp::endpoint a(asio::ip::make_address("2001:db8::7"), 1);
  for (version v : {version::v1, version::v2}) {
    auto h = encode(v, a, a);
    for (std::size_t n = 0; n < h.size; ++n)
      EXPECT_EQ(parse_header(std::string_view(h.bytes.data(), n)).what, status::incomplete)
          << to_string(v) << " " << n;
  }
}

TEST(HeaderParser, V2LocalAndUnspecifiedKeepTheConnectionsAddresses) {
  auto local = encode_local(version::v2);
  auto r = parse_header(std::string_view(local.bytes.data(), local.size));
  ASSERT_EQ(r.what, status::complete);
  EXPECT_FALSE(r.header.source);
  std::string unspec = "\r\n\r\n\0\r\nQUIT\n\x21\x00\x00\x00"s;
  EXPECT_EQ(parse(unspec).what, status::complete);
}

TEST(HeaderParser, V2SkipsTlvsAfterTheAddresses) {
  asio::ip::tcp::endpoint a(asio::ip::make_address("192.0.2.7"), 80);
  auto h = encode(version::v2, a, a);
  std::string bytes(h.bytes.data(), h.size);
  bytes[15] = 12 + 7;  // length: addresses plus one TLV
  bytes +=
      "\x04\x00\x04"
      "abcd"
      "rest"s;  // PP2_TYPE_NOOP with 4 bytes, then client data
  auto r = parse(bytes);
  ASSERT_EQ(r.what, status::complete);
  EXPECT_EQ(bytes.substr(r.consumed), "rest");
  EXPECT_EQ(*r.header.source, a);
}

struct bad_header {
  std::string bytes;
  std::string error;
};

class BadHeader : public testing::TestWithParam<bad_header> {};

TEST_P(BadHeader, IsInvalidWithAReason) {
  auto r = parse(GetParam().bytes);
  EXPECT_EQ(r.what, status::invalid);
  EXPECT_EQ(std::string(r.error), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadHeader,
    testing::Values(bad_header{"GET / HTTP/1.1\r\n", "not a PROXY protocol header"},
                    bad_header{"PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n",
                               "v1: protocol is not TCP4, TCP6 or UNKNOWN"},
                    bad_header{"PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n", "v1: bad source address"},
                    bad_header{"PROXY TCP4 ::1 1.2.3.4 1 2\r\n", "v1: bad source address"},
                    bad_header{"PROXY TCP6 ::1 1.2.3.4 1 2\r\n", "v1: bad destination address"},
                    bad_header{"PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n", "v1: bad source port"},
                    bad_header{"PROXY TCP4 1.2.3.4 1.2.3.4 -1 2\r\n", "v1: bad source port"},
                    bad_header{"PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n", "v1: bad destination port"},
                    bad_header{"PROXY TCP4 1.2.3.4 1.2.3.4 1 \r\n", "v1: bad destination port"},
                    bad_header{"PROXY TCP4 1.2.3.4\n", "v1: stray line break"},
                    bad_header{"PROXY " + std::string(120, 'x'), "v1: no CRLF within 107 bytes"},
                    bad_header{"\r\n\r\n\0\r\nQUIT\n\x11\x11\x00\x0c"s, "v2: unsupported version"},
                    bad_header{"\r\n\r\n\0\r\nQUIT\n\x22\x11\x00\x0c"s, "v2: unknown command"},
                    bad_header{"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x04xxxx"s,
                               "v2: address block too short for IPv4"},
                    bad_header{"\r\n\r\n\0\r\nQUIT\n\x21\x21\x00\x0cxxxxxxxxxxxx"s,
                               "v2: address block too short for IPv6"},
                    bad_header{"\r\n\r\n\0\r\nQUIT\n\x21\x12\x00\x0cxxxxxxxxxxxx"s,
                               "v2: UDP is not relayed over a TCP connection"},
                    bad_header{"\r\n\r\n\0\r\nQUIT\n\x21\x11\xff\xff"s,
                               "v2: header longer than 4096 bytes"}));

}  // namespace
}  // namespace pinwheel::proxy_protocol
