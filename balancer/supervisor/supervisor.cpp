#include "supervisor/supervisor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <cstring>

#include "common/spawn_background.hpp"
#include "config/address.hpp"
#include "log/log.hpp"

namespace pinwheel {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

void close_all(std::initializer_list<int> fds) {
  for (int fd : fds) {
    if (fd >= 0) ::close(fd);
  }
}

}  // namespace

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  return "stopped with wait status " + std::to_string(status);
}

supervisor::supervisor(asio::io_context& io, const backends_options& options, backend_pool& pool,
                       health_checker& health, process_env& env, guardian* guardian,
                       std::function<void(backend&)> on_given_up)
    : io_(io),
      options_(options),
      pool_(pool),
      health_(health),
      env_(env),
      guardian_(guardian),
      backoff_(options),
      on_given_up_(std::move(on_given_up)),
      notify_(io, [this](pid_t pid, const notify_message& m) { notified(pid, m); }),
      watchdog_timer_(io),
      sigchld_(io, SIGCHLD),
      child_exited_(io),
      outputs_closed_(io) {}

supervisor::~supervisor() {
  for (auto& [b, fd] : listen_fds_) ::close(fd);
}

asio::steady_timer& supervisor::restart_timer(backend& b) {
  auto& timer = restart_timers_[&b];
  if (!timer) timer = std::make_unique<asio::steady_timer>(io_);
  return *timer;
}

void supervisor::adopt_listener(const backend& b, int listen_fd) {
  int copy = ::fcntl(listen_fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    throw std::system_error(
        errno, std::system_category(),
        "socket activation: cannot copy the listening socket for backend " + b.name);
  }
  if (auto it = listen_fds_.find(&b); it != listen_fds_.end()) ::close(it->second);
  listen_fds_[&b] = copy;
}

void supervisor::start() {
  notify_.open();
  notify_.start();
  if (options_.socket_activation) {
    for (backend* b : pool_.members()) {
      if (b->spawned() && !listen_fds_.contains(b)) bind_listener(*b);
    }
  }
  if (options_.watchdog > 0ms) spawn_background(io_, watchdog_loop(), "backend watchdog");
  spawn_background(io_, reap_loop(), "process reaper");
  for (backend* b : pool_.members()) {
    if (b->spawned()) spawn(*b, false);
  }
}

void supervisor::bind_listener(backend& b) {
  const auto& ep = b.endpoint;
  int fd = ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  int on = 1;
  if (fd < 0 || ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
      ::bind(fd, ep.data(), static_cast<socklen_t>(ep.size())) != 0 ||
      ::listen(fd, SOMAXCONN) != 0) {
    int error = errno;
    if (fd >= 0) ::close(fd);
    throw std::system_error(
        error, std::system_category(),
        "socket activation: cannot listen on " + to_string(ep) + " for backend " + b.name);
  }
  listen_fds_[&b] = fd;
}

void supervisor::spawn(backend& b, bool restart) {
  backend_process& p = b.process;
  if (p.given_up || stopping_ || p.pid != 0) return;
  if (restart) ++p.restarts;
  p.started = env_.now();
  b.notify = backend_notify{};
  b.notify.last_watchdog = p.started;
  std::string failure;
  std::error_code local_error;
  pid_t pid = start_process(b, failure, local_error);
  if (pid == 0) {
    std::string how = "could not start: " + failure;
    // Nothing runs: even a backend nobody checks (health kind "none") is down.
    health_.process_exited(b, how);
    // The balancer's own shortage (descriptors, memory) is retried but never held against the
    // backend: it must not be given up for what it did not do.
    schedule_restart(b, how, !local_error);
    return;
  }
  p.local_start_failures = 0;
  log("backend ", b.name, " started: pid ", pid, ", cpu ", b.cpu, ", ", to_string(b.endpoint));
  health_.process_started(b);
}

pid_t supervisor::start_process(backend& b, std::string& failure, std::error_code& local_error) {
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  std::error_code ec = env_.make_pipe(out);
  if (!ec) ec = env_.make_pipe(err);
  if (ec) {
    close_all({out[0], out[1], err[0], err[1]});
    failure = "creating its output pipes: " + ec.message();
    local_error = ec;
    return 0;
  }
  process_spec spec{b.argv, b.cpu, out[1], err[1], guardian_ ? guardian_->announce_fd() : -1};
  spec.environment.push_back("NOTIFY_SOCKET=" + notify_.path());
  if (auto it = listen_fds_.find(&b); it != listen_fds_.end()) {
    spec.listen_fd = it->second;
    spec.environment.push_back("LISTEN_FDS=1");
    spec.environment.push_back("LISTEN_FDNAMES=backend-" + b.name);
    spec.pid_variables.push_back("LISTEN_PID");
  }
  if (options_.watchdog > 0ms) {
    auto usec = std::chrono::duration_cast<std::chrono::microseconds>(options_.watchdog).count();
    spec.environment.push_back("WATCHDOG_USEC=" + std::to_string(usec));
    spec.pid_variables.push_back("WATCHDOG_PID");
  }
  apply_privileges(spec);
  process_start started = env_.start(spec);
  close_all({out[1], err[1]});
  if (started.pid == 0) {
    close_all({out[0], err[0]});
    failure = started.failure;
    local_error = started.local_error;
    return 0;
  }
  b.process.pid = started.pid;
  // The child announced its group itself; this covers an announcement that could not go out.
  if (guardian_) guardian_->watch(started.pid);
  std::string prefix = "[backend " + b.name + "] ";
  forward(out[0], stdout_sink(), prefix);
  forward(err[0], stderr_sink(), prefix);
  if (started.pin_error) {
    log_warning("backend ", b.name, ": cannot pin to cpu ", b.cpu, ": ",
                started.pin_error.message(), "; it runs unpinned");
  }
  return started.pid;
}

