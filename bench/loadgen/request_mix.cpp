#include "request_mix.hpp"

#include <charconv>
#include <stdexcept>

namespace pinwheel::loadgen {

namespace {

// Weights above this would make no sense and could overflow the rotation's sums.
constexpr std::uint32_t max_weight = 1'000'000;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

[[noreturn]] void bad_item(std::size_t number, std::string_view item, const std::string& what) {
  throw std::invalid_argument("--mix item " + std::to_string(number) + " (\"" + std::string(item) +
                              "\"): " + what);
}

request_class parse_item(std::size_t number, std::string_view item) {
  request_class c;
  std::string_view rest = trim(item);
  if (rest.empty()) bad_item(number, item, "empty; expected WEIGHT:METHOD TARGET");
  const std::size_t colon = rest.find(':');
  // A colon inside the target (e.g. "/a?t=1:2") is not a weight separator.
  if (colon != std::string_view::npos && rest.front() != '/' && rest.find(' ') > colon) {
    const std::string_view weight = trim(rest.substr(0, colon));
    std::uint32_t w = 0;
    const auto [end, ec] = std::from_chars(weight.data(), weight.data() + weight.size(), w);
    if (ec != std::errc() || end != weight.data() + weight.size() || w == 0 || w > max_weight) {
      bad_item(number, item, "weight must be an integer from 1 to " + std::to_string(max_weight));
    }
    c.weight = w;
    rest = trim(rest.substr(colon + 1));
  }
  const std::size_t space = rest.find(' ');
  if (space != std::string_view::npos) {
    c.method = std::string(rest.substr(0, space));
    rest = trim(rest.substr(space + 1));
    for (char ch : c.method) {
      if (ch < 'A' || ch > 'Z') bad_item(number, item, "method must be upper-case letters");
    }
  }
  if (rest.empty() || rest.front() != '/') {
    bad_item(number, item, "target must start with '/'");
  }
  for (char ch : rest) {
    if (ch <= ' ' || ch == 0x7f) bad_item(number, item, "target holds a space or control byte");
  }
  c.target = std::string(rest);
  c.name = c.method + " " + c.target;
  return c;
}

}  // namespace

request_mix request_mix::parse(std::string_view spec) {
  request_mix mix;
  std::size_t number = 0;
  while (true) {
    const std::size_t comma = spec.find(',');
    mix.classes_.push_back(parse_item(++number, spec.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  mix.current_.assign(mix.classes_.size(), 0);
  return mix;
}

std::size_t request_mix::next() {
  std::int64_t total = 0;
  std::size_t best = 0;
  for (std::size_t i = 0; i < classes_.size(); ++i) {
    current_[i] += classes_[i].weight;
    total += classes_[i].weight;
    if (current_[i] > current_[best]) best = i;
  }
  current_[best] -= total;
  return best;
}

}  // namespace pinwheel::loadgen
