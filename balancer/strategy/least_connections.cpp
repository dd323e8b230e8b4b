#include "strategy/least_connections.hpp"

namespace pinwheel {

std::optional<std::size_t> least_connections::pick(std::span<const backend> backends,
                                                   std::span<const std::size_t> exclude) {
  const std::size_t n = backends.size();
  std::optional<std::size_t> best;
  for (std::size_t step = 0; step < n; ++step) {
    std::size_t i = (next_ + step) % n;
    if (!backends[i].usable() || excluded(exclude, i)) continue;
    // Strictly fewer: among equals the first in rotation order wins.
    if (!best || backends[i].active_connections < backends[*best].active_connections) best = i;
  }
  if (best) next_ = (*best + 1) % n;
  return best;
}

}  // namespace pinwheel
