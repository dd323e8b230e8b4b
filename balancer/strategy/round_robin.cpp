#include "strategy/round_robin.hpp"

namespace pinwheel {

std::optional<std::size_t> round_robin::pick(std::span<const backend> backends,
                                             std::span<const std::size_t> exclude) {
  const std::size_t n = backends.size();
  for (std::size_t step = 0; step < n; ++step) {
    std::size_t i = (next_ + step) % n;
    if (backends[i].usable() && !excluded(exclude, i)) {
      next_ = (i + 1) % n;
      return i;
    }
  }
  return std::nullopt;
}

}  // namespace pinwheel
