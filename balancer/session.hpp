// One proxied connection: downstream (the client) to upstream (a backend).
//
// Reads top to bottom: choose a backend, connect (retrying elsewhere), relay
// both ways, account. Both sockets belong to the session and die with it.
// Bytes are opaque; end-of-stream is forwarded as end-of-stream (half-close)
// and a reset as a reset.
//
// Timeouts come from the server's coarse ticker (tick()), not a timer per read:
// the hot path only sets a flag. Single-threaded: all calls on the io_context's thread.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <functional>
#include <span>
#include <vector>

#include "backend.hpp"
#include "buffer_pool.hpp"
#include "strategy.hpp"

namespace pinwheel {

/// What sessions share: the pool of backends and how to use it.
struct proxy_context {
  std::vector<backend>& backends;
  strategy& chooser;
  buffer_pool& buffers;
  /// Further connect attempts after a failed one.
  int retries = 3;
  /// Ticks a connect may take, and a connection may stay silent.
  unsigned connect_timeout_ticks = 8;
  unsigned idle_timeout_ticks = 240;
  /// Told about each failed connect (passive health checking).
  std::function<void(backend&, const std::error_code&)> on_connect_failure;
};

class session {
 public:
  session(asio::ip::tcp::socket downstream, proxy_context& context);
  /// Stops counting this connection against its backend.
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Proxies until both directions have ended; never throws.
  asio::awaitable<void> run();

  /// One tick of the server's coarse clock: times out a connect or an idle connection.
  void tick();

  /// Closes both sides now; with `reset`, with RST so neither peer mistakes the cut for
  /// a complete exchange (used when the drain timeout cuts connections short).
  void abort(bool reset);

  /// Intrusive links for the server's list of live sessions.
  session* prev = nullptr;
  session* next = nullptr;

 private:
  asio::awaitable<bool> connect_upstream();
  asio::awaitable<void> relay(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to);
  /// Ends the connection with a reset on `peer`'s side, propagating one the other side saw.
  void reset_both(asio::ip::tcp::socket& peer);

  asio::ip::tcp::socket downstream_;
  asio::ip::tcp::socket upstream_;
  proxy_context& context_;
  backend* backend_ = nullptr;

  bool connecting_ = false;
  bool connect_timed_out_ = false;
  /// Set by the relay on every read; cleared by tick().
  bool activity_ = true;
  unsigned quiet_ticks_ = 0;
};

}  // namespace pinwheel
