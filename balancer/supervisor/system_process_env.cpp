#include "supervisor/system_process_env.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace pinwheel {

namespace {

// Where in the child a problem came up. Only `pin` lets the start go on.
enum class child_stage : int {
  pin = 1,
  stdio = 2,
  exec = 3,
  open_files_limit = 4,
  address_space_limit = 5,
  user = 6
};

// One record on the status pipe; a few fit in PIPE_BUF, so each write is atomic.
struct child_report {
  child_stage stage;
  int error;
};

// Everything the child needs, prepared before vfork: the child may not allocate.
struct child_setup {
  char* const* argv;
  char* const* envp;
  // Where each pid variable's value goes ("NAME=" is already there, room for the digits).
  char* const* pid_slots;
  std::size_t pid_slot_count;
  int cpu;
  int stdin_fd;
  int stdout_fd;
  int stderr_fd;
  int announce_fd;
  int listen_fd;
  int status_fd;
  pid_t parent;
  // Limits and the user to switch to (process_spec's).
  rlim_t max_open_files;
  rlim_t max_address_space;
  bool switch_user;
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  std::size_t group_count;
};

void report(int status_fd, child_stage stage, int error) {
  child_report r{stage, error};
  (void)!::write(status_fd, &r, sizeof r);
}

// dup2, except that a descriptor already in place must lose close-on-exec instead.
bool put_at(int fd, int target) {
  if (fd == target) return ::fcntl(target, F_SETFD, 0) == 0;
  return ::dup2(fd, target) == target;
}

// Writes `value` in decimal and a NUL at `out`: snprintf is not async-signal-safe.
void write_decimal(char* out, long value) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  while (n > 0) *out++ = digits[--n];
  *out = '\0';
}

// Limits first (raising one may need root), then groups, gid and uid. Raw system calls: glibc's
// setuid() and friends would signal the parent's threads (setxid) from this vforked child.
bool apply_limits_and_user(const child_setup& s) {
  auto limit = [&s](int resource, rlim_t value, child_stage stage) {
    if (value == 0) return true;
    rlimit both{value, value};
    if (::setrlimit(resource, &both) == 0) return true;
    report(s.status_fd, stage, errno);
    return false;
  };
  if (!limit(RLIMIT_NOFILE, s.max_open_files, child_stage::open_files_limit) ||
      !limit(RLIMIT_AS, s.max_address_space, child_stage::address_space_limit)) {
    return false;
  }
  if (!s.switch_user) return true;
  if (::syscall(SYS_setgroups, s.group_count, s.groups) != 0 ||
      ::syscall(SYS_setresgid, s.gid, s.gid, s.gid) != 0 ||
      ::syscall(SYS_setresuid, s.uid, s.uid, s.uid) != 0) {
    report(s.status_fd, child_stage::user, errno);
    return false;
  }
  // A backend that could become root again would not have dropped anything.
  if (s.uid != 0 && ::syscall(SYS_setresuid, 0, 0, 0) == 0) {
    report(s.status_fd, child_stage::user, EPERM);
    return false;
  }
  return true;
}

// Runs in the vforked child, on the parent's memory while the parent waits: async-signal-safe
// calls only, nothing written outside this frame.
[[noreturn]] void exec_child(child_setup s) {
  if (!apply_limits_and_user(s)) ::_exit(127);
  // Die with the balancer even if it is SIGKILLed; it may already be gone. After the switch
  // of user, which clears this setting.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != s.parent) ::_exit(127);
  // Own process group: a terminal's Ctrl-C reaches only the balancer, which then drains
  // before stopping the backends, and one kill(-pid) reaches whatever the backend starts.
  ::setpgid(0, 0);
  if (s.announce_fd >= 0) {
    pid_t self = ::getpid();
    (void)!::send(s.announce_fd, &self, sizeof self, MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  // Our handlers must not run here, and ignored signals would stay ignored across exec.
  struct sigaction default_action = {};
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &default_action, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  if (s.cpu < 0 || s.cpu >= CPU_SETSIZE) {
    report(s.status_fd, child_stage::pin, EINVAL);
  } else {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(s.cpu, &set);
    if (::sched_setaffinity(0, sizeof set, &set) != 0) report(s.status_fd, child_stage::pin, errno);
  }
  if (!put_at(s.stdin_fd, STDIN_FILENO) || !put_at(s.stdout_fd, STDOUT_FILENO) ||
      !put_at(s.stderr_fd, STDERR_FILENO)) {
    report(s.status_fd, child_stage::stdio, errno);
    ::_exit(127);
  }
  // Socket activation: the listening socket becomes descriptor 3, after moving the status
  // pipe out of its way.
  if (s.listen_fd >= 0) {
    if (s.status_fd == 3) s.status_fd = ::fcntl(3, F_DUPFD_CLOEXEC, 4);
    if (s.status_fd < 0 || !put_at(s.listen_fd, 3)) {
      report(s.status_fd, child_stage::stdio, errno);
      ::_exit(127);
    }
  }
  // Nothing else of ours (listening socket, client connections, the guardian's socket) may
  // leak into the backend; Asio opens sockets without close-on-exec.
  const unsigned first = s.listen_fd >= 0 ? 4U : 3U;
  if (::syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (long fd = first, max = ::sysconf(_SC_OPEN_MAX); fd < max; ++fd)
      ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  }
  // The slots are the parent's buffers, reserved for this: it waits, and reads them no more.
  for (std::size_t i = 0; i < s.pid_slot_count; ++i) write_decimal(s.pid_slots[i], ::getpid());
  ::execve(s.argv[0], s.argv, s.envp);
  report(s.status_fd, child_stage::exec, errno);
  ::_exit(127);
}

std::string errno_text(int error) { return std::system_category().message(error); }

}  // namespace

std::chrono::steady_clock::time_point system_process_env::now() {
  return std::chrono::steady_clock::now();
}

std::error_code system_process_env::make_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) return {errno, std::system_category()};
  return {};
}

