#include "health/check_failure_log.hpp"

#include <gtest/gtest.h>

namespace pinwheel {
namespace {

using namespace std::chrono_literals;
using time_point = check_failure_log::clock::time_point;

// A fake clock: time only moves when the test says so.
struct fake_clock {
  time_point now{};
  time_point advance(std::chrono::milliseconds d) { return now += d; }
};

const std::string kRefused = "connect: Connection refused";
const std::string k404 = "GET /health answered \"HTTP/1.1 404 Not Found\"";

TEST(CheckFailureLog, TheFirstFailureIsLoggedAtOnce) {
  fake_clock clock;
  check_failure_log log;
  auto line = log.failed(kRefused, clock.advance(50ms));
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, "check failed: connect: Connection refused (first failure)");
  EXPECT_EQ(log.failures(), 1);
}

TEST(CheckFailureLog, TheSameReasonIsRepeatedEveryTenSecondsWithCountAndDuration) {
  fake_clock clock;
  check_failure_log log;
  ASSERT_TRUE(log.failed(k404, clock.advance(50ms)));
  // Every 50 ms for just under 10 s: silent.
  for (int i = 0; i < 199; ++i) EXPECT_FALSE(log.failed(k404, clock.advance(50ms))) << i;
  auto line = log.failed(k404, clock.advance(50ms));  // 10 s after the first line
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, "check failed: " + k404 + " (201 failures in 10s)");
  EXPECT_FALSE(log.failed(k404, clock.advance(2s)));
  line = log.failed(k404, clock.advance(8s + 450ms));
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, "check failed: " + k404 + " (203 failures in 20s400ms)");
}

TEST(CheckFailureLog, ANewReasonIsLoggedWithinASecond) {
  fake_clock clock;
  check_failure_log log;
  ASSERT_TRUE(log.failed(kRefused, clock.advance(50ms)));
  // The backend now listens but answers 404: said at once, unless a line went out < 1 s ago.
  EXPECT_FALSE(log.failed(k404, clock.advance(50ms)));
  EXPECT_FALSE(log.failed(k404, clock.advance(900ms)));
  auto line = log.failed(k404, clock.advance(50ms));
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, "check failed: " + k404 + " (4 failures in 1s)");
}

TEST(CheckFailureLog, AFlappingReasonLogsAtMostOneLineASecond) {
  fake_clock clock;
  check_failure_log log;
  int lines = 0;
  for (int i = 0; i < 200; ++i)  // 10 s, alternating every 50 ms
    lines += log.failed(i % 2 ? kRefused : k404, clock.advance(50ms)).has_value();
  EXPECT_LE(lines, 11);
  EXPECT_GE(lines, 9);
}

TEST(CheckFailureLog, ResetStartsANewRun) {
  fake_clock clock;
  check_failure_log log;
  ASSERT_TRUE(log.failed(kRefused, clock.advance(50ms)));
  EXPECT_FALSE(log.failed(kRefused, clock.advance(50ms)));
  log.reset();
  EXPECT_EQ(log.failures(), 0);
  auto line = log.failed(kRefused, clock.advance(50ms));
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, "check failed: connect: Connection refused (first failure)");
}

}  // namespace
}  // namespace pinwheel
