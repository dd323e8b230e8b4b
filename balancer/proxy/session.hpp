// One proxied connection: downstream (the client) to upstream (a backend).
//
// Reads top to bottom: (from a trusted peer with accept_proxy: read the PROXY header, which
// names the client) admit the client under the per-client limits, choose a backend (or wait up to
// connect_timeout for one to become usable), connect (retrying elsewhere), relay both ways,
// account. Both sockets and their buffers belong to the session and die with it. Bytes are opaque;
// end-of-stream is forwarded as end-of-stream (half-close) and a reset as a reset. Whenever the
// proxy drops bytes it resets, so a cut never looks like a complete exchange.
//
// Each socket is watched by the relay loop (relay_loop.hpp), registered once, edge-triggered,
// and the session keeps what epoll said of it: readable (until a read says drained: a short
// read, HAProxy's rule, unless the peer's end of stream waits behind the bytes), writable (until
// a write falls short). Each direction reads into a buffer borrowed from a pool and writes it
// on at once; the buffer goes back as soon as it is written and the socket is drained, so an
// idle connection holds none. A direction that fills a small buffer has turned bulk: it splices
// through a pipe from a pool instead (bytes stay in the kernel), or uses large buffers. A write the
// receiver cannot take yet stays in the buffer, and its direction reads nothing more until it is
// written (backpressure). A busy direction lets other sessions run after a few reads and goes on
// from a posted handler. Timeouts come from the server's coarse ticker (tick()), not a timer per
// read: the hot path only sets a flag. Bytes moving either way — read or written — count as
// activity.
//
// Lifetime: heap-allocated by the server; it hands itself to proxy_context::on_end from a
// posted handler once closed (never inside a call from the relay loop or the server), so
// events already collected for its sockets still find it.
// With send_proxy, the PROXY header goes in the same buffer right before the client's first
// bytes, so both leave in one write; only when the client has sent nothing by the time the
// backend accepts (server-speaks-first protocols) does the header go alone, at once.
// Single-threaded: all calls on the io_context's thread.
#pragma once

#include <sys/types.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <vector>

#include "common/owned_fd.hpp"
#include "config/address_range.hpp"
#include "pool/backend_pool.hpp"
#include "proxy/buffer_pool.hpp"
#include "proxy/client_limiter.hpp"
#include "proxy/connection_record.hpp"
#include "proxy/end_reason.hpp"
#include "proxy/pipe_pool.hpp"
#include "proxy/proxy_stats.hpp"
#include "proxy/relay_loop.hpp"
#include "proxy_protocol/proxy_header.hpp"
#include "strategy/strategy.hpp"

namespace pinwheel {

class access_log;
class session;

/// What sessions share: the pool of backends and how to use it.
struct proxy_context {
  backend_pool& pool;
  /// The strategy in force (a pointer, so it can be switched while running).
  strategy* chooser = nullptr;
  /// Buffers for ordinary messages, and larger ones for directions that fill those.
  buffer_pool& small_buffers;
  buffer_pool& large_buffers;
  /// Further connect attempts after a failed one.
  int retries = 3;
  /// Ticks a connect (or a wait for a usable backend) may take, and a connection may stay
  /// silent.
  unsigned connect_timeout_ticks = 8;
  unsigned idle_timeout_ticks = 240;
  /// Ticks a trusted peer has to send its whole PROXY header.
  unsigned header_timeout_ticks = 24;
  /// With accept_proxy: the peers whose PROXY headers are read and believed; null: none.
  const std::vector<address_range>* trusted = nullptr;
  /// The PROXY header sent first on each backend connection.
  proxy_protocol::version send_proxy = proxy_protocol::version::none;
  /// Per-client limits; null: none.
  client_limiter* limiter = nullptr;
  /// Told about each connect that failed through the backend's fault (passive health checks).
  std::function<void(backend&, const std::error_code&)> on_connect_failure;
  /// Told when the balancer itself ran out of descriptors or memory (accepting pauses).
  std::function<void(const std::error_code&)> on_local_error;
  /// Gets a line per closed connection; null when the access log is off.
  access_log* connections_log = nullptr;
  /// Takes a finished session (unlinks and deletes it).
  std::function<void(session&)> on_end;
  /// Connection-wide counters and histograms.
  proxy_stats stats;
  /// Watches the sessions' sockets (set by the server).
  relay_loop* relay = nullptr;
  /// Pipes for splicing directions that turned bulk; null: never splice.
  pipe_pool* pipes = nullptr;
};

class session {
 public:
  /// `downstream`: the client's socket, non-blocking; `client` as accept() reported it;
  /// `local` the listener's address (its port at least). `io` runs its handlers.
  session(asio::io_context& io, owned_fd downstream, const asio::ip::tcp::endpoint& client,
          const asio::ip::tcp::endpoint& local, proxy_context& context);
  /// Releases its backend connection; its buffers go back to their pools.
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Chooses a backend and connects; the session then runs by itself.
  void start();

