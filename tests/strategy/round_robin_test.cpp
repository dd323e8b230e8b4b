#include "strategy/round_robin.hpp"

#include <gtest/gtest.h>

#include <map>

#include "strategy/test_pool.hpp"

namespace pinwheel {
namespace {

using namespace pinwheel::testing;
using namespace std::chrono_literals;

TEST(RoundRobin, RotatesInPoolOrder) {
  test_pool backends(3);
  round_robin rr(backends.pool);
  EXPECT_EQ(picks(rr, 7), (names{"0", "1", "2", "0", "1", "2", "0"}));
}

TEST(RoundRobin, SkipsDownBackendsAndResumesWhenTheyReturn) {
  test_pool backends(3);
  round_robin rr(backends.pool);
  backends.set_up(backends[1], false);
  EXPECT_EQ(picks(rr, 4), (names{"0", "2", "0", "2"}));
  backends.set_up(backends[1], true);
  EXPECT_EQ(picks(rr, 3), (names{"0", "1", "2"}));
}

TEST(RoundRobin, SkipsDrainingAndDisabledBackends) {
  test_pool backends(3);
  round_robin rr(backends.pool);
  backends.pool.set_admin(backends[0], admin_state::draining);
  backends.pool.set_admin(backends[2], admin_state::disabled);
  EXPECT_EQ(picks(rr, 2), (names{"1", "1"}));
  backends.pool.set_admin(backends[0], admin_state::enabled);
  EXPECT_EQ(picks(rr, 2), (names{"0", "1"}));
}

TEST(RoundRobin, AvoidsBackendsThisConnectionFailedOn) {
  test_pool backends(3);
  round_robin rr(backends.pool);
  EXPECT_EQ(picks(rr, 3, {&backends[0]}), (names{"1", "2", "1"}));
}

TEST(RoundRobin, NoneWhenNothingIsUsable) {
  test_pool backends(2);
  round_robin rr(backends.pool);
  backends.set_up(backends[0], false);
  EXPECT_EQ(rr.pick(kClient, std::vector<backend*>{&backends[1]}), nullptr);
  backends.set_up(backends[1], false);
  EXPECT_EQ(rr.pick(kClient, {}), nullptr);
  test_pool empty(0);
  round_robin none(empty.pool);
  EXPECT_EQ(none.pick(kClient, {}), nullptr);
}

TEST(RoundRobin, KeepsRotatingWhenABackendIsRetired) {
  test_pool backends(3);
  round_robin rr(backends.pool);
  backends.pool.set_listener(&rr);
  EXPECT_EQ(picks(rr, 3), (names{"0", "1", "2"}));
  backends.pool.retire(backends[2]);
  EXPECT_EQ(picks(rr, 3), (names{"0", "1", "0"}));
}

TEST(RoundRobin, SpreadsAHeavyBackendsTurnsWithoutBursts) {
  // nginx's own example: weights 5, 1, 1 give a a b a c a a, then the same again.
  test_pool backends(3, {5, 1, 1});
  round_robin rr(backends.pool);
  EXPECT_EQ(picks(rr, 14), (names{"0", "0", "1", "0", "2", "0", "0",  //
                                  "0", "0", "1", "0", "2", "0", "0"}));
}

TEST(RoundRobin, GivesEachBackendItsWeightsShare) {
  test_pool backends(3, {3, 2, 1});
  round_robin rr(backends.pool);
  std::map<std::string, int> count;
  for (const std::string& name : picks(rr, 600)) ++count[name];
  EXPECT_EQ(count, (std::map<std::string, int>{{"0", 300}, {"1", 200}, {"2", 100}}));
}

TEST(RoundRobin, NeverPicksWeightZero) {
  test_pool backends(3, {1, 0, 1});
  round_robin rr(backends.pool);
  EXPECT_EQ(picks(rr, 4), (names{"0", "2", "0", "2"}));
  test_pool idle(1, {0});
  round_robin none(idle.pool);
  EXPECT_EQ(picks(none, 1), (names{"-"}));
}

TEST(RoundRobin, RampsABackendThatCameBackOverSlowStart) {
  fake_clock clock;
  test_pool backends(2);
  round_robin rr(backends.pool, weight_ramp(10s, clock.source()));
  backends.pool.set_listener(&rr);
  backends.set_up(backends[1], false);
  backends.set_up(backends[1], true);
  // Just back: 5% of its weight, so backend 0 takes about 20 turns for its one.
  std::map<std::string, int> count;
  for (const std::string& name : picks(rr, 210)) ++count[name];
  EXPECT_EQ(count["1"], 10);
  // Half-way: half its weight, one turn in three.
  clock.now += 5s;
  count.clear();
  for (const std::string& name : picks(rr, 300)) ++count[name];
  EXPECT_EQ(count["1"], 100);
  // Ramp over: equal turns again.
  clock.now += 5s;
  count.clear();
  for (const std::string& name : picks(rr, 300)) ++count[name];
  EXPECT_EQ(count["1"], 150);
}

}  // namespace
}  // namespace pinwheel
