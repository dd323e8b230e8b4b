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
  EXPECT_NEAR(ms(times.quantile(0.5)), 3, 3 * 0.13);
  EXPECT_NEAR(ms(times.quantile(0.9)), 100, 100 * 0.13);
  EXPECT_NEAR(ms(times.quantile(0)), 1, 1 * 0.13);
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
  EXPECT_NEAR(ms(times.expected_remaining(10ms)), 90, 100 * 0.13);
  // 80 ms in: about 20 ms to go.
  EXPECT_NEAR(ms(times.expected_remaining(80ms)), 20, 100 * 0.13);
}

TEST(ServiceTimes, AWaitLongerThanAnySampleIsExpectedToLastAsLongAgain) {
  service_times times = quick_and_slow();
  // A frozen backend: 2 s without an answer, longer than anything seen.
  EXPECT_EQ(times.expected_remaining(2s), 2s);
}

TEST(ServiceTimes, AFewLongSamplesAreTooFewToTrust) {
  service_times times;
  for (int i = 0; i < 200; ++i) times.record(i % 20 == 0 ? 800ms : 50us);
  // Ten slow samples: a wait of 1 ms is as likely a late quick one as a slow one.
  EXPECT_EQ(times.expected_remaining(1ms), 1ms);
  EXPECT_EQ(times.expected_remaining(100ms), 100ms);
  EXPECT_NEAR(ms(times.quantile(0.5)), 0.05, 0.05 * 0.13);
}

TEST(ServiceTimes, OldSamplesFadeAsNewOnesCome) {
  service_times times;
  for (int i = 0; i < 1000; ++i) times.record(100ms);
  // The workload changes: answers now take 1 ms. After a few halvings the old shape is gone.
  for (int i = 0; i < 10 * 4096; ++i) times.record(1ms);
  EXPECT_LT(times.count(), 4096u);
  EXPECT_NEAR(ms(times.quantile(0.5)), 1, 0.13);
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
