#include "direct/smooth_weights.hpp"

#include <numeric>
#include <stdexcept>
#include <string>

namespace pinwheel::direct {

std::vector<std::uint32_t> smooth_weighted_slots(std::span<const std::uint32_t> weights,
                                                 std::size_t max_slots) {
  std::uint64_t divisor = 0;
  for (std::uint32_t w : weights) divisor = std::gcd(divisor, std::uint64_t{w});
  if (divisor == 0) return {};

  std::vector<std::int64_t> reduced(weights.size());
  std::int64_t total = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    reduced[i] = static_cast<std::int64_t>(weights[i] / divisor);
    total += reduced[i];
  }
  if (static_cast<std::uint64_t>(total) > max_slots)
    throw std::invalid_argument("direct mode: the weights need " + std::to_string(total) +
                                " slots in the steering table, more than its " +
                                std::to_string(max_slots));

  std::vector<std::int64_t> current(weights.size(), 0);
  std::vector<std::uint32_t> slots;
  slots.reserve(static_cast<std::size_t>(total));
  for (std::int64_t round = 0; round < total; ++round) {
    std::size_t best = 0;
    bool found = false;
    for (std::size_t i = 0; i < reduced.size(); ++i) {
      if (reduced[i] == 0) continue;
      current[i] += reduced[i];
      if (!found || current[i] > current[best]) best = i;
      found = true;
    }
    current[best] -= total;
    slots.push_back(static_cast<std::uint32_t>(best));
  }
  return slots;
}

}  // namespace pinwheel::direct
