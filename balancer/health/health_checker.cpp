#include "health/health_checker.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read_until.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "common/local_error.hpp"
#include "common/spawn_background.hpp"
#include "config/address.hpp"
#include "log/log.hpp"
#include "proxy_protocol/header_encoder.hpp"

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
    watch& w = *watches_.emplace(b, std::make_unique<watch>(io_)).first->second;
    spawn_background(io_, check_loop(*b, w), "health checks of backend " + b->name);
  }
}

void health_checker::add(backend& b) {
  if (options_.kind == health_kind::none || stopped_ || watches_.count(&b) != 0) return;
  watch& w = *watches_.emplace(&b, std::make_unique<watch>(io_)).first->second;
  spawn_background(io_, check_loop(b, w), "health checks of backend " + b.name);
}

void health_checker::remove(backend& b) {
  auto it = watches_.find(&b);
  if (it == watches_.end()) return;
  it->second->retired = true;
  it->second->timer.cancel();
}

void health_checker::stop() {
  stopped_ = true;
  for (auto& [b, w] : watches_) w->timer.cancel();
}

void health_checker::connect_failed(backend& b, const std::string& why) {
  if (options_.kind == health_kind::none) return;
  report(b, b.health.record(false, health_state::clock::now()), why);
}

bool health_checker::awaits_ready(const backend& b) const {
  return b.spawned() && readiness_ != readiness_kind::health && !b.notify.ready;
}

void health_checker::ready_announced(backend& b) {
  if (readiness_ == readiness_kind::health) return;
  bool starting = b.health.current() == health_state::status::starting;
  if (starting && (readiness_ == readiness_kind::notify || options_.kind == health_kind::none)) {
    report(b, b.health.record(true, health_state::clock::now()), "sent READY=1");
    return;
  }
  // "both": the next check, due now, decides.
  if (auto it = watches_.find(&b); it != watches_.end()) it->second->timer.cancel();
}

void health_checker::stopping_announced(backend& b) {
  report(b, b.health.restart(health_state::clock::now()), "sent STOPPING=1");
}

void health_checker::process_started(backend& b) {
  if (options_.kind == health_kind::none) {
    // Trusted at once, unless its READY=1 is what counts.
    if (awaits_ready(b)) return;
    report(b, b.health.record(true, health_state::clock::now()), "started");
    return;
  }
  // Wake a loop that waits for a process (or for the next check of the previous one).
  if (auto it = watches_.find(&b); it != watches_.end()) it->second->timer.cancel();
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

bool health_checker::checkable(const backend& b) {
  return !b.spawned() || (b.process.pid != 0 && !b.process.given_up);
}

asio::awaitable<void> health_checker::check_loop(backend& b, watch& w) {
  while (!stopped_ && !w.retired) {
    if (!checkable(b)) {
      // Nothing listens there that we started: wait for process_started() or stop().
      w.timer.expires_at(asio::steady_timer::time_point::max());
      co_await w.timer.async_wait(use_tuple);
      continue;
    }
    // A process cannot listen the moment it is forked.
    auto first_check = b.process.started + kStartingInterval;
    if (b.spawned() && asio::steady_timer::clock_type::now() < first_check) {
      w.timer.expires_at(first_check);
      co_await w.timer.async_wait(use_tuple);
      continue;
    }
    auto checked_process = b.process.started;
    auto check_started = asio::steady_timer::clock_type::now();
    check_result result = co_await check_once(b);
    if (stopped_ || w.retired) break;
    b.last_check_duration = asio::steady_timer::clock_type::now() - check_started;
    // A result about a process that has exited since says nothing about its successor.
    if (checkable(b) && b.process.started == checked_process) record(b, w, result);
    bool starting = b.health.current() == health_state::status::starting;
    w.timer.expires_after(
        starting ? std::min<std::chrono::milliseconds>(options_.interval, kStartingInterval)
                 : options_.interval);
    co_await w.timer.async_wait(use_tuple);
  }
}

void health_checker::record(backend& b, watch& w, const check_result& result) {
  auto now = health_state::clock::now();
  if (result.what == check_result::outcome::skipped) {
    if (!w.skipping) {
      log_warning("health check of backend ", b.name, " (", to_string(b.endpoint),
                  ") skipped: ", result.why,
                  " (the balancer's own shortage, not the backend's: not counted; further skips "
                  "are not logged until a check completes)");
    }
    w.skipping = true;
    return;
  }
  if (w.skipping) {
    log("health checks of backend ", b.name, " (", to_string(b.endpoint),
        ") complete again: results count again");
    w.skipping = false;
  }

  bool passed = result.what == check_result::outcome::passed;
  if (!passed) ++b.check_failures;
  bool was_starting = b.health.current() == health_state::status::starting;
  if (was_starting && w.starting_since != b.health.since()) {
    w.starting_failures.reset();
    w.starting_since = b.health.since();
  }
  if (was_starting && !passed) {
    if (auto line = w.starting_failures.failed(result.why, now))
      log("backend ", b.name, " (", to_string(b.endpoint), ") is still starting: ", *line);
  }

  // Starting under "notify" or "both": a passing check alone does not bring it up.
  bool notify_decides = was_starting && (readiness_ == readiness_kind::notify || awaits_ready(b));
  if (passed && notify_decides) return;
  bool changed = b.health.record(passed, now);
  std::string why;
  if (passed && was_starting) {
    int failures = w.starting_failures.failures();
    why = failures == 0 ? "first check passed"
                        : "first check passed (after " + std::to_string(failures) + " failed)";
  } else if (passed) {
    why = "checks passed";
  } else {
    why = changed ? std::to_string(options_.fall) + " check(s) failed, last: " + result.why
                  : "check failed: " + result.why;
  }
  report(b, changed, why);
}

asio::awaitable<health_checker::check_result> health_checker::check_once(const backend& b) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer deadline(io_);
  deadline.expires_after(options_.timeout);
  auto result = co_await (probe(b) || deadline.async_wait(use_tuple));
  if (result.index() == 1)
    co_return check_result{check_result::outcome::failed,
                           "timed out after " + format_duration(options_.timeout)};
  co_return std::get<0>(std::move(result));
}

