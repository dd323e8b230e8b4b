#include "support/child_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "support/wait.hpp"

namespace pinwheel::test {

namespace {

struct pipe_ends {
  unique_fd read;
  unique_fd write;
};

pipe_ends make_pipe() {
  int fds[2];
  // O_CLOEXEC: a child started by another thread must not inherit this child's pipes.
  if (pipe2(fds, O_CLOEXEC) != 0) {
    throw std::system_error(errno, std::system_category(), "child_process: pipe2");
  }
  return {unique_fd(fds[0]), unique_fd(fds[1])};
}

// Runs in the child between fork and exec. The parent may be multi-threaded, so only
// async-signal-safe calls: no allocation, no locks, no stdio.
[[noreturn]] void exec_child(char* const* argv, int output_fd, int error_fd, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The parent may have died before the line above took effect.
  if (getppid() != parent) _exit(127);

  // Blocked and ignored signals survive exec; the child starts clean whatever the test did.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction default_action = {};
  default_action.sa_handler = SIG_DFL;
  for (int signal = 1; signal < NSIG; ++signal) sigaction(signal, &default_action, nullptr);

  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd >= 0 && dup2(null_fd, STDIN_FILENO) >= 0 && dup2(output_fd, STDOUT_FILENO) >= 0 &&
      dup2(output_fd, STDERR_FILENO) >= 0) {
    execv(argv[0], argv);
  }
  const int error = errno;
  [[maybe_unused]] const ssize_t ignored = write(error_fd, &error, sizeof error);
  _exit(127);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// The text of /proc/PID/stat after the command name, which may itself hold spaces and ')'.
std::string stat_fields(pid_t pid) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const std::size_t end_of_name = stat.rfind(')');
  if (end_of_name == std::string::npos || end_of_name + 2 >= stat.size()) return {};
  return stat.substr(end_of_name + 2);
}

}  // namespace

child_process::child_process(std::vector<std::string> argv) {
  if (argv.empty()) throw std::runtime_error("child_process: empty argv");
  program_ = argv[0];
  // Built before fork: the child may not allocate.
  std::vector<char*> args;
  for (std::string& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);

  pipe_ends output = make_pipe();
  pipe_ends exec_error = make_pipe();
  pipe_ends stop = make_pipe();
  pipe_ends wake = make_pipe();

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    throw std::system_error(errno, std::system_category(), "cannot fork to start " + program_);
  }
  if (pid == 0) exec_child(args.data(), output.write.get(), exec_error.write.get(), parent);

  output.write.reset();
  exec_error.write.reset();
  // The error pipe closes on a successful exec (O_CLOEXEC); otherwise it carries errno.
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(exec_error.read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    throw std::runtime_error("cannot start " + program_ + ": " +
                             std::system_category().message(child_errno));
  }

  pid_ = pid;
  fcntl(output.read.get(), F_SETFL, fcntl(output.read.get(), F_GETFL) | O_NONBLOCK);
  output_fd_ = std::move(output.read);
  stop_read_fd_ = std::move(stop.read);
  stop_write_fd_ = std::move(stop.write);
  // Non-blocking both ways: waking never blocks the caller, and the reader empties it in a loop.
  for (const int fd : {wake.read.get(), wake.write.get()}) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  wake_read_fd_ = std::move(wake.read);
  wake_write_fd_ = std::move(wake.write);
  reader_ = std::thread([this] { read_output(); });
}

