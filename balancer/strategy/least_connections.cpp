#include "strategy/least_connections.hpp"

namespace pinwheel {

backend* least_connections::pick(const asio::ip::address&, std::span<backend* const> avoid) {
  std::span<backend* const> members = pool_.members();
  const std::size_t n = members.size();
  std::size_t best = n;
  std::uint64_t best_weight = 0;
  for (std::size_t step = 0; step < n; ++step) {
    std::size_t i = (next_ + step) % n;
    if (!eligible(members[i], avoid)) continue;
    std::uint64_t weight = ramp_.weight(*members[i]);
    // Strictly less: among equals the first in rotation order wins.
    if (best == n || less_loaded(*members[i], weight, *members[best], best_weight)) {
      best = i;
      best_weight = weight;
    }
  }
  if (best == n) return nullptr;
  next_ = (best + 1) % n;
  return members[best];
}

void least_connections::members_changed(std::span<backend* const> members) {
  ramp_.members_changed(members);
  if (next_ >= members.size()) next_ = 0;
}

}  // namespace pinwheel
