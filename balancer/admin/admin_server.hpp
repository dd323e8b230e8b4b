// The admin Unix socket, served on the balancer's own event loop.
//
// The socket file is created with mode 0600; each client's credentials (SO_PEERCRED) must be
// the balancer's own uid or root, else it is refused. One command line per connection, then
// the reply and close. Bounded everywhere: a line over kMaxAdminLine is refused, a client
// that sends nothing (or no newline) within `timeout` is told so and closed, and at most
// kMaxAdminClients are served at once (the rest get a one-line error). A stale socket file
// left by a dead run is replaced; one another process still answers on is not.
// Single-threaded.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <chrono>
#include <string>

#include "admin/admin_protocol.hpp"

namespace pinwheel {

constexpr std::size_t kMaxAdminClients = 4;

class admin_server {
 public:
  admin_server(asio::io_context& io, admin_protocol& protocol, std::chrono::milliseconds timeout);
  ~admin_server();
  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;

  /// Creates the socket at `path`; throws std::runtime_error saying why it cannot.
  void open(const std::string& path);
  /// Starts accepting.
  void start();
  /// Stops accepting and removes the socket file; clients being served finish.
  void close();

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(asio::local::stream_protocol::socket socket);
  /// Whether the peer runs as our uid or as root; `who` describes it for the log.
  static bool trusted_peer(int fd, std::string& who);

  asio::io_context& io_;
  admin_protocol& protocol_;
  std::chrono::milliseconds timeout_;
  asio::local::stream_protocol::acceptor acceptor_;
  std::string path_;
  std::size_t clients_ = 0;
};

}  // namespace pinwheel