  /// A backend became usable: a session waiting for one connects now.
  void backend_available();

  /// One tick of the server's coarse clock: times out a connect, a wait for a backend or an
  /// idle connection (a slow reader taking bytes counts as activity).
  void tick();

  /// Ends the connection now for `reason`; with `reset`, with RST on both sides so neither
  /// peer mistakes the cut for a complete exchange.
  void abort(end_reason reason, bool reset);

  /// Why it ended; set once it has.
  std::optional<end_reason> reason() const { return reason_; }
  /// The client's address: from the PROXY header when a trusted peer sent one, else the
  /// connection's own. Strategies, limits and the log all use this one.
  const asio::ip::tcp::endpoint& client() const { return client_; }
  /// When it was accepted.
  std::chrono::steady_clock::time_point accepted_at() const { return accepted_at_; }
  /// What the access log says about it; `now` is when it ended.
  connection_record record(std::chrono::steady_clock::time_point now) const;
  /// The connection's own peer (a balancer in front when client() came from a header).
  const asio::ip::tcp::endpoint& peer() const { return peer_; }
  /// Why a rejected connection was rejected, in detail (e.g. the PROXY header's fault); null
  /// when there is nothing to add to reason().
  const char* detail() const { return detail_; }

  /// Intrusive links for the server's list of live sessions.
  session* prev = nullptr;
  session* next = nullptr;

 private:
  // One of the session's two sockets, as the relay loop reported it.
  struct side : relay_loop::watcher {
    explicit side(session& s) : owner(s) {}
    void on_events(std::uint32_t events) override { owner.on_events(*this, events); }
    session& owner;
    owned_fd fd;
    bool readable = false;   // may hold bytes or an end of stream
    bool writable = false;   // takes bytes
    bool peer_shut = false;  // EPOLLRDHUP: the peer's end of stream waits behind its bytes
    bool failed = false;     // EPOLLERR: an error (a reset) waits behind its bytes
    bool urgent = false;     // EPOLLPRI once: TCP urgent data, read inline from then on
  };

  // One way of the relay: bytes read from `from` are written to `to`.
  struct direction {
    side& from;
    side& to;
    /// How `to` resetting or failing a write is reported, and likewise `from`.
    end_reason to_reset;
    end_reason from_reset;
    buffer_pool::lease buffer;     // held only while bytes are in it
    std::size_t unsent_begin = 0;  // bytes [unsent_begin, unsent_end) of buffer still to write
    std::size_t unsent_end = 0;
    pipe_pool::lease pipe;     // instead of a buffer, once bulk: bytes go by splice
    int kernel_queued = -1;    // bytes in `to`'s send queue at the last tick while writing
    bool large = false;        // it filled a small buffer: use large ones
    bool eof_pending = false;  // the last read reached the end of stream: pass it on next
    bool done = false;         // end of stream seen and passed on
    std::uint64_t bytes = 0;   // read from `from`
    bool writing() const { return unsent_begin < unsent_end || pipe.held > 0; }
  };

