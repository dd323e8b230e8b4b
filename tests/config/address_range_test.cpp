#include "config/address_range.hpp"

#include <gtest/gtest.h>

namespace pinwheel {
namespace {

using asio::ip::make_address;

address_range range(const std::string& text) {
  std::string error;
  auto r = parse_address_range(text, error);
  EXPECT_TRUE(r) << error;
  return r.value_or(address_range{});
}

std::string error_of(const std::string& text) {
  std::string error;
  parse_address_range(text, error);
  return error;
}

TEST(AddressRange, Ipv4Blocks) {
  EXPECT_TRUE(range("10.0.0.0/8").contains(make_address("10.255.1.2")));
  EXPECT_FALSE(range("10.0.0.0/8").contains(make_address("11.0.0.1")));
  EXPECT_TRUE(range("127.0.0.1").contains(make_address("127.0.0.1")));
  EXPECT_FALSE(range("127.0.0.1").contains(make_address("127.0.0.2")));
  EXPECT_TRUE(range("0.0.0.0/0").contains(make_address("203.0.113.9")));
  EXPECT_TRUE(range("192.168.4.0/22").contains(make_address("192.168.7.255")));
  EXPECT_FALSE(range("192.168.4.0/22").contains(make_address("192.168.8.0")));
}

TEST(AddressRange, Ipv6BlocksAndMappedAddresses) {
  EXPECT_TRUE(range("fd00::/8").contains(make_address("fd12:3456::1")));
  EXPECT_FALSE(range("fd00::/8").contains(make_address("fe80::1")));
  EXPECT_FALSE(range("fd00::/8").contains(make_address("10.0.0.1")));
  EXPECT_TRUE(range("10.0.0.0/8").contains(make_address("::ffff:10.1.2.3")));
}

TEST(AddressRange, MistakesAreNamed) {
  EXPECT_EQ(error_of("10.0.0.0/33"), "\"10.0.0.0/33\": the prefix length must be 0 to 32");
  EXPECT_EQ(error_of("10.1.0.0/8"),
            "\"10.1.0.0/8\" has bits set past its /8 prefix; write the block's first address");
  EXPECT_EQ(error_of("ten/8"),
            "\"ten/8\" is not an address block; write e.g. \"10.0.0.0/8\", \"fd00::/8\" or "
            "\"192.0.2.7\"");
  EXPECT_EQ(error_of("::/x"), "\"::/x\": the prefix length must be 0 to 128");
}

}  // namespace
}  // namespace pinwheel
