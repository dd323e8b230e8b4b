#include "proxy/session.hpp"

#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <asio/post.hpp>
#include <cstring>

#include "common/local_error.hpp"
#include "proxy/kernel_socket.hpp"
#include "proxy_protocol/header_encoder.hpp"
#include "proxy_protocol/header_parser.hpp"

namespace pinwheel {

namespace {

using asio::ip::tcp;

asio::error_code last_error() { return {errno, asio::error::get_system_category()}; }

// Why a connect failed, once epoll reported an error or a hang-up on the socket.
asio::error_code connect_error(int fd) {
  int error = 0;
  socklen_t size = sizeof error;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) return last_error();
  return {error != 0 ? error : ECONNREFUSED, asio::error::get_system_category()};
}

// Makes close() send RST instead of FIN.
void set_reset_on_close(const owned_fd& fd) {
  if (fd.get() < 0) return;
  linger option{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &option, sizeof option);
}

// Where a trusted peer's bytes go while its PROXY header is read: after room for the header
// Pinwheel sends on, so client bytes that came with the header can be sent on behind it
// without moving them.
constexpr std::size_t kHeaderRoom = 128;
static_assert(kHeaderRoom >= proxy_protocol::kMaxEncodedBytes);

bool trusted(const std::vector<address_range>& ranges, const asio::ip::address& a) {
  for (const address_range& r : ranges)
    if (r.contains(a)) return true;
  return false;
}

// Reads one direction makes before it lets others run: 4 MiB with large buffers.
constexpr int kReadsPerTurn = 16;

// True when `bytes` open with a PROXY header's first bytes (v1 text or the v2 signature).
bool starts_like_header(std::string_view bytes) {
  using status = proxy_protocol::parse_result::status;
  return bytes.size() >= 6 && proxy_protocol::parse_header(bytes).what != status::invalid;
}

}  // namespace

session::session(asio::io_context& io, owned_fd downstream, const tcp::endpoint& client,
                 const tcp::endpoint& local, proxy_context& context)
    : io_(io),
      client_(client),
      accepted_at_(std::chrono::steady_clock::now()),
      peer_(client),
      destination_(local),
      context_(context),
      accepted_(std::chrono::steady_clock::now()) {
  down_.fd = std::move(downstream);
}

session::~session() {
  if (backend_ != nullptr) {
    context_.pool.wait_abandoned(*backend_, awaiting_);
    context_.pool.drop_connection(*backend_);
  }
  if (admitted_) context_.limiter->release(client_.address());
}

connection_record session::record(std::chrono::steady_clock::time_point now) const {
  connection_record r;
  r.client = client_;
  r.upstream = backend_;
  if (connected_ != std::chrono::steady_clock::time_point{})
    r.connect_time = connected_ - accepted_;
  r.duration = now - accepted_;
  r.bytes_from_client = to_upstream_.bytes;
  r.bytes_from_backend = to_downstream_.bytes;
  r.retries = attempts_ > 0 ? attempts_ - 1 : 0;
  r.reason = reason_.value_or(end_reason::admin);
  return r;
}

template <class F>
void session::post(F f) {
  ++pending_;
  asio::post(io_, [this, f = std::move(f)] {
    f();
    handler_done();
  });
}

void session::start() {
  // The server accepted it non-blocking, and with TCP_NODELAY from the listener. Watching it
  // reports at once what it holds already, so nothing is read before epoll says so (a client
  // may connect before it has anything to send).
  down_.writable = true;
  if (std::error_code ec = context_.relay->watch(down_.fd.get(), down_)) {
    // Out of kernel memory for the watch: our shortage, never the client's or a backend's.
    if (context_.on_local_error) context_.on_local_error(ec);
    return end(end_reason::local_error, true);
  }
  header_pending_ = context_.send_proxy != proxy_protocol::version::none;
  if (context_.trusted != nullptr) {
    if (trusted(*context_.trusted, peer_.address())) {
      reading_header_ = true;
      quiet_ticks_ = 0;
      return on_header_readable();
    }
    screen_first_bytes_ = true;
  }
  if (admit()) connect_next();
}

