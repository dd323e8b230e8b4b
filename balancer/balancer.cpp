#include "balancer.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <future>
#include <random>

#include "common/proc_stat.hpp"
#include "common/spawn_background.hpp"
#include "config/address.hpp"
#include "config/config_error.hpp"
#include "config/cpu_plan.hpp"
#include "config/descriptor_limit.hpp"
#include "config/host_facts.hpp"
#include "config/validate_plan.hpp"
#include "direct/steering_kind.hpp"
#include "log/log.hpp"
#include "metrics/proc_reader.hpp"
#include "metrics/take_snapshot.hpp"
#include "strategy/strategy_registry.hpp"
#include "supervisor/drop_privileges.hpp"

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
// A bulk direction splices through a pipe as large as a large buffer, while one is left.
constexpr std::size_t kPipeSize = kLargeBufferSize;
// Client addresses the per-client limiter tracks beyond one per open connection (about 70
// bytes each): the recent clients whose rate state is kept.
constexpr std::size_t kLimiterSpare = 65'536;
// Direct mode's least-busy: a backend whose run time advanced this share of the wall clock,
// over a window this long, is on CPU. The kernel accounts run time in 4 ms ticks, and a
// waiting process's delay only when it runs again: over shorter windows, or at the load
// tracker's own 0.9, a backend spinning the whole time now and then reads as idle.
constexpr double kBusyCpuShare = 0.75;
constexpr std::chrono::milliseconds kBusyCpuWindow{40};

// Least-busy's levels: 0 idle; 1 its queue holds connections it does not take; 2 on CPU. A
// backend on CPU is busier than one whose queue merely holds a few connections: a burst of
// new connections fills an idle backend's queue for a moment too.
int busy_level(const direct::backend_load& load) {
  if (!load.busy) return 0;
  return load.cpu_share && *load.cpu_share >= kBusyCpuShare ? 2 : 1;
}

backend backend_for(const backend_plan& p, std::string name, const options& o) {
  backend b;
  b.name = std::move(name);
  b.weight = p.weight;
  b.endpoint = p.endpoint;
  b.cpu = p.cpu;
  b.argv = p.argv;
  // Unchecked backends are trusted from the start, unless their READY=1 is what counts.
  b.health = health_state(o.health.rise, o.health.fall,
                          o.health.kind == health_kind::none &&
                              (!b.spawned() || o.backends.readiness == readiness_kind::health));
  return b;
}

void fill_pool(backend_pool& pool, const options& o, const run_plan& plan) {
  for (const backend_plan& p : plan.backends) pool.add(backend_for(p, p.name, o));
}

// The host as a reload plans on it: the cores as they were at start-up (the balancer has
// pinned itself since, so its own affinity now names one core), and the addresses this run
// holds itself count as free.
host_facts reload_host_facts(const std::vector<int>& cpus,
                             std::vector<asio::ip::tcp::endpoint> held) {
  host_facts facts = read_host_facts();
  facts.cpus = cpus;
  auto real = facts.try_bind;
  facts.try_bind = [held = std::move(held), real](const asio::ip::tcp::endpoint& e, bool reuse) {
    if (std::find(held.begin(), held.end(), e) != held.end()) return std::error_code();
    return real(e, reuse);
  };
  return facts;
}

random_source seeded_random() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine] { return (*engine)(); };
}

std::unique_ptr<strategy> make_chosen_strategy(const std::string& name, const options& o,
                                               backend_pool& pool) {
  strategy_inputs inputs{seeded_random(), [] { return std::chrono::steady_clock::now(); },
                         o.backends.slow_start};
  auto s = make_strategy(name, pool, std::move(inputs));
  pool.set_listener(s.get());
  return s;
}

}  // namespace

