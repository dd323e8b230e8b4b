#include "strategy/round_robin.hpp"

namespace pinwheel {

backend* round_robin::pick(const asio::ip::address&, std::span<backend* const> avoid) {
  std::span<backend* const> members = pool_.members();
  const std::size_t n = members.size();
  for (std::size_t step = 0; step < n; ++step) {
    std::size_t i = (next_ + step) % n;
    if (members[i]->usable() && !avoided(avoid, members[i])) {
      next_ = (i + 1) % n;
      return members[i];
    }
  }
  return nullptr;
}

void round_robin::members_changed(std::span<backend* const> members) {
  if (next_ >= members.size()) next_ = 0;
}

}  // namespace pinwheel
