// Takes least-busy's readings (load_tracker.hpp) of every backend: its listener's accept queue
// and its process's run time.
//
// The queue: getsockopt(TCP_INFO) on a listening socket reports the connections waiting to be
// accepted (tcpi_unacked) and the backlog (tcpi_sacked). The run time: the first two fields
// of /proc/PID/schedstat (nanoseconds on a CPU, and runnable waiting for one: on a shared
// core a spinning backend still wants the CPU all the time), kept open and re-read with
// pread(); reopened when
// watch_process() names another pid. It is the main thread's: right for single-threaded event
// loops (the demo backend, Node); a multi-threaded backend's other threads are not counted. A
// process that has exited reads as none (no CPU share) until another pid is named. Not
// thread-safe; one sample of 15 backends costs a few tens of microseconds (see the report in
// tests/direct/listener_load_test.cpp).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/owned_fd.hpp"
#include "direct/load_tracker.hpp"

namespace pinwheel::direct {

/// A listening socket's accept queue now: connections the kernel completed that its process
/// has not accepted yet, and the most the queue holds. Throws std::system_error when `fd` is
/// not a TCP socket.
struct accept_queue {
  std::uint32_t waiting = 0;
  std::uint32_t backlog = 0;
};
accept_queue read_accept_queue(int fd);

class listener_load {
 public:
  explicit listener_load(std::size_t backends, busy_rule rule = {});

  std::size_t size() const { return tracker_.size(); }

  /// `fd` is backend i's listening socket (not owned: the reuseport_group keeps it); -1 for none
  /// (its queue reads 0).
  void watch_listener(std::size_t backend, int fd);
  /// Backend i's process; 0 for none. Another pid than before forgets the CPU history.
  void watch_process(std::size_t backend, pid_t pid);

  /// Reads every backend now. Throws std::system_error when a listener cannot be read (not a
  /// TCP socket: a caller's mistake).
  void sample();

  const backend_load& load(std::size_t backend) const { return tracker_.load(backend); }

 private:
  struct watched {
    int listener = -1;
    pid_t pid = 0;
    owned_fd schedstat;
  };

  load_tracker tracker_;
  std::vector<watched> watched_;
};

}  // namespace pinwheel::direct
