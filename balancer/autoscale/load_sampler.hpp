// Measures the load of the spawned backends for auto-scaling: each one's CPU utilisation, from
// the CPU time its process used between two readings (through a reader passed in: /proc in a
// run, a fake in tests), and its connections awaiting a reply (backend::awaiting: sent a
// request, nothing back yet — being served or queued in the backend).
//
// Only backends that are up and not draining count; one whose process changed since the last
// reading (a restart) is measured again from the next one. Called on the event loop once per
// [autoscale] interval, never per connection. Single-threaded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "autoscale/scale_decider.hpp"
#include "pool/backend.hpp"

namespace pinwheel {

class load_sampler {
 public:
  using clock = std::chrono::steady_clock;
  /// CPU seconds (user + system) that process `pid` has used so far; empty if it is gone.
  using cpu_reader = std::function<std::optional<double>(pid_t)>;

  explicit load_sampler(cpu_reader read) : read_(std::move(read)) {}

  /// The load of `members` at `now`; `backends` is the count the run has now.
  load_sample sample(std::span<backend* const> members, int backends, clock::time_point now);

 private:
  struct reading {
    pid_t pid = 0;
    double cpu_seconds = 0;
    clock::time_point at{};
  };

  cpu_reader read_;
  /// The last reading of each backend, by name.
  std::map<std::string, reading> last_;
};

}  // namespace pinwheel
