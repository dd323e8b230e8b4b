#include "supervisor/guardian.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>

#include "common/spawn_background.hpp"
#include "log/log.hpp"

namespace pinwheel {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// Between failed attempts to start a new guardian.
constexpr std::chrono::seconds kRetryDelay{1};

// The descriptor the guardian reads its records from.
constexpr int kRecordFd = 3;

// The groups a guardian watches, in a fixed table: the guardian may not allocate. At most
// backends.count (<= 1024) groups are watched at once, since a backend's group is forgotten
// before its next one is watched.
struct group_table {
  pid_t pgid[4096];
  std::size_t size = 0;

  void add(pid_t group) {
    for (std::size_t i = 0; i < size; ++i) {
      if (pgid[i] == group) return;
    }
    if (size < std::size(pgid)) pgid[size++] = group;
  }
  void remove(pid_t group) {
    for (std::size_t i = 0; i < size; ++i) {
      if (pgid[i] == group) pgid[i] = pgid[--size];
    }
  }
};

// One log line built without allocating, written with a single write(2) like log()'s.
struct fixed_line {
  char text[16384];
  std::size_t size = 0;

  void add(std::string_view part) {
    for (char c : part) {
      if (size < sizeof text - 1) text[size++] = c;
    }
  }
  void add(long value) {
    char digits[24];
    std::size_t n = 0;
    unsigned long rest = value < 0 ? 0UL - static_cast<unsigned long>(value) : value;
    do digits[n++] = static_cast<char>('0' + rest % 10);
    while ((rest /= 10) != 0);
    if (value < 0) add("-");
    while (n > 0) add(std::string_view(&digits[--n], 1));
  }
  void write_to(int fd) {
    text[size++] = '\n';
    (void)!::write(fd, text, size);
  }
};

// The guardian's whole life, in a forked child. Only async-signal-safe calls and no
// allocation: the balancer may have had other threads (holding locks) when it forked, and
// whatever its logging does with queues and threads did not come along.
[[noreturn]] void guard(int fd, pid_t balancer) {
  // Out of the balancer's group, so a terminal's Ctrl-C or a kill of the group misses it.
  ::setpgid(0, 0);
  struct sigaction action = {};
  action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &action, nullptr);
  }
  action.sa_handler = SIG_IGN;
  for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGUSR1, SIGUSR2, SIGALRM, SIGTSTP,
                  SIGTTIN, SIGTTOU}) {
    ::sigaction(sig, &action, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::prctl(PR_SET_NAME, "pinwheel-guard");

  // Only our end of the socket and stderr: a guardian holding the listening socket or a
  // backend's pipe would keep them open after the balancer is gone.
  int socket_fd = ::fcntl(fd, F_DUPFD, 10);
  int null_fd = ::open("/dev/null", O_RDWR);
  if (socket_fd < 0 || null_fd < 0 || ::dup2(null_fd, STDIN_FILENO) < 0 ||
      ::dup2(null_fd, STDOUT_FILENO) < 0 || ::dup2(socket_fd, kRecordFd) < 0) {
    ::_exit(1);
  }
  if (::syscall(SYS_close_range, kRecordFd + 1U, ~0U, 0U) != 0) {
    for (long other = kRecordFd + 1, max = ::sysconf(_SC_OPEN_MAX); other < max; ++other)
      ::close(static_cast<int>(other));
  }
  pid_t self = ::getpid();
  if (::write(kRecordFd, &self, sizeof self) != sizeof self) ::_exit(1);

  group_table groups;
  char buffer[4096];
  std::size_t have = 0;
  for (;;) {
    ssize_t n = ::read(kRecordFd, buffer + have, sizeof buffer - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    have += static_cast<std::size_t>(n);
    std::size_t used = 0;
    for (; have - used >= sizeof(pid_t); used += sizeof(pid_t)) {
      pid_t record;
      std::memcpy(&record, buffer + used, sizeof record);
      // Never group 1 or 0: kill(-1) and kill(0) mean far more than one group.
      if (record > 1) groups.add(record);
      if (record < -1) groups.remove(-record);
    }
    std::memmove(buffer, buffer + used, have - used);
    have -= used;
  }
  if (groups.size > 0) {
    fixed_line line;
    line.add("pinwheel: guardian: the balancer (pid ");
    line.add(static_cast<long>(balancer));
    line.add(") is gone; SIGKILL to the process groups of its backends:");
    for (std::size_t i = 0; i < groups.size; ++i) {
      ::kill(-groups.pgid[i], SIGKILL);
      line.add(" ");
      line.add(static_cast<long>(groups.pgid[i]));
    }
    line.write_to(STDERR_FILENO);
  }
  ::_exit(0);
}

}  // namespace

guardian::guardian(asio::io_context& io) : io_(io), socket_(io), retry_(io) {}

void guardian::start() {
  launch();
  log("guardian started: pid ", pid_,
      " (SIGKILLs the backends' process groups should the balancer die)");
  spawn_background(io_, monitor(), "guardian monitor");
}

void guardian::launch() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::system_error(errno, std::system_category(), "guardian: socketpair");
  pid_t balancer = ::getpid();
  // Blocked until the guardian has reset its dispositions: our handlers (Asio's) would write
  // to the pipe our signal_sets read.
  sigset_t all, previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &previous);
  pid_t middle = ::fork();
  if (middle == 0) {
    // Our end must close with us alone, or the guardian would never see end of file.
    ::close(fds[0]);
    pid_t pid = ::fork();
    if (pid == 0) guard(fds[1], balancer);
    ::_exit(pid < 0 ? 1 : 0);
  }
  int fork_error = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  ::close(fds[1]);
  if (middle < 0) {
    ::close(fds[0]);
    throw std::system_error(fork_error, std::system_category(), "guardian: fork");
  }
  while (::waitpid(middle, nullptr, 0) < 0 && errno == EINTR) {
  }
  // The guardian sends its pid once it holds nothing of ours; end of file: it never started.
  pid_t pid = 0;
  std::size_t got = 0;
  while (got < sizeof pid) {
    ssize_t n = ::read(fds[0], reinterpret_cast<char*>(&pid) + got, sizeof pid - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got != sizeof pid) {
    ::close(fds[0]);
    throw std::system_error(std::make_error_code(std::errc::no_child_process),
                            "guardian: it exited while starting");
  }
  socket_.assign(asio::local::stream_protocol(), fds[0]);
  pid_ = pid;
  ++generation_;
  writing_.reset();
  queued_.assign(watched_.begin(), watched_.end());
  flush();
}

