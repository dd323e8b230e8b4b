// Effective weights with slow start (HAProxy's `slowstart`): a backend that becomes usable
// again ramps from a twentieth of its weight to all of it over `ramp`, so a backend that just
// restarted (cold caches, JIT, connection pools) is not handed its full share at once.
//
// Not at a backend's first start: then every backend starts together and ramping would change
// nothing but the total. Weights come out in thousandths of the configured weight, integers
// only, so strategies compare loads by cross-multiplying. Single-threaded.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "strategy/strategy.hpp"

namespace pinwheel {

class weight_ramp {
 public:
  /// Units of an effective weight per unit of configured weight.
  static constexpr std::uint64_t kScale = 1000;
  /// Where a ramp starts, in kScale units per unit of configured weight (5%).
  static constexpr std::uint64_t kFloor = 50;

  /// No slow start: weight() is always the configured weight.
  weight_ramp() = default;
  /// `ramp` zero: no slow start, weight() is always the configured weight.
  weight_ramp(std::chrono::milliseconds ramp, clock_source now);

  /// Tell it about every usable_changed event.
  void usable_changed(const backend& b);
  /// Tell it about every members_changed event (forgets retired backends).
  void members_changed(std::span<backend* const> members);

  /// `b.weight` in kScale units, reduced while `b` ramps up.
  std::uint64_t weight(const backend& b);

 private:
  std::chrono::milliseconds ramp_{0};
  clock_source now_;
  std::unordered_set<const backend*> seen_usable_;  // usable at least once
  std::unordered_map<const backend*, std::chrono::steady_clock::time_point> ramping_since_;
};

}  // namespace pinwheel
