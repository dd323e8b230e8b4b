#include "load_runner.hpp"

#include <netinet/in.h>
#include <unistd.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <cstdio>
#include <iostream>

#include "response_reader.hpp"

namespace pinwheel::loadgen {

namespace {

using clock = std::chrono::steady_clock;
constexpr auto use_awaitable = asio::use_awaitable;
// Bytes of each response body kept for --tally-bodies.
constexpr std::size_t tally_body_limit = 200;

// The generator's own shortage of descriptors, memory or ports: never the server's fault.
bool is_local(const std::error_code& ec) {
  return ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system ||
         ec == std::errc::no_buffer_space || ec == std::errc::not_enough_memory ||
         ec == std::errc::address_not_available || ec == std::errc::address_in_use;
}

std::string error_kind(const std::error_code& ec, bool connecting) {
  if (is_local(ec)) return "local_resources";
  if (connecting) {
    return ec == asio::error::connection_refused ? "connect_refused" : "connect_error";
  }
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe) return "reset";
  if (ec == asio::error::eof) return "closed";
  return "io_error";
}

std::uint64_t micros(clock::duration d) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return us < 0 ? 0 : static_cast<std::uint64_t>(us);
}

}  // namespace

struct load_runner::connection {
  explicit connection(asio::io_context& io) : socket(io) {}
  asio::ip::tcp::socket socket;
  bool connected = false;
};

// A request waiting for a connection slot; served with a connection (or none: a free slot).
struct load_runner::waiter {
  explicit waiter(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  bool served = false;
  std::unique_ptr<connection> handed;
};

// What the deadline timer needs to cut a request short: shared with its handler, which may
// run after the request has ended (then `done` makes it a no-op).
struct request_deadline {
  asio::ip::tcp::socket* socket = nullptr;
  bool done = false;
  bool fired = false;
};

load_runner::load_runner(load_options options, request_mix mix)
    : options_(std::move(options)),
      mix_(std::move(mix)),
      schedule_(options_.phases, options_.max_requests),
      progress_timer_(io_) {
  report_.target =
      options_.target.address().to_string() + ":" + std::to_string(options_.target.port());
  report_.keep_alive = options_.keep_alive;
  report_.timeout = options_.timeout;
  report_.classes = mix_.classes();
  report_.phases = options_.phases;
  report_.results.assign(options_.phases.size(), std::vector<class_result>(mix_.classes().size()));
  report_.sending.assign(options_.phases.size(), std::chrono::nanoseconds{0});
  std::chrono::nanoseconds phase_start{0};
  for (const rate_phase& p : options_.phases) {
    phase_starts_.push_back(phase_start);
    phase_start += p.duration;
  }
}

load_runner::~load_runner() = default;

run_report load_runner::run() {
  start_ = clock::now() + std::chrono::milliseconds(5);
  asio::co_spawn(io_, dispatch(), asio::detached);
  if (options_.progress) asio::co_spawn(io_, progress_loop(), asio::detached);
  io_.run();
  idle_.clear();
  if (options_.progress) std::cerr << "\r" << progress_line() << "\n";
  for (const auto& phase : report_.results) {
    for (const class_result& r : phase) report_.wall = std::max(report_.wall, r.last_done);
  }
  return std::move(report_);
}

asio::awaitable<void> load_runner::dispatch() {
  asio::steady_timer timer(io_);
  while (std::optional<std::chrono::nanoseconds> due = schedule_.next_due()) {
    timer.expires_at(start_ + std::chrono::duration_cast<clock::duration>(*due));
    std::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    const clock::time_point now = clock::now();
    for (const scheduled_request& r : schedule_.take_due(now - start_)) {
      report_.send_lag.record(micros(now - (start_ + r.offset)));
      const auto interval = std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::duration<double>(1.0 / options_.phases[r.phase].rate));
      report_.sending[r.phase] = std::max(report_.sending[r.phase],
                                          std::min(options_.phases[r.phase].duration,
                                                   r.offset - phase_starts_[r.phase] + interval));
      ++in_flight_;
      asio::co_spawn(io_, send_one(r, mix_.next()), asio::detached);
    }
  }
  dispatch_done_ = true;
  if (in_flight_ == 0) progress_timer_.cancel();
}

void load_runner::request_done() {
  --in_flight_;
  if (dispatch_done_ && in_flight_ == 0) progress_timer_.cancel();
}

std::unique_ptr<load_runner::connection> load_runner::make_connection() {
  ++connections_made_;
  return std::make_unique<connection>(io_);
}

asio::awaitable<std::unique_ptr<load_runner::connection>> load_runner::acquire(
    clock::time_point deadline, bool& reused) {
  reused = false;
  const bool fill = options_.fill_pool && open_ < options_.max_connections;
  if (options_.keep_alive && !idle_.empty() && !fill) {
    std::unique_ptr<connection> c = std::move(idle_.front());
    idle_.pop_front();
    reused = true;
    co_return c;
  }
  if (open_ < options_.max_connections) {
    ++open_;
    co_return make_connection();
  }
  waiter w(io_);
  w.timer.expires_at(deadline);
  waiters_.push_back(&w);
  std::error_code ec;
  co_await w.timer.async_wait(asio::redirect_error(use_awaitable, ec));
  if (!w.served) {
    std::erase(waiters_, &w);
    co_return nullptr;
  }
  // Served: either a live connection or the slot of one that was closed.
  if (w.handed) {
    reused = true;
    co_return std::move(w.handed);
  }
  co_return make_connection();
}

