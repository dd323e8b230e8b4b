// An HDR-style latency histogram: log-linear buckets with a bounded relative error.
//
// Values (microseconds) below 2^sub_bucket_bits are counted exactly; above, each power of two
// is split into 2^sub_bucket_bits equal buckets, so a reported percentile is at most
// 1/2^sub_bucket_bits (0.78 %) above the true value, and never above the maximum recorded.
// Not thread-safe: one histogram belongs to one event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pinwheel::loadgen {

class latency_histogram {
 public:
  /// 128 buckets per power of two: relative error at most 1/128.
  static constexpr int sub_bucket_bits = 7;

  latency_histogram();

  /// Counts one value.
  void record(std::uint64_t value);
  /// Adds every count of `other`.
  void merge(const latency_histogram& other);

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }

  /// The smallest value v such that `percentile` % of the values are <= v (within the bucket
  /// error); 0 when empty. `percentile` is clamped to [0, 100]; 100 gives max().
  std::uint64_t value_at_percentile(double percentile) const;

  /// The bucket `value` falls in (exposed for the tests of the error bound).
  static std::size_t bucket_of(std::uint64_t value);
  /// The largest value that falls in `bucket`.
  static std::uint64_t highest_in(std::size_t bucket);

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t min_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t sum_ = 0;
};

}  // namespace pinwheel::loadgen
