// The operating system as the supervisor uses it (LevelDB's Env): the clock, pipes, starting,
// signalling and reaping processes. system_process_env is the real one; tests substitute one
// that fails on demand and keeps fake time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

namespace pinwheel {

/// What a backend process is started with.
struct process_spec {
  /// argv[0] is a path (no PATH search).
  std::vector<std::string> argv;
  /// Core to pin the process to.
  int cpu = -1;
  /// Become the child's stdout and stderr; stdin is /dev/null.
  int stdout_fd = -1;
  int stderr_fd = -1;
  /// Where the child writes its own pid (a guardian's watch record) before exec, so its
  /// process group is known before any of its code runs; -1: nowhere.
  int announce_fd = -1;
  /// "KEY=VALUE" entries added to the balancer's environment (replacing a same-named one).
  /// The service-manager variables meant for the balancer itself (NOTIFY_SOCKET, WATCHDOG_*,
  /// LISTEN_*) are never passed on unless listed here.
  std::vector<std::string> environment;
  /// A listening socket passed as descriptor 3 (socket activation); -1: none.
  int listen_fd = -1;
  /// Variables set to the child's own pid, known only after the fork (WATCHDOG_PID).
  std::vector<std::string> pid_variables;

  /// Limits set before exec: RLIMIT_NOFILE and RLIMIT_AS (soft and hard); 0: inherited.
  std::uint64_t max_open_files = 0;
  std::uint64_t max_address_space = 0;
  /// Switch to this user before exec (after the limits, which may need root to raise):
  /// supplementary groups, then gid, then uid.
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

/// How a start went.
struct process_start {
  /// The new process, also its process group; 0 if none runs.
  pid_t pid = 0;
  /// Why none runs, e.g. "cannot run /srv/app: Permission denied".
  std::string failure;
  /// The error behind `failure` when it was ours (descriptors, memory), not the program's.
  std::error_code local_error;
  /// Set when the process runs but could not be pinned to its core.
  std::error_code pin_error;
};

class process_env {
 public:
  virtual ~process_env() = default;

  /// Now, on a clock that never jumps.
  virtual std::chrono::steady_clock::time_point now() = 0;
  /// A close-on-exec pipe: fds[0] reads, fds[1] writes.
  virtual std::error_code make_pipe(int fds[2]) = 0;
  /// Starts a process in its own process group; returns once it runs the new program (or
  /// has failed to).
  virtual process_start start(const process_spec& spec) = 0;
  /// Sends `signal` to every process in group `pgid`.
  virtual void signal_group(pid_t pgid, int signal) = 0;
  /// An exited child, reaped without waiting: its pid and wait status; 0 when none is left to
  /// reap now.
  virtual pid_t reap(int& wait_status) = 0;
};

}  // namespace pinwheel
