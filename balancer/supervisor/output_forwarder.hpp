// Copies a child's output pipe to one of our own descriptors, a line at a time,
// each line prefixed (e.g. "[backend 2] "), so interleaved backends stay readable.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <string>

namespace pinwheel {

class output_forwarder {
 public:
  /// Takes ownership of `pipe_fd`; writes to `target_fd` until the pipe reaches end of file.
  output_forwarder(asio::io_context& io, int pipe_fd, int target_fd, std::string prefix);
  output_forwarder(const output_forwarder&) = delete;
  output_forwarder& operator=(const output_forwarder&) = delete;

  /// Starts copying; the returned coroutine must not outlive this object.
  asio::awaitable<void> run();

 private:
  void emit(std::string_view line);

  asio::posix::stream_descriptor pipe_;
  int target_fd_;
  std::string prefix_;
  std::string partial_;  // a line still waiting for its '\n'
};

}  // namespace pinwheel