void session::on_events(side& s, std::uint32_t events) {
  if (closed_) return;
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) s.readable = true;
  if ((events & (EPOLLRDHUP | EPOLLHUP)) != 0) s.peer_shut = true;
  if ((events & EPOLLERR) != 0) s.failed = true;
  if ((events & EPOLLPRI) != 0 && !s.urgent) {
    // TCP urgent data (telnet's interrupt, rare): reads stop short at its mark and splice
    // makes no progress there, so this socket is read with recv until EAGAIN from now on,
    // and the urgent byte goes on inline, as a byte of the stream, rather than be dropped.
    s.urgent = true;
    s.readable = true;
    int one = 1;
    ::setsockopt(s.fd.get(), SOL_SOCKET, SO_OOBINLINE, &one, sizeof one);
  }
  if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) s.writable = true;
  if (&s == &up_ && connecting_) {
    // A connecting socket reports nothing until the handshake ends: writable means connected.
    if ((events & (EPOLLERR | EPOLLHUP)) != 0) return on_connect(connect_error(up_.fd.get()));
    if ((events & EPOLLOUT) != 0) return on_connect({});
    return;
  }
  if (reading_header_) {
    if (&s == &down_ && s.readable) on_header_readable();
    return;
  }
  // While waiting for a backend or connecting, what the client sent waits in its socket.
  if (backend_ != nullptr) relay();
}

void session::on_header_readable() {
  // The bytes so far sit in [kHeaderRoom, unsent_end) of to_upstream_'s buffer.
  direction& d = to_upstream_;
  while (down_.readable) {
    if (!d.buffer) {
      d.buffer = context_.small_buffers.borrow();
      if (!d.buffer) return end(end_reason::local_error, true);
      d.unsent_begin = d.unsent_end = kHeaderRoom;
    }
    std::size_t room = d.buffer.size() - d.unsent_end;
    ssize_t n = ::recv(down_.fd.get(), d.buffer.data() + d.unsent_end, room, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      down_.readable = false;
      return;
    }
    if (n <= 0) {
      detail_ = "the connection ended before the header did";
      return end(end_reason::proxy_header, true);
    }
    if (static_cast<std::size_t>(n) < room && !down_.peer_shut && !down_.urgent)
      down_.readable = false;
    d.unsent_end += static_cast<std::size_t>(n);
    auto parsed = proxy_protocol::parse_header(
        std::string_view(d.buffer.data() + kHeaderRoom, d.unsent_end - kHeaderRoom));
    using status = proxy_protocol::parse_result::status;
    if (parsed.what == status::incomplete) continue;
    if (parsed.what == status::invalid) {
      detail_ = parsed.error.data();  // the parser's messages are string literals
      return end(end_reason::proxy_header, true);
    }
    reading_header_ = false;
    activity_ = true;
    if (parsed.header.source) {
      client_ = *parsed.header.source;
      destination_ = *parsed.header.destination;
    }
    d.unsent_begin = kHeaderRoom + parsed.consumed;
    if (d.unsent_begin == d.unsent_end) d.buffer.give_back();
    if (admit()) connect_next();
    return;
  }
}

bool session::admit() {
  if (context_.limiter == nullptr || !context_.limiter->enabled()) return true;
  switch (context_.limiter->admit(client_.address())) {
    case client_limiter::verdict::admitted:
      admitted_ = true;
      return true;
    case client_limiter::verdict::too_many_connections:
      end(end_reason::per_client_connections, true);
      return false;
    case client_limiter::verdict::too_fast:
      end(end_reason::per_client_rate, true);
      return false;
  }
  return false;
}

