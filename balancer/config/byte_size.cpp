#include "config/byte_size.hpp"

#include <array>
#include <charconv>
#include <utility>

namespace pinwheel {

namespace {

constexpr std::array<std::pair<std::string_view, std::uint64_t>, 9> kUnits{{
    {"B", 1},
    {"KiB", 1ULL << 10},
    {"MiB", 1ULL << 20},
    {"GiB", 1ULL << 30},
    {"TiB", 1ULL << 40},
    {"kB", 1'000},
    {"MB", 1'000'000},
    {"GB", 1'000'000'000},
    {"TB", 1'000'000'000'000},
}};

}  // namespace

std::optional<std::uint64_t> parse_byte_size(std::string_view text) {
  std::uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  for (const auto& [name, scale] : kUnits) {
    if (unit != name) continue;
    if (number > UINT64_MAX / scale) return std::nullopt;
    return number * scale;
  }
  return std::nullopt;
}

std::string format_byte_size(std::uint64_t bytes) {
  static constexpr std::array<std::string_view, 5> kBinary{"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  while (unit + 1 < kBinary.size() && bytes != 0 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++unit;
  }
  return std::to_string(bytes) + std::string(kBinary[unit]);
}

}  // namespace pinwheel
