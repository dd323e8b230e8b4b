#include "proxy/server.hpp"

#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <climits>
#include <new>

#include "common/local_error.hpp"
#include "common/spawn_background.hpp"
#include "config/address.hpp"
#include "log/log.hpp"
#include "proxy/access_log.hpp"
#include "proxy/kernel_socket.hpp"

namespace pinwheel {

namespace {

using asio::ip::tcp;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// Out of resources: with nothing open that could free a descriptor, look again after this
// long; with sessions open, wait for one to end, but no longer than kExhaustedWait.
constexpr std::chrono::milliseconds kExhaustedRetry = 100ms;
constexpr std::chrono::milliseconds kExhaustedWait = 1s;
// The warning about it, at most this often.
constexpr std::chrono::seconds kExhaustedLogEvery = 10s;

}  // namespace

std::chrono::milliseconds tick_period(const balancer_options& options) {
  auto shorter =
      std::min({options.connect_timeout, options.idle_timeout,
                options.accept_proxy ? options.proxy_header_timeout : options.idle_timeout});
  return std::clamp<std::chrono::milliseconds>(shorter / 8, 10ms, 1000ms);
}

server::server(asio::io_context& io, const balancer_options& options, proxy_context& context)
    : io_(io),
      options_(options),
      context_(context),
      relay_(io),
      ticker_(io),
      session_ended_(io),
      tick_(tick_period(options)),
      max_connections_(options.max_connections) {
  context_.relay = &relay_;
  context_.on_end = [this](session& s) { end(s); };
  context_.on_local_error = [this](const std::error_code& ec) {
    out_of_resources(ec, "connecting to a backend");
  };
  apply_timeouts();
}

void server::apply_timeouts() {
  tick_ = tick_period(options_);
  auto ticks = [this](std::chrono::milliseconds d) {
    std::int64_t n = (d + tick_ - 1ms) / tick_;
    // Clamped: a timeout of years must not wrap around to minutes.
    return static_cast<unsigned>(std::clamp<std::int64_t>(n, 1, UINT_MAX));
  };
  context_.connect_timeout_ticks = ticks(options_.connect_timeout);
  context_.idle_timeout_ticks = ticks(options_.idle_timeout);
  context_.header_timeout_ticks = ticks(options_.proxy_header_timeout);
}

void server::listen(tcp::endpoint& failed) {
  std::vector<tcp::endpoint> all{options_.listen};
  all.insert(all.end(), options_.more_listen.begin(), options_.more_listen.end());
  for (const tcp::endpoint& endpoint : all) {
    failed = endpoint;
    open(listeners_.emplace_back(listener{tcp::acceptor(io_), asio::steady_timer(io_), {}}),
         endpoint);
  }
}

void server::relisten(const std::vector<tcp::endpoint>& wanted, tcp::endpoint& failed) {
  auto listening_on = [this](const tcp::endpoint& e) {
    for (const listener& l : listeners_) {
      if (!l.closed && l.configured == e) return true;
    }
    return false;
  };
  std::vector<listener*> opened;
  try {
    for (const tcp::endpoint& endpoint : wanted) {
      if (listening_on(endpoint)) continue;
      failed = endpoint;
      // A deque: references to the other listeners stay valid.
      listener& l =
          listeners_.emplace_back(listener{tcp::acceptor(io_), asio::steady_timer(io_), {}});
      opened.push_back(&l);
      open(l, endpoint);
    }
  } catch (const std::system_error&) {
    // Undo: the new ones never accepted anything.
    for (listener* l : opened) {
      asio::error_code ignored;
      l->acceptor.close(ignored);
      l->closed = true;
    }
    throw;
  }
  for (listener& l : listeners_) {
    if (l.closed) continue;
    bool keep = std::find(wanted.begin(), wanted.end(), l.configured) != wanted.end();
    if (std::find(opened.begin(), opened.end(), &l) != opened.end()) {
      log("now also listening on ", to_string(l.local));
      spawn_background(io_, accept_loop(l), "accept loop");
    } else if (!keep) {
      // The kernel promised these clients a connection: serve them, then close.
      accept_backlog(l);
      asio::error_code ignored;
      l.acceptor.close(ignored);
      l.closed = true;
      l.wake.cancel();
      log("stopped listening on ", to_string(l.local), " (open connections carry on)");
    }
  }
}

void server::open(listener& l, const tcp::endpoint& endpoint) {
  tcp::acceptor& a = l.acceptor;
  a.open(endpoint.protocol());
  a.set_option(tcp::acceptor::reuse_address(true));
  // Explicit: the system default (net.ipv6.bindv6only) must not decide whether "[::]:80" also
  // takes IPv4 clients, or whether a separate "0.0.0.0:80" can bind at all.
  if (endpoint.address().is_v6()) a.set_option(asio::ip::v6_only(true));
  if (options_.tcp_keepalive > 0ms) {
    // Set on the listening socket, accepted connections inherit them: no system call per
    // connection. Probes start after tcp_keepalive of silence, then every third of it; three
    // unanswered ones end the connection.
    auto seconds = [](std::chrono::milliseconds d) {
      return static_cast<int>(std::max<std::int64_t>(1, d.count() / 1000));
    };
    int idle = seconds(options_.tcp_keepalive);
    int interval = std::max(1, idle / 3);
    a.set_option(tcp::socket::keep_alive(true));
    a.set_option(asio::detail::socket_option::integer<IPPROTO_TCP, TCP_KEEPIDLE>(idle));
    a.set_option(asio::detail::socket_option::integer<IPPROTO_TCP, TCP_KEEPINTVL>(interval));
    a.set_option(asio::detail::socket_option::integer<IPPROTO_TCP, TCP_KEEPCNT>(3));
  }
  // Accepted connections inherit it (Linux): no setsockopt per connection. Relayed bytes
  // leave at once rather than wait for Nagle's algorithm.
  a.set_option(tcp::no_delay(true));
  // accept4() is called directly and must return EAGAIN, not block, once the backlog is empty.
  a.non_blocking(true);
  a.bind(endpoint);
  a.listen(tcp::acceptor::max_listen_connections);
  l.local = a.local_endpoint();
  l.configured = endpoint;
}

tcp::endpoint server::local_endpoint() const {
  for (const listener& l : listeners_) {
    if (!l.closed) return l.local;
  }
  return listeners_.front().local;
}

std::vector<tcp::endpoint> server::local_endpoints() const {
  std::vector<tcp::endpoint> all;
  for (const listener& l : listeners_) {
    if (!l.closed) all.push_back(l.local);
  }
  return all;
}

void server::start() {
  for (listener& l : listeners_) spawn_background(io_, accept_loop(l), "accept loop");
  spawn_background(io_, tick_loop(), "timeout ticker");
}

server::~server() {
  // Sessions still open here mean the balancer is dying (a background loop failed): the kernel
  // would close their sockets with a FIN as the process exits, so reset them now. Their handlers
  // never run again; the io_context outlives this and discards them uninvoked.
  while (sessions_ != nullptr) {
    session* s = sessions_;
    sessions_ = s->next;
    s->abort(end_reason::local_error, true);
    delete s;
  }
}

void server::out_of_resources(const std::error_code& ec, const char* where) {
  auto now = std::chrono::steady_clock::now();
  if (now - last_exhausted_log_ >= kExhaustedLogEvery) {
    log_warning(where, ": ", ec.message(), " with ", active_,
                " connection(s) open: the balancer is out of resources (not a backend's fault); "
                "accepting pauses until a connection closes. Raise the open-file limit "
                "(LimitNOFILE=, ulimit -n) or lower balancer.max_connections");
    last_exhausted_log_ = now;
  }
  exhausted_ = true;
}

asio::awaitable<void> server::wait_for_a_session_end(asio::steady_timer& timer,
                                                     std::chrono::milliseconds limit) {
  timer.expires_after(limit);
  co_await timer.async_wait(use_tuple);
}

asio::awaitable<void> server::accept_loop(listener& l) {
  while (!stopping_ && !l.closed) {
    if (active_ >= max_connections_) {
      // Full: leave new clients in the kernel's backlog until a session ends.
      co_await wait_for_a_session_end(l.wake, std::chrono::hours(24));
      continue;
    }
    if (exhausted_) {
      // Until a session ends, or a little while: descriptors may also come back from
      // elsewhere (a health probe, a pipe), and a waiting client must not wait unbounded.
      co_await wait_for_a_session_end(l.wake, active_ > 0 ? kExhaustedWait : kExhaustedRetry);
      exhausted_ = false;
      continue;
    }
    tcp::endpoint client;
    owned_fd socket;
    asio::error_code ec = accept_nonblocking(l.acceptor, socket, client);
    if (ec == asio::error::would_block) {
      // The backlog is empty: wait for the next client (the wait arms epoll once).
      auto [wait_ec] = co_await l.acceptor.async_wait(tcp::acceptor::wait_read, use_tuple);
      if (stopping_ || l.closed || wait_ec == asio::error::operation_aborted) break;
      continue;
    }
    // Even when stopping: the kernel promised this client a connection.
    if (!ec) serve(std::move(socket), client, l);
    if (stopping_ || l.closed) break;
    if (is_local_error(ec)) out_of_resources(ec, "accept");
    // Anything else (the client gave up before we accepted, a firewall said no) concerns
    // that one connection: take the next at once, once the sessions' handlers had their turn
    // (as after an asynchronous accept).
    co_await asio::post(io_, asio::use_awaitable);
  }
}

void server::accept_backlog(listener& l) {
  asio::error_code ec;
  while (!ec) {
    tcp::endpoint client;
    owned_fd socket;
    ec = accept_nonblocking(l.acceptor, socket, client);
    if (!ec) serve(std::move(socket), client, l);
  }
}

void server::serve(owned_fd downstream, const tcp::endpoint& client, const listener& l) {
  auto* s = new (std::nothrow) session(io_, std::move(downstream), client, l.local, context_);
  if (s == nullptr) {
    // Out of memory: reset this client (the socket was moved from only on success) and pause.
    linger reset{1, 0};
    ::setsockopt(downstream.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    downstream.reset();
    ++context_.stats.accepted;
    ++context_.stats.rejected[static_cast<int>(reject_reason::local_error)];
    return out_of_resources(asio::error::no_memory, "accept");
  }
  ++context_.stats.accepted;
  link(*s);
  s->start();
}

void server::link(session& s) {
  s.next = sessions_;
  if (sessions_ != nullptr) sessions_->prev = &s;
  sessions_ = &s;
  ++active_;
}

void server::end(session& s) {
  if (s.prev != nullptr)
    s.prev->next = s.next;
  else
    sessions_ = s.next;
  if (s.next != nullptr) s.next->prev = s.prev;
  --active_;
  if (context_.connections_log != nullptr)
    context_.connections_log->write(s.record(std::chrono::steady_clock::now()));
  end_reason reason = s.reason().value_or(end_reason::admin);
  ++ended_[static_cast<int>(reason)];
  auto now = std::chrono::steady_clock::now();
  // Connections turned away (limits, PROXY headers) are counted as rejections, not timed.
  if (!is_rejection(reason)) context_.stats.connection_duration.observe(now - s.accepted_at());
  if (reason == end_reason::no_backend) {
    // A client turned away must leave a trace, but a flood of them must not flood the log.
    ++no_backend_unlogged_;
    if (now - last_no_backend_log_ >= 1s) {
      log_warning("no backend became usable within connect_timeout (",
                  format_duration(options_.connect_timeout), "): reset ", no_backend_unlogged_,
                  " client connection(s), the last from ", to_string(s.client()));
      last_no_backend_log_ = now;
      no_backend_unlogged_ = 0;
    }
  }
  if (is_rejection(reason)) log_rejection(reason, s);
  delete &s;
  session_ended_.cancel();
  for (listener& l : listeners_) l.wake.cancel();
}

void server::log_rejection(end_reason reason, const session& s) {
  auto i = static_cast<std::size_t>(reason);
  ++rejected_unlogged_[i];
  auto now = std::chrono::steady_clock::now();
  if (now - last_rejection_log_[i] < 1s) return;
  const char* why = "";
  switch (reason) {
    case end_reason::per_client_connections:
      why = "the client had [limits] per_client_connections open";
      break;
    case end_reason::per_client_rate:
      why = "the client opened connections faster than [limits] per_client_rate";
      break;
    case end_reason::proxy_header:
      why = "a trusted peer sent a malformed or truncated PROXY header";
      break;
    case end_reason::proxy_header_timeout:
      why = "a trusted peer's PROXY header was not complete within proxy_header_timeout";
      break;
    case end_reason::proxy_header_untrusted:
      why = "a peer not in [balancer] trusted sent a PROXY header";
      break;
    default:
      break;
  }
  log_warning("reset ", rejected_unlogged_[i], " connection(s) (", to_string(reason), "): ", why,
              s.detail() != nullptr ? std::string(" (") + s.detail() + ")" : std::string(),
              "; the last from ", to_string(s.client()), " via ", to_string(s.peer()));
  last_rejection_log_[i] = now;
  rejected_unlogged_[i] = 0;
}

void server::backend_available() {
  // A session ends only from a handler, never inside backend_available(): the walk is safe.
  for (session* s = sessions_; s != nullptr; s = s->next) s->backend_available();
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

void server::abort_all(end_reason reason) {
  // abort() never ends a session on the spot (see session::close), so the walk is safe.
  for (session* s = sessions_; s != nullptr; s = s->next) s->abort(reason, true);
}

asio::awaitable<void> server::drain() {
  stopping_ = true;
  // Clients already in the backlog were promised a connection by the kernel: serve them
  // rather than reset them by closing the acceptor under them.
  asio::error_code ignored;
  for (listener& l : listeners_) {
    if (l.acceptor.is_open()) accept_backlog(l);
    l.acceptor.close(ignored);
    l.wake.cancel();  // wakes an accept loop that is paused
  }

  auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
  if (active_ > 0)
    log("draining ", active_, " open connection(s), up to ",
        format_duration(options_.drain_timeout));
  while (active_ > 0 && std::chrono::steady_clock::now() < deadline) {
    session_ended_.expires_at(deadline);
    co_await session_ended_.async_wait(use_tuple);
  }
  if (active_ > 0) {
    log("drain timeout: resetting ", active_, " connection(s) still open");
    abort_all(end_reason::drain_cut);
    while (active_ > 0) co_await wait_for_a_session_end(session_ended_, 1s);
  }
  ticker_.cancel();
}

}  // namespace pinwheel
