// Least-connections, weighted: the eligible member with the lowest (connections + 1) ÷ weight,
// compared by cross-multiplying (no division, no floating point). The + 1 is HAProxy's: it
// counts the connection about to be placed, so weights matter between idle backends too and a
// ramping backend (slow start) gets its share from the first connection on.
//
// Ties are broken in rotation (the scan starts after the last pick), so equal load still
// spreads evenly instead of piling onto the first member.
#pragma once

#include "strategy/strategy.hpp"
#include "strategy/weight_ramp.hpp"

namespace pinwheel {

class least_connections : public strategy {
 public:
  explicit least_connections(const backend_pool& pool, weight_ramp ramp = {})
      : pool_(pool), ramp_(std::move(ramp)) {}

  backend* pick(const asio::ip::address& client, std::span<backend* const> avoid) override;
  void members_changed(std::span<backend* const> members) override;
  void usable_changed(backend& b) override { ramp_.usable_changed(b); }

 private:
  const backend_pool& pool_;
  weight_ramp ramp_;
  std::size_t next_ = 0;  // where the next scan starts
};

/// Whether `a` (with effective weight `weight_a`) is strictly less loaded than `b`:
/// (connections + 1) ÷ weight, cross-multiplied. Weights must be above 0.
inline bool less_loaded(const backend& a, std::uint64_t weight_a, const backend& b,
                        std::uint64_t weight_b) {
  return (a.active_connections + 1) * weight_b < (b.active_connections + 1) * weight_a;
}

}  // namespace pinwheel
