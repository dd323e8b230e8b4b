// The access log: one line per closed connection ([access_log] in the config).
//
// write() formats on the event loop's thread into a reused buffer and hands the line to a
// log_sink, whose own thread does the writing: a slow disk or a stalled reader never blocks the
// event loop; lines are written in batches (at most 100 ms late, or 64 KiB at a time), so the
// event loop wakes the writer about once per batch. When the sink's buffer (4 MiB) is full, lines
// are dropped, counted, and a warning on stderr says how many. A file is reopened on reopen()
// (SIGUSR1, after logrotate renamed it); stderr and stdout get their own sink beside the log's,
// whole lines never interleaving.
//
// Single-threaded: write() and reopen() from the event loop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "config/options.hpp"
#include "log/log_sink.hpp"
#include "proxy/connection_record.hpp"

namespace pinwheel {

class access_log {
 public:
  /// Lines waiting to be written, at most; past this they are dropped and counted.
  static constexpr std::size_t kCapacity = 4 * 1024 * 1024;
  /// How long a line may wait for others before its batch is written.
  static constexpr std::chrono::milliseconds kBatchDelay{100};

  /// Opens options.path (or takes stderr/stdout); throws std::system_error if the file cannot
  /// be opened for appending.
  explicit access_log(const access_log_options& options);

  /// Queues the line for `record`; never blocks.
  void write(const connection_record& record);

  /// Opens the file again (its writer does, off the event loop); false for stderr/stdout.
  bool reopen() { return sink_->reopen(); }

  /// Where lines go: the file's path, "stderr" or "stdout".
  const std::string& path() const { return path_; }

  /// Lines dropped so far (buffer full, write errors).
  std::uint64_t lines_dropped() const { return sink_->lines_dropped(); }

  /// Waits until every queued line is written or `deadline` passes.
  bool flush(std::chrono::steady_clock::time_point deadline) { return sink_->flush(deadline); }

 private:
  const access_log_format format_;
  const std::string path_;
  std::unique_ptr<log_sink> sink_;
  std::string line_;  // reused: keeps its capacity from line to line
};

}  // namespace pinwheel
