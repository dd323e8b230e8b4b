#include <gtest/gtest.h>

#include <vector>

#include "strategy/least_connections.hpp"
#include "strategy/round_robin.hpp"
#include "strategy/strategy_registry.hpp"

namespace pinwheel {
namespace {

// A pool of `n` backends named "0", "1", …, all up.
struct test_pool {
  explicit test_pool(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      backend b;
      b.name = std::to_string(i);
      b.health = health_state(1, 1, /*initially_up=*/true);
      pool.add(std::move(b));
    }
  }
  backend& operator[](std::size_t i) { return *pool.members()[i]; }

  backend_pool pool;
};

const asio::ip::address kClient = asio::ip::make_address("127.0.0.1");

void take_down(backend& b) { b.health.record(false, health_state::clock::time_point{}); }

// The names of `n` successive picks ("-" for none).
std::vector<std::string> picks(strategy& s, int n, std::vector<backend*> avoid = {}) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    backend* b = s.pick(kClient, avoid);
    out.push_back(b ? b->name : "-");
  }
  return out;
}

using names = std::vector<std::string>;

TEST(RoundRobin, RotatesInPoolOrder) {
  test_pool backends(3);
  round_robin rr(backends.pool);
  EXPECT_EQ(picks(rr, 7), (names{"0", "1", "2", "0", "1", "2", "0"}));
}

TEST(RoundRobin, SkipsDownBackendsAndResumesWhenTheyReturn) {
  test_pool backends(3);
  round_robin rr(backends.pool);
  take_down(backends[1]);
  EXPECT_EQ(picks(rr, 4), (names{"0", "2", "0", "2"}));
  backends[1].health.record(true, {});
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
  take_down(backends[0]);
  EXPECT_EQ(rr.pick(kClient, std::vector<backend*>{&backends[1]}), nullptr);
  take_down(backends[1]);
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
  take_down(backends[1]);
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

TEST(StrategyRegistry, KnowsEachStrategyByName) {
  test_pool backends(1);
  random_source fixed = [] { return std::uint64_t{4}; };
  EXPECT_EQ(strategy_names(), (names{"round-robin", "least-connections"}));
  for (const std::string& name : strategy_names()) {
    EXPECT_TRUE(is_strategy(name));
    EXPECT_NE(make_strategy(name, backends.pool, fixed), nullptr) << name;
  }
  EXPECT_EQ(make_strategy("fastest", backends.pool, fixed), nullptr);
  EXPECT_FALSE(is_strategy("Round-Robin"));
}

}  // namespace
}  // namespace pinwheel