asio::awaitable<health_checker::check_result> health_checker::probe(const backend& b) {
  using outcome = check_result::outcome;
  // Out of descriptors, buffers, memory or ports: our problem, not the backend's.
  auto error = [](const char* step, const std::error_code& ec) {
    return check_result{is_local_error(ec) ? outcome::skipped : outcome::failed,
                        std::string(step) + ": " + ec.message()};
  };
  tcp::socket socket(io_);
  // Undone however the check ends, a timeout's cancellation included.
  struct undo {
    std::function<void()> action;
    ~undo() {
      if (action) action();
    }
  } unroute;
  if (route_) {
    std::error_code route_error;
    unroute.action = route_(b, socket, route_error);
    if (route_error) co_return error("preparing the check's socket", route_error);
  }
  auto [ec] = co_await socket.async_connect(b.endpoint, use_tuple);
  if (ec) co_return error("connect", ec);
  std::string request;
  if (send_proxy_ == proxy_protocol::version::v2 ||
      (send_proxy_ == proxy_protocol::version::v1 && options_.kind == health_kind::http)) {
    auto header = proxy_protocol::encode_local(send_proxy_);
    request.assign(header.bytes.data(), header.size);
  }
  if (options_.kind == health_kind::tcp) {
    if (request.empty()) co_return check_result{};
    std::tie(ec, std::ignore) =
        co_await asio::async_write(socket, asio::buffer(request), use_tuple);
    if (ec) co_return error("sending the PROXY header", ec);
    co_return check_result{};
  }

  request += "GET " + options_.path + " HTTP/1.0\r\nHost: " + to_string(b.endpoint) +
             "\r\nUser-Agent: pinwheel-health-check\r\nConnection: close\r\n\r\n";
  std::tie(ec, std::ignore) = co_await asio::async_write(socket, asio::buffer(request), use_tuple);
  if (ec) co_return error("sending the request", ec);
  std::string reply;
  auto [read_ec, line_end] =
      co_await asio::async_read_until(socket, asio::dynamic_buffer(reply, 4096), "\r\n", use_tuple);
  if (read_ec) co_return error("reading the status line", read_ec);
  // "HTTP/1.1 200 OK"
  std::string status_line = reply.substr(0, line_end - 2);
  std::size_t space = status_line.find(' ');
  if (!status_line.starts_with("HTTP/") || space == std::string::npos ||
      status_line.size() < space + 4) {
    co_return check_result{outcome::failed, "not an HTTP reply: \"" + status_line + "\""};
  }
  if (status_line[space + 1] != '2') {
    co_return check_result{outcome::failed,
                           "GET " + options_.path + " answered \"" + status_line + "\""};
  }
  co_return check_result{};
}

}  // namespace pinwheel
