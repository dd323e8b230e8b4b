// Shared by the strategy tests: a pool of backends named "0", "1", …, all up, and helpers to
// take backends down and to record a run of picks.
#pragma once

#include <string>
#include <vector>

#include "strategy/strategy.hpp"

namespace pinwheel::testing {

/// A clock the test moves by hand.
struct fake_clock {
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
  clock_source source() {
    return [this] { return now; };
  }
};

/// The pool's clock (which times waits for answers) is `clock`.
struct test_pool {
  explicit test_pool(std::size_t n, std::vector<unsigned> weights = {}) {
    for (std::size_t i = 0; i < n; ++i) {
      backend b;
      b.name = std::to_string(i);
      b.weight = i < weights.size() ? weights[i] : 1;
      b.health = health_state(1, 1, /*initially_up=*/true);
      pool.add(std::move(b));
    }
  }
  backend& operator[](std::size_t i) { return *pool.members()[i]; }

  /// Marks `b` down (or up again) through the pool, as the health checker does.
  void set_up(backend& b, bool up) {
    b.health.record(up, health_state::clock::time_point{});
    pool.health_changed(b);
  }

  fake_clock clock;
  backend_pool pool{clock.source()};
};

inline const asio::ip::address kClient = asio::ip::make_address("127.0.0.1");

using names = std::vector<std::string>;

/// The names of `n` successive picks ("-" for none).
inline names picks(strategy& s, int n, std::vector<backend*> avoid = {}) {
  names out;
  for (int i = 0; i < n; ++i) {
    backend* b = s.pick(kClient, avoid);
    out.push_back(b ? b->name : "-");
  }
  return out;
}

}  // namespace pinwheel::testing
