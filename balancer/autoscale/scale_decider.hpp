// When auto-scaling adds or removes a backend, decided from load samples and the time each was
// taken (passed in, so tests drive it with a fake clock). No I/O, no clock of its own.
//
// Up:   mean CPU utilisation >= scale_up_cpu, or mean queued >= scale_up_queued (when set),
//       held for scale_up_after.
// Down: mean CPU utilisation <= scale_down_cpu, and the backends left would still stay below
//       both up thresholds (so a removal never calls for an addition), held for
//       scale_down_after.
// One backend per step; after each step nothing happens for `cooldown`. A sample that is
// neither high nor low ends both streaks: the condition must hold again from the start. Never
// below min nor above max; a count outside them (a reload moved them) steps back at once.
// Single-threaded.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "config/options.hpp"

namespace pinwheel {

/// The load of the spawned backends at one moment.
struct load_sample {
  /// Backends the run has now (what it was last scaled to).
  int backends = 0;
  /// Of those, the ones measured: up, running, read twice by the same process.
  int measured = 0;
  /// Sum of their CPU utilisation (1.0: one core busy).
  double cpu = 0;
  /// Sum of their connections awaiting a reply.
  double queued = 0;
  /// Backends up but read for the first time (just started or restarted): measured from the
  /// next sample on.
  int fresh = 0;
};

enum class scale_direction { none, up, down };

struct scale_decision {
  scale_direction direction = scale_direction::none;
  /// The count to run; equals the sample's `backends` when nothing is to change.
  int target = 0;
  /// Which rule fired, with its figures ("mean cpu 0.93 >= scale_up_cpu 0.8 for 15s").
  std::string reason;
  /// The load calls for another backend, but max is reached.
  bool at_max = false;
};

class scale_decider {
 public:
  using clock = std::chrono::steady_clock;

  /// Reads `options` at every decision: a reload's new thresholds apply at once.
  explicit scale_decider(const autoscale_options& options) : options_(options) {}

  /// Feeds one sample taken at `now` and decides.
  scale_decision decide(const load_sample& s, int min, int max, clock::time_point now);

  /// Forgets both streaks (a change is in flight, or the thresholds changed): the load must
  /// hold anew. The cool-down stays.
  void reset();

 private:
  const autoscale_options& options_;
  std::optional<clock::time_point> high_since_;
  std::optional<clock::time_point> low_since_;
  std::optional<clock::time_point> last_change_;
};

}  // namespace pinwheel
