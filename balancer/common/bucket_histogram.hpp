// A histogram of durations as plain counters: one per bucket, a sum and nothing else.
//
// Written by the event loop only, read through a copy taken on the loop (the metrics snapshot),
// so it needs no atomics or locks: observe() is a short scan and two additions. Buckets follow
// Prometheus' convention once published: bucket i counts observations <= bounds[i], the last
// one everything above the highest bound (+Inf). Single-threaded.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace pinwheel {

/// Upper bounds in seconds, chosen for a load balancer on one host: connects take
/// microseconds to milliseconds, connections milliseconds to minutes.
inline constexpr std::array<double, 14> kDurationBounds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1, 5, 30, 300};

class bucket_histogram {
 public:
  static constexpr std::size_t kBuckets = kDurationBounds.size() + 1;

  void observe(std::chrono::nanoseconds d) {
    double seconds = std::chrono::duration<double>(d).count();
    std::size_t i = 0;
    while (i < kDurationBounds.size() && seconds > kDurationBounds[i]) ++i;
    ++counts_[i];
    sum_ += seconds;
  }

  /// Observations in bucket i alone (not cumulative); the last bucket is +Inf.
  const std::array<std::uint64_t, kBuckets>& counts() const { return counts_; }
  /// Sum of every observation, in seconds.
  double sum() const { return sum_; }

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  double sum_ = 0;
};

}  // namespace pinwheel
