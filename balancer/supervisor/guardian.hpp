// The guardian: a small process that SIGKILLs every backend's process group once the balancer
// is gone, however it went (kill -9 included). PR_SET_PDEATHSIG reaches only a backend's own
// process; the guardian also reaches what it started (`sh -c "server & wait"`, npm -> node).
//
// start() forks it through a short-lived middle process, so it is not among the balancer's
// children and init reaps it. It is its own process group, ignores the signals people and
// terminals send to groups (INT, TERM, HUP, QUIT, ...), keeps only its end of a socket pair
// and stderr, and reads records: one pid_t each, +pgid to watch a group, -pgid to forget it.
// At end of file (the balancer exited or died) it SIGKILLs the groups still watched, logs
// them, and exits. Should the guardian itself die, the balancer logs it and starts another,
// which learns every group still watched.
//
// Limit: a process that leaves its group (setsid(), setpgid()) escapes; only a cgroup holds
// such a tree (systemd's KillMode=control-group).
//
// Single-threaded. Start it early, while the balancer is small: fork copies it. After fork the
// guardian's code is async-signal-safe, so other threads of the balancer do no harm.
#pragma once

#include <sys/types.h>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <memory>
#include <set>
#include <vector>

namespace pinwheel {

class guardian {
 public:
  explicit guardian(asio::io_context& io);
  guardian(const guardian&) = delete;
  guardian& operator=(const guardian&) = delete;

  /// Starts the guardian process; throws std::system_error if it cannot.
  void start();
  /// From now on, group `pgid` is SIGKILLed if the balancer dies.
  void watch(pid_t pgid);
  /// Group `pgid` is gone (its leader reaped, the rest SIGKILLed).
  void forget(pid_t pgid);
  /// A descriptor a child may write its own watch record to before exec, or -1 while records
  /// of ours are still waiting to go out (they must not interleave).
  int announce_fd();
  /// The guardian process, 0 while there is none.
  pid_t pid() const { return pid_; }
  /// Lets the guardian go: it exits, SIGKILLing the groups still watched. No restart follows.
  void stop();

 private:
  /// Forks a new guardian and tells it every watched group; throws std::system_error.
  void launch();
  /// Waits for the guardian's end of file, then starts another.
  asio::awaitable<void> monitor();
  void send(pid_t record);
  void flush();

  asio::io_context& io_;
  asio::local::stream_protocol::socket socket_;
  asio::steady_timer retry_;
  std::set<pid_t> watched_;
  std::vector<pid_t> queued_;
  // The records being written; shared with the write in flight, which may outlive a restart.
  std::shared_ptr<std::vector<pid_t>> writing_;
  // Counts launches, so a write completing for an earlier guardian is ignored.
  unsigned generation_ = 0;
  pid_t pid_ = 0;
  bool stopped_ = false;
};

}  // namespace pinwheel
