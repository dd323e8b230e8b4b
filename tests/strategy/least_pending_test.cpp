#include "strategy/least_pending.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <vector>

#include "strategy/test_pool.hpp"

namespace pinwheel {
namespace {

using namespace pinwheel::testing;
using namespace std::chrono_literals;

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

TEST(LeastPending, WithNothingMeasuredWhenAllOweTakesTheOneWhoseOldestWaitBeganLast) {
  test_pool backends(2);
  connections open(backends.pool);
  open.send(backends[0]);                              // the slow request, sent first
  for (int i = 0; i < 5; ++i) open.send(backends[1]);  // quick ones, still in flight
  least_pending lp(backends.pool);
  // Backend 1 has answered everything sent before its oldest wait began; 0 has not.
  EXPECT_EQ(picks(lp, 2), (names{"1", "1"}));
}

// Teaches the pool answer times: a request to `b` answered after each of `samples`.
void teach(test_pool& backends, backend& b, std::vector<std::chrono::microseconds> samples) {
  for (auto sample : samples) {
    awaiting_link link;
    backends.pool.request_sent(b, link);
    backends.clock.now += sample;
    backends.pool.reply_received(b, link);
  }
}

// 380 quick answers (600 µs) and 20 slow ones (100 ms), as in the strategies issue's mix.
std::vector<std::chrono::microseconds> quick_and_slow() {
  std::vector<std::chrono::microseconds> samples;
  for (int i = 0; i < 400; ++i) samples.push_back(i % 20 == 0 ? 100ms : 600us);
  return samples;
}

TEST(LeastPending, WhenAllOweTakesTheOneFurtherAlongOnEqualSlowRequests) {
  test_pool backends(2);
  teach(backends, backends[0], quick_and_slow());
  connections open(backends.pool);
  open.send(backends[0]);  // a slow request: 80 ms in when the pick comes
  backends.clock.now += 70ms;
  open.send(backends[1]);  // another: 10 ms in
  backends.clock.now += 10ms;
  least_pending lp(backends.pool);
  // Backend 0 should answer in about 20 ms, backend 1 in about 90.
  EXPECT_EQ(picks(lp, 1), (names{"0"}));
}

TEST(LeastPending, ABackendLongerOnItsRequestMustBeExpectedClearlySoonerToWin) {
  test_pool backends(2);
  std::vector<std::chrono::microseconds> samples(40, 300us);
  samples.push_back(1s);
  samples.push_back(1s);
  teach(backends, backends[1], samples);
  connections open(backends.pool);
  open.send(backends[0]);  // a slow one, 100 ms in: ~900 ms to go
  backends.clock.now += 95ms;
  open.send(backends[1]);  // a quick one delayed past every quick answer: reads ~995 ms to go
  backends.clock.now += 5ms;
  least_pending lp(backends.pool);
  // Not twice as soon: the close call goes to the backend that answered last.
  EXPECT_EQ(picks(lp, 1), (names{"1"}));
}

TEST(LeastPending, ABackendStuckLongerThanAnyAnswerSeenIsExpectedToStayStuck) {
  test_pool backends(2);
  teach(backends, backends[1], std::vector<std::chrono::microseconds>(100, 1ms));
  connections open(backends.pool);
  open.send(backends[0]);  // frozen on it for 2 s
  backends.clock.now += 2s;
  for (int i = 0; i < 5; ++i) open.send(backends[1]);  // five quick ones, just sent
  least_pending lp(backends.pool);
  EXPECT_EQ(picks(lp, 2), (names{"1", "1"}));
}

TEST(LeastPending, EachRequestQueuedBehindTheCurrentOneCostsATypicalAnswer) {
  test_pool backends(2);
  teach(backends, backends[0], std::vector<std::chrono::microseconds>(100, 10ms));
  connections open(backends.pool);
  open.send(backends[1]);  // one, 6 ms in
  backends.clock.now += 1ms;
  for (int i = 0; i < 4; ++i) open.send(backends[0]);  // one in work and three queued, 5 ms in
  backends.clock.now += 5ms;
  least_pending lp(backends.pool);
  // Backend 0: about 5 ms left of the current one plus 3 × 10 ms (the median); backend 1: about
  // 4 ms.
  EXPECT_EQ(picks(lp, 1), (names{"1"}));
}

TEST(LeastPending, AnAnswerOnAnotherConnectionRestartsTheClockOnTheOldest) {
  test_pool backends(2);
  teach(backends, backends[1], quick_and_slow());
  connections open(backends.pool);
  open.send(backends[1]);  // a slow request, 70 ms in when the pick comes: ~30 ms to go
  backends.clock.now += 20ms;
  open.send(backends[0]);  // sent 50 ms before the pick, but…
  backends.clock.now += 49800us;
  teach(backends, backends[0], {200us});  // …backend 0 answered another connection just now
  least_pending lp(backends.pool);
  // A single-threaded backend starts on the oldest once the answer before it left: backend 0
  // has only begun (~6 ms expected, the mean of all), where its 50 ms since sending would read
  // ~50.
  EXPECT_EQ(picks(lp, 1), (names{"0"}));
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
