#include "config/cpu_plan.hpp"

#include <gtest/gtest.h>

namespace pinwheel {
namespace {

using cpus = std::vector<int>;

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
  EXPECT_EQ(plan.backends, (cpus{0}));
  EXPECT_NE(plan.warning, "");
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

TEST(CpuPlan, AllowedCpusIsNeverEmpty) { EXPECT_FALSE(allowed_cpus().empty()); }

}  // namespace
}  // namespace pinwheel
