#include "supervisor/supervisor.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>

#include "common/spawn_background.hpp"
#include "config/address.hpp"
#include "log/log.hpp"

namespace pinwheel {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void exec_child(int cpu, const std::vector<char*>& argv, pid_t parent,
                             const int fds[4]) {
  // Die with the balancer, even if it is SIGKILLed; it may already be gone.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  // Own process group: a terminal's Ctrl-C reaches only the balancer, which then
  // drains before stopping the backends in order.
  setpgid(0, 0);
  // The parent's handlers (Asio's) must not run here, and ignored signals would stay
  // ignored across exec: reset them, then unblock what the parent blocked for fork.
  for (int sig : {SIGINT, SIGTERM, SIGCHLD, SIGPIPE, SIGHUP}) signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof(set), &set);
  dup2(fds[0], STDIN_FILENO);
  dup2(fds[1], STDOUT_FILENO);
  dup2(fds[2], STDERR_FILENO);
  // Nothing else of ours (listening socket, client connections) may leak into the backend;
  // Asio opens sockets without close-on-exec.
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (long fd = 3, max = sysconf(_SC_OPEN_MAX); fd < max; ++fd) {
      if (fd != fds[3]) fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    }
  }
  execv(argv[0], argv.data());
  int error = errno;
  (void)!write(fds[3], &error, sizeof error);
  _exit(127);
}

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
                       health_checker& health, std::function<void(backend&)> on_given_up)
    : io_(io),
      options_(options),
      pool_(pool),
      health_(health),
      on_given_up_(std::move(on_given_up)),
      sigchld_(io, SIGCHLD),
      child_exited_(io),
      outputs_closed_(io) {}

asio::steady_timer& supervisor::restart_timer(backend& b) {
  auto& timer = restart_timers_[&b];
  if (!timer) timer = std::make_unique<asio::steady_timer>(io_);
  return *timer;
}

void supervisor::start() {
  spawn_background(io_, reap_loop(), "process reaper");
  for (backend* b : pool_.members()) {
    if (b->spawned()) spawn(*b);
  }
}

void supervisor::spawn(backend& b) {
  int out[2] = {-1, -1}, err[2] = {-1, -1}, status[2] = {-1, -1};
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
      pipe2(status, O_CLOEXEC) != 0) {
    int error = errno;
    close_all({null_fd, out[0], out[1], err[0], err[1], status[0], status[1]});
    throw std::system_error(error, std::system_category(), "creating pipes for backend " + b.name);
  }
  std::vector<char*> argv;
  for (const std::string& arg : b.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  // Signals stay blocked across fork so none is handled by Asio's handler in the child.
  sigset_t all, previous;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &previous);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    const int fds[4] = {null_fd, out[1], err[1], status[1]};
    exec_child(b.cpu, argv, parent, fds);
  }
  int fork_error = errno;
  sigprocmask(SIG_SETMASK, &previous, nullptr);
  close_all({null_fd, out[1], err[1], status[1]});
  if (pid < 0) {
    close_all({out[0], err[0], status[0]});
    throw std::system_error(fork_error, std::system_category(), "fork for backend " + b.name);
  }
  setpgid(pid, pid);  // also here, so a stop() right after fork finds the group

  // exec succeeded when the close-on-exec status pipe closes without a word.
  int exec_errno = 0;
  ssize_t n;
  do n = ::read(status[0], &exec_errno, sizeof exec_errno);
  while (n < 0 && errno == EINTR);
  ::close(status[0]);

  if (b.process.started != std::chrono::steady_clock::time_point{}) ++b.process.restarts;
  b.process.pid = pid;
  b.process.started = std::chrono::steady_clock::now();
  std::string prefix = "[backend " + b.name + "] ";
  forward(out[0], stdout_sink(), prefix);
  forward(err[0], stderr_sink(), prefix);
  if (n > 0) {
    log("backend ", b.name, ": cannot run ", b.argv[0], ": ", std::strerror(exec_errno));
  } else {
    log("backend ", b.name, " started: pid ", pid, ", cpu ", b.cpu, ", ", to_string(b.endpoint));
    health_.process_started(b);
  }
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
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      for (backend* b : pool_.members()) {
        if (b->process.pid == pid) exited(*b, status);
      }
    }
    if (stopping_ && running() == 0) co_return;
    auto [ec, signal] = co_await sigchld_.async_wait(use_tuple);
    if (ec) co_return;
  }
}

std::size_t supervisor::running() const {
  std::size_t n = 0;
  for (const backend* b : pool_.members()) n += b->process.pid != 0;
  return n;
}

void supervisor::exited(backend& b, int status) {
  backend_process& c = b.process;
  pid_t pid = c.pid;
  c.pid = 0;
  // Whatever the backend started itself (its process group) goes with it, or it could
  // keep the port and make every restart fail.
  ::kill(-pid, SIGKILL);
  child_exited_.cancel();
  std::string how = "pid " + std::to_string(pid) + " " + describe_exit(status);
  health_.process_exited(b, how);
  if (stopping_) return;

  auto uptime = std::chrono::steady_clock::now() - c.started;
  c.quick_exits = uptime >= options_.min_uptime ? 0 : c.quick_exits + 1;
  if (c.quick_exits > options_.max_restarts) {
    c.given_up = true;
    log("backend ", b.name, " is crash-looping: it exited ", c.quick_exits,
        " times in a row within min_uptime (", format_duration(options_.min_uptime),
        ") of starting; giving up on it. Last: ", how);
    if (on_given_up_) on_given_up_(b);
    return;
  }
  auto delay = options_.restart_delay;
  for (int i = 1; i < c.quick_exits && delay < options_.restart_delay_max; ++i) delay *= 2;
  delay = std::min(delay, options_.restart_delay_max);
  log("backend ", b.name, " (", how, "); restarting in ", format_duration(delay));
  asio::steady_timer& timer = restart_timer(b);
  timer.expires_after(delay);
  timer.async_wait([this, &b](const asio::error_code& ec) {
    if (ec || stopping_) return;
    try {
      spawn(b);
    } catch (const std::exception& e) {
      log("backend ", b.name, ": restart failed: ", e.what());
    }
  });
}

asio::awaitable<void> supervisor::stop() {
  stopping_ = true;
  for (auto& [b, timer] : restart_timers_) timer->cancel();
  for (backend* b : pool_.members()) {
    // The whole group, so a backend's own children (e.g. npm -> node) stop too.
    if (b->process.pid != 0) ::kill(-b->process.pid, SIGTERM);
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
      ::kill(-b->process.pid, SIGKILL);
    }
    while (running() > 0) {
      child_exited_.expires_after(1s);
      co_await child_exited_.async_wait(use_tuple);
    }
  }
  sigchld_.cancel();
  // Let the backends' last lines through, but do not wait on a pipe some orphan holds.
  auto output_deadline = std::chrono::steady_clock::now() + 1s;
  while (open_outputs_ > 0 && std::chrono::steady_clock::now() < output_deadline) {
    outputs_closed_.expires_at(output_deadline);
    co_await outputs_closed_.async_wait(use_tuple);
  }
}

void supervisor::kill_all() {
  for (auto& [b, timer] : restart_timers_) timer->cancel();
  for (backend* b : pool_.members()) {
    if (b->process.pid != 0) ::kill(-b->process.pid, SIGKILL);
  }
}

}  // namespace pinwheel
