// Least-connections: the usable member with the fewest open connections.
//
// Ties are broken in rotation (the scan starts after the last pick), so equal load still
// spreads evenly instead of piling onto the first member.
#pragma once

#include "strategy/strategy.hpp"

namespace pinwheel {

class least_connections : public strategy {
 public:
  explicit least_connections(const backend_pool& pool) : pool_(pool) {}

  backend* pick(const asio::ip::address& client, std::span<backend* const> avoid) override;
  void members_changed(std::span<backend* const> members) override;

 private:
  const backend_pool& pool_;
  std::size_t next_ = 0;  // where the next scan starts
};

}  // namespace pinwheel
