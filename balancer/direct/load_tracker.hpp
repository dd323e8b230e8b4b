// Least-busy's judgement, from readings of each backend's listener and process: pure
// computation (no system calls, time comes with each reading), so it is tested with a fake
// clock. listener_load takes the readings.
//
// A backend stuck on CPU stops accepting: its accept queue grows, and its run time advances at
// the speed of the wall clock. The rule: a backend is busy when its queue holds at least
// `queue_at_least` connections and did not shrink since the previous reading (so it is not
// accepting them), or when its CPU share over the last window is at least
// `cpu_share_at_least`. The share is measured over windows of at least `cpu_window`: the
// kernel advances a running task's run time only at scheduler ticks (4 ms with HZ=250), so a
// share over 1 ms reads 0 or 4; the queue is the quick signal, the CPU share the steady one.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace pinwheel::direct {

struct busy_rule {
  std::uint32_t queue_at_least = 1;
  double cpu_share_at_least = 0.9;
  std::chrono::nanoseconds cpu_window = std::chrono::milliseconds(20);
};

/// One reading of one backend.
struct load_reading {
  std::chrono::steady_clock::time_point at;
  std::uint32_t queue = 0;              // connections waiting in its listener's accept queue
  std::uint32_t backlog = 0;            // the most that queue holds (listen()'s backlog)
  std::optional<std::uint64_t> run_ns;  // its process's run time; none without a process
};

/// What the readings say about one backend.
struct backend_load {
  std::uint32_t queue = 0;
  std::uint32_t backlog = 0;
  bool queue_shrinking = false;     // shorter than at the previous reading
  std::optional<double> cpu_share;  // run time / wall time over the last complete window
  bool busy = false;
};

class load_tracker {
 public:
  explicit load_tracker(std::size_t backends, busy_rule rule = {});

  std::size_t size() const { return state_.size(); }

  /// Takes a reading of `backend`, taken at reading.at (readings of one backend in time order).
  void record(std::size_t backend, const load_reading& reading);
  /// Forgets `backend`'s history: a new process, whose run time starts afresh.
  void forget(std::size_t backend);

  const backend_load& load(std::size_t backend) const { return state_.at(backend).load; }

 private:
  struct state {
    backend_load load;
    bool has_queue = false;
    // Where the current CPU window started.
    std::optional<std::chrono::steady_clock::time_point> window_start;
    std::uint64_t window_start_run_ns = 0;
  };

  busy_rule rule_;
  std::vector<state> state_;
};

}  // namespace pinwheel::direct
