#include "balancer.hpp"

#include <signal.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include "config/address.hpp"
#include "config/config_error.hpp"
#include "config/cpu_plan.hpp"
#include "log/log.hpp"
#include "strategy/strategy_registry.hpp"

namespace pinwheel {

namespace {

// Relay buffers, lent only while bytes move, so idle connections do not pay for them:
// small ones fit typical requests and replies; a direction that fills one moves to
// large ones, so bulk flows need few system calls per byte. Spares are capped so a
// burst does not leave megabytes behind.
constexpr std::size_t kSmallBufferSize = 16 * 1024;
constexpr std::size_t kLargeBufferSize = 256 * 1024;
constexpr std::size_t kSmallSpares = 64;
constexpr std::size_t kLargeSpares = 8;

std::vector<backend> make_backends(const options& o, const run_plan& plan) {
  std::vector<backend> backends;
  for (const backend_plan& p : plan.backends) {
    backend b;
    b.index = p.index;
    b.endpoint = p.endpoint;
    b.cpu = p.cpu;
    b.health = health_state(o.health.rise, o.health.fall, o.health.kind == health_kind::none);
    backends.push_back(b);
  }
  return backends;
}

}  // namespace

balancer::balancer(const options& o, const run_plan& plan)
    : options_(o),
      plan_(plan),
      // One thread: Asio may skip its internal locking.
      io_(1),
      backends_(make_backends(o, plan)),
      strategy_(make_strategy(o.balancer.strategy)),
      small_buffers_(kSmallBufferSize, kSmallSpares),
      large_buffers_(kLargeBufferSize, kLargeSpares),
      health_(io_, o.health, backends_, [this](backend& b) { on_health_change(b); }),
      context_{backends_, *strategy_, small_buffers_, large_buffers_, o.balancer.retries},
      server_(io_, o.balancer, context_),
      stop_signals_(io_, SIGINT, SIGTERM) {
  context_.on_connect_failure = [this](backend& b, const std::error_code& ec) {
    health_.connect_failed(b, "proxy connect failed: " + ec.message());
  };
}

int balancer::run() {
  if (auto ec = pin_to_cpu(0, plan_.balancer_cpu)) {
    log_warning("cannot pin the balancer to cpu ", plan_.balancer_cpu, ": ", ec.message(),
                "; running unpinned");
  }
  for (const std::string& warning : plan_.warnings) log_warning(warning);
  // Writes to a closed peer must come back as EPIPE, not kill the balancer.
  ::signal(SIGPIPE, SIG_IGN);

  try {
    server_.listen();
  } catch (const std::system_error& e) {
    throw config_error(options_.where("balancer.listen") + ": balancer.listen: cannot listen on " +
                       to_string(options_.balancer.listen) + ": " + e.code().message());
  }
  log("listening on ", to_string(server_.local_endpoint()), " (pid ", ::getpid(), ", cpu ",
      plan_.balancer_cpu, ", strategy ", options_.balancer.strategy, ", ", backends_.size(),
      " backend(s))");

  asio::co_spawn(io_, handle_signals(), asio::detached);
  if (options_.backends.spawned()) {
    supervisor_.emplace(io_, options_.backends, plan_, backends_, health_);
    supervisor_->start();
  }
  health_.start();
  if (options_.health.kind == health_kind::none) on_health_change(backends_.front());

  io_.run();
  return 0;
}

void balancer::on_health_change(backend& b) {
  if (stopping_) return;
  if (!ready_ && b.usable()) {
    ready_ = true;
    server_.start();
    log("ready: accepting connections on ", to_string(server_.local_endpoint()));
  } else if (ready_ && backends_up() == 0) {
    log_warning("no backend is up: new connections are closed until one comes back");
  }
}

std::size_t balancer::backends_up() const {
  std::size_t up = 0;
  for (const backend& b : backends_) up += b.usable();
  return up;
}

asio::awaitable<void> balancer::handle_signals() {
  // First signal: drain. Second: cut the drain short. Third: SIGKILL the backends.
  for (int count = 1;; ++count) {
    auto [ec, signal] =
        co_await stop_signals_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    if (count == 1) {
      log(strsignal(signal), ": stopping (new connections refused, open ones may finish)");
      stopping_ = true;
      asio::co_spawn(io_, shutdown(), asio::detached);
    } else if (count == 2) {
      log(strsignal(signal), " again: closing open connections now");
      server_.abort_all();
    } else if (supervisor_) {
      log(strsignal(signal), " a third time: killing the backends");
      supervisor_->kill_all();
    }
  }
}

asio::awaitable<void> balancer::shutdown() {
  co_await server_.drain();
  health_.stop();
  if (supervisor_) co_await supervisor_->stop();
  log("stopped");
  stop_signals_.cancel();
  io_.stop();
}

}  // namespace pinwheel
