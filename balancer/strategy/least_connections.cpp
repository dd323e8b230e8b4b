#include "strategy/least_connections.hpp"

namespace pinwheel {

backend* least_connections::pick(const asio::ip::address&, std::span<backend* const> avoid) {
  return pick_best(avoid, less_loaded);
}

}  // namespace pinwheel
