#include "strategy/least_pending.hpp"

#include "strategy/least_connections.hpp"

namespace pinwheel {

backend* least_pending::pick(const asio::ip::address&, std::span<backend* const> avoid) {
  std::span<backend* const> members = pool_.members();
  const std::size_t n = members.size();
  std::size_t best = n;
  std::uint64_t best_weight = 0;
  for (std::size_t step = 0; step < n; ++step) {
    std::size_t i = (next_ + step) % n;
    backend& b = *members[i];
    if (!eligible(&b, avoid)) continue;
    std::uint64_t weight = ramp_.weight(b);
    bool better = false;
    if (best == n) {
      better = true;
    } else {
      const awaiting_link* mine = b.awaiting.oldest();
      const awaiting_link* theirs = members[best]->awaiting.oldest();
      if ((mine == nullptr) != (theirs == nullptr))
        better = mine == nullptr;  // owes nothing
      else if (mine == nullptr)
        better = less_loaded(b, weight, *members[best], best_weight);  // ties: rotation
      else
        better = mine->since > theirs->since;  // its oldest wait began later
    }
    if (better) best = i, best_weight = weight;
  }
  if (best == n) return nullptr;
  next_ = (best + 1) % n;
  return members[best];
}

void least_pending::members_changed(std::span<backend* const> members) {
  ramp_.members_changed(members);
  if (next_ >= members.size()) next_ = 0;
}

}  // namespace pinwheel
