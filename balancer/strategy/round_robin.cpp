#include "strategy/round_robin.hpp"

namespace pinwheel {

backend* round_robin::pick(const asio::ip::address&, std::span<backend* const> avoid) {
  std::span<backend* const> members = pool_.members();
  if (!in_step(members)) members_changed(members);
  std::size_t best = members.size();
  std::int64_t total = 0;
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (!eligible(members[i], avoid)) continue;
    auto weight = static_cast<std::int64_t>(ramp_.weight(*members[i]));
    credits_[i].value += weight;
    total += weight;
    // Strictly more: among equals the first in pool order wins.
    if (best == members.size() || credits_[i].value > credits_[best].value) best = i;
  }
  if (best == members.size()) return nullptr;
  credits_[best].value -= total;
  return members[best];
}

bool round_robin::in_step(std::span<backend* const> members) const {
  if (credits_.size() != members.size()) return false;
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (credits_[i].owner != members[i]) return false;
  }
  return true;
}

void round_robin::members_changed(std::span<backend* const> members) {
  ramp_.members_changed(members);
  std::vector<credit> next;
  next.reserve(members.size());
  for (const backend* b : members) {
    std::int64_t value = 0;
    for (const credit& c : credits_) {
      if (c.owner == b) value = c.value;
    }
    next.push_back({b, value});
  }
  credits_ = std::move(next);
}

}  // namespace pinwheel