void supervisor::apply_privileges(process_spec& spec) const {
  spec.max_open_files = options_.max_open_files;
  spec.max_address_space = options_.max_address_space;
  const run_as& user = options_.user;
  // Already that user (the balancer dropped to it, or was started as it): nothing to switch.
  if (!user.set() || (::geteuid() == user.uid && ::getegid() == user.gid)) return;
  spec.switch_user = true;
  spec.uid = user.uid;
  spec.gid = user.gid;
  spec.groups = user.groups;
}

void supervisor::forward(int pipe_fd, log_sink& target, const std::string& prefix) {
  // The forwarder lives as long as its coroutine: a backend's own children may hold the
  // pipe open after the backend itself was restarted.
  auto forwarder = std::make_shared<output_forwarder>(io_, pipe_fd, target, prefix);
  ++open_outputs_;
  asio::co_spawn(io_, forwarder->run(), [this, forwarder](std::exception_ptr) {
    if (--open_outputs_ == 0) outputs_closed_.cancel();
  });
}

asio::awaitable<void> supervisor::reap_loop() {
  for (;;) {
    int status = 0;
    pid_t pid;
    // One SIGCHLD may stand for several exits.
    while ((pid = env_.reap(status)) > 0) {
      for (backend* b : pool_.members()) {
        if (b->process.pid == pid) exited(*b, status);
      }
    }
    if (stopping_ && running() == 0) co_return;
    auto [ec, signal] = co_await sigchld_.async_wait(use_tuple);
    if (ec) co_return;
  }
}

void supervisor::notified(pid_t pid, const notify_message& m) {
  backend* from = nullptr;
  for (backend* b : pool_.members()) {
    if (b->process.pid == pid) from = b;
  }
  // A process the backend started (sh -c "exec ..." aside) is in its process group.
  if (from == nullptr) {
    pid_t group = ::getpgid(pid);
    for (backend* b : pool_.members()) {
      if (b->process.pid != 0 && b->process.pid == group) from = b;
    }
  }
  if (from == nullptr) {
    notify_.drop("from pid " + std::to_string(pid) + ", which is no running backend's");
    return;
  }
  backend& b = *from;
  if (m.status && *m.status != b.notify.status) {
    b.notify.status = *m.status;
    log("backend ", b.name, " status: ", b.notify.status);
  }
  if (m.watchdog) b.notify.last_watchdog = env_.now();
  if (m.stopping && !b.notify.stopping) {
    b.notify.stopping = true;
    b.notify.ready = false;
    health_.stopping_announced(b);
  }
  if (m.ready && !b.notify.ready) {
    b.notify.ready = true;
    b.notify.stopping = false;
    log("backend ", b.name, " sent READY=1 (pid ", pid, ")");
    health_.ready_announced(b);
  }
}

asio::awaitable<void> supervisor::watchdog_loop() {
  // Checked four times per interval: a silent backend is found within 1.25 intervals.
  auto step = std::max<std::chrono::milliseconds>(options_.watchdog / 4, 1ms);
  while (!stopping_) {
    watchdog_timer_.expires_after(step);
    auto [ec] = co_await watchdog_timer_.async_wait(use_tuple);
    if (ec || stopping_) co_return;
    auto now = env_.now();
    for (backend* b : pool_.members()) {
      if (b->process.pid == 0 || now - b->notify.last_watchdog <= options_.watchdog) continue;
      log("backend ", b->name, " missed its watchdog: no WATCHDOG=1 for ",
          format_duration(
              std::chrono::duration_cast<std::chrono::milliseconds>(now - b->notify.last_watchdog)),
          " (watchdog ", format_duration(options_.watchdog), "); SIGKILL to pid ", b->process.pid,
          " to restart it");
      // Once: the kill takes effect when the reaper sees the exit.
      b->notify.last_watchdog = now;
      env_.signal_group(b->process.pid, SIGKILL);
    }
  }
}

std::size_t supervisor::running() const {
  std::size_t n = 0;
  for (const backend* b : pool_.members()) n += b->process.pid != 0;
  return n;
}

