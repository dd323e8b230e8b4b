#include "strategy/strategy_registry.hpp"

#include "strategy/least_connections.hpp"
#include "strategy/least_pending.hpp"
#include "strategy/power_of_two.hpp"
#include "strategy/round_robin.hpp"
#include "strategy/source_hash.hpp"

namespace pinwheel {

namespace {

using factory = std::unique_ptr<strategy> (*)(const backend_pool&, strategy_inputs&);

struct registration {
  const char* name;
  factory make;
};

weight_ramp ramp_from(strategy_inputs& in) {
  if (in.slow_start.count() <= 0) return {};
  return weight_ramp(in.slow_start, std::move(in.now));
}

// One line per strategy.
constexpr registration kStrategies[] = {
    {"round-robin",
     [](const backend_pool& pool, strategy_inputs& in) -> std::unique_ptr<strategy> {
       return std::make_unique<round_robin>(pool, ramp_from(in));
     }},
    {"least-connections",
     [](const backend_pool& pool, strategy_inputs& in) -> std::unique_ptr<strategy> {
       return std::make_unique<least_connections>(pool, ramp_from(in));
     }},
    {"power-of-two",
     [](const backend_pool& pool, strategy_inputs& in) -> std::unique_ptr<strategy> {
       return std::make_unique<power_of_two>(pool, std::move(in.random), ramp_from(in));
     }},
    {"least-pending",
     [](const backend_pool& pool, strategy_inputs& in) -> std::unique_ptr<strategy> {
       return std::make_unique<least_pending>(pool, ramp_from(in));
     }},
    {"source-hash",
     [](const backend_pool& pool, strategy_inputs&) -> std::unique_ptr<strategy> {
       return std::make_unique<source_hash>(pool);
     }},
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
                                        strategy_inputs inputs) {
  for (const registration& r : kStrategies) {
    if (name == r.name) return r.make(pool, inputs);
  }
  return nullptr;
}

}  // namespace pinwheel
