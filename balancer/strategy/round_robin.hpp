// Round-robin: each usable member in turn, in pool order.
#pragma once

#include "strategy/strategy.hpp"

namespace pinwheel {

class round_robin : public strategy {
 public:
  explicit round_robin(const backend_pool& pool) : pool_(pool) {}

  backend* pick(const asio::ip::address& client, std::span<backend* const> avoid) override;
  void members_changed(std::span<backend* const> members) override;

 private:
  const backend_pool& pool_;
  std::size_t next_ = 0;  // where the next scan starts
};

}  // namespace pinwheel
