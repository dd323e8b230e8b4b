// The balancer's end of the sd_notify protocol for its backends: one unix datagram socket in
// a private directory (NOTIFY_SOCKET for every backend), read on the event loop without
// blocking. Each datagram's sender is known from SCM_CREDENTIALS (the kernel's word, not the
// sender's), so a datagram names no backend itself.
//
// A datagram that is malformed, carries no credentials or is too long is dropped and counted;
// the first is logged, later ones only as a count every 100. Single-threaded.
#pragma once

#include <sys/types.h>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/local/datagram_protocol.hpp>
#include <cstdint>
#include <functional>
#include <string>

#include "supervisor/notify_message.hpp"

namespace pinwheel {

class notify_receiver {
 public:
  /// `on_message(pid, message)` hears each well-formed datagram with its sender's pid.
  notify_receiver(asio::io_context& io,
                  std::function<void(pid_t, const notify_message&)> on_message);
  ~notify_receiver();
  notify_receiver(const notify_receiver&) = delete;
  notify_receiver& operator=(const notify_receiver&) = delete;

  /// Creates the socket; throws std::system_error if it cannot.
  void open();
  /// Starts reading datagrams.
  void start();
  /// Closes the socket and removes it and its directory.
  void close();

  /// The socket's path, the value of NOTIFY_SOCKET.
  const std::string& path() const { return path_; }
  /// Datagrams dropped as malformed so far.
  std::uint64_t malformed() const { return malformed_; }
  /// Reports a datagram that was well formed but meant nothing (an unknown sender).
  void drop(const std::string& why);

 private:
  asio::awaitable<void> receive_loop();
  void read_pending();

  asio::io_context& io_;
  asio::local::datagram_protocol::socket socket_;
  std::function<void(pid_t, const notify_message&)> on_message_;
  std::string directory_;
  std::string path_;
  std::uint64_t malformed_ = 0;
};

}  // namespace pinwheel
