// How long backends take to answer: a histogram of recent samples, from which least-pending
// estimates how much longer a wait that has already lasted some time will go on.
//
// A sample runs from the moment a backend could start on a request (the request was sent, or
// the backend's previous answer left, whichever came later) to the first bytes of its answer.
// For a single-threaded backend that is the request's service time; for one that serves many
// requests at once it is the gap between its answers, which is what tells a frozen backend
// from a flowing one.
//
// Eight buckets per octave (±4 %) from 1 µs to about a minute. Counts halve every 4,096
// samples, so the shape follows the workload and old samples fade. Recording is an index
// computation and an increment: no allocation, no clock, no system call. Single-threaded.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace pinwheel {

class service_times {
 public:
  using duration = std::chrono::steady_clock::duration;

  /// Adds one sample (negative durations count as zero).
  void record(duration sample);

  /// Expected time left for a wait that has lasted `age`: the mean of the samples longer than
  /// `age`, less `age`. When none was that long — the wait has outlasted all that was seen, or
  /// nothing was seen yet — `age` itself: as long again, the median guess for a wait of
  /// unknown length.
  duration expected_remaining(duration age) const;

  /// The sample below which a share `q` (0 to 1) of the samples lie, to a bucket's width; zero
  /// without any. quantile(0.5), the median, is robust where the mean is not: one 800 ms
  /// answer among twenty of 50 µs makes the mean 40 ms.
  duration quantile(double q) const;

  /// Samples held (after halving).
  std::uint64_t count() const { return total_; }

 private:
  static constexpr int kBuckets = 192;
  static constexpr std::uint32_t kHalveAt = 4096;

  std::array<std::uint32_t, kBuckets> counts_{};
  std::uint32_t total_ = 0;
};

}  // namespace pinwheel
