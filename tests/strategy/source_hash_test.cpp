#include "strategy/source_hash.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "strategy/test_pool.hpp"

namespace pinwheel {
namespace {

using namespace pinwheel::testing;

constexpr int kClients = 10'000;

// 10,000 distinct client addresses, 10.0.0.1 upwards.
std::vector<asio::ip::address> clients() {
  std::vector<asio::ip::address> out;
  for (std::uint32_t i = 1; i <= kClients; ++i)
    out.push_back(asio::ip::address_v4((10u << 24) | i));
  return out;
}

// Each client's backend ("-" for none).
std::vector<std::string> assign(strategy& s, const std::vector<asio::ip::address>& addresses,
                                std::vector<backend*> avoid = {}) {
  std::vector<std::string> out;
  for (const asio::ip::address& a : addresses) {
    backend* b = s.pick(a, avoid);
    out.push_back(b ? b->name : "-");
  }
  return out;
}

std::map<std::string, int> shares(const std::vector<std::string>& assignment) {
  std::map<std::string, int> count;
  for (const std::string& name : assignment) ++count[name];
  return count;
}

// Prints and records the largest and smallest share, for the spread figures.
void report_spread(const char* label, const std::map<std::string, int>& count) {
  auto [low, high] = std::minmax_element(count.begin(), count.end(),
                                         [](auto& a, auto& b) { return a.second < b.second; });
  std::printf("source-hash spread %s: %zu backends, max %d, min %d of %d clients (max/min %.3f)\n",
              label, count.size(), high->second, low->second, kClients,
              static_cast<double>(high->second) / low->second);
  ::testing::Test::RecordProperty(std::string("spread_") + label + "_max", high->second);
  ::testing::Test::RecordProperty(std::string("spread_") + label + "_min", low->second);
}

TEST(SourceHash, AClientAlwaysReachesTheSameBackend) {
  test_pool backends(4);
  source_hash sh(backends.pool);
  auto a = asio::ip::make_address("192.0.2.7");
  backend* first = sh.pick(a, {});
  ASSERT_NE(first, nullptr);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(sh.pick(a, {}), first);
  auto v6 = asio::ip::make_address("2001:db8::7");
  EXPECT_EQ(sh.pick(v6, {}), sh.pick(v6, {}));
}

TEST(SourceHash, SpreadsClientsEvenly) {
  test_pool backends(5);
  source_hash sh(backends.pool);
  auto count = shares(assign(sh, clients()));
  report_spread("5_backends", count);
  ASSERT_EQ(count.size(), 5u);
  // 2,000 each on average: within 10%.
  for (auto& [name, n] : count) {
    EXPECT_GT(n, 1800) << name;
    EXPECT_LT(n, 2200) << name;
  }
}

TEST(SourceHash, ABackendGoingDownMovesOnlyItsOwnClientsAndGetsThemBack) {
  test_pool backends(5);
  source_hash sh(backends.pool);
  backends.pool.set_listener(&sh);
  std::vector<asio::ip::address> addresses = clients();
  std::vector<std::string> before = assign(sh, addresses);

  backends.set_up(backends[2], false);
  std::vector<std::string> during = assign(sh, addresses);
  std::map<std::string, int> moved_to;
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    if (before[i] == "2") {
      ++moved_to[during[i]];
    } else {
      EXPECT_EQ(during[i], before[i]) << addresses[i];
    }
  }
  // Its clients spread over all four others, none left on it.
  EXPECT_EQ(moved_to.count("2"), 0u);
  EXPECT_EQ(moved_to.size(), 4u);
  report_spread("4_of_5_up", shares(during));

  backends.set_up(backends[2], true);
  EXPECT_EQ(assign(sh, addresses), before);
}

TEST(SourceHash, AvoidingABackendMovesOnlyItsOwnClients) {
  test_pool backends(3);
  source_hash sh(backends.pool);
  std::vector<asio::ip::address> addresses = clients();
  std::vector<std::string> before = assign(sh, addresses);
  std::vector<std::string> avoiding = assign(sh, addresses, {&backends[0]});
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    if (before[i] != "0") {
      EXPECT_EQ(avoiding[i], before[i]);
    }
    EXPECT_NE(avoiding[i], "0");
  }
}

