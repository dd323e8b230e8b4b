// When each request of an open-loop run is due: a constant rate per phase, phases one after
// another (one phase = constant rate, several = a step ramp), bounded by a request count.
//
// The schedule is pure arithmetic on offsets from the start; the caller owns the clock, so
// tests drive it with a fake one. Request i of a phase with rate r is due at
// phase_start + i / r, for every i with i / r < the phase's duration.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace pinwheel::loadgen {

struct rate_phase {
  /// Requests per second, > 0.
  double rate = 0;
  std::chrono::nanoseconds duration{0};
};

struct scheduled_request {
  std::uint64_t index = 0;
  /// Offset of its due time from the start of the run.
  std::chrono::nanoseconds offset{0};
  std::size_t phase = 0;
};

class arrival_schedule {
 public:
  /// Throws std::invalid_argument on an empty list, a rate <= 0 or a duration <= 0.
  arrival_schedule(std::vector<rate_phase> phases, std::uint64_t max_requests);

  /// Parses a step ramp "RATE:DURATION,..." (e.g. "50:10s,100:10s"); throws
  /// std::invalid_argument naming the bad step.
  static std::vector<rate_phase> parse_ramp(std::string_view spec);

  const std::vector<rate_phase>& phases() const { return phases_; }
  /// Requests in the whole run (the count bound applied).
  std::uint64_t total() const { return total_; }
  /// Sum of the phases' durations.
  std::chrono::nanoseconds length() const;

  /// The due time of the next request not yet handed out, or nullopt when all were.
  std::optional<std::chrono::nanoseconds> next_due() const;
  /// Hands out every request due by `elapsed` (in order); empty if none is due yet.
  std::vector<scheduled_request> take_due(std::chrono::nanoseconds elapsed);

 private:
  scheduled_request at(std::uint64_t index) const;

  std::vector<rate_phase> phases_;
  std::vector<std::uint64_t> phase_counts_;
  std::uint64_t total_ = 0;
  std::uint64_t next_ = 0;
};

}  // namespace pinwheel::loadgen
