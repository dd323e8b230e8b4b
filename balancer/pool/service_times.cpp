#include "pool/service_times.hpp"

#include <algorithm>
#include <bit>

namespace pinwheel {

namespace {

// Samples are kept in units of 1,024 ns (a shift, not a division).
constexpr int kUnitShift = 10;

// Buckets 0-3 hold 0-3 units one each; above, each octave [2^e, 2^(e+1)) has four buckets.
int bucket_of(std::uint64_t units, int buckets) {
  if (units < 4) return static_cast<int>(units);
  const int e = std::bit_width(units) - 1;  // >= 2
  const int quarter = static_cast<int>((units >> (e - 2)) & 3);
  return std::min(4 * (e - 1) + quarter, buckets - 1);
}

// The middle of bucket i, in units.
double middle_of(int i) {
  if (i < 4) return i + 0.5;
  const int e = i / 4 + 1;
  const double width = static_cast<double>(std::uint64_t{1} << (e - 2));
  return (4 + i % 4) * width + width / 2;
}

double units_of(service_times::duration d) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return ns <= 0 ? 0.0 : static_cast<double>(ns) / (1 << kUnitShift);
}

service_times::duration from_units(double units) {
  return std::chrono::duration_cast<service_times::duration>(
      std::chrono::nanoseconds(static_cast<std::int64_t>(units * (1 << kUnitShift))));
}

}  // namespace

void service_times::record(duration sample) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(sample).count();
  const std::uint64_t units = ns <= 0 ? 0 : static_cast<std::uint64_t>(ns) >> kUnitShift;
  ++counts_[bucket_of(units, kBuckets)];
  if (++total_ < kHalveAt) return;
  total_ = 0;
  for (std::uint32_t& c : counts_) {
    c /= 2;
    total_ += c;
  }
}

service_times::duration service_times::expected_remaining(duration age) const {
  const double age_units = units_of(age);
  double count = 0, sum = 0;
  // Middles rise with the index: walk down while they exceed the age.
  for (int i = kBuckets - 1; i >= 0 && middle_of(i) > age_units; --i) {
    count += counts_[i];
    sum += counts_[i] * middle_of(i);
  }
  if (count < kMinSupport) return std::max(age, duration::zero());
  return from_units(sum / count - age_units);
}

service_times::duration service_times::quantile(double q) const {
  if (total_ == 0) return duration::zero();
  const double wanted = std::clamp(q, 0.0, 1.0) * total_;
  double below = 0;
  for (int i = 0; i < kBuckets; ++i) {
    below += counts_[i];
    if (below >= wanted && below > 0) return from_units(middle_of(i));
  }
  return from_units(middle_of(kBuckets - 1));
}

}  // namespace pinwheel
