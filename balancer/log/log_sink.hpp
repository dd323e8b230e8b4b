// A bounded, non-blocking line sink in front of one file descriptor (stdout or stderr), or of a
// file it opens itself and can reopen (the access log).
//
// write_line() only appends to a buffer in memory and never waits on the descriptor: a writer
// thread of the sink's own does the blocking write(2)s, so a reader that stalls (a paused
// terminal, `| less`, a slow journald) cannot stop the event loop that logs.
//
// Invariants:
// - Lines are kept or dropped whole, and each write(2) carries whole lines only, at most
//   PIPE_BUF bytes of them (atomic on a pipe), so lines shorter than that never interleave
//   mid-line with other writers of the same pipe, such as the other sink after 2>&1.
// - At most `capacity` bytes wait in memory (one longer line is let in when nothing waits).
// - When the buffer is full, lines are dropped and counted until half of it has drained; then
//   one notice says how many were lost ("pinwheel: warning: stderr was not being read: ...").
//
// - A file sink writes its drop notices, and any failure to reopen, to another sink (stderr), so
//   the file holds access log lines only. reopen() only asks: the writer thread opens the path
//   again (a blocking open(2)) before its next write, and keeps the old file if that fails.
//
// Thread safety: write_line(), flush(), reopen() and the counters may be called from any thread;
// stop() and the destructor from the thread that owns the sink. A child between fork and exec must
// not use a sink: the writer thread, which may hold its lock, does not exist there.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

namespace pinwheel {

class log_sink {
 public:
  /// Room for a burst of forwarded backend output, yet small next to what a balancer host has.
  static constexpr std::size_t kDefaultCapacity = 1024 * 1024;

  /// Writes lines to (a copy of) `fd`; `name` ("stderr") names it in the drop notice, which
  /// goes to `notices` if given (it must outlive this sink), else among these lines.
  log_sink(int fd, std::string name, std::size_t capacity = kDefaultCapacity,
           log_sink* notices = nullptr);

  /// Appends lines to the file at `path`, created (mode 0640) if missing; drop notices and
  /// reopen failures go to `notices`, which must outlive this sink. Throws std::system_error
  /// if the file cannot be opened for writing.
  static std::unique_ptr<log_sink> open_file(const std::string& path, std::string name,
                                             log_sink& notices,
                                             std::size_t capacity = kDefaultCapacity);
  /// stop(), with a second for what is still queued.
  ~log_sink();

  log_sink(const log_sink&) = delete;
  log_sink& operator=(const log_sink&) = delete;

  /// Queues `parts`, joined and followed by '\n', as one line; never blocks on the descriptor.
  void write_line(std::initializer_list<std::string_view> parts);

  /// Waits until everything queued has been written or `deadline` passes; true if it was.
  bool flush(std::chrono::steady_clock::time_point deadline);

  /// Gives the writer until `deadline` to write what is queued, then ends it: joined if idle,
  /// left behind (to end with the process) if stuck in a write. Later lines are dropped.
  void stop(std::chrono::steady_clock::time_point deadline);

  /// From now on the writer waits up to `delay` after a line arrives, so that lines gather
  /// into one write and the thread that logs wakes the writer about once per batch instead of
  /// once per line (flush() and a full write's worth of lines do not wait).
  void batch_writes(std::chrono::milliseconds delay);

  /// A file sink opens its path again before its next write (after logrotate renamed the
  /// file); returns at once. False for a sink in front of a descriptor: nothing to reopen.
  bool reopen();

  /// Lines that never reached the descriptor: dropped on a full buffer or after stop(), or lost
  /// to a write error.
  std::uint64_t lines_dropped() const;

  /// The bytes of those lines, newlines included.
  std::uint64_t bytes_dropped() const;

 private:
  struct shared;

  explicit log_sink(std::shared_ptr<shared> state);
  void start_writer();

  /// The writer thread's loop; it shares the state, so it may outlive a sink left behind.
  static void run_writer(std::shared_ptr<shared> state);
  /// On the writer thread: opens the file's path again and writes there from now on.
  static void reopen_file(shared& s);

  std::shared_ptr<shared> state_;
  std::thread writer_;
};

}  // namespace pinwheel
