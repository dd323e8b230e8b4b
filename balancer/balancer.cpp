#include "balancer.hpp"

#include <signal.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <random>

#include "common/spawn_background.hpp"
#include "config/address.hpp"
#include "config/config_error.hpp"
#include "config/cpu_plan.hpp"
#include "config/descriptor_limit.hpp"
#include "log/log.hpp"
#include "strategy/strategy_registry.hpp"

namespace pinwheel {

namespace {

// Relay buffers, lent only while bytes move, so idle connections do not pay for them:
// small ones fit typical requests and replies; a direction that fills one moves to
// large ones, so bulk flows need few system calls per byte. Spares are capped so a
// burst does not leave megabytes behind, and the large ones have a memory budget
// (64 MiB): past it, bulk flows carry on with small buffers.
constexpr std::size_t kSmallBufferSize = 16 * 1024;
constexpr std::size_t kLargeBufferSize = 256 * 1024;
constexpr std::size_t kSmallSpares = 64;
constexpr std::size_t kLargeSpares = 8;
constexpr std::size_t kLargeBudget = 64 * 1024 * 1024 / kLargeBufferSize;
// Client addresses the per-client limiter tracks beyond one per open connection (about 70
// bytes each): the recent clients whose rate state is kept.
constexpr std::size_t kLimiterSpare = 65'536;

void fill_pool(backend_pool& pool, const options& o, const run_plan& plan) {
  for (const backend_plan& p : plan.backends) {
    backend b;
    b.name = p.name;
    b.weight = p.weight;
    b.endpoint = p.endpoint;
    b.cpu = p.cpu;
    b.argv = p.argv;
    // Unchecked backends are trusted from the start, unless their READY=1 is what counts.
    b.health = health_state(o.health.rise, o.health.fall,
                            o.health.kind == health_kind::none &&
                                (!b.spawned() || o.backends.readiness == readiness_kind::health));
    pool.add(std::move(b));
  }
}

random_source seeded_random() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine] { return (*engine)(); };
}

std::unique_ptr<strategy> make_chosen_strategy(const options& o, backend_pool& pool) {
  strategy_inputs inputs{seeded_random(), [] { return std::chrono::steady_clock::now(); },
                         o.backends.slow_start};
  auto s = make_strategy(o.balancer.strategy, pool, std::move(inputs));
  pool.set_listener(s.get());
  return s;
}

}  // namespace

balancer::balancer(const options& o, const run_plan& plan)
    : options_(o),
      plan_(plan),
      // One thread: Asio may skip its internal locking.
      io_(1),
      strategy_((fill_pool(pool_, o, plan), make_chosen_strategy(o, pool_))),
      small_buffers_(kSmallBufferSize, kSmallSpares),
      large_buffers_(kLargeBufferSize, kLargeSpares, kLargeBudget),
      health_(io_, o.health, pool_, [this](backend& b) { on_health_change(b); }),
      context_{pool_, strategy_.get(), small_buffers_, large_buffers_, o.balancer.retries},
      limiter_(
          {static_cast<std::uint32_t>(o.limits.per_client_connections), o.limits.per_client_rate},
          // Every open connection's client, plus room for recent ones' rate state.
          o.balancer.max_connections + kLimiterSpare,
          [] { return std::chrono::steady_clock::now(); }),
      server_(io_, o.balancer, context_),
      signals_(io_) {
  if (o.balancer.accept_proxy) context_.trusted = &o.balancer.trusted;
  context_.send_proxy = o.backends.send_proxy;
  if (limiter_.enabled()) context_.limiter = &limiter_;
  health_.send_proxy(o.backends.send_proxy);
  health_.readiness(o.backends.readiness);
  context_.on_connect_failure = [this](backend& b, const std::error_code& ec) {
    health_.connect_failed(b, "proxy connect failed: " + ec.message());
  };
  pool_.on_became_usable([this](backend&) { server_.backend_available(); });
  for (int signal : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM})
    signals_.add(signal);
}

int balancer::run() {
  // Before pinning: the log's writer thread then runs on any core, not on the event loop's.
  open_access_log();
  if (auto ec = pin_to_cpu(0, plan_.balancer_cpu)) {
    log_warning("cannot pin the balancer to cpu ", plan_.balancer_cpu, ": ", ec.message(),
                "; running unpinned");
  }
  for (const std::string& warning : plan_.warnings) log_warning(warning);
  // Writes to a closed peer must come back as EPIPE, not kill the balancer.
  ::signal(SIGPIPE, SIG_IGN);
  // Forked now, while we are small and hold no socket yet.
  if (options_.backends.spawned()) {
    guardian_.emplace(io_);
    guardian_->start();
  }

  asio::ip::tcp::endpoint failed;
  try {
    server_.listen(failed);
  } catch (const std::system_error& e) {
    throw config_error(options_.where("balancer.listen") + ": balancer.listen: cannot listen on " +
                       to_string(failed) + ": " + e.code().message());
  }
  log("listening on ", to_string(server_.local_endpoint()), " (pid ", ::getpid(), ", cpu ",
      plan_.balancer_cpu, ", strategy ", options_.balancer.strategy, ", ", pool_.members().size(),
      " backend(s))");
  auto endpoints = server_.local_endpoints();
  for (std::size_t i = 1; i < endpoints.size(); ++i)
    log("also listening on ", to_string(endpoints[i]));

  limit_connections_to_descriptors();
  spawn_background(io_, handle_signals(), "signal handling");
  if (options_.backends.spawned()) {
    supervisor_.emplace(io_, options_.backends, pool_, health_, process_env_,
                        guardian_ ? &*guardian_ : nullptr, [this](backend& b) { on_given_up(b); });
    supervisor_->start();
  }
  health_.start();
  // Clients are accepted at once: until a backend is up they wait (up to connect_timeout)
  // instead of sitting unanswered in the kernel's backlog.
  server_.start();
  if (pool_.usable_count() > 0) on_health_change(*pool_.members().front());

  io_.run();
  return exit_code_;
}

