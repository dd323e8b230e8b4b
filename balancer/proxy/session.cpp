#include "proxy/session.hpp"

#include <asio/post.hpp>
#include <asio/write.hpp>

namespace pinwheel {

namespace {

using asio::ip::tcp;

// Sockets hand bytes over at once (no Nagle delay), and synchronous reads and writes
// return would_block instead of waiting: the relay tries them before going async.
void tune(tcp::socket& socket) {
  asio::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  socket.non_blocking(true, ignored);
}

}  // namespace

session::session(tcp::socket downstream, proxy_context& context)
    : downstream_(std::move(downstream)),
      upstream_(downstream_.get_executor()),
      context_(context) {}

session::~session() {
  if (backend_ != nullptr) --backend_->active_connections;
}

void session::start() {
  tune(downstream_);
  connect_next();
}

void session::connect_next() {
  auto choice = context_.chooser.pick(context_.backends, tried_);
  if (!choice) return close();
  candidate_ = &context_.backends[*choice];
  // Counted from the pick on, so concurrent least-connections picks see it.
  ++candidate_->active_connections;
  asio::error_code ec;
  upstream_.open(candidate_->endpoint.protocol(), ec);
  if (ec) return on_connect(ec);
  // Before connecting: Asio then needs no second ioctl to make it non-blocking.
  tune(upstream_);
  connecting_ = true;
  connect_timed_out_ = false;
  activity_ = false;
  quiet_ticks_ = 0;
  ++pending_;
  upstream_.async_connect(candidate_->endpoint, [this](const asio::error_code& ec) {
    on_connect(ec);
    handler_done();
  });
}

void session::on_connect(const asio::error_code& result) {
  connecting_ = false;
  asio::error_code ec = connect_timed_out_ ? asio::error::timed_out : result;
  backend& candidate = *candidate_;
  candidate_ = nullptr;
  if (!ec && !closed_) {
    backend_ = &candidate;
    ++candidate.total_connections;
    activity_ = true;
    // The client usually sent its first bytes already: try them now, without waiting.
    on_readable(requests_, {});
    if (!closed_) read(responses_);
    return;
  }
  --candidate.active_connections;
  if (closed_) return;
  asio::error_code ignored;
  upstream_.close(ignored);
  if (context_.on_connect_failure) context_.on_connect_failure(candidate, ec);
  tried_.push_back(candidate.index);
  if (tried_.size() > static_cast<std::size_t>(context_.retries)) return close();
  connect_next();
}

buffer_pool& session::pool_for(const direction& d) const {
  return d.large ? context_.large_buffers : context_.small_buffers;
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
  if (ec) return reset_both(d.to);
  d.buffer = pool_for(d).borrow();
  asio::error_code read_ec;
  std::size_t n = d.from.read_some(asio::buffer(d.buffer.data(), d.buffer.size()), read_ec);
  if (read_ec == asio::error::would_block) {
    // Nothing there after all: park again rather than hold the buffer.
    d.buffer.give_back();
    return read(d);
  }
  on_read(d, read_ec, n);
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
    d.done = true;
    // Both ways ended: close() sends the FIN; a shutdown first would be one more system call.
    if (requests_.done && responses_.done) return close();
    d.to.shutdown(tcp::socket::shutdown_send, ec);
    return;
  }
  if (ec) return reset_both(d.to);
  activity_ = true;

  std::size_t written = d.to.write_some(asio::buffer(d.buffer.data(), n), ec);
  if (ec == asio::error::would_block) ec = {}, written = 0;
  if (ec) return reset_both(d.from);
  if (written < n) {
    // The receiver is slower: wait for room, holding this one buffer (backpressure).
    d.writing = true;
    ++pending_;
    asio::async_write(d.to, asio::buffer(d.buffer.data() + written, n - written),
                      [this, &d](const asio::error_code& ec, std::size_t) {
                        on_written(d, ec);
                        handler_done();
                      });
    return;
  }
  if (n == d.buffer.size() && !d.large) {
    // A bulk flow: bigger buffers mean fewer system calls per byte.
    d.large = true;
    d.buffer = context_.large_buffers.borrow();
  }
  read(d);
}

void session::on_written(direction& d, const asio::error_code& ec) {
  d.writing = false;
  if (closed_) return;
  if (ec) return reset_both(d.from);
  read(d);
}

void session::reset_both(tcp::socket& peer) {
  asio::error_code ignored;
  if (peer.is_open()) {
    // Linger 0 makes close() send RST: the peer learns the other side failed.
    peer.set_option(tcp::socket::linger(true, 0), ignored);
  }
  close();
}

void session::abort(bool reset) {
  asio::error_code ignored;
  if (reset) {
    downstream_.set_option(tcp::socket::linger(true, 0), ignored);
    upstream_.set_option(tcp::socket::linger(true, 0), ignored);
  }
  close();
}

void session::close() {
  if (closed_) return;
  closed_ = true;
  asio::error_code ignored;
  downstream_.close(ignored);
  upstream_.close(ignored);
  requests_.buffer.give_back();
  responses_.buffer.give_back();
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
  if (activity_) {
    activity_ = false;
    quiet_ticks_ = 0;
    return;
  }
  ++quiet_ticks_;
  if (connecting_) {
    if (quiet_ticks_ >= context_.connect_timeout_ticks) {
      connect_timed_out_ = true;
      asio::error_code ignored;
      upstream_.close(ignored);
    }
    return;
  }
  if (quiet_ticks_ >= context_.idle_timeout_ticks) return abort(false);
  // A whole tick without a byte either way: give the buffers back. Cancelling a socket
  // cancels its writes too, so only while nothing is being written.
  if (requests_.writing || responses_.writing) return;
  for (direction* d : {&requests_, &responses_}) {
    if (d->buffer && !d->done && !d->parking) {
      d->parking = true;
      asio::error_code ignored;
      d->from.cancel(ignored);
    }
  }
}

}  // namespace pinwheel
