// Child processes for end-to-end tests, and what /proc says about processes.
//
// A child_process owns one child: its stdout and stderr share one pipe, read line by line by a
// reader thread. The reading can be paused, so that a test can play a reader that stalls and the
// child's writes fill the pipe. output(), wait_for_line(), pause_output() and resume_output() may
// be called from any thread; the other members from the thread that owns the object. The child gets
// SIGKILL if the thread that started it exits (PR_SET_PDEATHSIG), so start children from a thread
// that outlives them: the test body.

#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/unique_fd.hpp"

namespace pinwheel::test {

/// A child process whose stdout and stderr are captured, line by line, by a reader thread.
class child_process {
 public:
  /// Starts argv[0] (a path) with the given arguments; throws std::runtime_error if it cannot.
  explicit child_process(std::vector<std::string> argv);
  /// Sends SIGKILL if still running, then reaps; joins the reader.
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// The child's process id.
  pid_t pid() const;

  /// Waits until an output line (stdout or stderr) matches `pattern` (std::regex_search); returns
  /// the capture groups ([0] = whole match) or std::nullopt after `timeout`, or as soon as the
  /// output has ended without a match. Lines seen before the call count.
  std::optional<std::vector<std::string>> wait_for_line(const std::string& pattern,
                                                        std::chrono::milliseconds timeout);

  /// Everything printed so far, stdout and stderr interleaved as lines.
  std::string output() const;

  /// Stops reading the child's output: once this returns, nothing more is read from the pipe (not
  /// even when the child exits) until resume_output(), so the child's writes block once it fills.
  void pause_output();

  /// Reads the child's output again after pause_output().
  void resume_output();

  /// Sends `signal` to the child, unless it has already been reaped.
  void send_signal(int signal);

  /// Waits for exit: exit code, or 128 + signal number if killed; std::nullopt on timeout.
  /// Once it has returned a code, output() holds everything the child itself printed.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

  /// True until the child has exited (reaping it if it has).
  bool running();

 private:
  /// Reaps the child if it has exited; true once it has been reaped.
  bool try_reap();
  /// The reader thread: waits for output and drains it until EOF or stop.
  void read_output();
  /// Wakes the reader thread, so it sees a change of output_paused_.
  void wake_reader();
  /// Reads what the pipe holds now; false once the output has ended. Needs mutex_.
  bool drain_output();
  /// Marks the output as ended, keeping an unfinished last line. Needs mutex_.
  void end_output();
  /// Adds bytes read from the pipe, completing lines. Needs mutex_.
  void append_output(const char* data, std::size_t length);

  std::string program_;
  pid_t pid_ = -1;
  /// Read end of the child's stdout+stderr pipe (non-blocking); read only under mutex_, so that
  /// the reader thread and a reaping caller keep the bytes in order.
  unique_fd output_fd_;
  /// Closing stop_write_fd_ tells the reader to drain what is left and exit.
  unique_fd stop_read_fd_;
  unique_fd stop_write_fd_;
  /// A byte written to wake_write_fd_ makes the reader look at output_paused_ again.
  unique_fd wake_read_fd_;
  unique_fd wake_write_fd_;
  std::optional<int> exit_code_;

  mutable std::mutex mutex_;
  std::condition_variable output_changed_;
  std::vector<std::string> lines_;
  std::string partial_line_;
  bool output_ended_ = false;
  bool output_paused_ = false;
  std::thread reader_;
};

/// True while a process with this pid exists and is not a zombie (reads /proc/PID/stat).
bool process_alive(pid_t pid);

/// The Cpus_allowed_list line of /proc/PID/status, e.g. "1" or "0-1"; empty if it cannot be read.
std::string cpus_allowed_list(pid_t pid);

/// The cores the calling process may run on, ascending; throws if the kernel will not say.
std::vector<int> own_allowed_cpus();

/// Pids of the direct children of `pid` (from /proc/*/stat ppid field), in ascending order.
std::vector<pid_t> child_pids(pid_t pid);

}  // namespace pinwheel::test
