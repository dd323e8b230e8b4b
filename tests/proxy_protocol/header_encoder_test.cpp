#include "proxy_protocol/header_encoder.hpp"

#include <gtest/gtest.h>

#include <string>

#include "proxy_protocol/header_parser.hpp"

namespace pinwheel::proxy_protocol {
namespace {

using asio::ip::make_address;
using asio::ip::tcp;

std::string text(const encoded_header& h) { return std::string(h.bytes.data(), h.size); }

const tcp::endpoint kClient4(make_address("192.0.2.7"), 51234);
const tcp::endpoint kServer4(make_address("198.51.100.1"), 443);
const tcp::endpoint kClient6(make_address("2001:db8::7"), 51234);
const tcp::endpoint kServer6(make_address("2001:db8::1"), 443);

TEST(HeaderEncoder, V1Ipv4IsTheSpecificationsLine) {
  EXPECT_EQ(text(encode(version::v1, kClient4, kServer4)),
            "PROXY TCP4 192.0.2.7 198.51.100.1 51234 443\r\n");
}

TEST(HeaderEncoder, V1Ipv6) {
  EXPECT_EQ(text(encode(version::v1, kClient6, kServer6)),
            "PROXY TCP6 2001:db8::7 2001:db8::1 51234 443\r\n");
}

TEST(HeaderEncoder, V1MixedFamiliesAreSentAsIpv6WithTheIpv4OneMapped) {
  EXPECT_EQ(text(encode(version::v1, kClient4, kServer6)),
            "PROXY TCP6 ::ffff:192.0.2.7 2001:db8::1 51234 443\r\n");
}

TEST(HeaderEncoder, V1LongestHeaderFits) {
  tcp::endpoint longest(make_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 65535);
  auto h = encode(version::v1, longest, longest);
  EXPECT_EQ(h.size, 104u);
  EXPECT_LE(h.size, kMaxV1Bytes);
}

TEST(HeaderEncoder, V2Ipv4BytesMatchTheSpecification) {
  auto h = encode(version::v2, kClient4, kServer4);
  const unsigned char expected[] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49,
                                    0x54, 0x0A, 0x21, 0x11, 0x00, 0x0C, 192,  0,    2,    7,
                                    198,  51,   100,  1,    0xC8, 0x22, 0x01, 0xBB};
  ASSERT_EQ(h.size, sizeof expected);
  EXPECT_EQ(std::memcmp(h.bytes.data(), expected, sizeof expected), 0);
}

TEST(HeaderEncoder, V2Ipv6IsFiftyTwoBytes) {
  auto h = encode(version::v2, kClient6, kServer6);
  EXPECT_EQ(h.size, 52u);
  EXPECT_EQ(static_cast<unsigned char>(h.bytes[13]), 0x21);
}

TEST(HeaderEncoder, LocalHeaders) {
  EXPECT_EQ(text(encode_local(version::v1)), "PROXY UNKNOWN\r\n");
  auto v2 = encode_local(version::v2);
  ASSERT_EQ(v2.size, 16u);
  EXPECT_EQ(static_cast<unsigned char>(v2.bytes[12]), 0x20);  // version 2, LOCAL
  EXPECT_EQ(encode_local(version::none).size, 0u);
  EXPECT_EQ(encode(version::none, kClient4, kServer4).size, 0u);
}

TEST(HeaderEncoder, EveryHeaderParsesBackToItsAddresses) {
  for (version v : {version::v1, version::v2}) {
    for (auto [client, server] : {std::pair{kClient4, kServer4}, std::pair{kClient6, kServer6}}) {
      auto h = encode(v, client, server);
      auto r = parse_header(std::string_view(h.bytes.data(), h.size));
      ASSERT_EQ(r.what, parse_result::status::complete) << to_string(v);
      EXPECT_EQ(r.consumed, h.size);
      EXPECT_EQ(r.header.form, v);
      EXPECT_EQ(*r.header.source, client);
      EXPECT_EQ(*r.header.destination, server);
    }
  }
}

}  // namespace
}  // namespace pinwheel::proxy_protocol
