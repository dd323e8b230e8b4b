#include "arrival_schedule.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace pinwheel::loadgen {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

TEST(arrival_schedule, constant_rate_hands_out_each_request_at_its_time) {
  // 1000 req/s for 1 s, driven by a fake clock that advances in uneven steps, as a real timer
  // wakes late: a request is never handed out early, and every due one is handed out.
  arrival_schedule schedule({{1000.0, 1s}}, ~0ull);
  EXPECT_EQ(schedule.total(), 1000u);
  std::uint64_t handed = 0;
  nanoseconds clock{0};
  const nanoseconds steps[] = {0ns, 300us, 1700us, 5ms, 999us, 12ms};
  for (int i = 0; schedule.next_due(); ++i) {
    clock += steps[i % 6];
    for (const scheduled_request& r : schedule.take_due(clock)) {
      EXPECT_EQ(r.index, handed);
      EXPECT_LE(r.offset, clock);
      // Request i is due at i ms, exactly (to the nanosecond rounding).
      EXPECT_NEAR(static_cast<double>(r.offset.count()), static_cast<double>(handed) * 1e6, 1.0);
      ++handed;
    }
    // Everything due by now has been taken.
    if (const auto next = schedule.next_due()) {
      EXPECT_GT(*next, clock);
    }
  }
  EXPECT_EQ(handed, 1000u);
  EXPECT_LE(clock, 1s + 12ms);
}

TEST(arrival_schedule, step_ramp_runs_phases_back_to_back) {
  arrival_schedule schedule({{10.0, 1s}, {100.0, 500ms}}, ~0ull);
  EXPECT_EQ(schedule.total(), 60u);
  EXPECT_EQ(schedule.length(), 1500ms);
  const auto first = schedule.take_due(999ms);
  ASSERT_EQ(first.size(), 10u);
  EXPECT_EQ(first.back().offset, 900ms);
  EXPECT_EQ(first.back().phase, 0u);
  const auto second = schedule.take_due(1s);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].phase, 1u);
  EXPECT_EQ(second[0].offset, 1s);
  const auto rest = schedule.take_due(10s);
  ASSERT_EQ(rest.size(), 49u);
  EXPECT_EQ(rest.back().offset, 1490ms);
  EXPECT_FALSE(schedule.next_due());
}

TEST(arrival_schedule, count_bound_stops_early) {
  arrival_schedule schedule({{100.0, 10s}}, 5);
  EXPECT_EQ(schedule.total(), 5u);
  EXPECT_EQ(schedule.take_due(10s).size(), 5u);
  EXPECT_FALSE(schedule.next_due());
}

TEST(arrival_schedule, fractional_rates_round_up_to_whole_requests) {
  // 2.5 req/s for 1 s: at 0, 0.4 s and 0.8 s.
  arrival_schedule schedule({{2.5, 1s}}, ~0ull);
  EXPECT_EQ(schedule.total(), 3u);
}

TEST(arrival_schedule, parses_a_ramp) {
  const auto phases = arrival_schedule::parse_ramp("25:5s,50.5:500ms");
  ASSERT_EQ(phases.size(), 2u);
  EXPECT_EQ(phases[0].rate, 25.0);
  EXPECT_EQ(phases[0].duration, 5s);
  EXPECT_EQ(phases[1].rate, 50.5);
  EXPECT_EQ(phases[1].duration, 500ms);
}

TEST(arrival_schedule, bad_ramp_steps_are_named) {
  const auto message = [](const char* spec) {
    try {
      arrival_schedule::parse_ramp(spec);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("25:5s,50"),
            "--ramp step 2 (\"50\"): no ':'; expected RATE:DURATION, e.g. 50:10s");
  EXPECT_EQ(
      message("x:5s"),
      "--ramp step 1 (\"x:5s\"): the rate is not a number; expected RATE:DURATION, e.g. 50:10s");
  EXPECT_EQ(message("-1:5s"),
            "--ramp step 1 (\"-1:5s\"): the rate must be positive; expected RATE:DURATION, e.g. "
            "50:10s");
  EXPECT_EQ(message("5:5"),
            "--ramp step 1 (\"5:5\"): the duration must be like 500ms, 10s or 1m; expected "
            "RATE:DURATION, e.g. 50:10s");
  EXPECT_THROW(arrival_schedule({}, 1), std::invalid_argument);
}

}  // namespace
}  // namespace pinwheel::loadgen
