#include "strategy/least_pending.hpp"

#include "strategy/least_connections.hpp"

namespace pinwheel {

namespace {

// Whether `a` is preferred to `b` (the order in least_pending.hpp).
bool less_pending(const backend& a, std::uint64_t weight_a, const backend& b,
                  std::uint64_t weight_b) {
  const awaiting_link* mine = a.awaiting.oldest();
  const awaiting_link* theirs = b.awaiting.oldest();
  if ((mine == nullptr) != (theirs == nullptr)) return mine == nullptr;  // owes nothing
  if (mine == nullptr) return less_loaded(a, weight_a, b, weight_b);     // ties: rotation
  return mine->since > theirs->since;  // its oldest wait began later
}

}  // namespace

backend* least_pending::pick(const asio::ip::address&, std::span<backend* const> avoid) {
  return pick_best(avoid, less_pending);
}

}  // namespace pinwheel