asio::awaitable<void> guardian::monitor() {
  while (!stopped_) {
    // The guardian writes nothing after its pid: the read ends only when it is gone.
    char byte;
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(&byte, 1), use_tuple);
    if (stopped_) co_return;
    if (!ec) continue;
    log_warning("guardian (pid ", pid_, ") is gone (",
                ec == asio::error::eof ? "end of file" : ec.message(),
                "); starting another, so backends still die with the balancer");
    asio::error_code ignored;
    socket_.close(ignored);
    pid_ = 0;
    while (!stopped_) {
      std::string failure;
      try {
        launch();
        log("guardian started again: pid ", pid_, ", watching ", watched_.size(),
            " backend process group(s)");
        break;
      } catch (const std::system_error& e) {
        failure = e.what();
      }
      log_warning("cannot start a guardian: ", failure, "; trying again in ", kRetryDelay.count(),
                  "s");
      retry_.expires_after(kRetryDelay);
      co_await retry_.async_wait(use_tuple);
    }
  }
}

void guardian::watch(pid_t pgid) {
  watched_.insert(pgid);
  send(pgid);
}

void guardian::forget(pid_t pgid) {
  watched_.erase(pgid);
  send(-pgid);
}

int guardian::announce_fd() {
  if (stopped_ || writing_ || !queued_.empty() || !socket_.is_open()) return -1;
  return socket_.native_handle();
}

void guardian::stop() {
  stopped_ = true;
  ++generation_;
  retry_.cancel();
  asio::error_code ignored;
  socket_.close(ignored);
  pid_ = 0;
}

void guardian::send(pid_t record) {
  if (stopped_) return;
  queued_.push_back(record);
  flush();
}

void guardian::flush() {
  if (writing_ || queued_.empty() || !socket_.is_open()) return;
  writing_ = std::make_shared<std::vector<pid_t>>(std::move(queued_));
  queued_.clear();
  asio::async_write(socket_, asio::buffer(*writing_),
                    [this, records = writing_, generation = generation_](const asio::error_code& ec,
                                                                         std::size_t) {
                      if (generation != generation_) return;
                      writing_.reset();
                      // On an error the monitor sees the end of file and starts another
                      // guardian, which learns every watched group anyway.
                      if (!ec) flush();
                    });
}

}  // namespace pinwheel
