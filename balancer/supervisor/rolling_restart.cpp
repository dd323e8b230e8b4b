#include "supervisor/rolling_restart.hpp"

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "common/spawn_background.hpp"
#include "log/log.hpp"

namespace pinwheel {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
// How often the roll-out looks at connection counts and health: cheap, and well below any
// check interval.
constexpr auto kPollPeriod = std::chrono::milliseconds(20);

}  // namespace

rolling_restart::rolling_restart(asio::io_context& io, backend_pool& pool, supervisor& supervisor,
                                 const duration& drain_timeout)
    : io_(io), pool_(pool), supervisor_(supervisor), drain_timeout_(drain_timeout) {}

void rolling_restart::restart(backend& b) { enqueue({&b, false}); }

void rolling_restart::remove(backend& b) { enqueue({&b, true}); }

void rolling_restart::stop() {
  stopped_ = true;
  queue_.clear();
}

void rolling_restart::enqueue(step s) {
  if (stopped_) return;
  for (step& queued : queue_) {
    if (queued.target == s.target) {
      queued.remove = queued.remove || s.remove;
      return;
    }
  }
  // One in progress that is only restarting must still be removed afterwards.
  if (s.target == current_ && !s.remove) return;
  queue_.push_back(s);
  if (!busy_) {
    busy_ = true;
    spawn_background(io_, run(), "rolling restart");
  }
}

asio::awaitable<void> rolling_restart::pause() {
  asio::steady_timer timer(io_, kPollPeriod);
  co_await timer.async_wait(use_tuple);
}

asio::awaitable<void> rolling_restart::drain(backend& b) {
  auto deadline = std::chrono::steady_clock::now() + drain_timeout_;
  while (b.active_connections > 0 && std::chrono::steady_clock::now() < deadline && !stopped_)
    co_await pause();
  if (b.active_connections > 0) {
    log("backend ", b.name, ": ", b.active_connections, " connection(s) still open after ",
        "drain_timeout (", format_duration(drain_timeout_), "); they end with its process");
  }
}

asio::awaitable<bool> rolling_restart::wait_until_up(backend& b) {
  auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  while (!b.health.up() && std::chrono::steady_clock::now() < deadline && !stopped_) {
    if (b.process.given_up) co_return false;
    co_await pause();
  }
  co_return b.health.up();
}

asio::awaitable<void> rolling_restart::run() {
  while (!queue_.empty() && !stopped_) {
    step s = queue_.front();
    queue_.pop_front();
    backend& b = *s.target;
    current_ = &b;
    bool we_drained = b.admin == admin_state::enabled;
    if (we_drained) pool_.set_admin(b, admin_state::draining);
    log(s.remove ? "removing" : "restarting", " backend ", b.name, ": draining (",
        b.active_connections, " connection(s) open, ", queue_.size(), " more queued)");
    co_await drain(b);
    if (stopped_) break;
    if (s.remove) {
      co_await supervisor_.stop_one(b);
      pool_.retire(b);
      log("backend ", b.name, " removed");
      continue;
    }
    pid_t old_pid = b.process.pid;
    co_await supervisor_.replace(b);
    bool up = co_await wait_until_up(b);
    // Lift only our own drain: an operator may have disabled it meanwhile.
    if (we_drained && b.admin == admin_state::draining) pool_.set_admin(b, admin_state::enabled);
    if (!up) {
      log_warning("backend ", b.name, " is not up ", kReadyTimeout.count(),
                  "s after its restart; rolling restart stopped, ", queue_.size(),
                  " backend(s) keep their old process");
      queue_.clear();
      break;
    }
    log("backend ", b.name, " restarted: pid ", old_pid, " -> ", b.process.pid, ", up");
  }
  current_ = nullptr;
  busy_ = false;
}

}  // namespace pinwheel
