// Round-robin, weighted smoothly (nginx's algorithm): each pick, every eligible backend's
// credit grows by its effective weight; the one with the most credit wins and pays the total
// back. Weights 5, 1, 1 give a a b a c a a: the heavy backend's turns are spread out, never a
// burst of five. Equal weights give plain rotation in pool order.
#pragma once

#include <cstdint>
#include <vector>

#include "strategy/strategy.hpp"
#include "strategy/weight_ramp.hpp"

namespace pinwheel {

class round_robin : public strategy {
 public:
  explicit round_robin(const backend_pool& pool, weight_ramp ramp = {})
      : pool_(pool), ramp_(std::move(ramp)) {}

  backend* pick(const asio::ip::address& client, std::span<backend* const> avoid) override;
  void members_changed(std::span<backend* const> members) override;
  void usable_changed(backend& b) override { ramp_.usable_changed(b); }

 private:
  struct credit {
    const backend* owner;
    std::int64_t value;
  };
  // Whether credits_ matches `members` one to one (it is rebuilt when not, e.g. in tests
  // that never register the strategy as the pool's listener).
  bool in_step(std::span<backend* const> members) const;

  const backend_pool& pool_;
  weight_ramp ramp_;
  std::vector<credit> credits_;  // one per member, in pool order
};

}  // namespace pinwheel
