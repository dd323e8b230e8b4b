#include "autoscale/scale_decider.hpp"

#include <cstdio>

namespace pinwheel {

namespace {

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value);
  return text;
}

}  // namespace

void scale_decider::reset() {
  high_since_.reset();
  low_since_.reset();
}

scale_decision scale_decider::decide(const load_sample& s, int min, int max,
                                     clock::time_point now) {
  scale_decision d;
  d.target = s.backends;
  // Bounds first: no load figure can keep the count outside them.
  if (s.backends < min) {
    d.direction = scale_direction::up;
    d.target = s.backends + 1;
    d.reason = "below min " + std::to_string(min);
  } else if (s.backends > max) {
    d.direction = scale_direction::down;
    d.target = s.backends - 1;
    d.reason = "above max " + std::to_string(max);
  }
  if (d.direction != scale_direction::none) {
    reset();
    last_change_ = now;
    return d;
  }
  if (s.measured <= 0) {
    reset();
    return d;
  }

  const autoscale_options& o = options_;
  double cpu = s.cpu / s.measured;
  double queued = s.queued / s.measured;
  bool cpu_high = cpu >= o.scale_up_cpu;
  bool queue_high = o.scale_up_queued > 0 && queued >= o.scale_up_queued;
  bool high = cpu_high || queue_high;
  // The same total spread over one backend fewer must not be high: no flapping by design.
  // One measured backend gives nothing to spread over.
  bool low = false;
  if (!high && cpu <= o.scale_down_cpu && s.measured > 1) {
    double fewer = s.measured - 1;
    low = s.cpu / fewer < o.scale_up_cpu &&
          (o.scale_up_queued <= 0 || s.queued / fewer < o.scale_up_queued);
  }
  if (!high) high_since_.reset();
  if (!low) low_since_.reset();
  if (high && !high_since_) high_since_ = now;
  if (low && !low_since_) low_since_ = now;

  bool cooling = last_change_ && now - *last_change_ < o.cooldown;
  if (high) {
    if (s.backends >= max) {
      d.at_max = true;
      return d;
    }
    if (cooling || now - *high_since_ < o.scale_up_after) return d;
    d.direction = scale_direction::up;
    d.target = s.backends + 1;
    d.reason = cpu_high ? "mean cpu " + number(cpu) + " >= scale_up_cpu " + number(o.scale_up_cpu)
                        : "mean queued " + number(queued) + " >= scale_up_queued " +
                              number(o.scale_up_queued);
    d.reason += " for " + format_duration(std::chrono::duration_cast<duration>(now - *high_since_));
  } else if (low && s.backends > min) {
    if (cooling || now - *low_since_ < o.scale_down_after) return d;
    d.direction = scale_direction::down;
    d.target = s.backends - 1;
    d.reason = "mean cpu " + number(cpu) + " <= scale_down_cpu " + number(o.scale_down_cpu) +
               " for " + format_duration(std::chrono::duration_cast<duration>(now - *low_since_));
  } else {
    return d;
  }
  reset();
  last_change_ = now;
  return d;
}

}  // namespace pinwheel
