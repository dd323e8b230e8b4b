#include "autoscale/scale_decider.hpp"

#include <gtest/gtest.h>

namespace pinwheel {
namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Every test runs on its own fake time line, one sample a second.
class ScaleDecider : public ::testing::Test {
 protected:
  ScaleDecider() {
    o.interval = 1s;
    o.scale_up_cpu = 0.8;
    o.scale_down_cpu = 0.3;
    o.scale_up_after = 3s;
    o.scale_down_after = 5s;
    o.cooldown = 10s;
  }

  /// `backends` backends, all measured, each at `cpu` with `queued` awaiting.
  static load_sample even(int backends, double cpu, double queued = 0) {
    return {backends, backends, cpu * backends, queued * backends};
  }

  /// Feeds the same sample every second for `seconds` (moving the clock); the first decision
  /// that changes the count, or the last one.
  scale_decision feed(const load_sample& s, int seconds, int min = 1, int max = 4) {
    scale_decision d;
    for (int i = 0; i < seconds; ++i) {
      d = decider.decide(s, min, max, now);
      now += 1s;
      if (d.direction != scale_direction::none) return d;
    }
    return d;
  }

  autoscale_options o;
  scale_decider decider{o};
  clock::time_point now = clock::time_point() + 1h;
};

TEST_F(ScaleDecider, AddsOneBackendOnceHighCpuHeldForScaleUpAfter) {
  // Samples at 0s, 1s, 2s: held for 2s, not yet 3s.
  EXPECT_EQ(feed(even(1, 0.95), 3).direction, scale_direction::none);
  scale_decision d = decider.decide(even(1, 0.95), 1, 4, now);
  EXPECT_EQ(d.direction, scale_direction::up);
  EXPECT_EQ(d.target, 2);
  EXPECT_NE(d.reason.find("mean cpu 0.95 >= scale_up_cpu 0.80 for 3s"), std::string::npos)
      << d.reason;
}

TEST_F(ScaleDecider, AStreakBrokenByOneNormalSampleStartsAgain) {
  feed(even(1, 0.95), 2);
  // Neither high nor low: the hysteresis forgets the streak.
  EXPECT_EQ(feed(even(1, 0.5), 1).direction, scale_direction::none);
  EXPECT_EQ(feed(even(1, 0.95), 3).direction, scale_direction::none);
  EXPECT_EQ(feed(even(1, 0.95), 1).direction, scale_direction::up);
}

TEST_F(ScaleDecider, QueuedConnectionsScaleUpWhenConfigured) {
  // Off by default (and at min, so the idle CPU removes nothing).
  EXPECT_EQ(feed(even(2, 0.1, 5), 10, 2, 4).direction, scale_direction::none);
  o.scale_up_queued = 4;
  decider.reset();
  scale_decision d = feed(even(2, 0.1, 5), 10, 2, 4);
  EXPECT_EQ(d.direction, scale_direction::up);
  EXPECT_EQ(d.target, 3);
  EXPECT_NE(d.reason.find("mean queued 5.00 >= scale_up_queued 4.00"), std::string::npos)
      << d.reason;
}

TEST_F(ScaleDecider, NothingHappensDuringTheCooldown) {
  ASSERT_EQ(feed(even(1, 0.95), 10).target, 2);
  clock::time_point changed = now - 1s;
  // Still overloaded with two: held long enough, but cooling down until 10s after the change.
  scale_decision d = feed(even(2, 0.95), 100);
  EXPECT_EQ(d.direction, scale_direction::up);
  EXPECT_GE(now - 1s - changed, 10s);
  EXPECT_LT(now - 1s - changed, 12s);
}

TEST_F(ScaleDecider, RemovesOneBackendAfterLowLoadHeldForScaleDownAfter) {
  scale_decision d = feed(even(3, 0.1), 100);
  EXPECT_EQ(d.direction, scale_direction::down);
  EXPECT_EQ(d.target, 2);
  EXPECT_NE(d.reason.find("mean cpu 0.10 <= scale_down_cpu 0.30 for 5s"), std::string::npos)
      << d.reason;
}

TEST_F(ScaleDecider, NeverRemovesWhenTheRestWouldThenBeOverloaded) {
  // 0.3 each on 2 backends is low, but 0.6 on 1 would be below 0.8: removal is fine.
  o.scale_up_cpu = 0.5;
  o.scale_down_cpu = 0.3;
  // The same load on one backend fewer would be 0.6 >= 0.5: removing would call for an
  // addition next, so it stays (no flapping).
  EXPECT_EQ(feed(even(2, 0.3), 100).direction, scale_direction::none);
  o.scale_up_queued = 3;
  // Queued 2 each on 2 would become 4 on 1 (>= 3): stays too, however idle the CPU.
  EXPECT_EQ(feed(even(2, 0.0, 2), 100).direction, scale_direction::none);
  EXPECT_EQ(feed(even(2, 0.0, 1), 100).direction, scale_direction::down);
}

TEST_F(ScaleDecider, StaysWithinMinAndMax) {
  scale_decision d = feed(even(4, 1.0), 100, 1, 4);
  EXPECT_EQ(d.direction, scale_direction::none);
  EXPECT_TRUE(d.at_max);
  d = feed(even(2, 0.0), 100, 2, 4);
  EXPECT_EQ(d.direction, scale_direction::none);
  EXPECT_FALSE(d.at_max);
}

TEST_F(ScaleDecider, ACountOutsideNewBoundsStepsBackAtOnce) {
  scale_decision d = decider.decide(even(1, 0.5), 2, 4, now);
  EXPECT_EQ(d.direction, scale_direction::up);
  EXPECT_EQ(d.target, 2);
  d = decider.decide(even(5, 0.5), 1, 4, now);
  EXPECT_EQ(d.direction, scale_direction::down);
  EXPECT_EQ(d.target, 4);
}

TEST_F(ScaleDecider, NoMeasurementNoDecision) {
  load_sample none{2, 0, 0, 0};
  EXPECT_EQ(feed(none, 100).direction, scale_direction::none);
  // Only one of two measured: too little to judge a removal by.
  load_sample one{2, 1, 0.0, 0};
  EXPECT_EQ(feed(one, 100).direction, scale_direction::none);
}

TEST_F(ScaleDecider, AnOscillatingLoadDoesNotFlap) {
  // Load swinging between high and low every two seconds never holds long enough.
  int changes = 0;
  for (int i = 0; i < 300; ++i) {
    bool high = (i / 2) % 2 == 0;
    scale_decision d = decider.decide(even(2, high ? 0.95 : 0.05), 1, 4, now);
    now += 1s;
    if (d.direction != scale_direction::none) ++changes;
  }
  EXPECT_EQ(changes, 0);
}

TEST_F(ScaleDecider, ScalesUpThenDownAsLoadComesAndGoes) {
  int backends = 1;
  std::vector<int> counts;
  auto run = [&](double total_cpu, int seconds) {
    for (int i = 0; i < seconds; ++i) {
      load_sample s{backends, backends, total_cpu, 0};
      scale_decision d = decider.decide(s, 1, 3, now);
      now += 1s;
      if (d.direction != scale_direction::none) {
        backends = d.target;
        counts.push_back(backends);
      }
    }
  };
  run(2.5, 60);  // two and a half cores' worth of work
  run(0.1, 60);  // then almost none
  EXPECT_EQ(counts, (std::vector<int>{2, 3, 2, 1}));
}

}  // namespace
}  // namespace pinwheel
