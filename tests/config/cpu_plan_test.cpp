#include "config/cpu_plan.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <sstream>

namespace pinwheel {
namespace {

using cpus = std::vector<int>;

// The kernel's own account: "0-2,4" from the Cpus_allowed_list line of /proc/self/status.
cpus cpus_allowed_list() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line) && !line.starts_with("Cpus_allowed_list:")) {
  }
  std::istringstream ranges(line.substr(line.find(':') + 1));
  cpus list;
  for (std::string range; std::getline(ranges, range, ',');) {
    std::size_t dash = range.find('-');
    int first = std::stoi(range);
    int last = dash == std::string::npos ? first : std::stoi(range.substr(dash + 1));
    for (int cpu = first; cpu <= last; ++cpu) list.push_back(cpu);
  }
  return list;
}

TEST(CpuPlan, BalancerOnFirstCoreAndOneBackendPerRemainingCore) {
  auto plan = assign_cpus({0, 1, 2, 3}, std::nullopt, 0, {});
  EXPECT_EQ(plan.balancer, 0);
  EXPECT_EQ(plan.backends, (cpus{1, 2, 3}));
  EXPECT_EQ(plan.warning, "");
}

TEST(CpuPlan, RespectsTheAllowedSetNotTheHardwareCount) {
  auto plan = assign_cpus({4, 6, 7}, std::nullopt, 0, {});
  EXPECT_EQ(plan.balancer, 4);
  EXPECT_EQ(plan.backends, (cpus{6, 7}));
}

TEST(CpuPlan, ChosenBalancerCoreIsLeftToTheBalancer) {
  auto plan = assign_cpus({0, 1, 2}, 1, 0, {});
  EXPECT_EQ(plan.balancer, 1);
  EXPECT_EQ(plan.backends, (cpus{0, 2}));
}

TEST(CpuPlan, MoreBackendsThanCoresWrapAroundWithAWarning) {
  auto plan = assign_cpus({0, 1}, std::nullopt, 3, {});
  EXPECT_EQ(plan.backends, (cpus{1, 1, 1}));
  EXPECT_EQ(plan.warning, "3 backends on 1 core(s): backends share cores");
  EXPECT_EQ(plan.error, "");
}

TEST(CpuPlan, ASingleCoreIsSharedByEveryone) {
  auto plan = assign_cpus({0}, std::nullopt, 0, {});
  EXPECT_EQ(plan.balancer, 0);
  EXPECT_EQ(plan.backends, (cpus{0, 0}));
  EXPECT_NE(plan.warning, "");
}

TEST(CpuPlan, TwoCoresStillGetTwoBackendsSharingTheSecondWithAWarning) {
  auto plan = assign_cpus({0, 1}, std::nullopt, 0, {});
  EXPECT_EQ(plan.balancer, 0);
  EXPECT_EQ(plan.backends, (cpus{1, 1}));
  EXPECT_EQ(plan.warning, "2 backends on 1 core(s): backends share cores");
}

TEST(CpuPlan, ExplicitBackendCoresAreUsedInOrder) {
  auto plan = assign_cpus({0, 1, 2, 3}, std::nullopt, 4, {3, 2});
  EXPECT_EQ(plan.backends, (cpus{3, 2, 3, 2}));
}

TEST(CpuPlan, CoresOutsideTheAllowedSetAreErrors) {
  EXPECT_EQ(assign_cpus({0, 1}, 5, 0, {}).error,
            "core 5 is not available to this process; available cores: 0,1");
  EXPECT_EQ(assign_cpus({0, 1}, std::nullopt, 0, {1, 9}).error,
            "core 9 is not available to this process; available cores: 0,1");
}

TEST(CpuPlan, NoAllowedCoreIsAnError) {
  EXPECT_EQ(assign_cpus({}, std::nullopt, 0, {}).error, "no core is available to this process");
}

TEST(CpuPlan, AllowedCpusAreWhatTheKernelSays) {
  std::error_code ec;
  cpus allowed = allowed_cpus(0, ec);
  EXPECT_FALSE(ec) << ec.message();
  cpus expected = cpus_allowed_list();
  ASSERT_FALSE(expected.empty()) << "no Cpus_allowed_list in /proc/self/status";
  EXPECT_EQ(allowed, expected);
}

// It once answered {0} when the kernel would not say, which looked like a valid answer.
TEST(CpuPlan, AllowedCpusReportsFailureInsteadOfGuessing) {
  std::error_code ec;
  // No process has the largest pid: pid_max is at most 2^22.
  cpus allowed = allowed_cpus(std::numeric_limits<pid_t>::max(), ec);
  EXPECT_EQ(ec, std::errc::no_such_process);
  EXPECT_TRUE(allowed.empty());
}

}  // namespace
}  // namespace pinwheel
