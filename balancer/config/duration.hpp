// Durations as operators write them in the config: "500ms", "2s", "1m30s".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pinwheel {

using duration = std::chrono::milliseconds;

/// Parses one or more number+unit pairs (units: ms, s, m, h), e.g. "1m30s"; nullopt if malformed.
std::optional<duration> parse_duration(std::string_view text);

/// The shortest exact spelling, e.g. 90000ms -> "1m30s", 0 -> "0s".
std::string format_duration(duration value);

}  // namespace pinwheel