std::size_t session::encode_header(char* out) {
  if (destination_.address().is_unspecified()) {
    // A wildcard listener: the kernel knows which of our addresses the client reached.
    tcp::endpoint local;
    socklen_t size = static_cast<socklen_t>(local.capacity());
    if (::getsockname(down_.fd.get(), local.data(), &size) == 0) {
      local.resize(size);
      destination_ = local;
    }
  }
  auto header = proxy_protocol::encode(context_.send_proxy, client_, destination_);
  std::memcpy(out, header.bytes.data(), header.size);
  return header.size;
}

void session::connect_next() {
  backend* choice = context_.chooser->pick(client_.address(), tried_);
  if (choice == nullptr) {
    if (!tried_.empty()) return end(end_reason::connect_failure, true);
    // Nothing usable yet (starting, restarting): wait up to connect_timeout for a backend
    // rather than turn the client away or leave it hanging.
    waiting_ = true;
    activity_ = false;
    quiet_ticks_ = 0;
    return;
  }
  // The connection moves on from the backend that failed it last.
  if (!tried_.empty()) ++tried_.back()->redispatches;
  candidate_ = choice;
  ++attempts_;
  // Counted from the pick on, so concurrent least-connections picks see it.
  context_.pool.take_connection(*candidate_);
  connecting_ = true;
  connect_started_ = std::chrono::steady_clock::now();
  activity_ = false;
  quiet_ticks_ = 0;
  up_.readable = up_.writable = up_.peer_shut = false;
  const tcp::endpoint& to = candidate_->endpoint;
  asio::error_code ec = open_nonblocking(up_.fd, to.protocol());
  upstream_writes_ = 0;
  if (!ec) {
    if (::connect(up_.fd.get(), to.data(), to.size()) != 0 && errno != EINPROGRESS)
      ec = last_error();
  }
  // Watched only once connecting: an unconnected socket reports a hang-up.
  if (!ec) ec = context_.relay->watch(up_.fd.get(), up_);
  // A failure at once is reported from a handler, as a later one would be.
  if (ec) {
    post([this, ec, attempt = attempts_] {
      if (attempt == attempts_) on_connect(ec);
    });
  }
}

void session::backend_available() {
  if (closed_ || !waiting_) return;
  waiting_ = false;
  connect_next();
}

void session::on_connect(const asio::error_code& ec) {
  if (!connecting_) return;  // a failure posted before a timeout already moved on
  connecting_ = false;
  backend& candidate = *candidate_;
  candidate_ = nullptr;
  if (!ec && !closed_) {
    backend_ = &candidate;
    connected_ = std::chrono::steady_clock::now();
    ++candidate.total_connections;
    context_.stats.connect_duration.observe(std::chrono::steady_clock::now() - connect_started_);
    activity_ = true;
    up_.writable = true;
    direction& d = to_upstream_;
    // Client bytes that came with its PROXY header are on their way up already.
    if (d.writing()) context_.pool.request_sent(candidate, awaiting_);
    if (std::exchange(header_pending_, false)) {
      // Our PROXY header goes first, in the same write as the client's first bytes.
      char header[proxy_protocol::kMaxEncodedBytes];
      std::size_t size = encode_header(header);
      if (!d.writing()) {
        if (!d.buffer) d.buffer = context_.small_buffers.borrow();
        if (!d.buffer) return end(end_reason::local_error, true);
        d.unsent_begin = d.unsent_end = kHeaderRoom;
        if (down_.readable) {
          switch (read_some(d, kHeaderRoom)) {
            case read_result::bytes:
              context_.pool.request_sent(candidate, awaiting_);
              break;
            case read_result::end_of_stream:
              down_.readable = true;  // passed on once the header is written
              break;
            case read_result::drained:
              break;  // a server that speaks first: the header goes alone
            case read_result::failed:
              return;
          }
        }
      }
      d.unsent_begin -= size;
      std::memcpy(d.buffer.data() + d.unsent_begin, header, size);
    }
    return relay();
  }
  context_.pool.drop_connection(candidate);
  if (closed_) return;
  up_.fd.reset();
  if (is_local_error(ec)) {
    // Our own exhaustion: no backend is to blame, and another would fail the same way.
    if (context_.on_local_error) context_.on_local_error(ec);
    return end(end_reason::local_error, true);
  }
  ++candidate.connect_failures;
  if (context_.on_connect_failure) context_.on_connect_failure(candidate, ec);
  tried_.push_back(&candidate);
  if (tried_.size() > static_cast<std::size_t>(context_.retries))
    return end(end_reason::connect_failure, true);
  connect_next();
}

