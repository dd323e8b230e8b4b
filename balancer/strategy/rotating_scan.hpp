// What the least-* strategies share: a scan of the pool that keeps the eligible member a
// strategy's comparison ranks best, with slow start's effective weights. Among equals the first
// in rotation order wins and the next scan starts after the pick, so equal load still spreads
// evenly instead of piling onto the first member.
#pragma once

#include <cstdint>

#include "strategy/strategy.hpp"
#include "strategy/weight_ramp.hpp"

namespace pinwheel {

class rotating_scan : public strategy {
 public:
  void members_changed(std::span<backend* const> members) override {
    ramp_.members_changed(members);
    if (next_ >= members.size()) next_ = 0;
  }
  void usable_changed(backend& b) override { ramp_.usable_changed(b); }

 protected:
  rotating_scan(const backend_pool& pool, weight_ramp ramp) : pool_(pool), ramp_(std::move(ramp)) {}

  /// The eligible member for which `better(candidate, its_weight, best, best_weight)` held
  /// against every one scanned before it (strictly better replaces); nullptr if none is eligible.
  template <typename Better>
  backend* pick_best(std::span<backend* const> avoid, Better better) {
    std::span<backend* const> members = pool_.members();
    const std::size_t n = members.size();
    std::size_t best = n;
    std::uint64_t best_weight = 0;
    for (std::size_t step = 0; step < n; ++step) {
      std::size_t i = (next_ + step) % n;
      if (!eligible(members[i], avoid)) continue;
      std::uint64_t weight = ramp_.weight(*members[i]);
      if (best == n || better(*members[i], weight, *members[best], best_weight)) {
        best = i;
        best_weight = weight;
      }
    }
    if (best == n) return nullptr;
    next_ = (best + 1) % n;
    return members[best];
  }

  const backend_pool& pool() const { return pool_; }

 private:
  const backend_pool& pool_;
  weight_ramp ramp_;
  std::size_t next_ = 0;  // where the next scan starts
};

}  // namespace pinwheel
