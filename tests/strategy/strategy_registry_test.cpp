#include "strategy/strategy_registry.hpp"

#include <gtest/gtest.h>

#include "strategy/test_pool.hpp"

namespace pinwheel {
namespace {

using namespace pinwheel::testing;

TEST(StrategyRegistry, KnowsEachStrategyByName) {
  test_pool backends(1);
  strategy_inputs inputs{[] { return std::uint64_t{4}; }, {}, {}};
  EXPECT_EQ(strategy_names(), (names{"round-robin", "least-connections", "power-of-two",
                                     "least-pending", "source-hash"}));
  for (const std::string& name : strategy_names()) {
    EXPECT_TRUE(is_strategy(name));
    auto s = make_strategy(name, backends.pool, inputs);
    ASSERT_NE(s, nullptr) << name;
    EXPECT_EQ(s->pick(kClient, {}), &backends[0]) << name;
  }
  EXPECT_EQ(make_strategy("fastest", backends.pool, inputs), nullptr);
  EXPECT_FALSE(is_strategy("Round-Robin"));
}

}  // namespace
}  // namespace pinwheel
