// Sizes as operators write them in the config: "512MiB", "2GiB", "64MB".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pinwheel {

/// Parses a whole number and a unit: B, KiB, MiB, GiB, TiB (powers of 1024) or kB, MB, GB, TB
/// (powers of 1000), e.g. "512MiB"; nullopt if malformed or past 2^64.
std::optional<std::uint64_t> parse_byte_size(std::string_view text);

/// The shortest exact binary spelling, e.g. 536870912 -> "512MiB", 1000 -> "1000B".
std::string format_byte_size(std::uint64_t bytes);

}  // namespace pinwheel
