#include "config/descriptor_limit.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace pinwheel {
namespace {

options with_max_connections(std::size_t max_connections, const std::string& origin = "",
                             std::size_t max_pipes = 0) {
  options o;
  o.config_path = "test.toml";
  o.balancer.max_connections = max_connections;
  o.balancer.max_pipes = max_pipes;
  if (!origin.empty()) o.origin["balancer.max_connections"] = origin;
  return o;
}

TEST(DescriptorLimit, TwoPerConnectionPlusAReserve) {
  EXPECT_EQ(descriptors_needed(10'000, 0, 0), 20'064u);
  EXPECT_EQ(descriptors_needed(10'000, 3, 0), 20'076u);
  EXPECT_EQ(descriptors_needed(1, 1, 0), 70u);
}

TEST(DescriptorLimit, EachSplicePipeReservesTwo) {
  EXPECT_EQ(descriptors_needed(10'000, 3, 64), 20'204u);
  EXPECT_EQ(connections_that_fit(1024, 3, 64), 410u);
}

TEST(DescriptorLimit, DirectModeReservesNoPipes) {
  options o = with_max_connections(100, "", 64);
  EXPECT_EQ(o.balancer.pipes(), 64u);
  o.balancer.mode = balancer_mode::direct;
  EXPECT_EQ(o.balancer.pipes(), 0u) << "direct mode never relays, so never splices";
  EXPECT_EQ(descriptor_warning(o, 1, 64 + 4 + 200), "");
}

TEST(DescriptorLimit, ConnectionsThatFitBesideTheReserve) {
  EXPECT_EQ(connections_that_fit(1024, 3, 0), 474u);
  EXPECT_EQ(connections_that_fit(20'076, 3, 0), 10'000u);
  EXPECT_EQ(connections_that_fit(77, 3, 0), 0u);
  EXPECT_EQ(connections_that_fit(10, 0, 0), 0u);
}

// The shipped default under a shell's usual limit: about 500 connections fit.
TEST(DescriptorLimit, ADefaultShellLimitIsWarnedAboutWithTheNumbersAndTheFix) {
  EXPECT_EQ(descriptor_warning(with_max_connections(10'000, "pinwheel.toml:15:19", 64), 3, 1024),
            "the open-file limit (1024) fits 410 connections, not balancer.max_connections = "
            "10000 (pinwheel.toml:15:19): each takes 2 descriptors, and 64 + 4 per backend + 2 "
            "per splice pipe (balancer.max_pipes = 64) are kept for the listener, health checks "
            "and pipes (20204 in all); accepting pauses at 410. Raise LimitNOFILE= / ulimit -n "
            "to at least 20204, or lower balancer.max_connections to 410");
}

TEST(DescriptorLimit, NoWarningWhenItFits) {
  EXPECT_EQ(descriptor_warning(with_max_connections(10'000), 3, 20'076), "");
  EXPECT_EQ(descriptor_warning(with_max_connections(100), 1, 1024), "");
}

TEST(DescriptorLimit, ALimitBelowTheReserveOnlySaysRaiseIt) {
  EXPECT_EQ(descriptor_warning(with_max_connections(10), 1, 50),
            "the open-file limit (50) fits no connection, not balancer.max_connections = 10 (the "
            "default): each takes 2 descriptors, and 64 + 4 per backend + 2 per splice pipe "
            "(balancer.max_pipes = 0) are kept for the listener, health checks and pipes (88 in "
            "all); Raise LimitNOFILE= / ulimit -n to at least 88");
}

TEST(DescriptorLimit, TheSoftLimitIsRaisedToTheHardOne) {
  rlimit original{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original), 0);
  // Start below the hard limit, as under a shell's default, whatever this machine's soft one is.
  rlimit lowered = original;
  lowered.rlim_cur = original.rlim_max / 2;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  std::uint64_t raised = raise_open_file_limit();
  rlimit after{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
  ::setrlimit(RLIMIT_NOFILE, &original);
  EXPECT_EQ(raised, after.rlim_cur);
  EXPECT_EQ(after.rlim_cur, original.rlim_max);
  EXPECT_EQ(after.rlim_max, original.rlim_max);
}

}  // namespace
}  // namespace pinwheel
