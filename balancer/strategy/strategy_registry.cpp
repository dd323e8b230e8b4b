#include "strategy/strategy_registry.hpp"

#include "strategy/least_connections.hpp"
#include "strategy/round_robin.hpp"

namespace pinwheel {

namespace {

struct registration {
  const char* name;
  std::unique_ptr<strategy> (*make)();
};

template <class T>
std::unique_ptr<strategy> make() {
  return std::make_unique<T>();
}

// One line per strategy.
constexpr registration kStrategies[] = {
    {"round-robin", make<round_robin>},
    {"least-connections", make<least_connections>},
};

}  // namespace

std::vector<std::string> strategy_names() {
  std::vector<std::string> names;
  for (const registration& r : kStrategies) names.emplace_back(r.name);
  return names;
}

bool is_strategy(const std::string& name) { return make_strategy(name) != nullptr; }

std::unique_ptr<strategy> make_strategy(const std::string& name) {
  for (const registration& r : kStrategies) {
    if (name == r.name) return r.make();
  }
  return nullptr;
}

}  // namespace pinwheel