TEST(SourceHash, RetiringABackendMovesFewOtherClients) {
  test_pool backends(5);
  source_hash sh(backends.pool);
  backends.pool.set_listener(&sh);
  std::vector<asio::ip::address> addresses = clients();
  std::vector<std::string> before = assign(sh, addresses);
  backends.pool.retire(backends[4]);
  std::vector<std::string> after = assign(sh, addresses);
  int others_moved = 0;
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    EXPECT_NE(after[i], "4");
    if (before[i] != "4" && after[i] != before[i]) ++others_moved;
  }
  // The table is rebuilt; Maglev keeps nearly every other client where it was.
  std::printf("source-hash retire 1 of 5: %d of %d other clients moved\n", others_moved, kClients);
  RecordProperty("retire_others_moved", others_moved);
  EXPECT_LT(others_moved, kClients / 50);
}

TEST(SourceHash, SharesFollowWeights) {
  test_pool backends(3, {2, 1, 1});
  source_hash sh(backends.pool);
  auto count = shares(assign(sh, clients()));
  report_spread("weights_2_1_1", count);
  EXPECT_NEAR(count["0"], 5000, 300);
  EXPECT_NEAR(count["1"], 2500, 300);
  EXPECT_NEAR(count["2"], 2500, 300);
}

TEST(SourceHash, NeverPicksWeightZeroOrNothingUsable) {
  test_pool backends(3, {1, 0, 1});
  source_hash sh(backends.pool);
  EXPECT_EQ(shares(assign(sh, clients())).count("1"), 0u);
  backends.set_up(backends[0], false);
  backends.set_up(backends[2], false);
  EXPECT_EQ(sh.pick(kClient, {}), nullptr);
}

TEST(SourceHash, TheTableDependsOnNamesNotOrder) {
  // The same backends listed in another order: every client keeps its backend's name.
  test_pool forward(3);
  backend_pool reversed;
  for (int i = 2; i >= 0; --i) {
    backend b;
    b.name = std::to_string(i);
    b.health = health_state(1, 1, true);
    reversed.add(std::move(b));
  }
  source_hash a(forward.pool), b(reversed);
  std::vector<asio::ip::address> addresses = clients();
  EXPECT_EQ(assign(a, addresses), assign(b, addresses));
}

// Direct mode reads this table: it must agree with pick() for every client, with backends
// down and avoided too.
TEST(SourceHash, ResolvedSlotsAgreeWithPick) {
  test_pool backends(5, {1, 2, 1, 1, 3});
  source_hash sh(backends.pool);
  backends.set_up(backends[1], false);
  std::vector<backend*> avoid{&backends[3]};
  std::vector<backend*> table = sh.resolved_slots(avoid);
  ASSERT_EQ(table.size(), source_hash::kTableSize);
  for (const asio::ip::address& a : clients())
    ASSERT_EQ(table[hash_address(a) % source_hash::kTableSize], sh.pick(a, avoid)) << a;
  for (backend* b : table) {
    ASSERT_NE(b, nullptr);
    EXPECT_NE(b, &backends[1]);
    EXPECT_NE(b, &backends[3]);
  }
}

TEST(SourceHash, ResolvedSlotsAreEmptyWithNothingEligible) {
  test_pool backends(2);
  source_hash sh(backends.pool);
  backends.set_up(backends[0], false);
  backends.set_up(backends[1], false);
  for (backend* b : sh.resolved_slots()) ASSERT_EQ(b, nullptr);
  backend_pool empty;
  source_hash none(empty);
  EXPECT_EQ(none.resolved_slots(), std::vector<backend*>(source_hash::kTableSize, nullptr));
}

}  // namespace
}  // namespace pinwheel