process_start system_process_env::start(const process_spec& spec) {
  process_start result;
  std::vector<char*> argv;
  for (const std::string& arg : spec.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  // The environment, built before vfork: the child may not allocate.
  auto overridden = [&spec](std::string_view entry) {
    std::string_view name = entry.substr(0, entry.find('='));
    for (const char* own : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS",
                            "LISTEN_PID", "LISTEN_FDNAMES"}) {
      if (name == own) return true;
    }
    for (const std::string& e : spec.environment) {
      if (e.substr(0, e.find('=')) == name) return true;
    }
    for (const std::string& v : spec.pid_variables) {
      if (v == name) return true;
    }
    return false;
  };
  std::vector<std::string> pid_entries;
  for (const std::string& name : spec.pid_variables)
    pid_entries.push_back(name + "=" + std::string(24, ' '));
  std::vector<char*> envp, pid_slots;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!overridden(*e)) envp.push_back(*e);
  }
  for (const std::string& e : spec.environment) envp.push_back(const_cast<char*>(e.c_str()));
  for (std::size_t i = 0; i < pid_entries.size(); ++i) {
    envp.push_back(pid_entries[i].data());
    pid_slots.push_back(pid_entries[i].data() + spec.pid_variables[i].size() + 1);
  }
  envp.push_back(nullptr);

  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    result.local_error = std::error_code(errno, std::system_category());
    result.failure = "opening /dev/null: " + errno_text(errno);
    return result;
  }
  int status[2];
  if (::pipe2(status, O_CLOEXEC) != 0) {
    result.local_error = std::error_code(errno, std::system_category());
    result.failure = "creating the status pipe: " + errno_text(errno);
    ::close(null_fd);
    return result;
  }
  const child_setup setup{argv.data(),
                          envp.data(),
                          pid_slots.data(),
                          pid_slots.size(),
                          spec.cpu,
                          null_fd,
                          spec.stdout_fd,
                          spec.stderr_fd,
                          spec.announce_fd,
                          spec.listen_fd,
                          status[1],
                          ::getpid(),
                          static_cast<rlim_t>(spec.max_open_files),
                          static_cast<rlim_t>(spec.max_address_space),
                          spec.switch_user,
                          spec.uid,
                          spec.gid,
                          spec.groups.data(),
                          spec.groups.size()};

  // Blocked until the child has reset its dispositions: a handler of ours running in the
  // child would run on our memory.
  sigset_t all, previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &previous);
  pid_t pid = ::vfork();
  if (pid == 0) exec_child(setup);
  int vfork_error = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  ::close(null_fd);
  ::close(status[1]);
  if (pid < 0) {
    ::close(status[0]);
    result.local_error = std::error_code(vfork_error, std::system_category());
    result.failure = "vfork: " + errno_text(vfork_error);
    return result;
  }

  // End of file without a record: exec succeeded and nothing went wrong on the way.
  child_report reports[8];
  std::size_t bytes = 0;
  for (;;) {
    ssize_t n = ::read(status[0], reinterpret_cast<char*>(reports) + bytes, sizeof reports - bytes);
    if (n > 0) bytes += static_cast<std::size_t>(n);
    if (n == 0 || (n < 0 && errno != EINTR) || bytes == sizeof reports) break;
  }
  ::close(status[0]);

  for (std::size_t i = 0; i < bytes / sizeof(child_report); ++i) {
    const child_report& r = reports[i];
    switch (r.stage) {
      case child_stage::pin:
        result.pin_error = std::error_code(r.error, std::system_category());
        break;
      case child_stage::stdio:
        result.failure = "setting up its stdin, stdout and stderr: " + errno_text(r.error);
        break;
      case child_stage::exec:
        result.failure = "cannot run " + spec.argv[0] + ": " + errno_text(r.error);
        break;
      case child_stage::open_files_limit:
        result.failure = "cannot set max_open_files = " + std::to_string(spec.max_open_files) +
                         " (RLIMIT_NOFILE): " + errno_text(r.error);
        break;
      case child_stage::address_space_limit:
        result.failure =
            "cannot set max_address_space = " + std::to_string(spec.max_address_space) +
            " bytes (RLIMIT_AS): " + errno_text(r.error);
        break;
      case child_stage::user:
        result.failure = "cannot switch to uid " + std::to_string(spec.uid) + ", gid " +
                         std::to_string(spec.gid) + " ([backends] user): " + errno_text(r.error);
        break;
    }
  }
  if (!result.failure.empty()) {
    // It has exited already (it reported, then _exit): collect it here, not as a backend exit.
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return result;
  }
  result.pid = pid;
  return result;
}

void system_process_env::signal_group(pid_t pgid, int signal) {
  // kill(-1) would reach every process we may signal.
  if (pgid > 1) ::kill(-pgid, signal);
}

pid_t system_process_env::reap(int& wait_status) {
  pid_t pid = ::waitpid(-1, &wait_status, WNOHANG);
  return pid > 0 ? pid : 0;
}

}  // namespace pinwheel
