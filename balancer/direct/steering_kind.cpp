#include "direct/steering_kind.hpp"

namespace pinwheel::direct {

std::optional<steering_kind> steering_for(std::string_view name) {
  if (name == "round-robin") return steering_kind::rotation;
  if (name == "least-busy") return steering_kind::least_busy;
  if (name == "source-hash") return steering_kind::hash;
  return std::nullopt;
}

std::vector<std::string> direct_strategy_names() {
  return {"round-robin", "least-busy", "source-hash"};
}

const char* to_string(steering_kind kind) {
  switch (kind) {
    case steering_kind::rotation:
      return "round-robin";
    case steering_kind::least_busy:
      return "least-busy";
    case steering_kind::hash:
      return "source-hash";
  }
  return "?";
}

}  // namespace pinwheel::direct