  /// What the relay loop said of `s`; runs whatever can go on now.
  void on_events(side& s, std::uint32_t events);
  /// Reads and parses a trusted peer's PROXY header as far as it came, then goes on to admit().
  void on_header_readable();
  /// Applies the per-client limits; false when the connection was turned away.
  bool admit();
  void connect_next();
  void on_connect(const asio::error_code& ec);
  /// Moves bytes both ways until neither can go on.
  void relay();
  void relay(direction& d);
  enum class read_result {
    bytes,          // now pending in d's buffer ([unsent_begin, unsent_end)) or pipe
    drained,        // nothing more there for now
    end_of_stream,  // the peer ended its side
    failed,         // the session ended
  };
  /// Reads once from d.from into d's buffer at `offset`.
  read_result read_some(direction& d, std::size_t offset);
  /// Splices once from d.from into d's (empty) pipe.
  read_result splice_some(direction& d);
  /// What a read of d that brought no bytes (n <= 0, not EINTR) means.
  read_result nothing_read(direction& d, ssize_t n);
  /// The same for a write of d: waits for room, or ends the session.
  void nothing_written(direction& d, ssize_t n);
  /// Ends the session after a failed read or write: `peer_reason`, unless it was our own
  /// shortage (memory), which is reported as such.
  void io_failed(end_reason peer_reason);
  /// Passes d's end of stream on (half-close), or ends the session when both ways ended.
  void end_of_stream(direction& d);
  /// Sets TCP_NODELAY on the backend socket before its second write.
  void before_write(const direction& d);
  /// Writes d's pending bytes; true when all went.
  bool flush(direction& d);
  /// The same, from d's pipe.
  bool flush_pipe(direction& d);
  /// Encodes the PROXY header for the backend into `out` (kMaxEncodedBytes); returns its size.
  std::size_t encode_header(char* out);
  /// Counts `n` bytes delivered by `d` in its backend's statistics.
  void count_delivered(const direction& d, std::size_t n);
  /// While a write waits: whether the peer took bytes from the kernel's send queue since the
  /// last tick. The kernel only wakes a writer once half its (multi-megabyte) queue is free,
  /// so a slow reader's progress shows here long before a write completes.
  bool peer_took_bytes(direction& d);
  /// Borrows what `d` reads into: a pipe if it moves bulk and one is left, else a buffer (a
  /// large one if it moves bulk and the budget allows); false when nothing was left.
  bool borrow(direction& d);
  /// Records why the connection ended (the first reason wins) and closes; with `reset`,
  /// both sockets send RST.
  void end(end_reason reason, bool reset);
  /// Closes both sockets; the session is handed back from a posted handler.
  void close();
  /// Runs `f` from a fresh handler (the session stays alive until it has run).
  template <class F>
  void post(F f);
  /// Accounts for one handler having run; hands the session back when nothing is left.
  void handler_done();

  asio::io_context& io_;
  side down_{*this};
  side up_{*this};
  asio::ip::tcp::endpoint client_;
  std::chrono::steady_clock::time_point accepted_at_;
  /// When the connect in flight started.
  std::chrono::steady_clock::time_point connect_started_{};
  asio::ip::tcp::endpoint peer_;
  /// The address the client connected to: the listener's (wildcard until asked), or the
  /// PROXY header's destination.
  asio::ip::tcp::endpoint destination_;
  proxy_context& context_;
  const char* detail_ = nullptr;
  /// Client bytes on their way to the backend, and the backend's on their way back.
  direction to_upstream_{down_, up_, end_reason::backend_reset, end_reason::client_reset};
  direction to_downstream_{up_, down_, end_reason::client_reset, end_reason::backend_reset};
  backend* backend_ = nullptr;
  backend* candidate_ = nullptr;
  /// In backend_->awaiting while client bytes went up and nothing came back since.
  awaiting_link awaiting_;
  std::vector<backend*> tried_;  // backends that failed this connection; compared, never used
  std::optional<end_reason> reason_;
  std::chrono::steady_clock::time_point accepted_;
  std::chrono::steady_clock::time_point connected_{};  // epoch: never connected
  unsigned attempts_ = 0;                              // connects tried, on any backend
  unsigned upstream_writes_ = 0;  // writes tried on this backend socket, counted up to 2

  unsigned pending_ = 0;  // handlers still to run
  bool closed_ = false;
  bool waiting_ = false;  // for a usable backend
  bool connecting_ = false;
  bool reading_header_ = false;
  bool header_pending_ = false;      // the PROXY header for the backend is still to send
  bool screen_first_bytes_ = false;  // an untrusted peer: its first bytes must not be a header
  bool admitted_ = false;            // counted by the limiter: released with the session
  bool resume_posted_ = false;       // relay() goes on from a posted handler (kReadsPerTurn)
  /// Set whenever bytes move; cleared by tick().
  bool activity_ = true;
  unsigned quiet_ticks_ = 0;
};

}  // namespace pinwheel
