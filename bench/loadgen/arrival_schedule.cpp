#include "arrival_schedule.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "config/duration.hpp"

namespace pinwheel::loadgen {

namespace {

// Requests of a phase: every i >= 0 with i / rate < duration.
std::uint64_t requests_in(const rate_phase& p) {
  const double seconds = std::chrono::duration<double>(p.duration).count();
  return static_cast<std::uint64_t>(std::ceil(p.rate * seconds - 1e-9));
}

}  // namespace

arrival_schedule::arrival_schedule(std::vector<rate_phase> phases, std::uint64_t max_requests)
    : phases_(std::move(phases)) {
  if (phases_.empty()) throw std::invalid_argument("no rate phase given");
  for (const rate_phase& p : phases_) {
    if (!(p.rate > 0) || !std::isfinite(p.rate)) {
      throw std::invalid_argument("a rate must be a positive number of requests per second");
    }
    if (p.duration.count() <= 0) throw std::invalid_argument("a duration must be positive");
    const std::uint64_t n = requests_in(p);
    phase_counts_.push_back(n);
    total_ += n;
  }
  if (max_requests < total_) total_ = max_requests;
}

std::vector<rate_phase> arrival_schedule::parse_ramp(std::string_view spec) {
  std::vector<rate_phase> phases;
  std::size_t number = 0;
  while (true) {
    const std::size_t comma = spec.find(',');
    const std::string_view step = spec.substr(0, comma);
    ++number;
    const auto bad = [&](const std::string& what) {
      throw std::invalid_argument("--ramp step " + std::to_string(number) + " (\"" +
                                  std::string(step) + "\"): " + what +
                                  "; expected RATE:DURATION, e.g. 50:10s");
    };
    const std::size_t colon = step.find(':');
    if (colon == std::string_view::npos) bad("no ':'");
    rate_phase p;
    try {
      std::size_t used = 0;
      const std::string rate(step.substr(0, colon));
      p.rate = std::stod(rate, &used);
      if (used != rate.size()) bad("the rate is not a number");
    } catch (const std::logic_error&) {
      bad("the rate is not a number");
    }
    if (!(p.rate > 0)) bad("the rate must be positive");
    const std::optional<duration> d = parse_duration(step.substr(colon + 1));
    if (!d || d->count() <= 0) bad("the duration must be like 500ms, 10s or 1m");
    p.duration = *d;
    phases.push_back(p);
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  return phases;
}

std::chrono::nanoseconds arrival_schedule::length() const {
  std::chrono::nanoseconds sum{0};
  for (const rate_phase& p : phases_) sum += p.duration;
  return sum;
}

scheduled_request arrival_schedule::at(std::uint64_t index) const {
  scheduled_request r;
  r.index = index;
  std::chrono::nanoseconds phase_start{0};
  std::uint64_t first = 0;
  for (std::size_t k = 0; k < phases_.size(); ++k) {
    if (index < first + phase_counts_[k] || k + 1 == phases_.size()) {
      const double seconds = static_cast<double>(index - first) / phases_[k].rate;
      r.offset = phase_start + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::duration<double>(seconds));
      r.phase = k;
      return r;
    }
    first += phase_counts_[k];
    phase_start += phases_[k].duration;
  }
  return r;
}

std::optional<std::chrono::nanoseconds> arrival_schedule::next_due() const {
  if (next_ >= total_) return std::nullopt;
  return at(next_).offset;
}

std::vector<scheduled_request> arrival_schedule::take_due(std::chrono::nanoseconds elapsed) {
  std::vector<scheduled_request> due;
  while (next_ < total_) {
    scheduled_request r = at(next_);
    if (r.offset > elapsed) break;
    due.push_back(r);
    ++next_;
  }
  return due;
}

}  // namespace pinwheel::loadgen
