#include "strategy/strategy_registry.hpp"

#include "strategy/least_connections.hpp"
#include "strategy/round_robin.hpp"

namespace pinwheel {

namespace {

using factory = std::unique_ptr<strategy> (*)(const backend_pool&, random_source);

struct registration {
  const char* name;
  factory make;
};

template <class T>
std::unique_ptr<strategy> make_deterministic(const backend_pool& pool, random_source) {
  return std::make_unique<T>(pool);
}

// One line per strategy.
constexpr registration kStrategies[] = {
    {"round-robin", make_deterministic<round_robin>},
    {"least-connections", make_deterministic<least_connections>},
};

}  // namespace

std::vector<std::string> strategy_names() {
  std::vector<std::string> names;
  for (const registration& r : kStrategies) names.emplace_back(r.name);
  return names;
}

bool is_strategy(const std::string& name) {
  for (const registration& r : kStrategies) {
    if (name == r.name) return true;
  }
  return false;
}

std::unique_ptr<strategy> make_strategy(const std::string& name, const backend_pool& pool,
                                        random_source random) {
  for (const registration& r : kStrategies) {
    if (name == r.name) return r.make(pool, std::move(random));
  }
  return nullptr;
}

}  // namespace pinwheel
