#include "proxy/session.hpp"

#include <linux/sockios.h>
#include <netinet/tcp.h>
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

// Where a non-blocking connect stands, from one getsockopt: TCP_INFO's state tells a finished
// connect from a wakeup that came early (Asio polls, then reads SO_ERROR: two calls).
enum class connect_state { connecting, connected, failed };

connect_state connect_progress(tcp::socket& socket, asio::error_code& ec) {
  tcp_info info{};
  socklen_t size = sizeof info;
  if (::getsockopt(socket.native_handle(), IPPROTO_TCP, TCP_INFO, &info, &size) != 0) {
    ec = last_error();
    return connect_state::failed;
  }
  if (info.tcpi_state == TCP_SYN_SENT) return connect_state::connecting;
  if (info.tcpi_state != TCP_CLOSE) return connect_state::connected;
  int error = 0;
  size = sizeof error;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_ERROR, &error, &size) != 0)
    ec = last_error();
  else
    ec = {error != 0 ? error : ECONNREFUSED, asio::error::get_system_category()};
  return connect_state::failed;
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

// True when `bytes` open with a PROXY header's first bytes (v1 text or the v2 signature).
bool starts_like_header(std::string_view bytes) {
  using status = proxy_protocol::parse_result::status;
  return bytes.size() >= 6 && proxy_protocol::parse_header(bytes).what != status::invalid;
}

}  // namespace

session::session(tcp::socket downstream, const tcp::endpoint& client, const tcp::endpoint& local,
                 proxy_context& context)
    : downstream_(std::move(downstream)),
      upstream_(downstream_.get_executor()),
      client_(client),
      accepted_at_(std::chrono::steady_clock::now()),
      peer_(client),
      destination_(local),
      context_(context),
      accepted_(std::chrono::steady_clock::now()) {}

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

void session::start() {
  // The server accepted it non-blocking, and with TCP_NODELAY from the listener.
  header_pending_ = context_.send_proxy != proxy_protocol::version::none;
  if (context_.trusted != nullptr) {
    if (trusted(*context_.trusted, peer_.address())) return read_header();
    screen_first_bytes_ = true;
  }
  if (admit()) connect_next();
}

void session::read_header() {
  reading_header_ = true;
  quiet_ticks_ = 0;
  ++pending_;
  downstream_.async_wait(tcp::socket::wait_read, [this](const asio::error_code& ec) {
    on_header_readable(ec);
    handler_done();
  });
}

void session::on_header_readable(const asio::error_code& ec) {
  if (closed_) return;
  if (ec) return end(end_reason::client_reset, true);
  // The bytes so far sit in [kHeaderRoom, unsent_end) of to_upstream_'s buffer.
  direction& d = to_upstream_;
  if (!d.buffer) {
    d.buffer = context_.small_buffers.borrow();
    if (!d.buffer) return end(end_reason::local_error, true);
    d.unsent_begin = d.unsent_end = kHeaderRoom;
  }
  asio::error_code read_ec;
  std::size_t n = downstream_.read_some(
      asio::buffer(d.buffer.data() + d.unsent_end, d.buffer.size() - d.unsent_end), read_ec);
  if (read_ec == asio::error::would_block) return read_header();
  if (read_ec) {
    detail_ = "the connection ended before the header did";
    return end(end_reason::proxy_header, true);
  }
  d.unsent_end += n;
  auto parsed = proxy_protocol::parse_header(
      std::string_view(d.buffer.data() + kHeaderRoom, d.unsent_end - kHeaderRoom));
  using status = proxy_protocol::parse_result::status;
  if (parsed.what == status::incomplete) return read_header();
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
    asio::error_code ec;
    tcp::endpoint local = downstream_.local_endpoint(ec);
    if (!ec) destination_ = local;
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
  asio::error_code ec = open_nonblocking(upstream_, candidate_->endpoint.protocol());
  if (ec) return on_connect(ec);
  // Bytes go to the backend at once (no Nagle delay).
  upstream_.set_option(tcp::no_delay(true), ec);
  connecting_ = true;
  connect_started_ = std::chrono::steady_clock::now();
  connect_timed_out_ = false;
  activity_ = false;
  quiet_ticks_ = 0;
  // connect() itself rather than Asio's async_connect, which polls and reads SO_ERROR once
  // the socket is writable; connect_progress() needs one call.
  const tcp::endpoint& to = candidate_->endpoint;
  if (::connect(upstream_.native_handle(), to.data(), to.size()) == 0) {
    ec = {};
  } else {
    ec = last_error();
    if (ec == asio::error::in_progress || ec == asio::error::would_block) return wait_connected();
  }
  // Finished at once, either way: report it from a handler, as Asio would.
  ++pending_;
  asio::post(upstream_.get_executor(), [this, ec] {
    on_connect(ec);
    handler_done();
  });
}

