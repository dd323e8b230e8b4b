#include "latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace pinwheel::loadgen {

namespace {

constexpr std::uint64_t sub_buckets = std::uint64_t{1} << latency_histogram::sub_bucket_bits;
// Exact buckets for [0, sub_buckets), then sub_buckets per power of two up to 2^63.
constexpr std::size_t bucket_count =
    sub_buckets + (64 - latency_histogram::sub_bucket_bits) * sub_buckets;

}  // namespace

latency_histogram::latency_histogram() : counts_(bucket_count, 0) {}

std::size_t latency_histogram::bucket_of(std::uint64_t value) {
  if (value < sub_buckets) return static_cast<std::size_t>(value);
  const int exponent = std::bit_width(value) - 1;  // >= sub_bucket_bits
  const int shift = exponent - sub_bucket_bits;
  const std::uint64_t sub = (value >> shift) - sub_buckets;
  return static_cast<std::size_t>(sub_buckets + static_cast<std::uint64_t>(shift) * sub_buckets +
                                  sub);
}

std::uint64_t latency_histogram::highest_in(std::size_t bucket) {
  if (bucket < sub_buckets) return bucket;
  const std::uint64_t above = bucket - sub_buckets;
  const std::uint64_t shift = above / sub_buckets;
  const std::uint64_t sub = above % sub_buckets;
  const std::uint64_t lowest = (sub_buckets + sub) << shift;
  return lowest + ((std::uint64_t{1} << shift) - 1);
}

void latency_histogram::record(std::uint64_t value) {
  ++counts_[bucket_of(value)];
  min_ = count_ == 0 ? value : std::min(min_, value);
  max_ = std::max(max_, value);
  ++count_;
  sum_ += value;
}

void latency_histogram::merge(const latency_histogram& other) {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

std::uint64_t latency_histogram::value_at_percentile(double percentile) const {
  if (count_ == 0) return 0;
  percentile = std::clamp(percentile, 0.0, 100.0);
  if (percentile >= 100.0) return max_;
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(percentile / 100.0 * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(highest_in(i), min_, max_);
  }
  return max_;
}

}  // namespace pinwheel::loadgen
