#include "autoscale/load_sampler.hpp"

#include <chrono>

namespace pinwheel {

load_sample load_sampler::sample(std::span<backend* const> members, int backends,
                                 clock::time_point now) {
  load_sample s;
  s.backends = backends;
  std::map<std::string, reading> seen;
  for (const backend* b : members) {
    if (!b->spawned() || !b->usable() || b->process.pid <= 0) continue;
    std::optional<double> cpu_seconds = read_(b->process.pid);
    if (!cpu_seconds) continue;
    reading now_reading{b->process.pid, *cpu_seconds, now};
    auto last = last_.find(b->name);
    if (last != last_.end() && last->second.pid == b->process.pid && now > last->second.at) {
      double wall = std::chrono::duration<double>(now - last->second.at).count();
      double used = *cpu_seconds - last->second.cpu_seconds;
      ++s.measured;
      s.cpu += used > 0 ? used / wall : 0;
      s.queued += static_cast<double>(b->awaiting.size());
    } else {
      ++s.fresh;
    }
    seen.emplace(b->name, now_reading);
  }
  // Backends gone, down or draining are read afresh when they count again.
  last_ = std::move(seen);
  return s;
}

}  // namespace pinwheel
