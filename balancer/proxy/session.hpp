// One proxied connection: downstream (the client) to upstream (a backend).
//
// Reads top to bottom: choose a backend, connect (retrying elsewhere), relay
// both ways, account. Both sockets and their buffers belong to the session and
// die with it. Bytes are opaque; end-of-stream is forwarded as end-of-stream
// (half-close) and a reset as a reset.
//
// Each direction is a small state machine of Asio completion handlers rather
// than a coroutine: an idle connection then costs a few hundred bytes. A busy
// ("hot") direction reads with async_read_some into a borrowed buffer, which
// costs one recv per message and no epoll_ctl; a direction quiet for a tick is
// parked: its buffer goes back to the pool and it waits for readiness without
// one (async_wait). Timeouts come from the server's coarse ticker (tick()), not
// a timer per read: the hot path only sets a flag.
//
// Lifetime: heap-allocated by the server; it hands itself to
// proxy_context::on_end once closed and no handler of its is pending.
// Single-threaded: all calls on the io_context's thread.
#pragma once

#include <asio/ip/tcp.hpp>
#include <functional>
#include <vector>

#include "pool/backend.hpp"
#include "proxy/buffer_pool.hpp"
#include "strategy/strategy.hpp"

namespace pinwheel {

class session;

/// What sessions share: the pool of backends and how to use it.
struct proxy_context {
  std::vector<backend>& backends;
  strategy& chooser;
  /// Buffers for ordinary messages, and larger ones for directions that fill those.
  buffer_pool& small_buffers;
  buffer_pool& large_buffers;
  /// Further connect attempts after a failed one.
  int retries = 3;
  /// Ticks a connect may take, and a connection may stay silent.
  unsigned connect_timeout_ticks = 8;
  unsigned idle_timeout_ticks = 240;
  /// Told about each failed connect (passive health checking).
  std::function<void(backend&, const std::error_code&)> on_connect_failure;
  /// Takes a finished session (unlinks and deletes it).
  std::function<void(session&)> on_end;
};

class session {
 public:
  session(asio::ip::tcp::socket downstream, proxy_context& context);
  /// Stops counting this connection against its backend.
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Chooses a backend and connects; the session then runs by itself.
  void start();

  /// One tick of the server's coarse clock: times out a connect or an idle connection,
  /// and parks directions that were quiet for the whole tick.
  void tick();

  /// Closes both sides now; with `reset`, with RST so neither peer mistakes the cut for a
  /// complete exchange (used when the drain timeout cuts connections short).
  void abort(bool reset);

  /// Intrusive links for the server's list of live sessions.
  session* prev = nullptr;
  session* next = nullptr;

 private:
  // One way of the relay: bytes read from `from` are written to `to`.
  struct direction {
    asio::ip::tcp::socket& from;
    asio::ip::tcp::socket& to;
    buffer_pool::lease buffer;  // held only while hot
    bool writing = false;       // an async write to `to` is pending
    bool parking = false;       // its read was cancelled to give the buffer back
    bool large = false;         // it filled a small buffer: use large ones
    bool done = false;          // end of stream seen and passed on
  };

  void connect_next();
  void on_connect(const asio::error_code& ec);
  void read(direction& d);
  void on_readable(direction& d, const asio::error_code& ec);
  void on_read(direction& d, asio::error_code ec, std::size_t n);
  void on_written(direction& d, const asio::error_code& ec);
  /// Ends the connection with a reset on `peer`'s side, propagating one the other side saw.
  void reset_both(asio::ip::tcp::socket& peer);
  /// Closes both sockets; the session ends once its pending handlers have run.
  void close();
  /// Accounts for one handler having run; hands the session back when nothing is left.
  void handler_done();
  buffer_pool& pool_for(const direction& d) const;

  asio::ip::tcp::socket downstream_;
  asio::ip::tcp::socket upstream_;
  proxy_context& context_;
  direction requests_{downstream_, upstream_};
  direction responses_{upstream_, downstream_};
  backend* backend_ = nullptr;
  backend* candidate_ = nullptr;
  std::vector<std::size_t> tried_;  // backends that failed this connection

  unsigned pending_ = 0;  // handlers still to run
  bool closed_ = false;
  bool connecting_ = false;
  bool connect_timed_out_ = false;
  /// Set on every read; cleared by tick().
  bool activity_ = true;
  unsigned quiet_ticks_ = 0;
};

}  // namespace pinwheel
