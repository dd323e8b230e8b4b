#include "config/free_ports.hpp"

#include <algorithm>

#include "config/address.hpp"

namespace pinwheel {

std::vector<std::uint16_t> pick_free_ports(const asio::ip::address& address, std::size_t count,
                                           const host_facts& host,
                                           const asio::ip::tcp::endpoint& avoid) {
  // The candidates as at most two runs of ports: below and above the ephemeral range.
  struct run {
    std::uint32_t first, size;
  };
  std::vector<run> runs;
  std::uint32_t low = kFirstUnprivilegedPort;
  std::uint32_t ephemeral_first = std::max<std::uint32_t>(host.ephemeral_ports.first, low);
  std::uint32_t ephemeral_last = std::max<std::uint32_t>(host.ephemeral_ports.last, low - 1);
  if (ephemeral_first > low) runs.push_back({low, ephemeral_first - low});
  if (ephemeral_last < 65535) runs.push_back({ephemeral_last + 1, 65535 - ephemeral_last});
  std::uint32_t candidates = 0;
  for (const run& r : runs) candidates += r.size;

  std::vector<std::uint16_t> ports;
  for (std::uint32_t step = 0; step < candidates && ports.size() < count; ++step) {
    std::uint32_t k = static_cast<std::uint32_t>((host.random + step) % candidates);
    std::uint32_t port = 0;
    for (const run& r : runs) {
      if (k < r.size) {
        port = r.first + k;
        break;
      }
      k -= r.size;
    }
    asio::ip::tcp::endpoint candidate(address, static_cast<std::uint16_t>(port));
    if (avoid.port() != 0 && clash(candidate, avoid)) continue;
    if (host.try_bind(candidate, false)) continue;
    ports.push_back(static_cast<std::uint16_t>(port));
  }
  return ports;
}

}  // namespace pinwheel
