#include "config/host_facts.hpp"

#include <gtest/gtest.h>

namespace pinwheel {
namespace {

TEST(HostFacts, ParsesThePortRangeAsProcHoldsIt) {
  auto range = parse_port_range("32768\t60999\n");
  ASSERT_TRUE(range);
  EXPECT_EQ(range->first, 32768);
  EXPECT_EQ(range->last, 60999);
  EXPECT_TRUE(parse_port_range("1024 65535"));
  for (const char* bad : {"", "32768", "60999 32768", "0 100", "1 70000", "a b", "1 2 3"})
    EXPECT_FALSE(parse_port_range(bad)) << bad;
}

TEST(HostFacts, AnUnreadableRangeFallsBackToLinuxsDefault) {
  port_range range = read_ephemeral_ports("/nonexistent/ip_local_port_range");
  EXPECT_EQ(range.first, 32768);
  EXPECT_EQ(range.last, 60999);
}

TEST(HostFacts, LoopbackAndListedAddressesAreLocal) {
  host_facts host;
  host.local_addresses = {asio::ip::make_address("192.0.2.2")};
  for (const char* local : {"127.0.0.1", "127.1.2.3", "::1", "0.0.0.0", "192.0.2.2",
                            "::ffff:192.0.2.2", "::ffff:127.0.0.1"})
    EXPECT_TRUE(host.is_local(asio::ip::make_address(local))) << local;
  for (const char* remote : {"192.0.2.3", "10.0.0.1", "fd00::2"})
    EXPECT_FALSE(host.is_local(asio::ip::make_address(remote))) << remote;
}

}  // namespace
}  // namespace pinwheel