balancer::balancer(options& o, run_plan& plan, overrides flags)
    : options_(o),
      plan_(plan),
      flags_(std::move(flags)),
      // One thread: Asio may skip its internal locking.
      io_(1),
      strategy_((fill_pool(pool_, o, plan), make_chosen_strategy(o.balancer.strategy, o, pool_))),
      strategy_name_(o.balancer.strategy),
      small_buffers_(kSmallBufferSize, kSmallSpares),
      large_buffers_(kLargeBufferSize, kLargeSpares, kLargeBudget),
      pipes_(kPipeSize, o.balancer.pipes()),
      health_(io_, o.health, pool_, [this](backend& b) { on_health_change(b); }),
      context_{pool_, strategy_.get(), small_buffers_, large_buffers_, o.balancer.retries},
      limiter_(
          {static_cast<std::uint32_t>(o.limits.per_client_connections), o.limits.per_client_rate},
          // Every open connection's client, plus room for recent ones' rate state.
          o.balancer.max_connections + kLimiterSpare,
          [] { return std::chrono::steady_clock::now(); }),
      server_(io_, o.balancer, context_),
      signals_(io_),
      admin_protocol_(pool_, *this),
      next_server_name_(plan.backends.size()) {
  if (o.balancer.accept_proxy) context_.trusted = &o.balancer.trusted;
  if (o.balancer.pipes() > 0) context_.pipes = &pipes_;
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
  // Read before pinning: the metrics thread runs on the cores the balancer leaves.
  std::error_code affinity_error;
  std::vector<int> allowed = allowed_cpus(0, affinity_error);
  // Before pinning: reloads plan on the cores this process was given.
  host_cpus_ = read_host_facts().cpus;
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

  if (direct_mode()) {
    open_direct_listeners();
  } else {
    asio::ip::tcp::endpoint failed;
    try {
      server_.listen(failed);
    } catch (const std::system_error& e) {
      throw config_error(options_.where("balancer.listen") +
                         ": balancer.listen: cannot listen on " + to_string(failed) + ": " +
                         e.code().message());
    }
    log("listening on ", to_string(server_.local_endpoint()), " (pid ", ::getpid(), ", cpu ",
        plan_.balancer_cpu, ", strategy ", options_.balancer.strategy, ", ", pool_.members().size(),
        " backend(s))");
    auto endpoints = server_.local_endpoints();
    for (std::size_t i = 1; i < endpoints.size(); ++i)
      log("also listening on ", to_string(endpoints[i]));
  }

  if (!options_.admin.socket.empty()) {
    admin_server_.emplace(io_, admin_protocol_, options_.admin.timeout);
    try {
      admin_server_->open(options_.admin.socket);
    } catch (const std::runtime_error& e) {
      throw config_error(options_.locate("admin.socket") + ": " + e.what());
    }
  }

  limit_connections_to_descriptors();
  if (options_.metrics.enabled) start_metrics(allowed);
  // Everything that may need root is bound or open; backends start after this.
  give_up_root();
  spawn_background(io_, handle_signals(), "signal handling");
  if (options_.backends.spawned()) {
    supervisor_.emplace(io_, options_.backends, pool_, health_, process_env_,
                        guardian_ ? &*guardian_ : nullptr, [this](backend& b) { on_given_up(b); });
    if (direct_group_) {
      for (std::size_t i = 0; i < pool_.members().size(); ++i)
        supervisor_->adopt_listener(*pool_.members()[i], direct_group_->listener_fd(i));
    }
    supervisor_->start();
    rolling_.emplace(io_, pool_, *supervisor_, options_.balancer.drain_timeout);
    memory_watch_.emplace(io_, pool_, options_.backends, read_resident_bytes,
                          [this](backend& b) { rolling_->restart(b); });
    memory_watch_->start();
    autoscaler_.emplace(
        io_, options_, pool_, [this] { return static_cast<int>(plan_.backends.size()); },
        [this](int count) { return scale_to(count); }, read_cpu_seconds);
    autoscaler_->start();
  }
  if (admin_server_) {
    admin_server_->start();
    log("admin socket ", options_.admin.socket, " (pinwheel ctl)");
  }
  health_.start();
  // Clients are accepted at once: until a backend is up they wait (up to connect_timeout)
  // instead of sitting unanswered in the kernel's backlog. In direct mode the kernel holds
  // them until a backend is up and the program names its socket.
  if (!direct_mode()) server_.start();
  if (pool_.usable_count() > 0) on_health_change(*pool_.members().front());

  io_.run();
  // Before anything a snapshot reads goes away.
  if (metrics_) metrics_->stop();
  return exit_code_;
}