void balancer::open_access_log() {
  const access_log_options& o = options_.access_log;
  if (!o.enabled) return;
  try {
    access_log_ = std::make_unique<access_log>(o);
  } catch (const std::system_error& e) {
    throw config_error(options_.locate("access_log.path") + ": cannot open " + o.path +
                       " for appending: " + e.code().message());
  }
  context_.connections_log = access_log_.get();
  log("access log: ", o.path, " (", o.format == access_log_format::json ? "json" : "text", ")");
}

void balancer::reopen_access_log() {
  if (!access_log_) {
    log("SIGUSR1: the access log is off ([access_log] enabled = false): nothing to reopen");
  } else if (access_log_->reopen()) {
    log("SIGUSR1: reopening the access log ", access_log_->path());
  } else {
    log("SIGUSR1: the access log goes to ", access_log_->path(), ": nothing to reopen");
  }
}

void balancer::limit_connections_to_descriptors() {
  // Each proxied connection holds two descriptors; the rest (listener, health probes, pipes to
  // the backends, the event loop's own) must always fit, or EMFILE would hit connects and
  // probes instead of simply pausing accept. The plan has warned already when they do not.
  std::uint64_t fit = connections_that_fit(plan_.open_files, pool_.members().size());
  if (fit >= options_.balancer.max_connections) return;
  server_.limit_connections(std::max<std::uint64_t>(fit, 1));
}

void balancer::on_health_change(backend&) {
  if (stopping_) return;
  std::size_t usable = pool_.usable_count();
  std::string status = std::to_string(usable) + " of " + std::to_string(pool_.members().size()) +
                       " backend(s) up, serving on " + to_string(server_.local_endpoint());
  if (!ready_ && usable > 0) {
    ready_ = true;
    log("ready: a backend is up, serving on ", to_string(server_.local_endpoint()));
    service_.send("READY=1\nSTATUS=" + status);
    return;
  }
  service_.send("STATUS=" + status);
  if (ready_ && usable == 0) {
    log_warning("no backend is up: new connections wait up to connect_timeout (",
                format_duration(options_.balancer.connect_timeout), ") for one to come back");
  }
}

void balancer::on_given_up(backend&) {
  for (const backend* b : pool_.members()) {
    if (b->spawned() && !b->process.given_up) return;
  }
  log("every backend has been given up (each kept exiting within min_uptime of starting; see "
      "their output above): nothing is left to serve, stopping with exit status 1 so a service "
      "manager restarts Pinwheel");
  stop("all backends given up", 1);
}

void balancer::stop(const std::string& why, int exit_code) {
  if (stopping_) return;
  log(why, ": stopping (new connections refused, open ones may finish)");
  stopping_ = true;
  exit_code_ = exit_code;
  service_.send("STOPPING=1\nSTATUS=stopping: " + why);
  spawn_background(io_, shutdown(), "shutdown");
}

asio::awaitable<void> balancer::handle_signals() {
  for (;;) {
    auto [ec, signal] =
        co_await signals_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    const char* name = strsignal(signal);
    switch (signal) {
      case SIGINT:
      case SIGTERM:
      case SIGQUIT:
        // First: drain. Second: cut the drain short. Third: SIGKILL the backends.
        if (++stop_signals_seen_ == 1) {
          stop(name, exit_code_);
        } else if (stop_signals_seen_ == 2) {
          log(name, " again: resetting open connections now");
          server_.abort_all(end_reason::drain_cut);
        } else if (supervisor_) {
          log(name, " a third time: killing the backends");
          supervisor_->kill_all();
        }
        break;
      case SIGHUP:
        log(name,
            " (SIGHUP): configuration reload is not supported yet; ignored, "
            "nothing changed");
        break;
      case SIGUSR1:
        reopen_access_log();
        break;
      default:
        log(name, " (signal ", signal, "): ignored");
        break;
    }
  }
}

asio::awaitable<void> balancer::shutdown() {
  co_await server_.drain();
  health_.stop();
  if (supervisor_) co_await supervisor_->stop();
  if (guardian_) guardian_->stop();
  if (access_log_ && access_log_->lines_dropped() > 0) {
    log_warning("the access log dropped ", access_log_->lines_dropped(),
                " line(s) in all: its writer could not keep up");
  }
  log("stopped");
  signals_.cancel();
  io_.stop();
}

}  // namespace pinwheel
