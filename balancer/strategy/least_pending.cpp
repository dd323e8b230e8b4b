#include "strategy/least_pending.hpp"

#include <utility>

#include "strategy/least_connections.hpp"

namespace pinwheel {

namespace {

using namespace std::chrono_literals;

// A request in work for less than this counts as just begun: on a busy host that is within one
// turn of the event loop (answers that came back are not read yet), and says nothing about
// the backend.
constexpr auto kNoiseFloor = 2ms;

// Step 1 of the order in least_pending.hpp: whether `a` is preferred to `b` because it owes
// nothing, or both owe nothing and it is less loaded. Two that owe are left to step 2.
bool owes_less(const backend& a, std::uint64_t weight_a, const backend& b, std::uint64_t weight_b) {
  const bool a_owes = a.awaiting.size() != 0, b_owes = b.awaiting.size() != 0;
  if (a_owes != b_owes) return !a_owes;
  return !a_owes && less_loaded(a, weight_a, b, weight_b);
}

}  // namespace

backend* least_pending::pick(const asio::ip::address&, std::span<backend* const> avoid) {
  backend* best = pick_best(avoid, owes_less);
  if (best == nullptr || best->awaiting.size() == 0) return best;

  // Every eligible backend owes a response (step 2). The model is read once per pick.
  const service_times& times = pool().answer_times();
  const auto now = pool().now();
  const auto typical = times.quantile(0.5);
  return pick_lowest(avoid, [&](const backend& b) {
    const awaiting_link& oldest = *b.awaiting.oldest();
    auto working = now - b.awaiting.work_began(oldest);
    if (working < kNoiseFloor) working = {};
    const auto wait =
        times.expected_remaining(working) + static_cast<long>(b.awaiting.size() - 1) * typical;
    // Ties: the later oldest wait first (a larger `since`, so a smaller complement).
    return std::pair(wait, ~oldest.since);
  });
}

}  // namespace pinwheel
