#include "strategy/least_connections.hpp"

namespace pinwheel {

backend* least_connections::pick(const asio::ip::address&, std::span<backend* const> avoid) {
  std::span<backend* const> members = pool_.members();
  const std::size_t n = members.size();
  std::size_t best = n;
  for (std::size_t step = 0; step < n; ++step) {
    std::size_t i = (next_ + step) % n;
    if (!members[i]->usable() || avoided(avoid, members[i])) continue;
    // Strictly fewer: among equals the first in rotation order wins.
    if (best == n || members[i]->active_connections < members[best]->active_connections) best = i;
  }
  if (best == n) return nullptr;
  next_ = (best + 1) % n;
  return members[best];
}

void least_connections::members_changed(std::span<backend* const> members) {
  if (next_ >= members.size()) next_ = 0;
}

}  // namespace pinwheel
