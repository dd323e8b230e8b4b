#include "pool/service_times.hpp"

#include <gtest/gtest.h>

namespace pinwheel {
namespace {

using namespace std::chrono_literals;

double ms(service_times::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

TEST(ServiceTimes, WithoutSamplesAWaitIsExpectedToLastAsLongAgain) {
  service_times times;
  EXPECT_EQ(times.quantile(0.5), service_times::duration::zero());
  EXPECT_EQ(times.expected_remaining(40ms), 40ms);
  EXPECT_EQ(times.expected_remaining(-1ms), service_times::duration::zero());
}

TEST(ServiceTimes, QuantilesAreWithinABucketsWidth) {
  service_times times;
  for (auto sample : {1ms, 2ms, 3ms, 10ms, 100ms}) times.record(sample);
  EXPECT_NEAR(ms(times.quantile(0.5)), 3, 3 * 0.07);
  EXPECT_NEAR(ms(times.quantile(0.9)), 100, 100 * 0.07);
  EXPECT_NEAR(ms(times.quantile(0)), 1, 1 * 0.07);
  times.record(-5ms);  // a clock that went back counts as zero
  EXPECT_EQ(times.count(), 6u);
}

// The mix of the strategies issue: 95 % quick answers and 5 % of 100 ms.
service_times quick_and_slow() {
  service_times times;
  for (int i = 0; i < 2000; ++i) times.record(i % 20 == 0 ? 100ms : 600us);
  return times;
}

TEST(ServiceTimes, AWaitPastTheQuickAnswersIsASlowOneWithItsRestToGo) {
  service_times times = quick_and_slow();
  // Just begun: most likely quick.
  EXPECT_LT(ms(times.expected_remaining(0ms)), 10);
  // 10 ms in: no quick answer lasts that long, so it is a slow one, about 90 ms to go.
  EXPECT_NEAR(ms(times.expected_remaining(10ms)), 90, 100 * 0.07);
  // 80 ms in: about 20 ms to go.
  EXPECT_NEAR(ms(times.expected_remaining(80ms)), 20, 100 * 0.07);
}

TEST(ServiceTimes, AWaitLongerThanAnySampleIsExpectedToLastAsLongAgain) {
  service_times times = quick_and_slow();
  // A frozen backend: 2 s without an answer, longer than anything seen.
  EXPECT_EQ(times.expected_remaining(2s), 2s);
}

TEST(ServiceTimes, TheRestShrinksSmoothlyAsAWaitNearsTheSamples) {
  service_times times;
  for (int i = 0; i < 100; ++i) times.record(100ms);
  EXPECT_NEAR(ms(times.expected_remaining(90ms)), 10, 4);
  // Within the samples' own bucket (about 4 % wide) the rest keeps shrinking, never jumps.
  double before = ms(times.expected_remaining(90ms));
  for (auto age = 91ms; age <= 100ms; age += 1ms) {
    double rest = ms(times.expected_remaining(age));
    EXPECT_LE(rest, before) << age.count() << " ms";
    EXPECT_GE(rest, 0) << age.count() << " ms";
    before = rest;
  }
  EXPECT_EQ(times.expected_remaining(110ms), 110ms);  // past them all: as long again
}

// A tail of a few slow answers among many quick ones: a request just begun is expected to take
// the mean; one past the quick ones, what is left of a slow one.
TEST(ServiceTimes, AFewSlowAnswersSetTheRestOfAWaitPastTheQuickOnes) {
  service_times times;
  for (int i = 0; i < 210; ++i) times.record(i % 21 == 0 ? 800ms : 50us);
  EXPECT_NEAR(ms(times.expected_remaining(0ms)), 800.0 / 21, 800.0 / 21 * 0.07);
  EXPECT_NEAR(ms(times.expected_remaining(100ms)), 700, 800 * 0.07);
  EXPECT_NEAR(ms(times.quantile(0.5)), 0.05, 0.05 * 0.07);
}

TEST(ServiceTimes, OldSamplesFadeAsNewOnesCome) {
  service_times times;
  for (int i = 0; i < 1000; ++i) times.record(100ms);
  // The workload changes: answers now take 1 ms. After a few halvings the old shape is gone.
  for (int i = 0; i < 10 * 4096; ++i) times.record(1ms);
  EXPECT_LT(times.count(), 4096u);
  EXPECT_NEAR(ms(times.quantile(0.5)), 1, 0.07);
  EXPECT_EQ(times.expected_remaining(50ms), 50ms);
}

TEST(ServiceTimes, SamplesBeyondAMinuteShareTheTopBucket) {
  service_times times;
  times.record(std::chrono::hours(2));
  EXPECT_GT(times.quantile(0.5), 50s);
  EXPECT_LT(times.quantile(0.5), 70s);
}

}  // namespace
}  // namespace pinwheel
