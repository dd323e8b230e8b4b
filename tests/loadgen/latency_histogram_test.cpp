#include "latency_histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace pinwheel::loadgen {
namespace {

TEST(latency_histogram, empty_reports_zero) {
  latency_histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.value_at_percentile(99), 0u);
  EXPECT_EQ(h.max(), 0u);
}

TEST(latency_histogram, small_values_are_exact) {
  latency_histogram h;
  for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
  EXPECT_EQ(h.value_at_percentile(50), 50u);
  EXPECT_EQ(h.value_at_percentile(90), 90u);
  EXPECT_EQ(h.value_at_percentile(99), 99u);
  EXPECT_EQ(h.value_at_percentile(100), 100u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(latency_histogram, every_bucket_bounds_the_relative_error) {
  for (std::uint64_t v :
       {std::uint64_t{127}, std::uint64_t{128}, std::uint64_t{129}, std::uint64_t{1000},
        std::uint64_t{65535}, std::uint64_t{1} << 40, (std::uint64_t{1} << 63) + 12345}) {
    const std::uint64_t high = latency_histogram::highest_in(latency_histogram::bucket_of(v));
    EXPECT_GE(high, v);
    EXPECT_LE(static_cast<double>(high - v), static_cast<double>(v) / 128.0) << v;
  }
  EXPECT_EQ(latency_histogram::bucket_of(~std::uint64_t{0}),
            latency_histogram::bucket_of(std::uint64_t{1} << 63) + 127);
}

TEST(latency_histogram, percentiles_of_a_known_spread_within_the_error) {
  // 1..100000 µs: percentile p is p*1000 µs exactly.
  latency_histogram h;
  std::vector<std::uint64_t> values;
  for (std::uint64_t v = 1; v <= 100000; ++v) h.record(v);
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const double truth = p * 1000.0;
    const double got = static_cast<double>(h.value_at_percentile(p));
    EXPECT_GE(got, truth) << p;
    EXPECT_LE(got, truth * (1.0 + 1.0 / 128.0)) << p;
  }
  EXPECT_EQ(h.value_at_percentile(100), 100000u);
}

TEST(latency_histogram, a_tail_shows_at_p99_not_at_p50) {
  latency_histogram h;
  for (int i = 0; i < 980; ++i) h.record(1000);      // 1 ms
  for (int i = 0; i < 20; ++i) h.record(1'000'000);  // 1 s
  EXPECT_LE(h.value_at_percentile(50), 1008u);
  EXPECT_LE(h.value_at_percentile(98), 1008u);
  EXPECT_GE(h.value_at_percentile(99), 1'000'000u);
  EXPECT_EQ(h.max(), 1'000'000u);
}

TEST(latency_histogram, merge_adds_counts) {
  latency_histogram a, b;
  for (int i = 0; i < 50; ++i) a.record(10);
  for (int i = 0; i < 50; ++i) b.record(20);
  a.merge(b);
  EXPECT_EQ(a.count(), 100u);
  EXPECT_EQ(a.value_at_percentile(50), 10u);
  EXPECT_EQ(a.value_at_percentile(51), 20u);
  EXPECT_EQ(a.min(), 10u);
  EXPECT_EQ(a.max(), 20u);
}

}  // namespace
}  // namespace pinwheel::loadgen
