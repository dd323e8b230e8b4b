// Least-connections: the usable backend with the fewest open connections.
//
// Ties are broken in rotation (the scan starts after the last pick), so equal
// load still spreads evenly instead of piling onto the lowest index.
#pragma once

#include "strategy/strategy.hpp"

namespace pinwheel {

class least_connections : public strategy {
 public:
  std::optional<std::size_t> pick(std::span<const backend> backends,
                                  std::span<const std::size_t> exclude) override;

 private:
  std::size_t next_ = 0;  // where the next scan starts
};

}  // namespace pinwheel
