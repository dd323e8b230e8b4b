// Least-connections, weighted: the eligible member with the lowest (connections + 1) ÷ weight,
// compared by cross-multiplying (no division, no floating point). The + 1 is HAProxy's: it
// counts the connection about to be placed, so weights matter between idle backends too and a
// ramping backend (slow start) gets its share from the first connection on.
//
// Ties are broken in rotation (rotating_scan), so equal load still spreads evenly.
#pragma once

#include "strategy/rotating_scan.hpp"

namespace pinwheel {

class least_connections : public rotating_scan {
 public:
  explicit least_connections(const backend_pool& pool, weight_ramp ramp = {})
      : rotating_scan(pool, std::move(ramp)) {}

  backend* pick(const asio::ip::address& client, std::span<backend* const> avoid) override;
};

/// Whether `a` (with effective weight `weight_a`) is strictly less loaded than `b`:
/// (connections + 1) ÷ weight, cross-multiplied. Weights must be above 0.
inline bool less_loaded(const backend& a, std::uint64_t weight_a, const backend& b,
                        std::uint64_t weight_b) {
  return (a.active_connections + 1) * weight_b < (b.active_connections + 1) * weight_a;
}

}  // namespace pinwheel