bool session::borrow(direction& d) {
  if (d.large && context_.pipes != nullptr && !d.from.urgent) {
    d.pipe = context_.pipes->borrow();
    if (d.pipe) return true;
  }
  if (d.large) {
    d.buffer = context_.large_buffers.borrow();
    if (d.buffer) return true;
    // The large buffers' memory budget is spent: carry on with small ones.
    d.large = false;
  }
  d.buffer = context_.small_buffers.borrow();
  return static_cast<bool>(d.buffer);
}

void session::relay() {
  relay(to_upstream_);
  if (!closed_) relay(to_downstream_);
}

void session::relay(direction& d) {
  for (int reads = 0; !closed_ && !d.done;) {
    if (d.writing() && (!d.to.writable || !flush(d))) return;
    if (d.eof_pending) return end_of_stream(d);
    if (!d.from.readable) return;
    if (reads++ == kReadsPerTurn) {
      // A flow as fast as its receiver would never let go: take turns with the other
      // sessions, timers and accepts. No new edge will come for bytes already there, so the
      // session carries on from a handler of its own.
      if (!resume_posted_) {
        resume_posted_ = true;
        post([this] {
          resume_posted_ = false;
          if (!closed_ && backend_ != nullptr) relay();
        });
      }
      return;
    }
    // Urgent data arrived on a spliced source: recv from now on (the pipe is empty here).
    if (d.pipe && d.from.urgent) d.pipe.give_back();
    if (!d.buffer && !d.pipe && !borrow(d)) return end(end_reason::local_error, true);
    switch (d.pipe ? splice_some(d) : read_some(d, 0)) {
      case read_result::bytes:
        // Layer-4 busy signal: a request went up, or an answer (its first bytes) came back.
        if (&d == &to_upstream_)
          context_.pool.request_sent(*backend_, awaiting_);
        else
          context_.pool.reply_received(*backend_, awaiting_);
        break;
      case read_result::drained:
        // An idle direction holds no buffer, and no pipe.
        d.buffer.give_back();
        d.pipe.give_back();
        return;
      case read_result::end_of_stream:
        return end_of_stream(d);
      case read_result::failed:
        return;
    }
  }
}

session::read_result session::read_some(direction& d, std::size_t offset) {
  for (;;) {
    std::size_t room = d.buffer.size() - offset;
    ssize_t n = ::recv(d.from.fd.get(), d.buffer.data() + offset, room, 0);
    if (n > 0) {
      auto got = static_cast<std::size_t>(n);
      // Short: nothing more waits in the socket (HAProxy's rule), unless the peer's end of
      // stream does, which the next read returns.
      if (got < room && !d.from.peer_shut && !d.from.urgent) d.from.readable = false;
      if (&d == &to_upstream_ && std::exchange(screen_first_bytes_, false) &&
          starts_like_header(std::string_view(d.buffer.data() + offset, got))) {
        // Only trusted peers may name the client: anyone else would choose their own address.
        end(end_reason::proxy_header_untrusted, true);
        return read_result::failed;
      }
      // A bulk flow: bigger buffers mean fewer system calls per byte.
      if (got == room && !d.large) d.large = true;
      activity_ = true;
      d.bytes += got;
      d.unsent_begin = offset;
      d.unsent_end = offset + got;
      // Short, with the peer's end of stream behind (and no reset): that comes next, so it is
      // passed on once these bytes are written, without a read that returns nothing.
      if (got < room && d.from.peer_shut && !d.from.failed && !d.from.urgent) d.eof_pending = true;
      return read_result::bytes;
    }
    if (n < 0 && errno == EINTR) continue;
    return nothing_read(d, n);
  }
}

