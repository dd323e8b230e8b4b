// Round-robin: each usable backend in turn, in index order.
#pragma once

#include "strategy/strategy.hpp"

namespace pinwheel {

class round_robin : public strategy {
 public:
  std::optional<std::size_t> pick(std::span<const backend> backends,
                                  std::span<const std::size_t> exclude) override;

 private:
  std::size_t next_ = 0;  // where the next scan starts
};

}  // namespace pinwheel
