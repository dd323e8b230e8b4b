#include "session.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace pinwheel {

namespace {

using asio::ip::tcp;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// Sockets hand bytes over at once: the proxy adds no batching delay.
void tune(tcp::socket& socket) {
  asio::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  socket.non_blocking(true, ignored);
}

}  // namespace

session::session(tcp::socket downstream, proxy_context& context)
    : downstream_(std::move(downstream)), upstream_(downstream_.get_executor()), context_(context) {}

session::~session() {
  if (backend_ != nullptr) --backend_->active_connections;
}

asio::awaitable<void> session::run() {
  if (co_await connect_upstream()) {
    tune(downstream_);
    tune(upstream_);
    using namespace asio::experimental::awaitable_operators;
    co_await (relay(downstream_, upstream_) && relay(upstream_, downstream_));
  }
  asio::error_code ignored;
  downstream_.close(ignored);
  upstream_.close(ignored);
}

asio::awaitable<bool> session::connect_upstream() {
  std::vector<std::size_t> tried;
  for (int attempt = 0; attempt <= context_.retries; ++attempt) {
    auto choice = context_.chooser.pick(context_.backends, tried);
    if (!choice) co_return false;
    backend& candidate = context_.backends[*choice];
    // Counted from the pick on, so concurrent least-connections picks see it.
    ++candidate.active_connections;

    asio::error_code ec;
    upstream_.open(candidate.endpoint.protocol(), ec);
    if (!ec) {
      connecting_ = true;
      connect_timed_out_ = false;
      activity_ = false;
      quiet_ticks_ = 0;
      std::tie(ec) = co_await upstream_.async_connect(candidate.endpoint, use_tuple);
      connecting_ = false;
      if (connect_timed_out_) ec = asio::error::timed_out;
    }
    if (!ec) {
      backend_ = &candidate;
      ++candidate.total_connections;
      activity_ = true;
      co_return true;
    }
    --candidate.active_connections;
    asio::error_code ignored;
    upstream_.close(ignored);
    if (!downstream_.is_open()) co_return false;  // aborted while connecting
    if (context_.on_connect_failure) context_.on_connect_failure(candidate, ec);
    tried.push_back(*choice);
  }
  co_return false;
}

asio::awaitable<void> session::relay(tcp::socket& from, tcp::socket& to) {
  // True when unread bytes may be waiting (at the start, and after a read that filled
  // the buffer); then a read is tried before waiting. A short read drained the socket.
  // No wake-up can be lost: each async_wait re-arms the descriptor in epoll
  // (EPOLL_CTL_MOD), which reports readiness that is already there.
  bool may_have_data = true;
  for (;;) {
    if (!may_have_data) {
      // Wait without a buffer: an idle connection holds none.
      auto [ec] = co_await from.async_wait(tcp::socket::wait_read, use_tuple);
      if (ec) co_return reset_both(to);
    }
    buffer_pool::lease buffer = context_.buffers.borrow();
    asio::error_code ec;
    std::size_t n = from.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
    if (ec == asio::error::would_block) {
      may_have_data = false;
      continue;
    }
    if (ec == asio::error::eof) {
      // Half-close: pass the end of stream on and keep the other direction going.
      to.shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
    if (ec) co_return reset_both(to);
    activity_ = true;

    std::size_t written = to.write_some(asio::buffer(buffer.data(), n), ec);
    if (ec == asio::error::would_block) ec = {}, written = 0;
    if (!ec && written < n) {
      // The receiver is slower: wait for room, holding this one buffer (backpressure).
      std::tie(ec, std::ignore) =
          co_await asio::async_write(to, asio::buffer(buffer.data() + written, n - written), use_tuple);
    }
    if (ec) co_return reset_both(from);
    may_have_data = n == buffer.size();
  }
}

void session::reset_both(tcp::socket& peer) {
  asio::error_code ignored;
  if (peer.is_open()) {
    // Linger 0 makes close() send RST: the peer learns the other side failed.
    peer.set_option(tcp::socket::linger(true, 0), ignored);
  }
  abort(false);
}

void session::abort(bool reset) {
  asio::error_code ignored;
  if (reset) {
    downstream_.set_option(tcp::socket::linger(true, 0), ignored);
    upstream_.set_option(tcp::socket::linger(true, 0), ignored);
  }
  downstream_.close(ignored);
  upstream_.close(ignored);
}

void session::tick() {
  if (activity_) {
    activity_ = false;
    quiet_ticks_ = 0;
    return;
  }
  ++quiet_ticks_;
  if (connecting_ && quiet_ticks_ >= context_.connect_timeout_ticks) {
    connect_timed_out_ = true;
    asio::error_code ignored;
    upstream_.close(ignored);
  } else if (!connecting_ && quiet_ticks_ >= context_.idle_timeout_ticks) {
    abort(false);
  }
}

}  // namespace pinwheel
