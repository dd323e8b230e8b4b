// A balancing strategy: which backend gets the next connection.
//
// One small interface in HAProxy's shape: pick a usable backend for a client, avoiding the
// ones this connection already failed on, and (through pool_events) hear about membership,
// usability and connections taken or dropped. Strategies read the pool they were made for and
// get randomness and time from outside, so tests can fix them. Adding a strategy means one
// .hpp/.cpp pair, its test, and one line in strategy_registry.cpp.
#pragma once

#include <asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>

#include "pool/backend_pool.hpp"
#include "pool/pool_events.hpp"

namespace pinwheel {

/// Uniform 64-bit random numbers (a seeded engine in tests).
using random_source = std::function<std::uint64_t()>;

class strategy : public pool_events {
 public:
  /// The backend for a new connection from `client`: usable, weight above 0, and not one of
  /// `avoid` (backends this connection already failed to reach). nullptr when none qualifies.
  virtual backend* pick(const asio::ip::address& client, std::span<backend* const> avoid) = 0;
};

/// Whether `b` is in `avoid` (a handful of entries at most).
inline bool avoided(std::span<backend* const> avoid, const backend* b) {
  for (const backend* a : avoid) {
    if (a == b) return true;
  }
  return false;
}

/// Whether `b` may get this connection: usable, not weighted out, not avoided.
inline bool eligible(const backend* b, std::span<backend* const> avoid) {
  return b->usable() && b->weight > 0 && !avoided(avoid, b);
}

}  // namespace pinwheel
