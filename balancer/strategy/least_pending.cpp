#include "strategy/least_pending.hpp"

#include <chrono>

#include "strategy/least_connections.hpp"

namespace pinwheel {

namespace {

using namespace std::chrono_literals;

// A request in work for less than this counts as just begun: on a busy host that is within one
// turn of the event loop (answers that came back are not read yet), and says nothing about
// the backend.
constexpr auto kNoiseFloor = 2ms;

// A backend on its current request since longer ago wins over one that began later only if it
// is expected this many times sooner. A young request a little past the quick answers seen
// reads as a slow one (a busy backend or balancer delays quick answers by milliseconds too);
// against a backend really stuck that is a close call, and the close call goes to the one that
// answered most recently — while one whose slow request is nearly done still wins clearly.
constexpr int kOlderMustBeBetterBy = 2;

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

  // Every eligible backend owes a response (step 2). The model is read once per pick, and
  // each backend's expectation computed once: the scan compares each with the best so far.
  const service_times& times = pool().answer_times();
  const auto now = pool().now();
  const auto typical = times.quantile(0.5);
  struct expectation {
    std::chrono::steady_clock::time_point began;  // of the request in work
    service_times::duration wait;                 // until a new request would start
  };
  auto expect = [&](const backend& b) {
    const awaiting_link& oldest = *b.awaiting.oldest();
    const auto began = b.awaiting.work_began(oldest);
    auto working = now - began;
    if (working < kNoiseFloor) working = {};
    return expectation{began, times.expected_remaining(working) +
                                  static_cast<long>(b.awaiting.size() - 1) * typical};
  };
  const backend* best_seen = nullptr;
  expectation best_expected{};
  return pick_best(avoid, [&](const backend& a, std::uint64_t, const backend& b, std::uint64_t) {
    if (&b != best_seen) {
      best_seen = &b;
      best_expected = expect(b);
    }
    const expectation mine = expect(a);
    bool better;
    if (mine.began == best_expected.began)
      better = mine.wait < best_expected.wait ||
               (mine.wait == best_expected.wait &&
                a.awaiting.oldest()->since > b.awaiting.oldest()->since);
    else if (mine.began > best_expected.began)  // `a` began later: it need not be much better
      better = mine.wait < kOlderMustBeBetterBy * best_expected.wait;
    else
      better = kOlderMustBeBetterBy * mine.wait < best_expected.wait;
    if (better) {
      best_seen = &a;
      best_expected = mine;
    }
    return better;
  });
}

}  // namespace pinwheel
