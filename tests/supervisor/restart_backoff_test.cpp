#include "supervisor/restart_backoff.hpp"

#include <gtest/gtest.h>

namespace pinwheel {
namespace {

using namespace std::chrono_literals;
using time_point = restart_backoff::time_point;

backends_options backoff_options() {
  backends_options o;
  o.restart_delay = 100ms;
  o.restart_delay_max = 1s;
  o.min_uptime = 5s;
  o.max_restarts = 10;
  return o;
}

// One exit after running `uptime`, following `quick_exits` quick ones.
restart_backoff::decision exit_after(const restart_backoff& b, int quick_exits,
                                     std::chrono::milliseconds uptime) {
  time_point started{};
  return b.after_exit(quick_exits, started, started + uptime);
}

TEST(RestartBackoff, FirstQuickExitWaitsRestartDelay) {
  restart_backoff b(backoff_options());
  restart_backoff::decision d = exit_after(b, 0, 10ms);
  EXPECT_EQ(d.quick_exits, 1);
  EXPECT_FALSE(d.give_up);
  EXPECT_EQ(d.delay, 100ms);
}

TEST(RestartBackoff, EachQuickExitInARowDoublesTheDelayUpToTheCeiling) {
  restart_backoff b(backoff_options());
  std::vector<std::chrono::milliseconds> delays;
  int quick_exits = 0;
  for (int i = 0; i < 7; ++i) {
    restart_backoff::decision d = exit_after(b, quick_exits, 0ms);
    quick_exits = d.quick_exits;
    delays.push_back(d.delay);
  }
  std::vector<std::chrono::milliseconds> expected{100ms, 200ms, 400ms, 800ms, 1s, 1s, 1s};
  EXPECT_EQ(delays, expected);
  EXPECT_EQ(quick_exits, 7);
}

TEST(RestartBackoff, ARunOfMinUptimeStartsTheCountOver) {
  restart_backoff b(backoff_options());
  restart_backoff::decision long_run = exit_after(b, 6, 5s);
  EXPECT_EQ(long_run.quick_exits, 0);
  EXPECT_EQ(long_run.delay, 100ms);
  restart_backoff::decision just_short = exit_after(b, 6, 4999ms);
  EXPECT_EQ(just_short.quick_exits, 7);
  EXPECT_EQ(just_short.delay, 1s);
}

TEST(RestartBackoff, GivesUpOnTheExitAfterMaxRestartsQuickOnes) {
  backends_options o = backoff_options();
  o.max_restarts = 2;
  restart_backoff b(o);
  EXPECT_FALSE(exit_after(b, 0, 0ms).give_up);
  EXPECT_FALSE(exit_after(b, 1, 0ms).give_up);
  restart_backoff::decision third = exit_after(b, 2, 0ms);
  EXPECT_TRUE(third.give_up);
  EXPECT_EQ(third.quick_exits, 3);
  // A long run in between forgives everything before it.
  EXPECT_FALSE(exit_after(b, 2, 5s).give_up);
}

TEST(RestartBackoff, ZeroMaxRestartsGivesUpAtTheFirstQuickExit) {
  backends_options o = backoff_options();
  o.max_restarts = 0;
  restart_backoff b(o);
  EXPECT_TRUE(exit_after(b, 0, 0ms).give_up);
  EXPECT_FALSE(exit_after(b, 0, 5s).give_up);
}

TEST(RestartBackoff, ZeroRestartDelayRestartsAtOnce) {
  backends_options o = backoff_options();
  o.restart_delay = 0ms;
  restart_backoff b(o);
  EXPECT_EQ(exit_after(b, 5, 0ms).delay, 0ms);
}

TEST(RestartBackoff, ALongCrashLoopStaysAtTheCeiling) {
  backends_options o = backoff_options();
  o.max_restarts = 1'000'000;
  o.restart_delay = 1ms;
  o.restart_delay_max = 24h;
  restart_backoff b(o);
  restart_backoff::decision d = exit_after(b, 999'998, 0ms);
  EXPECT_FALSE(d.give_up);
  EXPECT_EQ(d.delay, 24h);
}

TEST(RestartBackoff, GivingUpStillSaysHowLongToWait) {
  backends_options o;
  o.restart_delay = 100ms;
  o.restart_delay_max = 1s;
  o.max_restarts = 1;
  restart_backoff b(o);
  auto d = b.after_exit(5, {}, {});
  EXPECT_TRUE(d.give_up);
  EXPECT_EQ(d.delay, 1s) << "a caller that retries anyway must still back off";
}

}  // namespace
}  // namespace pinwheel
