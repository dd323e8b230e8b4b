// Copies a child's output pipe to one of our own sinks (stdout or stderr), a line at a time,
// each line prefixed (e.g. "[backend 2] "), so interleaved backends stay readable. The sink
// never blocks: if nobody reads our output, the lines are dropped (and counted), while the
// child's pipe is still drained, so the child does not block either.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <string>

#include "log/log_sink.hpp"

namespace pinwheel {

class output_forwarder {
 public:
  /// Takes ownership of `pipe_fd`; writes to `target` until the pipe reaches end of file.
  output_forwarder(asio::io_context& io, int pipe_fd, log_sink& target, std::string prefix);
  output_forwarder(const output_forwarder&) = delete;
  output_forwarder& operator=(const output_forwarder&) = delete;

  /// Starts copying; the returned coroutine must not outlive this object.
  asio::awaitable<void> run();

 private:
  void emit(std::string_view line);

  asio::posix::stream_descriptor pipe_;
  log_sink& target_;
  std::string prefix_;
  std::string partial_;  // a line still waiting for its '\n'
};

}  // namespace pinwheel