void load_runner::release(std::unique_ptr<connection> c, bool reusable) {
  if (!reusable || !options_.keep_alive) {
    std::error_code ignored;
    c->socket.close(ignored);
    c.reset();
  }
  if (!waiters_.empty()) {
    waiter* w = waiters_.front();
    waiters_.pop_front();
    w->served = true;
    w->handed = std::move(c);
    w->timer.cancel();
    return;
  }
  if (c) {
    idle_.push_back(std::move(c));
  } else {
    --open_;
  }
}

asio::awaitable<void> load_runner::send_one(scheduled_request request, std::size_t class_index) {
  class_result& result = report_.results[request.phase][class_index];
  const request_class& rc = mix_.classes()[class_index];
  const clock::time_point due =
      start_ + std::chrono::duration_cast<clock::duration>(request.offset);
  const clock::time_point deadline = due + options_.timeout;
  ++result.sent;

  std::string text = rc.method + " " + rc.target + " HTTP/1.1\r\nHost: " + report_.target + "\r\n";
  if (!options_.keep_alive) text += "Connection: close\r\n";
  text += "\r\n";

  auto guard = std::make_shared<request_deadline>();
  asio::steady_timer deadline_timer(io_, deadline);
  deadline_timer.async_wait([guard](const std::error_code& ec) {
    if (ec || guard->done) return;
    guard->fired = true;
    if (guard->socket) {
      std::error_code ignored;
      guard->socket->close(ignored);
    }
  });

  const auto finish = [&](std::unique_ptr<connection> c, bool reusable) {
    guard->done = true;
    result.last_done = std::max(result.last_done, clock::now() - start_);
    if (c) release(std::move(c), reusable);
    request_done();
  };

  bool reused = false;
  std::unique_ptr<connection> c = co_await acquire(deadline, reused);
  if (!c) {
    ++result.timeouts;
    finish(nullptr, false);
    co_return;
  }
  // A reused keep-alive connection the server closed meanwhile fails before any byte of the
  // response: that one try is repeated once on a new connection, as browsers do.
  for (int attempt = 0;; ++attempt) {
    guard->socket = &c->socket;
    std::error_code ec;
    bool connecting = false;
    if (!c->connected) {
      connecting = true;
      const bool v4 = options_.target.address().is_v4();
      c->socket.open(v4 ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), ec);
      if (!ec && v4 && options_.source_addresses > 1) {
        const auto k = static_cast<unsigned>(connections_made_ % options_.source_addresses);
        // The port is picked at connect time, per destination, so many sources do not share
        // one ephemeral port range.
        int on = 1;
        ::setsockopt(c->socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on,
                     sizeof on);
        c->socket.bind({asio::ip::make_address_v4(0x7f000001u + k), 0}, ec);
      }
      if (!ec && !guard->fired) {
        co_await c->socket.async_connect(options_.target, asio::redirect_error(use_awaitable, ec));
      }
      if (!ec && !guard->fired) {
        c->connected = true;
        c->socket.set_option(asio::ip::tcp::no_delay(true), ec);
      }
    }
    if (!ec && !guard->fired) {
      connecting = false;
      co_await asio::async_write(c->socket, asio::buffer(text),
                                 asio::redirect_error(use_awaitable, ec));
    }
    response_reader reader(options_.tally_bodies ? tally_body_limit : 0);
    response_reader::state state = response_reader::state::incomplete;
    std::array<char, 16384> buffer;
    while (!ec && !guard->fired && state == response_reader::state::incomplete) {
      const std::size_t n = co_await c->socket.async_read_some(
          asio::buffer(buffer), asio::redirect_error(use_awaitable, ec));
      state = reader.feed(buffer.data(), n);
      if (ec == asio::error::eof) state = reader.finish();
    }
    if (guard->fired) {
      ++result.timeouts;
      finish(std::move(c), false);
      co_return;
    }
    if (state == response_reader::state::complete) {
      const int status = reader.status();
      if (status >= 200 && status < 300) {
        ++result.ok;
        result.latency.record(micros(clock::now() - due));
        if (options_.tally_bodies) ++result.bodies[reader.body()];
      } else {
        ++result.errors["status_" + std::to_string(status / 100) + "xx"];
      }
      finish(std::move(c), reader.keep_alive() && !ec);
      co_return;
    }
    if (state == response_reader::state::bad) {
      ++result.errors["bad_response"];
      finish(std::move(c), false);
      co_return;
    }
    if (reused && attempt == 0 && !connecting && !reader.started()) {
      std::error_code ignored;
      c->socket.close(ignored);
      c = make_connection();
      continue;
    }
    ++result.errors[error_kind(ec, connecting)];
    finish(std::move(c), false);
    co_return;
  }
}

std::string load_runner::progress_line() const {
  std::uint64_t sent = 0, ok = 0, errors = 0, timeouts = 0;
  for (const auto& phase : report_.results) {
    for (const class_result& r : phase) {
      sent += r.sent;
      ok += r.ok;
      errors += r.error_count();
      timeouts += r.timeouts;
    }
  }
  const double elapsed = std::chrono::duration<double>(clock::now() - start_).count();
  char line[256];
  std::snprintf(line, sizeof line,
                "%6.1fs  sent %llu  ok %llu  errors %llu  timeouts %llu  in flight %llu  "
                "connections %zu   ",
                elapsed, static_cast<unsigned long long>(sent), static_cast<unsigned long long>(ok),
                static_cast<unsigned long long>(errors), static_cast<unsigned long long>(timeouts),
                static_cast<unsigned long long>(in_flight_), open_);
  return line;
}

asio::awaitable<void> load_runner::progress_loop() {
  while (!(dispatch_done_ && in_flight_ == 0)) {
    progress_timer_.expires_after(std::chrono::seconds(1));
    std::error_code ec;
    co_await progress_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    if (!(dispatch_done_ && in_flight_ == 0)) std::cerr << "\r" << progress_line() << std::flush;
  }
}

}  // namespace pinwheel::loadgen