void balancer::open_direct_listeners() {
  const asio::ip::tcp::endpoint& listen = options_.balancer.listen;
  sockaddr_storage address{};
  std::memcpy(&address, listen.data(), listen.size());
  try {
    direct_group_.emplace(address, pool_.members().size());
  } catch (const std::system_error& e) {
    throw std::runtime_error(options_.locate("balancer.mode") +
                             " = \"direct\": cannot set up the shared listening sockets on " +
                             to_string(listen) + ": " + e.what());
  }
  // Checks and the status line name an address a client can connect to.
  asio::ip::address host = listen.address();
  if (host.is_unspecified())
    host = host.is_v4() ? asio::ip::address(asio::ip::address_v4::loopback())
                        : asio::ip::address(asio::ip::address_v6::loopback());
  direct_endpoint_ = asio::ip::tcp::endpoint(host, direct_group_->port());
  auto kind = direct::steering_for(options_.balancer.strategy);
  steering_.emplace(pool_, *direct_group_, kind.value_or(direct::steering_kind::rotation));
  for (std::size_t i = 0; i < pool_.members().size(); ++i) {
    backend& b = *pool_.members()[i];
    b.endpoint = direct_endpoint_;
    steering_->assign(b, i);
  }
  pool_.set_listener(&*steering_);
  load_.emplace(pool_.members().size(), direct::busy_rule{1, kBusyCpuShare, kBusyCpuWindow});
  for (std::size_t i = 0; i < pool_.members().size(); ++i)
    load_->watch_listener(i, direct_group_->listener_fd(i));
  steering_->set_busyness([this](const backend& b) {
    int socket = steering_->socket_of(b);
    return socket < 0 ? 0 : busy_level(load_->load(static_cast<std::size_t>(socket)));
  });
  steering_->refresh();
  spawn_background(io_, watch_load(), "least-busy sampling");
  health_.route_probes([this](const backend& b, asio::ip::tcp::socket& socket,
                              std::error_code& ec) { return route_probe(b, socket, ec); });
  log("listening on ", to_string(asio::ip::tcp::endpoint(listen.address(), direct_group_->port())),
      " (pid ", ::getpid(), ", cpu ", plan_.balancer_cpu, ", strategy ", options_.balancer.strategy,
      ", ", pool_.members().size(),
      " backend(s); direct mode: one listening socket per backend, and the kernel hands each "
      "connection to the one Pinwheel's program picks)");
}

std::function<void()> balancer::route_probe(const backend& b, asio::ip::tcp::socket& socket,
                                            std::error_code& ec) {
  int target = steering_->socket_of(b);
  if (target < 0) {
    ec = std::make_error_code(std::errc::invalid_argument);
    return {};
  }
  socket.open(direct_endpoint_.protocol(), ec);
  if (!ec) socket.bind(asio::ip::tcp::endpoint(direct_endpoint_.protocol(), 0), ec);
  if (ec) return {};
  std::uint16_t port = socket.local_endpoint(ec).port();
  if (ec) return {};
  try {
    direct_group_->steer_probe(port, static_cast<std::size_t>(target));
  } catch (const std::system_error& e) {
    ec = e.code();  // the probe map is full: a shortage of ours, never the backend's
    return {};
  }
  // Runs before the check's socket closes, so a later check reusing the port keeps its entry.
  return [this, port] {
    if (direct_group_) direct_group_->forget_probe(port);
  };
}

