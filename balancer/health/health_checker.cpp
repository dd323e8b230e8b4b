#include "health/health_checker.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read_until.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "common/spawn_background.hpp"
#include "config/address.hpp"
#include "log/log.hpp"

namespace pinwheel {

namespace {

using asio::ip::tcp;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// While a backend is starting, check often so it takes traffic as soon as it listens.
constexpr std::chrono::milliseconds kStartingInterval = 50ms;

}  // namespace

health_checker::health_checker(asio::io_context& io, const health_options& options,
                               backend_pool& pool, std::function<void(backend&)> on_change)
    : io_(io), options_(options), pool_(pool), on_change_(std::move(on_change)) {}

void health_checker::start() {
  if (options_.kind == health_kind::none) return;
  for (backend* b : pool_.members()) {
    timers_.push_back(std::make_unique<asio::steady_timer>(io_));
    spawn_background(io_, check_loop(*b, *timers_.back()), "health checks of backend " + b->name);
  }
}

void health_checker::stop() {
  stopped_ = true;
  for (auto& timer : timers_) timer->cancel();
}

void health_checker::connect_failed(backend& b, const std::string& why) {
  if (options_.kind == health_kind::none) return;
  report(b, b.health.record(false, health_state::clock::now()), why);
}

void health_checker::process_started(backend& b) {
  if (options_.kind == health_kind::none)
    report(b, b.health.record(true, health_state::clock::now()), "started");
}

void health_checker::process_exited(backend& b, const std::string& why) {
  report(b, b.health.restart(health_state::clock::now()), why);
}

void health_checker::report(backend& b, bool changed, const std::string& why) {
  if (!changed) return;
  log("backend ", b.name, " (", to_string(b.endpoint), ") is ", b.health.up() ? "up" : "down",
      why.empty() ? "" : ": ", why);
  pool_.health_changed(b);
  if (on_change_) on_change_(b);
}

asio::awaitable<void> health_checker::check_loop(backend& b, asio::steady_timer& timer) {
  while (!stopped_) {
    std::optional<std::string> failure = co_await check_once(b);
    if (stopped_) break;
    bool was_starting = b.health.current() == health_state::status::starting;
    bool changed = b.health.record(!failure, health_state::clock::now());
    std::string why = failure ? "check failed: " + *failure
                              : (was_starting ? "first check passed" : "checks passed");
    if (failure && changed)
      why = std::to_string(options_.fall) + " check(s) failed, last: " + *failure;
    report(b, changed, why);
    bool starting = b.health.current() == health_state::status::starting;
    timer.expires_after(
        starting ? std::min<std::chrono::milliseconds>(options_.interval, kStartingInterval)
                 : options_.interval);
    co_await timer.async_wait(use_tuple);
  }
}

asio::awaitable<std::optional<std::string>> health_checker::check_once(const backend& b) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer deadline(io_);
  deadline.expires_after(options_.timeout);
  auto result = co_await (probe(b) || deadline.async_wait(use_tuple));
  if (result.index() == 1) co_return "timed out after " + format_duration(options_.timeout);
  co_return std::get<0>(result);
}

asio::awaitable<std::optional<std::string>> health_checker::probe(const backend& b) {
  tcp::socket socket(io_);
  auto [ec] = co_await socket.async_connect(b.endpoint, use_tuple);
  if (ec) co_return "connect: " + ec.message();
  if (options_.kind == health_kind::tcp) co_return std::nullopt;

  std::string request = "GET " + options_.path + " HTTP/1.0\r\nHost: " + to_string(b.endpoint) +
                        "\r\nUser-Agent: pinwheel-health-check\r\nConnection: close\r\n\r\n";
  std::tie(ec, std::ignore) = co_await asio::async_write(socket, asio::buffer(request), use_tuple);
  if (ec) co_return "sending the request: " + ec.message();
  std::string reply;
  auto [read_ec, line_end] =
      co_await asio::async_read_until(socket, asio::dynamic_buffer(reply, 4096), "\r\n", use_tuple);
  if (read_ec) co_return "reading the status line: " + read_ec.message();
  // "HTTP/1.1 200 OK"
  std::string status_line = reply.substr(0, line_end - 2);
  std::size_t space = status_line.find(' ');
  if (!status_line.starts_with("HTTP/") || space == std::string::npos ||
      status_line.size() < space + 4) {
    co_return "not an HTTP reply: \"" + status_line + "\"";
  }
  if (status_line[space + 1] != '2')
    co_return "GET " + options_.path + " answered \"" + status_line + "\"";
  co_return std::nullopt;
}

}  // namespace pinwheel