void supervisor::exited(backend& b, int status) {
  pid_t pid = b.process.pid;
  b.process.pid = 0;
  // Whatever the backend started itself (its process group) goes with it, or it could
  // keep the port and make every restart fail.
  env_.signal_group(pid, SIGKILL);
  if (guardian_) guardian_->forget(pid);
  child_exited_.cancel();
  std::string how = "pid " + std::to_string(pid) + " " + describe_exit(status);
  health_.process_exited(b, how);
  if (stopping_) return;
  if (auto it = deliberate_stops_.find(&b); it != deliberate_stops_.end()) {
    bool start_again = it->second;
    deliberate_stops_.erase(it);
    log("backend ", b.name, " stopped on purpose (", how, ")",
        start_again ? "; starting it again" : "");
    if (start_again) spawn(b, true);
    return;
  }
  schedule_restart(b, how);
}

void supervisor::schedule_restart(backend& b, const std::string& how, bool counts) {
  backend_process& p = b.process;
  int& streak = counts ? p.quick_exits : p.local_start_failures;
  restart_backoff::decision next = backoff_.after_exit(streak, p.started, env_.now());
  streak = next.quick_exits;
  if (counts && next.give_up) {
    p.given_up = true;
    log("backend ", b.name, " is crash-looping: it exited ", p.quick_exits,
        " times in a row within min_uptime (", format_duration(options_.min_uptime),
        ") of starting; giving up on it. Last: ", how);
    if (on_given_up_) on_given_up_(b);
    return;
  }
  log("backend ", b.name, " (", how, "); restarting in ", format_duration(next.delay));
  asio::steady_timer& timer = restart_timer(b);
  timer.expires_after(next.delay);
  timer.async_wait([this, &b](const asio::error_code& ec) {
    if (!ec) spawn(b, true);
  });
}

asio::awaitable<void> supervisor::stop() {
  stopping_ = true;
  watchdog_timer_.cancel();
  for (auto& [b, timer] : restart_timers_) timer->cancel();
  for (backend* b : pool_.members()) {
    // The whole group, so a backend's own children (e.g. npm -> node) stop too.
    if (b->process.pid != 0) env_.signal_group(b->process.pid, SIGTERM);
  }
  auto deadline = std::chrono::steady_clock::now() + options_.stop_timeout;
  while (running() > 0 && std::chrono::steady_clock::now() < deadline) {
    child_exited_.expires_at(deadline);
    co_await child_exited_.async_wait(use_tuple);
  }
  if (running() > 0) {
    for (backend* b : pool_.members()) {
      if (b->process.pid == 0) continue;
      log("backend ", b->name, " still running ", format_duration(options_.stop_timeout),
          " after SIGTERM: SIGKILL to pid ", b->process.pid);
      env_.signal_group(b->process.pid, SIGKILL);
    }
    while (running() > 0) {
      child_exited_.expires_after(1s);
      co_await child_exited_.async_wait(use_tuple);
    }
  }
  sigchld_.cancel();
  watchdog_timer_.cancel();
  notify_.close();
  for (auto& [b, fd] : listen_fds_) ::close(fd);
  listen_fds_.clear();
  // Let the backends' last lines through, but do not wait on a pipe some orphan holds.
  auto output_deadline = std::chrono::steady_clock::now() + 1s;
  while (open_outputs_ > 0 && std::chrono::steady_clock::now() < output_deadline) {
    outputs_closed_.expires_at(output_deadline);
    co_await outputs_closed_.async_wait(use_tuple);
  }
}

asio::awaitable<void> supervisor::terminate(backend& b) {
  pid_t pid = b.process.pid;
  env_.signal_group(pid, SIGTERM);
  asio::steady_timer poll(io_);
  auto deadline = std::chrono::steady_clock::now() + options_.stop_timeout;
  bool killed = false;
  // Polled: child_exited_ belongs to stop(); a 20 ms tick costs nothing here.
  while (b.process.pid == pid && !stopping_) {
    if (!killed && std::chrono::steady_clock::now() >= deadline) {
      log("backend ", b.name, " still running ", format_duration(options_.stop_timeout),
          " after SIGTERM: SIGKILL to pid ", pid);
      env_.signal_group(pid, SIGKILL);
      killed = true;
    }
    poll.expires_after(20ms);
    co_await poll.async_wait(use_tuple);
  }
}

asio::awaitable<void> supervisor::replace(backend& b) {
  if (stopping_) co_return;
  backend_process& p = b.process;
  p.quick_exits = 0;
  p.local_start_failures = 0;
  if (p.pid == 0) {
    // Waiting out a back-off, or given up: start now.
    restart_timer(b).cancel();
    p.given_up = false;
    spawn(b, true);
    co_return;
  }
  deliberate_stops_[&b] = true;
  co_await terminate(b);
}

asio::awaitable<void> supervisor::stop_one(backend& b) {
  restart_timer(b).cancel();
  b.process.given_up = true;  // nothing may start it again
  if (b.process.pid == 0 || stopping_) co_return;
  deliberate_stops_[&b] = false;
  co_await terminate(b);
}

void supervisor::kill_all() {
  // What dies now must not be restarted, even if stop() has not begun yet.
  stopping_ = true;
  watchdog_timer_.cancel();
  for (auto& [b, timer] : restart_timers_) timer->cancel();
  for (backend* b : pool_.members()) {
    if (b->process.pid != 0) env_.signal_group(b->process.pid, SIGKILL);
  }
}

}  // namespace pinwheel
