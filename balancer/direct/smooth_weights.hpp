// Weights to the steering program's slot list: nginx's smooth weighted round-robin, unrolled.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace pinwheel::direct {

/// One cycle of smooth weighted round-robin over `weights` (index i = socket i): index i
/// appears weights[i] / g times, where g is the weights' greatest common divisor, interleaved
/// as nginx picks them (each round every index gains its weight, the largest total wins and
/// pays the sum; ties go to the lower index). Weight 0 never appears; all 0 gives an empty
/// list. {5, 1, 1} gives 0 0 1 0 2 0 0. Throws std::invalid_argument when the list would be
/// longer than `max_slots`.
std::vector<std::uint32_t> smooth_weighted_slots(std::span<const std::uint32_t> weights,
                                                 std::size_t max_slots);

}  // namespace pinwheel::direct
