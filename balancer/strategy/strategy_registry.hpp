// The strategies by name, as the config and --strategy spell them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "strategy/strategy.hpp"

namespace pinwheel {

/// Registered names, in the order documented ("round-robin", "least-connections", ...).
std::vector<std::string> strategy_names();

/// Whether `name` is registered.
bool is_strategy(const std::string& name);

/// A new instance of the named strategy over `pool`, drawing randomness from `random`;
/// nullptr if unknown.
std::unique_ptr<strategy> make_strategy(const std::string& name, const backend_pool& pool,
                                        random_source random);

}  // namespace pinwheel
