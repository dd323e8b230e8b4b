// The strategies by name, as the config and --strategy spell them.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "strategy/strategy.hpp"

namespace pinwheel {

/// What a strategy may draw on besides its pool.
struct strategy_inputs {
  /// Randomness (power-of-two).
  random_source random;
  /// Time (slow start); may be empty when slow_start is zero.
  clock_source now;
  /// How long a backend that became usable again ramps its weight up; zero: no slow start.
  std::chrono::milliseconds slow_start{0};
};

/// Registered names, in the order documented ("round-robin", "least-connections", ...).
std::vector<std::string> strategy_names();

/// Whether `name` is registered.
bool is_strategy(const std::string& name);

/// A new instance of the named strategy over `pool`; nullptr if unknown.
std::unique_ptr<strategy> make_strategy(const std::string& name, const backend_pool& pool,
                                        strategy_inputs inputs);

}  // namespace pinwheel
