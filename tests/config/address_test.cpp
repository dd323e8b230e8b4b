#include "config/address.hpp"

#include <gtest/gtest.h>

namespace pinwheel {
namespace {

asio::ip::address a(const char* text) { return asio::ip::make_address(text); }
asio::ip::tcp::endpoint e(const char* host, unsigned short port) { return {a(host), port}; }

TEST(Address, AWildcardCoversItsFamilyAndIPv6CoversBoth) {
  EXPECT_TRUE(covers(a("127.0.0.1"), a("127.0.0.1")));
  EXPECT_TRUE(covers(a("0.0.0.0"), a("127.0.0.1")));
  EXPECT_TRUE(covers(a("0.0.0.0"), a("::ffff:127.0.0.1")));
  EXPECT_TRUE(covers(a("::"), a("127.0.0.1")));
  EXPECT_TRUE(covers(a("::"), a("::1")));
  EXPECT_TRUE(covers(a("::"), a("0.0.0.0")));
  EXPECT_FALSE(covers(a("0.0.0.0"), a("::1")));
  EXPECT_FALSE(covers(a("0.0.0.0"), a("::")));
  EXPECT_FALSE(covers(a("127.0.0.1"), a("0.0.0.0")));
  EXPECT_FALSE(covers(a("127.0.0.1"), a("127.0.0.2")));
}

TEST(Address, EndpointsClashOnOnePortWhenEitherCoversTheOther) {
  EXPECT_TRUE(clash(e("127.0.0.1", 80), e("127.0.0.1", 80)));
  EXPECT_TRUE(clash(e("0.0.0.0", 80), e("127.0.0.1", 80)));
  EXPECT_TRUE(clash(e("127.0.0.1", 80), e("0.0.0.0", 80)));
  EXPECT_TRUE(clash(e("::", 80), e("0.0.0.0", 80)));
  EXPECT_FALSE(clash(e("0.0.0.0", 80), e("0.0.0.0", 81)));
  EXPECT_FALSE(clash(e("0.0.0.0", 80), e("::1", 80)));
  EXPECT_FALSE(clash(e("127.0.0.1", 80), e("127.0.0.2", 80)));
}

}  // namespace
}  // namespace pinwheel