session::read_result session::splice_some(direction& d) {
  for (;;) {
    // Into an empty pipe only (a direction reads again once all is written), so EAGAIN can
    // only mean an empty socket, never a full pipe.
    ssize_t n = ::splice(d.from.fd.get(), nullptr, d.pipe.input(), nullptr,
                         context_.pipes->pipe_size(), SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      auto got = static_cast<std::size_t>(n);
      // No short-read rule here: a splice also stops short when the pipe runs out of slots,
      // so the socket stays readable until a splice finds it empty.
      activity_ = true;
      d.bytes += got;
      d.pipe.held = got;
      // Less than a small buffer's worth: the flow is no longer bulk. Back to buffers (and
      // the short-read rule) once this is written.
      if (got < context_.small_buffers.buffer_size()) d.large = false;
      return read_result::bytes;
    }
    if (n < 0 && errno == EINTR) continue;
    return nothing_read(d, n);
  }
}

session::read_result session::nothing_read(direction& d, ssize_t n) {
  if (n == 0) return read_result::end_of_stream;
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    d.from.readable = false;
    return read_result::drained;
  }
  io_failed(d.from_reset);
  return read_result::failed;
}

void session::nothing_written(direction& d, ssize_t n) {
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    d.to.writable = false;
    return;
  }
  // 0 cannot come with bytes to write; were it to, they would be lost: reset.
  if (n == 0) return end(d.to_reset, true);
  io_failed(d.to_reset);
}

void session::io_failed(end_reason peer_reason) {
  // A read or write can fail for want of memory (splice allocates a page for bytes it cannot
  // pass by reference): that is our shortage, never the peer's.
  asio::error_code ec = last_error();
  if (!is_local_error(ec)) return end(peer_reason, true);
  if (context_.on_local_error) context_.on_local_error(ec);
  end(end_reason::local_error, true);
}

void session::end_of_stream(direction& d) {
  // Half-close: pass the end of stream on and keep the other direction going.
  d.buffer.give_back();
  d.pipe.give_back();
  d.from.readable = false;
  // The backend ended its side: it owes nothing more.
  if (&d == &to_downstream_) context_.pool.reply_received(*backend_, awaiting_);
  d.done = true;
  // Both ways ended: close() sends the FIN; a shutdown first would be one more system call.
  if (to_upstream_.done && to_downstream_.done) {
    // Whoever ended first closed the exchange; the other only answered.
    bool client_first = &d == &to_downstream_;
    return end(client_first ? end_reason::client_close : end_reason::backend_close, false);
  }
  ::shutdown(d.to.fd.get(), SHUT_WR);
}

