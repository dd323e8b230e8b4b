#include "strategy/weight_ramp.hpp"

#include <algorithm>

namespace pinwheel {

weight_ramp::weight_ramp(std::chrono::milliseconds ramp, clock_source now)
    : ramp_(ramp), now_(std::move(now)) {}

void weight_ramp::usable_changed(const backend& b) {
  if (ramp_.count() <= 0) return;
  if (!b.usable()) {
    // It was usable until now (the event reports a change).
    seen_usable_.insert(&b);
    ramping_since_.erase(&b);
    return;
  }
  if (seen_usable_.insert(&b).second) return;  // its first start: no ramp
  ramping_since_[&b] = now_();
}

void weight_ramp::members_changed(std::span<backend* const> members) {
  auto retired = [&](const backend* b) {
    return std::find(members.begin(), members.end(), b) == members.end();
  };
  std::erase_if(seen_usable_, retired);
  std::erase_if(ramping_since_, [&](const auto& entry) { return retired(entry.first); });
}

std::uint64_t weight_ramp::weight(const backend& b) {
  const std::uint64_t full = std::uint64_t{b.weight} * kScale;
  if (ramping_since_.empty()) return full;
  auto it = ramping_since_.find(&b);
  if (it == ramping_since_.end()) return full;
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now_() - it->second);
  if (elapsed >= ramp_) {
    ramping_since_.erase(it);
    return full;
  }
  auto share = static_cast<std::uint64_t>(std::max<std::int64_t>(elapsed.count(), 0)) * kScale /
               static_cast<std::uint64_t>(ramp_.count());
  return std::uint64_t{b.weight} * std::max(share, kFloor);
}

}  // namespace pinwheel
