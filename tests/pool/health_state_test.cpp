#include "pool/health_state.hpp"

#include <gtest/gtest.h>

namespace pinwheel {
namespace {

using namespace std::chrono_literals;
using status = health_state::status;

// A fake clock: time only moves when the test says so.
struct fake_clock {
  health_state::clock::time_point now{};
  health_state::clock::time_point advance(std::chrono::milliseconds d) { return now += d; }
};

TEST(HealthState, StartsDownAndComesUpOnFirstSuccess) {
  fake_clock clock;
  health_state h(/*rise=*/3, /*fall=*/2);
  EXPECT_EQ(h.current(), status::starting);
  EXPECT_FALSE(h.up());
  EXPECT_FALSE(h.record(false, clock.advance(50ms)));
  EXPECT_EQ(h.current(), status::starting);
  EXPECT_TRUE(h.record(true, clock.advance(50ms)));
  EXPECT_TRUE(h.up());
  EXPECT_EQ(h.since(), clock.now);
}

TEST(HealthState, GoesDownAfterFallConsecutiveFailures) {
  fake_clock clock;
  health_state h(2, 3, /*initially_up=*/true);
  EXPECT_FALSE(h.record(false, clock.advance(2s)));
  EXPECT_FALSE(h.record(false, clock.advance(2s)));
  EXPECT_TRUE(h.up());
  EXPECT_TRUE(h.record(false, clock.advance(2s)));
  EXPECT_EQ(h.current(), status::down);
  EXPECT_EQ(h.since(), clock.now);
}

TEST(HealthState, ASuccessResetsTheFailureStreak) {
  fake_clock clock;
  health_state h(2, 3, true);
  h.record(false, clock.advance(1s));
  h.record(false, clock.advance(1s));
  EXPECT_EQ(h.streak(), 2);
  h.record(true, clock.advance(1s));
  EXPECT_EQ(h.streak(), 0);
  h.record(false, clock.advance(1s));
  h.record(false, clock.advance(1s));
  EXPECT_TRUE(h.up());
}

TEST(HealthState, ComesBackAfterRiseConsecutiveSuccesses) {
  fake_clock clock;
  health_state h(3, 1, true);
  EXPECT_TRUE(h.record(false, clock.advance(1s)));
  EXPECT_FALSE(h.record(true, clock.advance(1s)));
  EXPECT_FALSE(h.record(true, clock.advance(1s)));
  EXPECT_FALSE(h.record(false, clock.advance(1s)));  // streak broken
  EXPECT_FALSE(h.record(true, clock.advance(1s)));
  EXPECT_FALSE(h.record(true, clock.advance(1s)));
  auto third = clock.advance(1s);
  EXPECT_TRUE(h.record(true, third));
  EXPECT_TRUE(h.up());
  EXPECT_EQ(h.since(), third);
}

TEST(HealthState, RestartTakesItDownUntilItsFirstSuccess) {
  fake_clock clock;
  health_state h(5, 5, true);
  EXPECT_TRUE(h.restart(clock.advance(1s)));
  EXPECT_EQ(h.current(), status::starting);
  EXPECT_FALSE(h.restart(clock.advance(1s)));        // already down
  EXPECT_TRUE(h.record(true, clock.advance(50ms)));  // not `rise` (5): the process is new
}

}  // namespace
}  // namespace pinwheel
