#include "pool/awaiting_list.hpp"

#include <gtest/gtest.h>

#include "pool/backend_pool.hpp"

namespace pinwheel {
namespace {

TEST(AwaitingList, KeepsArrivalOrderAndRemovesFromAnywhere) {
  awaiting_list list;
  awaiting_link a, b, c;
  EXPECT_EQ(list.oldest(), nullptr);
  list.push_back(a, 1, {});
  list.push_back(b, 2, {});
  list.push_back(c, 3, {});
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ(list.oldest(), &a);
  list.remove(b);  // the middle
  EXPECT_EQ(list.size(), 2u);
  EXPECT_FALSE(b.linked());
  list.remove(a);  // the head: c is the oldest now
  EXPECT_EQ(list.oldest(), &c);
  list.push_back(a, 4, {});
  list.remove(c);
  EXPECT_EQ(list.oldest(), &a);
  list.remove(a);  // the last
  EXPECT_EQ(list.size(), 0u);
  EXPECT_EQ(list.oldest(), nullptr);
  list.push_back(b, 5, {});
  EXPECT_EQ(list.oldest(), &b);
  list.remove(b);
}

TEST(AwaitingList, ThePoolNumbersRequestsAcrossBackends) {
  backend_pool pool;
  backend one, two;
  one.name = "1";
  two.name = "2";
  backend& first = pool.add(std::move(one));
  backend& second = pool.add(std::move(two));
  awaiting_link x, y;
  pool.request_sent(first, x);
  pool.request_sent(second, y);
  pool.request_sent(first, x);  // more bytes of the same request: no new wait
  EXPECT_LT(x.since, y.since);
  EXPECT_EQ(first.awaiting.size(), 1u);
  pool.reply_received(first, x);
  pool.reply_received(first, x);  // a second answer changes nothing
  EXPECT_EQ(first.awaiting.size(), 0u);
  pool.reply_received(second, y);
}

// A fake clock for the pool: the test moves it by hand.
struct manual_clock {
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
  clock_source source() {
    return [this] { return now; };
  }
};

TEST(AwaitingList, AnAnswerRecordsHowLongTheBackendWorkedOnIt) {
  using namespace std::chrono_literals;
  manual_clock clock;
  backend_pool pool(clock.source());
  backend one;
  one.name = "1";
  backend& b = pool.add(std::move(one));
  awaiting_link first, second, dropped;
  pool.request_sent(b, first);
  pool.request_sent(b, second);  // queued behind the first on a single-threaded backend
  clock.now += 30ms;
  pool.reply_received(b, first);  // 30 ms from when it was sent
  EXPECT_EQ(b.awaiting.last_answer(), clock.now);
  clock.now += 10ms;
  pool.reply_received(b, second);  // 10 ms from the answer before it, not 40 from its sending
  EXPECT_EQ(pool.answer_times().count(), 2u);
  using milliseconds = std::chrono::duration<double, std::milli>;
  EXPECT_NEAR(milliseconds(pool.answer_times().quantile(0.5)).count(), 10, 10 * 0.07);
  // A connection that ended unanswered teaches nothing.
  pool.request_sent(b, dropped);
  clock.now += 5s;
  pool.wait_abandoned(b, dropped);
  EXPECT_EQ(b.awaiting.size(), 0u);
  EXPECT_EQ(pool.answer_times().count(), 2u);
}

}  // namespace
}  // namespace pinwheel
