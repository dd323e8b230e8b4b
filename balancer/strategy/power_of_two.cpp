#include "strategy/power_of_two.hpp"

#include "strategy/least_connections.hpp"

namespace pinwheel {

backend* power_of_two::pick(const asio::ip::address&, std::span<backend* const> avoid) {
  std::size_t count = 0;
  for (backend* b : pool_.members()) count += eligible(b, avoid) ? 1 : 0;
  if (count == 0) return nullptr;
  if (count == 1) return eligible_at(0, avoid);
  // Two distinct draws: the second from the count - 1 others, shifted past the first.
  std::size_t first = random_() % count;
  std::size_t second = random_() % (count - 1);
  if (second >= first) ++second;
  backend* a = eligible_at(first, avoid);
  backend* b = eligible_at(second, avoid);
  // Equal load: the first draw wins, which is itself random.
  return less_loaded(*b, ramp_.weight(*b), *a, ramp_.weight(*a)) ? b : a;
}

backend* power_of_two::eligible_at(std::size_t index, std::span<backend* const> avoid) const {
  for (backend* b : pool_.members()) {
    if (!eligible(b, avoid)) continue;
    if (index-- == 0) return b;
  }
  return nullptr;
}

}  // namespace pinwheel