void session::wait_connected() {
  ++pending_;
  upstream_.async_wait(tcp::socket::wait_write, [this](asio::error_code ec) {
    if (!ec && connect_progress(upstream_, ec) == connect_state::connecting)
      wait_connected();  // woken early: the handshake goes on
    else
      on_connect(ec);
    handler_done();
  });
}

void session::backend_available() {
  if (closed_ || !waiting_) return;
  waiting_ = false;
  connect_next();
}

void session::on_connect(const asio::error_code& result) {
  connecting_ = false;
  asio::error_code ec = connect_timed_out_ ? asio::error::timed_out : result;
  backend& candidate = *candidate_;
  candidate_ = nullptr;
  if (!ec && !closed_) {
    backend_ = &candidate;
    connected_ = std::chrono::steady_clock::now();
    ++candidate.total_connections;
    context_.stats.connect_duration.observe(std::chrono::steady_clock::now() - connect_started_);
    activity_ = true;
    direction& d = to_upstream_;
    if (d.buffer) {
      // Client bytes that came with its PROXY header: send them on, our header before them.
      context_.pool.request_sent(candidate, awaiting_);
      if (std::exchange(header_pending_, false)) {
        char header[proxy_protocol::kMaxEncodedBytes];
        std::size_t size = encode_header(header);
        d.unsent_begin -= size;
        std::memcpy(d.buffer.data() + d.unsent_begin, header, size);
      }
      if (forward(d, d.unsent_begin, d.unsent_end)) read(d);
    } else {
      // The client usually sent its first bytes already: try them now, without waiting.
      on_readable(d, {});
    }
    if (!closed_) read(to_downstream_);
    return;
  }
  context_.pool.drop_connection(candidate);
  if (closed_) return;
  asio::error_code ignored;
  upstream_.close(ignored);
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

void session::borrow(direction& d) {
  if (d.large) {
    d.buffer = context_.large_buffers.borrow();
    if (d.buffer) return;
    // The large buffers' memory budget is spent: carry on with small ones.
    d.large = false;
  }
  d.buffer = context_.small_buffers.borrow();
}

void session::read(direction& d) {
  ++pending_;
  if (d.buffer) {
    // Hot: Asio reads at once if the last read left data behind, else waits for epoll.
    d.from.async_read_some(asio::buffer(d.buffer.data(), d.buffer.size()),
                           [this, &d](const asio::error_code& ec, std::size_t n) {
                             on_read(d, ec, n);
                             handler_done();
                           });
  } else {
    // Parked: wait for readiness without holding a buffer.
    d.from.async_wait(tcp::socket::wait_read, [this, &d](const asio::error_code& ec) {
      on_readable(d, ec);
      handler_done();
    });
  }
}

void session::on_readable(direction& d, const asio::error_code& ec) {
  if (closed_) return;
  if (ec) return end(d.from_reset, true);
  borrow(d);
  if (!d.buffer) return end(end_reason::local_error, true);
  std::size_t prefix = 0;
  if (&d == &to_upstream_ && std::exchange(header_pending_, false))
    prefix = encode_header(d.buffer.data());
  asio::error_code read_ec;
  std::size_t n =
      d.from.read_some(asio::buffer(d.buffer.data() + prefix, d.buffer.size() - prefix), read_ec);
  if (prefix > 0 && read_ec) {
    // No client bytes to go with the header (the server may speak first): send it alone now.
    if (!forward(d, 0, prefix)) return;
    if (read_ec != asio::error::would_block) return on_read(d, read_ec, 0);
  }
  if (read_ec == asio::error::would_block) {
    // Nothing there after all: park again rather than hold the buffer.
    d.buffer.give_back();
    return read(d);
  }
  if (!read_ec && &d == &to_upstream_ && std::exchange(screen_first_bytes_, false) &&
      starts_like_header(std::string_view(d.buffer.data() + prefix, n))) {
    // Only trusted peers may name the client: anyone else would choose their own address.
    return end(end_reason::proxy_header_untrusted, true);
  }
  on_read(d, read_ec, prefix + n);
}

void session::on_read(direction& d, asio::error_code ec, std::size_t n) {
  if (closed_) return;
  bool parking = std::exchange(d.parking, false);
  if (ec == asio::error::operation_aborted && parking) {
    d.buffer.give_back();
    return read(d);
  }
  if (ec == asio::error::eof) {
    // Half-close: pass the end of stream on and keep the other direction going.
    d.buffer.give_back();
    // The backend ended its side: it owes nothing more.
    if (&d == &to_downstream_) context_.pool.reply_received(*backend_, awaiting_);
    d.done = true;
    // Both ways ended: close() sends the FIN; a shutdown first would be one more system call.
    if (to_upstream_.done && to_downstream_.done) {
      // Whoever ended first closed the exchange; the other only answered.
      bool client_first = &d == &to_downstream_;
      return end(client_first ? end_reason::client_close : end_reason::backend_close, false);
    }
    d.to.shutdown(tcp::socket::shutdown_send, ec);
    return;
  }
  if (ec) return end(d.from_reset, true);
  activity_ = true;
  d.bytes += n;
  // Layer-4 busy signal: a request went up, or an answer (its first bytes) came back.
  if (&d == &to_upstream_)
    context_.pool.request_sent(*backend_, awaiting_);
  else
    context_.pool.reply_received(*backend_, awaiting_);

  if (!forward(d, 0, n)) return;
  if (n == d.buffer.size() && !d.large) {
    // A bulk flow: bigger buffers mean fewer system calls per byte.
    d.large = true;
    d.buffer.give_back();
    borrow(d);
  }
  read(d);
}

bool session::forward(direction& d, std::size_t begin, std::size_t end) {
  asio::error_code ec;
  std::size_t written = d.to.write_some(asio::buffer(d.buffer.data() + begin, end - begin), ec);
  if (ec == asio::error::would_block) ec = {}, written = 0;
  if (ec) {
    this->end(d.to_reset, true);
    return false;
  }
  count_delivered(d, written);
  if (begin + written < end) {
    // The receiver is slower: wait for room, holding this one buffer (backpressure).
    d.unsent_begin = begin + written;
    d.unsent_end = end;
    write_rest(d);
    return false;
  }
  return true;
}

void session::write_rest(direction& d) {
  // One write_some at a time rather than async_write: each bit of progress counts as
  // activity, so a slow but steady reader is never taken for an idle one.
  d.writing = true;
  ++pending_;
  d.to.async_write_some(
      asio::buffer(d.buffer.data() + d.unsent_begin, d.unsent_end - d.unsent_begin),
      [this, &d](const asio::error_code& ec, std::size_t n) {
        on_written(d, ec, n);
        handler_done();
      });
}

void session::on_written(direction& d, const asio::error_code& ec, std::size_t n) {
  d.writing = false;
  if (closed_) return;
  if (ec) return end(d.to_reset, true);
  activity_ = true;
  count_delivered(d, n);
  d.unsent_begin += n;
  if (d.unsent_begin < d.unsent_end) return write_rest(d);
  read(d);
}

void session::count_delivered(const direction& d, std::size_t n) {
  if (&d == &to_upstream_)
    backend_->bytes_in += n;
  else
    backend_->bytes_out += n;
}

bool session::peer_took_bytes(direction& d) {
  if (!d.writing) return false;
  int queued = 0;
  if (::ioctl(d.to.native_handle(), SIOCOUTQ, &queued) != 0) return false;
  return std::exchange(d.kernel_queued, queued) != queued;
}

void session::abort(end_reason reason, bool reset) { end(reason, reset); }

void session::end(end_reason reason, bool reset) {
  if (closed_) return;
  reason_ = reason;
  if (reset) {
    // Linger 0 makes close() send RST: each peer learns the exchange did not complete.
    asio::error_code ignored;
    if (downstream_.is_open()) downstream_.set_option(tcp::socket::linger(true, 0), ignored);
    if (upstream_.is_open()) upstream_.set_option(tcp::socket::linger(true, 0), ignored);
  }
  close();
}

void session::close() {
  closed_ = true;
  waiting_ = false;
  // Closed: no answer will come through this session.
  if (backend_ != nullptr) context_.pool.wait_abandoned(*backend_, awaiting_);
  asio::error_code ignored;
  // Pending operations complete with operation_aborted; they may still point into this
  // session's buffers, which is why those stay lent until the session is destroyed.
  downstream_.close(ignored);
  upstream_.close(ignored);
  if (pending_ == 0) {
    // Called outside any handler of ours: end from a fresh one, not under the caller's feet.
    ++pending_;
    asio::post(downstream_.get_executor(), [this] { handler_done(); });
  }
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
      connect_timed_out_ = true;
      asio::error_code ignored;
      upstream_.close(ignored);
    }
    return;
  }
  if (quiet_ticks_ >= context_.idle_timeout_ticks) {
    // Bytes still waiting to be written would be lost: say so with a reset.
    return end(end_reason::idle_timeout, to_upstream_.writing || to_downstream_.writing);
  }
  // A whole tick without a byte either way: give the buffers back. Cancelling a socket
  // cancels its writes too, so only while nothing is being written.
  if (to_upstream_.writing || to_downstream_.writing) return;
  for (direction* d : {&to_upstream_, &to_downstream_}) {
    if (d->buffer && !d->done && !d->parking) {
      d->parking = true;
      asio::error_code ignored;
      d->from.cancel(ignored);
    }
  }
}

}  // namespace pinwheel
