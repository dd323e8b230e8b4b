#include "strategy/power_of_two.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>

#include "strategy/test_pool.hpp"

namespace pinwheel {
namespace {

using namespace pinwheel::testing;
using namespace std::chrono_literals;

// Hands out the given numbers in order, then zeros; counts how many were drawn.
struct scripted_random {
  std::deque<std::uint64_t> numbers;
  int drawn = 0;
  random_source source() {
    return [this] {
      ++drawn;
      if (numbers.empty()) return std::uint64_t{0};
      std::uint64_t n = numbers.front();
      numbers.pop_front();
      return n;
    };
  }
};

random_source seeded(std::uint64_t seed) {
  auto engine = std::make_shared<std::mt19937_64>(seed);
  return [engine] { return (*engine)(); };
}

TEST(PowerOfTwo, TakesTheLessLoadedOfTwoDistinctDraws) {
  test_pool backends(4);
  backends[0].active_connections = 1;
  backends[1].active_connections = 9;
  backends[2].active_connections = 0;
  backends[3].active_connections = 4;
  scripted_random random{{1, 2}};
  power_of_two p2(backends.pool, random.source());
  // Draws 1 and (2 of the 3 others, shifted past 1) 3: 9 against 4 connections.
  EXPECT_EQ(picks(p2, 1), (names{"3"}));
  // Draws 2 and 2 -> 3 again (the second never repeats the first): 0 against 4.
  random.numbers = {2, 2};
  EXPECT_EQ(picks(p2, 1), (names{"2"}));
}

TEST(PowerOfTwo, EqualLoadKeepsTheFirstDraw) {
  test_pool backends(3);
  scripted_random random{{2, 0}};
  power_of_two p2(backends.pool, random.source());
  EXPECT_EQ(picks(p2, 1), (names{"2"}));
}

TEST(PowerOfTwo, DrawsOnlyAmongEligibleBackends) {
  test_pool backends(5, {1, 1, 0, 1, 1});
  backends.set_up(backends[1], false);
  power_of_two p2(backends.pool, seeded(7));
  std::map<std::string, int> count;
  for (const std::string& name : picks(p2, 3000, {&backends[4]})) ++count[name];
  // Down (1), weight 0 (2) and avoided (4) never come up; 0 and 3 share the load.
  EXPECT_EQ(count.size(), 2u);
  EXPECT_GT(count["0"], 1000);
  EXPECT_GT(count["3"], 1000);
}

TEST(PowerOfTwo, OneEligibleBackendNeedsNoRandomness) {
  test_pool backends(2);
  backends.set_up(backends[0], false);
  scripted_random random;
  power_of_two p2(backends.pool, random.source());
  EXPECT_EQ(picks(p2, 3), (names{"1", "1", "1"}));
  EXPECT_EQ(random.drawn, 0);
  backends.set_up(backends[1], false);
  EXPECT_EQ(picks(p2, 1), (names{"-"}));
}

TEST(PowerOfTwo, ComparesConnectionsPerWeight) {
  test_pool backends(2, {4, 1});
  backends[0].active_connections = 6;  // (6 + 1) / 4 < (1 + 1) / 1
  backends[1].active_connections = 1;
  scripted_random random{{1, 0}};
  power_of_two p2(backends.pool, random.source());
  EXPECT_EQ(picks(p2, 1), (names{"0"}));
}

TEST(PowerOfTwo, KeepsConnectionsEvenAsTheyOpen) {
  test_pool backends(4);
  power_of_two p2(backends.pool, seeded(42));
  for (int i = 0; i < 400; ++i) backends.pool.take_connection(*p2.pick(kClient, {}));
  // Each pick avoids the busier of two: the counts stay within 5 of 100 each.
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_GE(backends[i].active_connections, 95u) << i;
    EXPECT_LE(backends[i].active_connections, 105u) << i;
  }
}

TEST(PowerOfTwo, RampsABackendThatCameBackOverSlowStart) {
  fake_clock clock;
  test_pool backends(2);
  power_of_two p2(backends.pool, seeded(3), weight_ramp(30s, clock.source()));
  backends.pool.set_listener(&p2);
  backends.set_up(backends[0], false);
  backends.set_up(backends[0], true);
  backends[1].active_connections = 5;
  // Backend 0 has 5% of its weight: even idle it counts as (0 + 1) / 0.05 = 20 > 6.
  EXPECT_EQ(picks(p2, 1), (names{"1"}));
  clock.now += 30s;
  EXPECT_EQ(picks(p2, 1), (names{"0"}));
}

}  // namespace
}  // namespace pinwheel
