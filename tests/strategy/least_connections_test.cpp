#include "strategy/least_connections.hpp"

#include <gtest/gtest.h>

#include "strategy/test_pool.hpp"

namespace pinwheel {
namespace {

using namespace pinwheel::testing;
using namespace std::chrono_literals;

TEST(LeastConnections, PicksTheBackendWithFewestOpenConnections) {
  test_pool backends(3);
  backends[0].active_connections = 5;
  backends[1].active_connections = 2;
  backends[2].active_connections = 7;
  least_connections lc(backends.pool);
  EXPECT_EQ(picks(lc, 1), (names{"1"}));
}

TEST(LeastConnections, BreaksTiesInRotation) {
  test_pool backends(3);
  least_connections lc(backends.pool);
  // All idle: equal load spreads evenly instead of piling onto backend 0.
  EXPECT_EQ(picks(lc, 6), (names{"0", "1", "2", "0", "1", "2"}));
}

TEST(LeastConnections, TieRotationStartsAfterTheLastPick) {
  test_pool backends(4);
  backends[1].active_connections = 3;
  least_connections lc(backends.pool);
  EXPECT_EQ(picks(lc, 3), (names{"0", "2", "3"}));
}

TEST(LeastConnections, SkipsDownAndAvoidedBackends) {
  test_pool backends(3);
  backends[0].active_connections = 9;
  backends.set_up(backends[1], false);
  least_connections lc(backends.pool);
  EXPECT_EQ(picks(lc, 1), (names{"2"}));
  EXPECT_EQ(picks(lc, 1, {&backends[2]}), (names{"0"}));
  EXPECT_EQ(picks(lc, 1, {&backends[0], &backends[2]}), (names{"-"}));
}

TEST(LeastConnections, FollowsLoadAsConnectionsOpenAndClose) {
  test_pool backends(2);
  least_connections lc(backends.pool);
  // The session takes each connection through the pool as it is picked.
  names chosen;
  for (int i = 0; i < 4; ++i) {
    backend* b = lc.pick(kClient, {});
    backends.pool.take_connection(*b);
    chosen.push_back(b->name);
  }
  EXPECT_EQ(chosen, (names{"0", "1", "0", "1"}));
  backends.pool.drop_connection(backends[0]);
  backends.pool.drop_connection(backends[0]);  // backend 0's connections all closed
  EXPECT_EQ(picks(lc, 1), (names{"0"}));
}

TEST(LeastConnections, ComparesConnectionsPerWeight) {
  test_pool backends(2, {3, 1});
  least_connections lc(backends.pool);
  // Connections held open: backend 0 takes three for each of backend 1's.
  names chosen;
  for (int i = 0; i < 8; ++i) {
    backend* b = lc.pick(kClient, {});
    backends.pool.take_connection(*b);
    chosen.push_back(b->name);
  }
  EXPECT_EQ(backends[0].active_connections, 6u);
  EXPECT_EQ(backends[1].active_connections, 2u);
  // (5 + 1) / 3 = 2 is below (2 + 1) / 1 = 3 even with more connections.
  backends[0].active_connections = 5;
  EXPECT_EQ(picks(lc, 1), (names{"0"}));
  backends[0].active_connections = 9;  // (9 + 1) / 3 > 3
  EXPECT_EQ(picks(lc, 1), (names{"1"}));
}

TEST(LeastConnections, NeverPicksWeightZero) {
  test_pool backends(2, {0, 1});
  backends[1].active_connections = 1000;
  least_connections lc(backends.pool);
  EXPECT_EQ(picks(lc, 2), (names{"1", "1"}));
}

TEST(LeastConnections, RampsABackendThatCameBackOverSlowStart) {
  fake_clock clock;
  test_pool backends(2);
  least_connections lc(backends.pool, weight_ramp(20s, clock.source()));
  backends.pool.set_listener(&lc);
  backends[0].active_connections = 10;
  backends.set_up(backends[1], false);
  backends.set_up(backends[1], true);
  // Just back with 5% of its weight: one connection already makes it look busier than 10.
  backends[1].active_connections = 1;
  EXPECT_EQ(picks(lc, 1), (names{"0"}));
  clock.now += 20s;
  EXPECT_EQ(picks(lc, 1), (names{"1"}));
}

}  // namespace
}  // namespace pinwheel