asio::awaitable<void> balancer::watch_load() {
  asio::steady_timer timer(io_);
  std::vector<int> was(pool_.members().size(), 0);
  std::uint64_t ticks = 0;
  for (;;) {
    // Least-busy steers by these readings; the other strategies need none.
    bool sampling = steering_->kind() == direct::steering_kind::least_busy;
    timer.expires_after(sampling ? std::chrono::milliseconds(1) : std::chrono::milliseconds(100));
    auto [ec] = co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (ec || stopping_) co_return;
    // The kernel program's counts are the connections each backend got (for status and
    // metrics, which read them from the pool): read every 100 ms, one bpf() call.
    if (!sampling || ++ticks % 100 == 0) {
      std::vector<std::uint64_t> steered = direct_group_->steered_counts();
      for (std::size_t i = 0; i < steered.size() && i < pool_.members().size(); ++i) {
        backend& b = *pool_.members()[i];
        b.total_connections = b.picked = steered[i];
      }
    }
    if (!sampling) continue;
    bool changed = false;
    for (std::size_t i = 0; i < pool_.members().size(); ++i)
      load_->watch_process(i, pool_.members()[i]->process.pid);
    load_->sample();
    for (std::size_t i = 0; i < was.size(); ++i) {
      int now = busy_level(load_->load(i));
      changed = changed || now != was[i];
      was[i] = now;
    }
    if (changed) steering_->refresh();
  }
}

asio::ip::tcp::endpoint balancer::public_endpoint() const {
  return direct_mode() ? direct_endpoint_ : server_.local_endpoint();
}

void balancer::start_metrics(const std::vector<int>& allowed) {
  metrics_.emplace(options_.metrics.listen, [this] { return snapshot_from_loop(); });
  try {
    metrics_->listen();
  } catch (const std::system_error& e) {
    throw config_error(options_.locate("metrics.listen") + ": cannot listen on " +
                       to_string(options_.metrics.listen) + ": " + e.code().message());
  }
  std::vector<int> cpus;
  for (int cpu : allowed)
    if (cpu != plan_.balancer_cpu) cpus.push_back(cpu);
  std::string where = allowed.empty() ? "unpinned: the allowed cores could not be read"
                      : cpus.empty()
                          ? "sharing the balancer's only core"
                          : "off the balancer's core " + std::to_string(plan_.balancer_cpu);
  std::string address = to_string(metrics_->local_endpoint());
  log("metrics on http://", address, "/metrics, status page on http://", address, "/ (", where,
      ")");
  metrics_->start(cpus);
}

