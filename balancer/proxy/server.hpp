// The public side: accepts clients and runs a session for each.
//
// Stops accepting (without spinning) at max_connections and backs off on
// EMFILE/ENFILE; the accept loop never dies. A coarse ticker drives every
// session's connect and idle timeouts. On drain it closes the acceptor first,
// then waits for the sessions, then aborts what is left.
// Single-threaded: everything runs on one io_context thread.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "config/options.hpp"
#include "proxy/session.hpp"

namespace pinwheel {

class server {
 public:
  server(asio::io_context& io, const balancer_options& options, proxy_context& context);

  /// Binds and listens on options.listen; throws std::system_error if it cannot.
  void listen();
  /// The bound address (the real port when options.listen had port 0).
  asio::ip::tcp::endpoint local_endpoint() const;

  /// Starts the accept loop and the timeout ticker.
  void start();

  /// Stops accepting; returns once every session has ended, aborting those still open
  /// after options.drain_timeout.
  asio::awaitable<void> drain();

  /// Closes every open session now.
  void abort_all();

  /// Sessions open right now.
  std::size_t active_sessions() const { return active_; }

 private:
  asio::awaitable<void> accept_loop();
  void serve(asio::ip::tcp::socket downstream);
  asio::awaitable<void> tick_loop();
  void link(session& s);
  void unlink(session& s);

  asio::io_context& io_;
  const balancer_options& options_;
  proxy_context& context_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer ticker_;
  /// Waited on while at max_connections, and while draining; cancelled when a session ends.
  asio::steady_timer session_ended_;
  std::chrono::milliseconds tick_;
  session* sessions_ = nullptr;  // intrusive list head
  std::size_t active_ = 0;
  bool stopping_ = false;
};

/// The ticker's period for these timeouts: fine enough for the shorter one, at most 1s.
std::chrono::milliseconds tick_period(const balancer_options& options);

}  // namespace pinwheel
