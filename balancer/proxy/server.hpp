// The public side: accepts clients and runs a session for each.
//
// Accepting pauses (clients wait in the kernel's backlog, nothing spins) while max_connections
// are open, and while the balancer itself is out of descriptors or memory — until a session
// ends, or for a second at most. Other accept errors concern one connection only and are retried at
// once; the accept loop never dies. A coarse ticker drives every session's timeouts. On drain it
// accepts what is already in the backlog (those clients are served, not reset), closes the
// acceptor, waits for the sessions, then resets what is left at drain_timeout. Single-threaded:
// everything runs on one io_context thread.
#pragma once

#include <array>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <deque>

#include "common/owned_fd.hpp"
#include "config/options.hpp"
#include "proxy/end_reason.hpp"
#include "proxy/relay_loop.hpp"
#include "proxy/session.hpp"

namespace pinwheel {

class server {
 public:
  server(asio::io_context& io, const balancer_options& options, proxy_context& context);
  /// Resets and frees sessions still open (only when the balancer dies with them).
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and listens on options.listen and options.more_listen; throws std::system_error
  /// if it cannot, with `failed` set to the address that failed.
  void listen(asio::ip::tcp::endpoint& failed);
  /// The first bound address (the real port when options.listen had port 0).
  asio::ip::tcp::endpoint local_endpoint() const;
  /// Every bound address, in the order configured.
  std::vector<asio::ip::tcp::endpoint> local_endpoints() const;

  /// Starts the accept loop and the timeout ticker.
  void start();

  /// Reload: listens on `wanted` (the new listen list) — binds the addresses that are new
  /// first, then closes those no longer wanted, after serving the clients already in their
  /// backlog; open connections are untouched. If a new address cannot be bound, throws
  /// std::system_error (with `failed` set) and nothing changed. Call after start().
  void relisten(const std::vector<asio::ip::tcp::endpoint>& wanted,
                asio::ip::tcp::endpoint& failed);
  /// Reload: recomputes the tick and every timeout in ticks from the options (which changed).
  void apply_timeouts();

  /// Caps open connections below options.max_connections (what the descriptor limit allows).
  void limit_connections(std::size_t limit) {
    max_connections_ = std::min(max_connections_, limit);
  }

  /// Stops accepting; returns once every session has ended, resetting those still open
  /// after options.drain_timeout.
  asio::awaitable<void> drain();

  /// Resets every open session now (`reason` says why).
  void abort_all(end_reason reason);

  /// A backend became usable: sessions waiting for one connect now.
  void backend_available();

  /// Sessions open right now.
  std::size_t active_sessions() const { return active_; }
  /// Sessions ended, by reason (index: end_reason); rejected ones (limits, PROXY headers)
  /// included.
  std::uint64_t ended(end_reason reason) const { return ended_[static_cast<int>(reason)]; }
  /// The open connections at which accepting pauses (max_connections, or what fits).
  std::size_t max_connections() const { return max_connections_; }

 private:
  /// One public address: its socket, and the timer its accept loop waits on while paused.
  struct listener {
    asio::ip::tcp::acceptor acceptor;
    asio::steady_timer wake;
    /// The bound address (sessions' destination for PROXY headers).
    asio::ip::tcp::endpoint local;
    /// The address as configured (port 0 stays 0), which reloads compare.
    asio::ip::tcp::endpoint configured;
    /// Closed by a reload; its accept loop has ended or is ending.
    bool closed = false;
  };

  asio::awaitable<void> accept_loop(listener& l);
  /// Waits until a session ends (or `limit` passes).
  asio::awaitable<void> wait_for_a_session_end(asio::steady_timer& timer,
                                               std::chrono::milliseconds limit);
  /// Binds and listens on one address.
  void open(listener& l, const asio::ip::tcp::endpoint& endpoint);
  /// A connection turned away (limits, PROXY header): logged at most once a second per reason.
  void log_rejection(end_reason reason, const session& s);
  /// Accepts what is waiting in the backlog without blocking (on drain).
  void accept_backlog(listener& l);
  void serve(owned_fd downstream, const asio::ip::tcp::endpoint& client, const listener& l);
  asio::awaitable<void> tick_loop();
  void link(session& s);
  void end(session& s);
  /// Descriptors or memory ran out: pause accepting until a session ends (1 s at most);
  /// logged at most every 10 s.
  void out_of_resources(const std::error_code& ec, const char* where);

  asio::io_context& io_;
  const balancer_options& options_;
  proxy_context& context_;
  /// Watches every session's sockets.
  relay_loop relay_;
  /// A deque: accept loops hold references to its elements.
  std::deque<listener> listeners_;
  asio::steady_timer ticker_;
  /// Waited on while draining; cancelled (with every listener's `wake`) when a session ends.
  asio::steady_timer session_ended_;
  std::chrono::milliseconds tick_;
  session* sessions_ = nullptr;  // intrusive list head
  std::size_t active_ = 0;
  std::size_t max_connections_;
  std::array<std::uint64_t, kEndReasonCount> ended_{};
  /// Rejections not logged yet, and when each reason was last logged.
  std::array<std::uint64_t, kEndReasonCount> rejected_unlogged_{};
  std::array<std::chrono::steady_clock::time_point, kEndReasonCount> last_rejection_log_{};
  bool stopping_ = false;
  /// Set by a local error; accepting waits for a session to end, then clears it.
  bool exhausted_ = false;
  std::chrono::steady_clock::time_point last_exhausted_log_{};
  std::chrono::steady_clock::time_point last_no_backend_log_{};
  std::uint64_t no_backend_unlogged_ = 0;
};

/// The ticker's period for these timeouts: fine enough for the shorter one, at most 1s.
std::chrono::milliseconds tick_period(const balancer_options& options);

}  // namespace pinwheel