std::optional<balancer_snapshot> balancer::snapshot_from_loop() {
  auto promise = std::make_shared<std::promise<balancer_snapshot>>();
  std::future<balancer_snapshot> copy = promise->get_future();
  asio::post(io_, [this, promise] {
    snapshot_sources from{pool_, server_, context_.stats, PINWHEEL_VERSION,
                          options_.balancer.strategy};
    balancer_snapshot s =
        take_snapshot(from, std::chrono::system_clock::now(), std::chrono::steady_clock::now());
    if (options_.backends.spawned()) s.backends_desired = plan_.backends.size();
    s.splice_pipes_active = pipes_.lent();
    s.max_splice_pipes = options_.balancer.pipes();
    if (direct_group_) {
      // Our own listening sockets: a failed read is left out of the scrape, never fatal.
      for (std::size_t i = 0; i < s.backends.size() && i < direct_group_->size(); ++i) {
        try {
          s.backends[i].accept_queue =
              direct::read_accept_queue(direct_group_->listener_fd(i)).waiting;
        } catch (const std::system_error&) {
        }
      }
    }
    if (options_.backends.autoscaled()) {
      s.autoscale_min = static_cast<std::uint64_t>(options_.backends.min);
      s.autoscale_max = static_cast<std::uint64_t>(options_.backends.max);
    }
    promise->set_value(std::move(s));
  });
  // The handler keeps the promise alive: if it runs after we gave up, its copy is dropped.
  if (copy.wait_for(std::chrono::seconds(1)) != std::future_status::ready) return std::nullopt;
  try {
    return copy.get();
  } catch (const std::future_error&) {
    return std::nullopt;  // the loop was destroyed with the request still queued
  }
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

void balancer::give_up_root() {
  const run_as& user = options_.balancer.user;
  if (!user.set()) return;
  if (::geteuid() == 0) {
    // HAProxy's `stats socket ... user`: the operator who runs as this user may use ctl too
    // (root always may); the mode stays 0600.
    if (admin_server_ && ::chown(options_.admin.socket.c_str(), user.uid, user.gid) != 0) {
      throw std::runtime_error("cannot hand the admin socket " + options_.admin.socket + " to " +
                               describe(user) + ": " + std::strerror(errno));
    }
    // nginx's way: the file written after the drop belongs to the user writing it, so a
    // reopen (SIGUSR1) of the same path, e.g. after logrotate's copytruncate, still works.
    // Creating a new file needs the folder to be writable by the user: if a reopen cannot,
    // it logs why and keeps writing to the file it has.
    const std::string& log_path = options_.access_log.path;
    if (access_log_ && log_path != "stderr" && log_path != "stdout" &&
        ::chown(log_path.c_str(), user.uid, user.gid) != 0) {
      throw std::runtime_error("cannot hand the access log " + log_path + " to " + describe(user) +
                               ": " + std::strerror(errno));
    }
  }
  drop_privileges(user);
  log("dropped root: running as ", describe(user));
}

void balancer::limit_connections_to_descriptors() {
  // Each proxied connection holds two descriptors; the rest (listener, health probes, pipes to
  // the backends, splice pipes, the event loop's own) must always fit, or EMFILE would hit connects
  // and probes instead of simply pausing accept. The plan has warned already when they do not.
  // Auto-scaling may add backends up to max, each with its pipes and probes.
  std::size_t backends = pool_.members().size();
  if (options_.backends.autoscaled())
    backends = std::max<std::size_t>(backends, options_.backends.max);
  std::uint64_t fit = connections_that_fit(plan_.open_files, backends, options_.balancer.pipes());
  if (fit >= options_.balancer.max_connections) return;
  server_.limit_connections(std::max<std::uint64_t>(fit, 1));
}

void balancer::on_health_change(backend&) {
  if (stopping_) return;
  std::size_t usable = pool_.usable_count();
  std::string status = std::to_string(usable) + " of " + std::to_string(pool_.members().size()) +
                       " backend(s) up, serving on " + to_string(public_endpoint());
  if (!ready_ && usable > 0) {
    ready_ = true;
    log("ready: a backend is up, serving on ", to_string(public_endpoint()));
    service_.send("READY=1\nSTATUS=" + status);
    return;
  }
  service_.send("STATUS=" + status);
  if (ready_ && usable == 0 && direct_mode()) {
    log_warning(
        "no backend is up: the kernel holds new connections (clients retry their SYN) "
        "until one comes back");
  } else if (ready_ && usable == 0) {
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
      case SIGHUP: {
        log(name, " (SIGHUP): reloading ", options_.config_path);
        reload();
        break;
      }
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
  if (admin_server_) admin_server_->close();
  if (autoscaler_) autoscaler_->stop();
  if (rolling_) rolling_->stop();
  if (memory_watch_) memory_watch_->stop();
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

admin_result balancer::restart(backend& b) {
  if (stopping_) return {false, "the balancer is stopping"};
  if (!b.spawned() || !rolling_)
    return {false,
            "backend " + b.name + " is a server Pinwheel does not spawn; it cannot restart it"};
  rolling_->restart(b);
  log("admin: restart of backend ", b.name, " queued");
  return {true, "restart of backend " + b.name + " queued (drain, stop, start, wait until up); " +
                    std::to_string(rolling_->pending()) + " in the queue"};
}

admin_result balancer::restart_all() {
  if (stopping_) return {false, "the balancer is stopping"};
  if (!rolling_) return {false, "no backend is spawned by Pinwheel; nothing to restart"};
  std::size_t n = 0;
  for (backend* b : pool_.members()) {
    rolling_->restart(*b);
    ++n;
  }
  log("admin: rolling restart of ", n, " backend(s) queued");
  return {true, "rolling restart of " + std::to_string(n) +
                    " backend(s) begun, one at a time; watch `pinwheel ctl status`"};
}

admin_result balancer::set_strategy(const std::string& name) {
  if (!is_strategy(name)) {
    std::string names;
    for (const std::string& n : strategy_names()) names += (names.empty() ? "" : ", ") + n;
    return {false, "\"" + name.substr(0, 64) + "\" is not a strategy; use " + names};
  }
  if (direct_mode() && !direct::steering_for(name)) {
    std::string names;
    for (const std::string& n : direct::direct_strategy_names())
      names += (names.empty() ? "" : ", ") + n;
    return {false, name +
                       " needs the balancer to see each connection, which direct mode never "
                       "does; use " +
                       names};
  }
  if (name != strategy_name_) install_strategy(name);
  return {true, "strategy " + name};
}

void balancer::install_strategy(const std::string& name) {
  if (steering_) {
    // Also after a weight change: the targets are written anew either way.
    steering_->set_kind(direct::steering_for(name).value_or(direct::steering_kind::rotation));
    if (name != strategy_name_) log("strategy ", strategy_name_, " -> ", name);
    strategy_name_ = name;
    return;
  }
  // The old one may go at once: sessions ask context_.chooser anew for every pick.
  strategy_ = make_chosen_strategy(name, options_, pool_);
  context_.chooser = strategy_.get();
  if (name != strategy_name_) log("strategy ", strategy_name_, " -> ", name);
  strategy_name_ = name;
}

admin_result balancer::reload() {
  if (stopping_) return {false, "the balancer is stopping"};
  // systemd holds `systemctl reload` until READY=1 follows RELOADING=1, whatever the outcome:
  // a rejected reload leaves the old setup running, which is ready as before.
  service_.reloading("reloading " + options_.config_path);
  admin_result result = reload_config();
  service_.send("READY=1\nSTATUS=" + result.message);
  return result;
}

admin_result balancer::reload_config() {
  options next;
  run_plan next_plan;
  try {
    next = load_config(options_.config_path, flags_);
    if (next.backends.autoscaled() && options_.backends.spawned()) {
      // The file's count is checked as at start-up, but the load decides how many run: the
      // running count is kept, brought within the new min and max.
      validate_scaling(next);
      next.backends.count =
          std::clamp(static_cast<int>(plan_.backends.size()), next.backends.min, next.backends.max);
    }
    next_plan = make_plan(next, reload_host_facts(host_cpus_, held_endpoints(next)));
    check_direct_reload(next, next_plan);
  } catch (const config_error& e) {
    log("reload rejected, nothing changed: ", e.what());
    return {false, std::string("reload rejected, nothing changed: ") + e.what()};
  } catch (const std::exception& e) {
    log("reload failed, nothing changed: ", e.what());
    return {false, std::string("reload failed, nothing changed: ") + e.what()};
  }
  return apply(std::move(next), std::move(next_plan));
}

std::vector<std::string> balancer::change_spawned(const config_diff& d, const run_plan& next_plan) {
  std::vector<backend*> members(pool_.members().begin(), pool_.members().end());
  std::vector<std::string> skipped;
  for (std::size_t i = 0; i < std::min(members.size(), next_plan.backends.size()); ++i)
    members[i]->weight = next_plan.backends[i].weight;
  for (std::size_t i : d.restarted) {
    backend& b = *members[i];
    const backend_plan& p = next_plan.backends[i];
    // Read at the next start: the roll-out starts it with these.
    b.argv = p.argv;
    b.cpu = p.cpu;
    // Direct mode's backends keep the shared port they listen on.
    if (!direct_mode()) b.endpoint = p.endpoint;
    rolling_->restart(b);
  }
  for (std::size_t i : d.removed) rolling_->remove(*members[i]);
  for (std::size_t i : d.added) {
    const backend_plan& p = next_plan.backends[i];
    const std::string& name = p.name;
    if (pool_.find(name) != nullptr) {
      skipped.push_back("backend " + name + " is still being removed; reload again once it is");
      continue;
    }
    backend& b = pool_.add(backend_for(p, name, options_));
    health_.add(b);
    supervisor_->add(b);
  }
  return skipped;
}

void balancer::check_direct_reload(const options& next, const run_plan& next_plan) const {
  const balancer_options& now = options_.balancer;
  if (next.balancer.mode != now.mode) {
    throw config_error(next.locate("balancer.mode") + ": changing from " + to_string(now.mode) +
                       " to " + to_string(next.balancer.mode) +
                       " mode needs a restart of Pinwheel");
  }
  if (!direct_mode()) return;
  // The kernel's group has one socket per backend, made at start-up on one address.
  if (next_plan.backends.size() != plan_.backends.size()) {
    throw config_error(next.locate("backends.count") + ": direct mode runs " +
                       std::to_string(plan_.backends.size()) +
                       " backend(s), one per listening socket made at start-up; changing the "
                       "count needs a restart of Pinwheel");
  }
  if (next.balancer.listen != now.listen) {
    throw config_error(next.locate("balancer.listen") +
                       ": direct mode's listening sockets are made at start-up; changing the "
                       "address needs a restart of Pinwheel");
  }
}

std::vector<asio::ip::tcp::endpoint> balancer::held_endpoints(const options& next) const {
  std::vector<asio::ip::tcp::endpoint> held = server_.local_endpoints();
  if (direct_group_) held.push_back(direct_endpoint_);
  held.push_back(options_.balancer.listen);
  held.insert(held.end(), options_.balancer.more_listen.begin(),
              options_.balancer.more_listen.end());
  if (metrics_) {
    held.push_back(options_.metrics.listen);
    held.push_back(metrics_->local_endpoint());
  }
  // With fixed ports, our own backends hold theirs; picked ports (0) must avoid them.
  if (next.backends.base_port != 0) {
    for (const backend* b : pool_.members()) held.push_back(b->endpoint);
  }
  return held;
}

bool balancer::scale_to(int count) {
  if (stopping_) return false;
  options next = options_;
  next.backends.count = count;
  run_plan next_plan;
  try {
    next_plan = make_plan(next, reload_host_facts(host_cpus_, held_endpoints(next)));
  } catch (const std::exception& e) {
    log_warning("auto-scaling to ", count, " backend(s) failed, nothing changed: ", e.what());
    return false;
  }
  config_diff d = diff_configs(options_, plan_, next, next_plan);
  options_.backends.count = count;
  std::vector<std::string> skipped = change_spawned(d, next_plan);
  plan_.backends = next_plan.backends;
  for (const std::string& s : skipped) log_warning("auto-scaling: ", s);
  return skipped.empty();
}

std::optional<scaling_status> balancer::scaling() const {
  if (!options_.backends.autoscaled()) return std::nullopt;
  scaling_status s;
  s.min = options_.backends.min;
  s.max = options_.backends.max;
  s.backends = static_cast<int>(plan_.backends.size());
  if (autoscaler_ && autoscaler_->last_sample() && autoscaler_->last_sample()->measured > 0) {
    const load_sample& load = *autoscaler_->last_sample();
    s.cpu = load.cpu / load.measured;
    s.queued = load.queued / load.measured;
  }
  return s;
}

admin_result balancer::apply(options next, run_plan next_plan) {
  config_diff d = diff_configs(options_, plan_, next, next_plan);
  if (d.listen) {
    std::vector<asio::ip::tcp::endpoint> wanted{next.balancer.listen};
    wanted.insert(wanted.end(), next.balancer.more_listen.begin(), next.balancer.more_listen.end());
    asio::ip::tcp::endpoint failed;
    try {
      server_.relisten(wanted, failed);
    } catch (const std::system_error& e) {
      std::string why = next.locate("balancer.listen") + ": cannot listen on " + to_string(failed) +
                        ": " + e.code().message();
      log("reload rejected, nothing changed: ", why);
      return {false, "reload rejected, nothing changed: " + why};
    }
  }
  std::vector<backend*> members(pool_.members().begin(), pool_.members().end());
  // From here on nothing fails: the new settings replace the running ones in place, where
  // the server, health checker and supervisor read them.
  options_.balancer = next.balancer;
  options_.backends = next.backends;
  options_.health = next.health;
  options_.limits = next.limits;
  options_.admin = next.admin;
  options_.autoscale = next.autoscale;
  options_.origin = next.origin;
  if (d.timeouts) {
    server_.apply_timeouts();
    context_.retries = options_.balancer.retries;
  }
  if (d.proxy_protocol) {
    context_.trusted = options_.balancer.accept_proxy ? &options_.balancer.trusted : nullptr;
    context_.send_proxy = options_.backends.send_proxy;
    health_.send_proxy(options_.backends.send_proxy);
  }
  if (d.health) {
    for (backend* b : members) b->health.set_thresholds(options_.health.rise, options_.health.fall);
  }
  std::vector<std::string> skipped;
  if (options_.backends.spawned()) {
    skipped = change_spawned(d, next_plan);
  } else {
    for (const auto& endpoint : d.servers_removed) {
      for (backend* b : members) {
        if (b->endpoint != endpoint) continue;
        // Open connections finish on their own; a server has no process to stop.
        pool_.set_admin(*b, admin_state::draining);
        pool_.retire(*b);
        health_.remove(*b);
      }
    }
    for (const backend_plan& p : next_plan.backends) {
      bool added = std::find(d.servers_added.begin(), d.servers_added.end(), p.endpoint) !=
                   d.servers_added.end();
      if (!added) {
        for (backend* b : pool_.members()) {
          if (b->endpoint == p.endpoint) b->weight = p.weight;
        }
        continue;
      }
      // A position-given name ("2") may be taken by a server that stays: pick a fresh one.
      std::string name = p.name;
      while (pool_.find(name) != nullptr) name = std::to_string(next_server_name_++);
      backend& b = pool_.add(backend_for(p, name, options_));
      health_.add(b);
    }
  }
  // Weights and slow start are read when a strategy is made: a new one takes them.
  if (d.strategy || d.weights) install_strategy(options_.balancer.strategy);
  plan_.backends = next_plan.backends;
  // Turned on, or new thresholds: the load must hold anew under them.
  if (autoscaler_) autoscaler_->start();
  // Keep plan_ describing what runs: backends being removed stay until they are gone.
  std::string summary;
  for (const std::string& c : d.changes) summary += (summary.empty() ? "" : "; ") + c;
  if (summary.empty()) summary = "nothing changed";
  if (!d.needs_restart.empty()) {
    std::string keys;
    for (const std::string& k : d.needs_restart) keys += (keys.empty() ? "" : ", ") + k;
    summary += "; needs a restart of Pinwheel (running values kept): " + keys;
  }
  for (const std::string& s : skipped) summary += "; " + s;
  log("reloaded ", options_.config_path, ": ", summary);
  return {true, "reloaded: " + summary};
}

}  // namespace pinwheel
