// The demo backend's listener: accepts connections and serves each on the one event loop.
//
// Single-threaded: every member runs on the io_context's one thread.

#pragma once

#include <asio.hpp>
#include <memory>
#include <set>

#include "http_connection.hpp"
#include "routes.hpp"

namespace pinwheel::demo {

class http_server {
 public:
  /// Binds and listens on `endpoint`; throws std::system_error if it cannot.
  http_server(asio::io_context& io, const asio::ip::tcp::endpoint& endpoint, const identity& self);
  /// Serves on `listening_fd`, a TCP socket already bound and listening (socket activation);
  /// throws std::system_error if it is not one.
  http_server(asio::io_context& io, int listening_fd, const identity& self);

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// The address listened on, with the real port where 0 was asked for.
  asio::ip::tcp::endpoint local_endpoint() const;

  /// Starts accepting connections.
  void start();

  /// Stops accepting, then closes every open connection.
  void stop();

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(std::shared_ptr<http_connection> connection);

  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer backoff_timer_;
  identity self_;
  std::set<std::shared_ptr<http_connection>> connections_;
  bool stopped_ = false;
};

}  // namespace pinwheel::demo
