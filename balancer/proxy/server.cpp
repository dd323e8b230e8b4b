#include "proxy/server.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/use_awaitable.hpp>

#include "config/address.hpp"
#include "log/log.hpp"

namespace pinwheel {

namespace {

using asio::ip::tcp;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

bool out_of_resources(const asio::error_code& ec) {
  return ec == asio::error::no_descriptors || ec.value() == ENFILE ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

}  // namespace

std::chrono::milliseconds tick_period(const balancer_options& options) {
  auto shorter = std::min(options.connect_timeout, options.idle_timeout);
  return std::clamp<std::chrono::milliseconds>(shorter / 8, 10ms, 1000ms);
}

server::server(asio::io_context& io, const balancer_options& options, proxy_context& context)
    : io_(io),
      options_(options),
      context_(context),
      acceptor_(io),
      ticker_(io),
      session_ended_(io),
      tick_(tick_period(options)) {
  context_.on_end = [this](session& s) {
    unlink(s);
    delete &s;
  };
  auto ticks = [this](std::chrono::milliseconds d) {
    return static_cast<unsigned>(std::max<std::int64_t>(1, (d + tick_ - 1ms) / tick_));
  };
  context_.connect_timeout_ticks = ticks(options.connect_timeout);
  context_.idle_timeout_ticks = ticks(options.idle_timeout);
}

void server::listen() {
  acceptor_.open(options_.listen.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  if (options_.listen.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(true));
  acceptor_.bind(options_.listen);
  acceptor_.listen(tcp::acceptor::max_listen_connections);
}

tcp::endpoint server::local_endpoint() const { return acceptor_.local_endpoint(); }

void server::start() {
  asio::co_spawn(io_, accept_loop(), asio::detached);
  asio::co_spawn(io_, tick_loop(), asio::detached);
}

asio::awaitable<void> server::accept_loop() {
  auto last_warning = std::chrono::steady_clock::time_point{};
  asio::steady_timer backoff(io_);
  while (!stopping_) {
    if (active_ >= options_.max_connections) {
      // Full: leave new clients in the kernel's backlog until a session ends.
      session_ended_.expires_at(asio::steady_timer::time_point::max());
      co_await session_ended_.async_wait(use_tuple);
      continue;
    }
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (stopping_ || ec == asio::error::operation_aborted) break;
    if (ec) {
      auto now = std::chrono::steady_clock::now();
      if (now - last_warning > 1s) {
        log_warning("accept failed: ", ec.message(),
                    out_of_resources(ec)
                        ? " (raise the open-file limit or lower max_connections); backing off"
                        : "");
        last_warning = now;
      }
      // Retrying at once would spin: the pending connection stays ready until accepted.
      backoff.expires_after(out_of_resources(ec) ? 100ms : 10ms);
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    serve(std::move(socket));
  }
}

void server::serve(tcp::socket downstream) {
  auto* s = new session(std::move(downstream), context_);
  link(*s);
  s->start();
}

void server::link(session& s) {
  s.next = sessions_;
  if (sessions_ != nullptr) sessions_->prev = &s;
  sessions_ = &s;
  ++active_;
}

void server::unlink(session& s) {
  if (s.prev != nullptr)
    s.prev->next = s.next;
  else
    sessions_ = s.next;
  if (s.next != nullptr) s.next->prev = s.prev;
  --active_;
  session_ended_.cancel();
}

asio::awaitable<void> server::tick_loop() {
  while (!stopping_ || active_ > 0) {
    ticker_.expires_after(tick_);
    auto [ec] = co_await ticker_.async_wait(use_tuple);
    if (ec) break;
    for (session* s = sessions_; s != nullptr;) {
      session* next = s->next;  // a session ends only from a handler, never inside tick()
      s->tick();
      s = next;
    }
  }
}

void server::abort_all() {
  // abort() never ends a session on the spot (see session::close), so the walk is safe.
  for (session* s = sessions_; s != nullptr; s = s->next) s->abort(true);
}

asio::awaitable<void> server::drain() {
  stopping_ = true;
  asio::error_code ignored;
  acceptor_.close(ignored);
  session_ended_.cancel();  // wakes an accept loop paused at max_connections

  auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
  if (active_ > 0)
    log("draining ", active_, " open connection(s), up to ",
        format_duration(options_.drain_timeout));
  while (active_ > 0 && std::chrono::steady_clock::now() < deadline) {
    session_ended_.expires_at(deadline);
    co_await session_ended_.async_wait(use_tuple);
  }
  if (active_ > 0) {
    log("drain timeout: closing ", active_, " connection(s) still open");
    abort_all();
    while (active_ > 0) {
      session_ended_.expires_after(1s);
      co_await session_ended_.async_wait(use_tuple);
    }
  }
  ticker_.cancel();
}

}  // namespace pinwheel