child_process::~child_process() {
  if (!try_reap()) {
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  // Grandchildren may still hold the pipe open, so EOF may never come: tell the reader to stop.
  stop_write_fd_.reset();
  reader_.join();
}

pid_t child_process::pid() const { return pid_; }

std::optional<std::vector<std::string>> child_process::wait_for_line(
    const std::string& pattern, std::chrono::milliseconds timeout) {
  const std::regex re(pattern);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  std::size_t next = 0;
  for (;;) {
    for (; next < lines_.size(); ++next) {
      std::smatch match;
      if (std::regex_search(lines_[next], match, re)) {
        std::vector<std::string> groups;
        for (const auto& group : match) groups.push_back(group.str());
        return groups;
      }
    }
    if (output_ended_ || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    output_changed_.wait_until(lock, deadline);
  }
}

std::string child_process::output() const {
  std::lock_guard lock(mutex_);
  std::string all;
  for (const std::string& line : lines_) {
    all += line;
    all += '\n';
  }
  return all + partial_line_;
}

void child_process::pause_output() {
  // The reader reads only under mutex_, and checks the flag under it first.
  std::lock_guard lock(mutex_);
  output_paused_ = true;
}

void child_process::resume_output() {
  {
    std::lock_guard lock(mutex_);
    output_paused_ = false;
  }
  wake_reader();
}

void child_process::wake_reader() {
  const char byte = 0;
  // A full pipe already holds a wake-up the reader has yet to see.
  [[maybe_unused]] const ssize_t ignored = write(wake_write_fd_.get(), &byte, 1);
}

void child_process::send_signal(int signal) {
  // Once reaped, the pid may belong to someone else.
  if (!try_reap()) kill(pid_, signal);
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  wait_until([this] { return try_reap(); }, timeout, std::chrono::milliseconds(5));
  return exit_code_;
}

bool child_process::running() { return !try_reap(); }

bool child_process::try_reap() {
  if (exit_code_) return true;
  int status = 0;
  pid_t reaped;
  do {
    reaped = waitpid(pid_, &status, WNOHANG);
  } while (reaped < 0 && errno == EINTR);
  if (reaped == 0) return false;
  if (reaped < 0) {
    // Reaped behind our back (SIGCHLD ignored, say): gone, with no status to report.
    exit_code_ = -1;
  } else if (WIFEXITED(status)) {
    exit_code_ = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    exit_code_ = 128 + WTERMSIG(status);
  } else {
    return false;
  }
  // Everything the child wrote is in the pipe now; take it, so output() after exit is complete.
  std::lock_guard lock(mutex_);
  if (!output_paused_) drain_output();
  return true;
}

void child_process::read_output() {
  for (;;) {
    bool paused;
    {
      std::lock_guard lock(mutex_);
      paused = output_paused_;
    }
    // While paused the output is left out: its readiness would only wake us in a loop.
    pollfd fds[3] = {{stop_read_fd_.get(), POLLIN, 0},
                     {wake_read_fd_.get(), POLLIN, 0},
                     {output_fd_.get(), POLLIN, 0}};
    const int ready = poll(fds, paused ? 2 : 3, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (fds[1].revents != 0) {
      char bytes[64];
      while (read(wake_read_fd_.get(), bytes, sizeof bytes) > 0) {
      }
    }
    std::lock_guard lock(mutex_);
    // On stop, what is in the pipe now is all we wait for: grandchildren may hold it open.
    const bool stop = ready < 0 || fds[0].revents != 0;
    if (!output_paused_ && !drain_output()) return;
    if (stop) {
      end_output();
      return;
    }
  }
}

bool child_process::drain_output() {
  if (output_ended_) return false;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(output_fd_.get(), buffer, sizeof buffer);
    if (n > 0) {
      append_output(buffer, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    } else {
      end_output();
      return false;
    }
  }
}

void child_process::end_output() {
  if (!partial_line_.empty()) lines_.push_back(std::exchange(partial_line_, {}));
  output_ended_ = true;
  output_changed_.notify_all();
}

void child_process::append_output(const char* data, std::size_t length) {
  partial_line_.append(data, length);
  std::size_t start = 0;
  for (std::size_t newline; (newline = partial_line_.find('\n', start)) != std::string::npos;
       start = newline + 1) {
    std::size_t end = newline;
    if (end > start && partial_line_[end - 1] == '\r') --end;
    lines_.push_back(partial_line_.substr(start, end - start));
  }
  if (start == 0) return;
  partial_line_.erase(0, start);
  output_changed_.notify_all();
}

bool process_alive(pid_t pid) {
  const std::string fields = stat_fields(pid);
  if (fields.empty()) return false;
  return fields[0] != 'Z' && fields[0] != 'X';
}

std::string cpus_allowed_list(pid_t pid) {
  std::istringstream status(read_file("/proc/" + std::to_string(pid) + "/status"));
  const std::string key = "Cpus_allowed_list:";
  for (std::string line; std::getline(status, line);) {
    if (line.compare(0, key.size(), key) != 0) continue;
    const std::size_t first = line.find_first_not_of(" \t", key.size());
    const std::size_t last = line.find_last_not_of(" \t\r");
    if (first == std::string::npos) return {};
    return line.substr(first, last - first + 1);
  }
  return {};
}

std::vector<pid_t> child_pids(pid_t pid) {
  std::vector<pid_t> children;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return children;
  while (const dirent* entry = readdir(proc)) {
    char* end = nullptr;
    const long candidate = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') continue;
    // Fields after the name: state, then ppid. A process may vanish meanwhile: skip it.
    std::istringstream fields(stat_fields(static_cast<pid_t>(candidate)));
    char state = 0;
    long ppid = 0;
    if (fields >> state >> ppid && ppid == pid) children.push_back(static_cast<pid_t>(candidate));
  }
  closedir(proc);
  std::sort(children.begin(), children.end());
  return children;
}

std::vector<int> own_allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0)
    throw std::system_error(errno, std::system_category(), "sched_getaffinity");
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

}  // namespace pinwheel::test
