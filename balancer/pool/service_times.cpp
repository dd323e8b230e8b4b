#include "pool/service_times.hpp"

#include <algorithm>
#include <bit>

namespace pinwheel {

namespace {

// Samples are kept in units of 1,024 ns (a shift, not a division).
constexpr int kUnitShift = 10;
// Buckets per octave: a power of two.
constexpr int kPerOctave = 8;
constexpr int kOctaveShift = std::countr_zero(unsigned{kPerOctave});

// Buckets 0-7 hold 0-7 units one each; above, each octave [2^e, 2^(e+1)) has eight.
int bucket_of(std::uint64_t units, int buckets) {
  if (units < kPerOctave) return static_cast<int>(units);
  const int e = std::bit_width(units) - 1;  // >= kOctaveShift
  const int eighth = static_cast<int>((units >> (e - kOctaveShift)) & (kPerOctave - 1));
  return std::min(kPerOctave * (e - kOctaveShift + 1) + eighth, buckets - 1);
}

// Bucket i covers [low_of(i), low_of(i) + width_of(i)) units.
double width_of(int i) {
  if (i < kPerOctave) return 1;
  return static_cast<double>(std::uint64_t{1} << (i / kPerOctave - 1));
}
double low_of(int i) {
  if (i < kPerOctave) return i;
  return (kPerOctave + i % kPerOctave) * width_of(i);
}
double middle_of(int i) { return low_of(i) + width_of(i) / 2; }

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
  const double a = units_of(age);
  double count = 0, sum = 0;
  // Walk down while buckets reach above the age. Samples are taken as spread evenly over their
  // bucket, so the bucket holding the age counts with its part above it: the estimate shrinks
  // smoothly as the age nears the samples instead of dropping a bucket's width at once.
  for (int i = kBuckets - 1; i >= 0 && low_of(i) + width_of(i) > a; --i) {
    if (counts_[i] == 0) continue;
    const double low = std::max(low_of(i), a), high = low_of(i) + width_of(i);
    const double share = counts_[i] * (high - low) / width_of(i);
    count += share;
    sum += share * (low + high) / 2;
  }
  if (count == 0) return std::max(age, duration::zero());
  return from_units(sum / count - a);
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
