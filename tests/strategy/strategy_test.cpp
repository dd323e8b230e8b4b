#include <gtest/gtest.h>

#include <vector>

#include "strategy/least_connections.hpp"
#include "strategy/round_robin.hpp"
#include "strategy/strategy_registry.hpp"

namespace pinwheel {
namespace {

std::vector<backend> make_backends(std::size_t n) {
  std::vector<backend> backends(n);
  for (std::size_t i = 0; i < n; ++i) {
    backends[i].index = i;
    backends[i].health = health_state(1, 1, /*initially_up=*/true);
  }
  return backends;
}

void take_down(backend& b) { b.health.record(false, health_state::clock::time_point{}); }

std::vector<std::size_t> picks(strategy& s, const std::vector<backend>& backends, int n,
                               std::vector<std::size_t> exclude = {}) {
  std::vector<std::size_t> out;
  for (int i = 0; i < n; ++i) out.push_back(s.pick(backends, exclude).value_or(99));
  return out;
}

TEST(RoundRobin, RotatesInIndexOrder) {
  auto backends = make_backends(3);
  round_robin rr;
  EXPECT_EQ(picks(rr, backends, 7), (std::vector<std::size_t>{0, 1, 2, 0, 1, 2, 0}));
}

TEST(RoundRobin, SkipsDownBackendsAndResumesWhenTheyReturn) {
  auto backends = make_backends(3);
  round_robin rr;
  take_down(backends[1]);
  EXPECT_EQ(picks(rr, backends, 4), (std::vector<std::size_t>{0, 2, 0, 2}));
  backends[1].health.record(true, {});
  EXPECT_EQ(picks(rr, backends, 3), (std::vector<std::size_t>{0, 1, 2}));
}

TEST(RoundRobin, AvoidsExcludedBackends) {
  auto backends = make_backends(3);
  round_robin rr;
  EXPECT_EQ(picks(rr, backends, 3, {0}), (std::vector<std::size_t>{1, 2, 1}));
}

TEST(RoundRobin, NoneWhenNothingIsUsable) {
  auto backends = make_backends(2);
  round_robin rr;
  take_down(backends[0]);
  EXPECT_EQ(rr.pick(backends, std::vector<std::size_t>{1}), std::nullopt);
  take_down(backends[1]);
  EXPECT_EQ(rr.pick(backends, {}), std::nullopt);
  EXPECT_EQ(rr.pick(std::span<const backend>{}, {}), std::nullopt);
}

TEST(LeastConnections, PicksTheBackendWithFewestOpenConnections) {
  auto backends = make_backends(3);
  backends[0].active_connections = 5;
  backends[1].active_connections = 2;
  backends[2].active_connections = 7;
  least_connections lc;
  EXPECT_EQ(lc.pick(backends, {}), 1u);
}

TEST(LeastConnections, BreaksTiesInRotation) {
  auto backends = make_backends(3);
  least_connections lc;
  // All idle: equal load spreads evenly instead of piling onto backend 0.
  EXPECT_EQ(picks(lc, backends, 6), (std::vector<std::size_t>{0, 1, 2, 0, 1, 2}));
}

TEST(LeastConnections, TieRotationStartsAfterTheLastPick) {
  auto backends = make_backends(4);
  backends[1].active_connections = 3;
  least_connections lc;
  EXPECT_EQ(picks(lc, backends, 3), (std::vector<std::size_t>{0, 2, 3}));
}

TEST(LeastConnections, SkipsDownAndExcludedBackends) {
  auto backends = make_backends(3);
  backends[0].active_connections = 9;
  take_down(backends[1]);
  least_connections lc;
  EXPECT_EQ(lc.pick(backends, {}), 2u);
  EXPECT_EQ(lc.pick(backends, std::vector<std::size_t>{2}), 0u);
  EXPECT_EQ(lc.pick(backends, std::vector<std::size_t>{0, 2}), std::nullopt);
}

TEST(LeastConnections, FollowsLoadAsConnectionsOpen) {
  auto backends = make_backends(2);
  least_connections lc;
  // Simulate the session taking each connection as it is picked.
  std::vector<std::size_t> chosen;
  for (int i = 0; i < 4; ++i) {
    std::size_t pick = *lc.pick(backends, {});
    ++backends[pick].active_connections;
    chosen.push_back(pick);
  }
  EXPECT_EQ(chosen, (std::vector<std::size_t>{0, 1, 0, 1}));
  backends[0].active_connections = 0;  // backend 0's connections all closed
  EXPECT_EQ(lc.pick(backends, {}), 0u);
}

TEST(StrategyRegistry, KnowsEachStrategyByName) {
  EXPECT_EQ(strategy_names(), (std::vector<std::string>{"round-robin", "least-connections"}));
  for (const std::string& name : strategy_names()) EXPECT_NE(make_strategy(name), nullptr) << name;
  EXPECT_EQ(make_strategy("fastest"), nullptr);
  EXPECT_FALSE(is_strategy("Round-Robin"));
}

}  // namespace
}  // namespace pinwheel
