// Power of two choices (Envoy's least-request default, HAProxy's `random(2)`): draw two
// distinct eligible backends at random and take the less loaded, by (connections + 1) ÷
// effective weight as least-connections compares them. Nearly as even as least-connections,
// without its herding: many balancers (or one stale view) do not all pile onto the same
// emptiest backend. Randomness comes from the injected source; no allocation per pick.
#pragma once

#include "strategy/strategy.hpp"
#include "strategy/weight_ramp.hpp"

namespace pinwheel {

class power_of_two : public strategy {
 public:
  power_of_two(const backend_pool& pool, random_source random, weight_ramp ramp = {})
      : pool_(pool), random_(std::move(random)), ramp_(std::move(ramp)) {}

  backend* pick(const asio::ip::address& client, std::span<backend* const> avoid) override;
  void members_changed(std::span<backend* const> members) override {
    ramp_.members_changed(members);
  }
  void usable_changed(backend& b) override { ramp_.usable_changed(b); }

 private:
  // The `index`-th eligible member (0-based), in pool order.
  backend* eligible_at(std::size_t index, std::span<backend* const> avoid) const;

  const backend_pool& pool_;
  random_source random_;
  weight_ramp ramp_;
};

}  // namespace pinwheel