void session::before_write(const direction& d) {
  if (&d.to != &up_ || upstream_writes_ > 1) return;
  // Bytes go to the backend at once: no Nagle delay. Linux's Nagle (Minshall's) holds a short
  // segment only while an earlier short one is unacknowledged, so a connection's first write
  // never waits: TCP_NODELAY goes on before the second, and a connection that writes upstream
  // once (a request with Connection: close) never pays the system call.
  if (++upstream_writes_ == 2) {
    int one = 1;
    ::setsockopt(up_.fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
}

bool session::flush(direction& d) {
  if (d.pipe) return flush_pipe(d);
  for (;;) {
    before_write(d);
    ssize_t n = ::send(d.to.fd.get(), d.buffer.data() + d.unsent_begin,
                       d.unsent_end - d.unsent_begin, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      nothing_written(d, n);
      return false;
    }
    activity_ = true;
    count_delivered(d, static_cast<std::size_t>(n));
    d.unsent_begin += static_cast<std::size_t>(n);
    if (d.writing()) {
      // The receiver is slower: wait for room, holding this one buffer (backpressure).
      d.to.writable = false;
      return false;
    }
    d.unsent_begin = d.unsent_end = 0;
    // Drained and written: the buffer goes back (an idle connection holds none), as does a
    // small one when the direction turned bulk.
    if (!d.from.readable || (d.large && d.buffer.size() < context_.large_buffers.buffer_size()))
      d.buffer.give_back();
    return true;
  }
}

bool session::flush_pipe(direction& d) {
  for (;;) {
    before_write(d);
    // SIGPIPE is ignored process-wide: a peer that went away is EPIPE here, as with send.
    ssize_t n = ::splice(d.pipe.output(), nullptr, d.to.fd.get(), nullptr, d.pipe.held,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      nothing_written(d, n);
      return false;
    }
    activity_ = true;
    count_delivered(d, static_cast<std::size_t>(n));
    d.pipe.held -= static_cast<std::size_t>(n);
    // Short: try again. Only EAGAIN proves the send queue full, and so that epoll will say
    // when it has room (a kernel may stop a splice short for reasons of its own).
    if (d.pipe.held > 0) continue;
    // Drained and written: the pipe goes back, as it does when the flow is no longer bulk.
    if (!d.from.readable || !d.large) d.pipe.give_back();
    return true;
  }
}

void session::count_delivered(const direction& d, std::size_t n) {
  if (&d == &to_upstream_)
    backend_->bytes_in += n;
  else
    backend_->bytes_out += n;
}

bool session::peer_took_bytes(direction& d) {
  if (!d.writing()) return false;
  int queued = 0;
  if (::ioctl(d.to.fd.get(), SIOCOUTQ, &queued) != 0) return false;
  return std::exchange(d.kernel_queued, queued) != queued;
}

void session::abort(end_reason reason, bool reset) { end(reason, reset); }

void session::end(end_reason reason, bool reset) {
  if (closed_) return;
  reason_ = reason;
  if (reset) {
    // Linger 0 makes close() send RST: each peer learns the exchange did not complete.
    set_reset_on_close(down_.fd);
    set_reset_on_close(up_.fd);
  }
  close();
}

void session::close() {
  closed_ = true;
  waiting_ = false;
  if (std::exchange(connecting_, false)) {
    // The connect in flight is dropped with its socket: so is its place in the count.
    context_.pool.drop_connection(*candidate_);
    candidate_ = nullptr;
  }
  // Closed: no answer will come through this session.
  if (backend_ != nullptr) context_.pool.wait_abandoned(*backend_, awaiting_);
  // Closing takes each socket out of the relay loop's set; events it collected already find
  // the session closed. It is handed back from a handler of its own, never under a caller.
  down_.fd.reset();
  up_.fd.reset();
  if (pending_ == 0) post([] {});
}

void session::handler_done() {
  if (--pending_ == 0 && closed_) context_.on_end(*this);
}

void session::tick() {
  if (closed_) return;
  if (reading_header_) {
    // Counted from the start, not from the last byte: a header dribbled in a byte at a time
    // must not hold the connection open forever.
    if (++quiet_ticks_ >= context_.header_timeout_ticks)
      end(end_reason::proxy_header_timeout, true);
    return;
  }
  // Only quiet sessions with a write waiting pay for the system calls.
  if (!activity_ && (peer_took_bytes(to_upstream_) | peer_took_bytes(to_downstream_)))
    activity_ = true;
  if (activity_) {
    activity_ = false;
    quiet_ticks_ = 0;
    return;
  }
  ++quiet_ticks_;
  if (waiting_) {
    if (quiet_ticks_ >= context_.connect_timeout_ticks) end(end_reason::no_backend, true);
    return;
  }
  if (connecting_) {
    if (quiet_ticks_ >= context_.connect_timeout_ticks) {
      up_.fd.reset();
      on_connect(asio::error::timed_out);
    }
    return;
  }
  if (quiet_ticks_ >= context_.idle_timeout_ticks) {
    // Bytes still waiting to be written would be lost: say so with a reset.
    end(end_reason::idle_timeout, to_upstream_.writing() || to_downstream_.writing());
  }
}

}  // namespace pinwheel
