#include "strategy/least_pending.hpp"

#include <gtest/gtest.h>

#include <deque>

#include "strategy/test_pool.hpp"

namespace pinwheel {
namespace {

using namespace pinwheel::testing;

// Connections as sessions keep them: a link each, sent and answered through the pool.
struct connections {
  explicit connections(backend_pool& p) : pool(p) {}
  ~connections() {
    for (auto& [b, link] : links) pool.reply_received(*b, link);
  }
  /// A request went to `b` on a new connection; returns its link.
  awaiting_link& send(backend& b) {
    links.emplace_back(&b, awaiting_link{});
    pool.request_sent(b, links.back().second);
    return links.back().second;
  }
  backend_pool& pool;
  std::deque<std::pair<backend*, awaiting_link>> links;  // deque: links never move
};

TEST(LeastPending, PrefersABackendThatOwesNothingOverFewerConnections) {
  test_pool backends(2);
  connections open(backends.pool);
  // Backend 0: one connection, its request unanswered (frozen on it). Backend 1: five
  // connections, every one answered.
  open.send(backends[0]);
  backends[0].active_connections = 1;
  backends[1].active_connections = 5;
  least_pending lp(backends.pool);
  EXPECT_EQ(picks(lp, 3), (names{"1", "1", "1"}));
}

TEST(LeastPending, IdleBackendsShareByConnectionsInRotation) {
  test_pool backends(3);
  least_pending lp(backends.pool);
  EXPECT_EQ(picks(lp, 6), (names{"0", "1", "2", "0", "1", "2"}));
  backends[0].active_connections = 2;
  EXPECT_EQ(picks(lp, 2), (names{"1", "2"}));
}

TEST(LeastPending, WhenAllOweTakesTheOneWhoseOldestWaitBeganLast) {
  test_pool backends(2);
  connections open(backends.pool);
  open.send(backends[0]);                              // the slow request, sent first
  for (int i = 0; i < 5; ++i) open.send(backends[1]);  // quick ones, still in flight
  least_pending lp(backends.pool);
  // Backend 1 has answered everything sent before its oldest wait began; 0 has not.
  EXPECT_EQ(picks(lp, 2), (names{"1", "1"}));
}

TEST(LeastPending, AnAnswerEndsTheWait) {
  test_pool backends(2);
  connections open(backends.pool);
  awaiting_link& slow = open.send(backends[0]);
  backends[1].active_connections = 3;
  least_pending lp(backends.pool);
  EXPECT_EQ(picks(lp, 1), (names{"1"}));
  backends.pool.reply_received(backends[0], slow);
  EXPECT_EQ(backends[0].awaiting.size(), 0u);
  EXPECT_EQ(picks(lp, 1), (names{"0"}));
}

TEST(LeastPending, MoreBytesOnAWaitingConnectionKeepItsPlace) {
  test_pool backends(2);
  connections open(backends.pool);
  awaiting_link& first = open.send(backends[0]);
  open.send(backends[1]);
  // A request in several segments, or pipelined ones: still waiting since the first.
  backends.pool.request_sent(backends[0], first);
  EXPECT_EQ(backends[0].awaiting.size(), 1u);
  least_pending lp(backends.pool);
  EXPECT_EQ(picks(lp, 1), (names{"1"}));
}

TEST(LeastPending, SkipsDownAvoidedAndWeightZeroBackends) {
  test_pool backends(4, {1, 1, 0, 1});
  connections open(backends.pool);
  open.send(backends[3]);
  backends.set_up(backends[0], false);
  least_pending lp(backends.pool);
  EXPECT_EQ(picks(lp, 2), (names{"1", "1"}));
  // Only backend 3 (owing a response) is left: better than nothing.
  EXPECT_EQ(picks(lp, 1, {&backends[1]}), (names{"3"}));
  EXPECT_EQ(picks(lp, 1, {&backends[1], &backends[3]}), (names{"-"}));
}

TEST(LeastPending, WeightsShareIdleBackends) {
  test_pool backends(2, {3, 1});
  least_pending lp(backends.pool);
  names chosen;
  for (int i = 0; i < 8; ++i) {
    backend* b = lp.pick(kClient, {});
    backends.pool.take_connection(*b);
    chosen.push_back(b->name);
  }
  EXPECT_EQ(backends[0].active_connections, 6u);
  EXPECT_EQ(backends[1].active_connections, 2u);
}

}  // namespace
}  // namespace pinwheel
