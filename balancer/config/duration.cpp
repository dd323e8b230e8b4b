#include "config/duration.hpp"

#include <cctype>
#include <limits>

namespace pinwheel {

namespace {

struct unit {
  std::string_view name;
  std::int64_t milliseconds;
};

// Longest names first so "ms" is not read as "m" followed by "s".
constexpr unit kUnits[] = {{"ms", 1}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}};

}  // namespace

std::optional<duration> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  while (!text.empty()) {
    std::int64_t number = 0;
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
      number = number * 10 + (text[digits] - '0');
      if (number > std::numeric_limits<std::int32_t>::max()) return std::nullopt;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    text.remove_prefix(digits);
    const unit* matched = nullptr;
    for (const unit& u : kUnits) {
      if (text.starts_with(u.name)) {
        matched = &u;
        break;
      }
    }
    if (matched == nullptr) return std::nullopt;
    text.remove_prefix(matched->name.size());
    total += number * matched->milliseconds;
    if (total > std::numeric_limits<std::int32_t>::max() * 1000LL) return std::nullopt;
  }
  return duration(total);
}

std::string format_duration(duration value) {
  std::int64_t ms = value.count();
  if (ms == 0) return "0s";
  std::string out;
  for (const unit& u : {kUnits[1], kUnits[2], kUnits[3], kUnits[0]}) {
    if (ms >= u.milliseconds) {
      out += std::to_string(ms / u.milliseconds);
      out += u.name;
      ms %= u.milliseconds;
    }
  }
  return out;
}

}  // namespace pinwheel
