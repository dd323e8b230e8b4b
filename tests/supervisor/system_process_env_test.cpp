// The real process_env with real processes: what a backend finds when it starts.
#include "supervisor/system_process_env.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/child_process.hpp"
#include "support/unique_fd.hpp"

namespace pinwheel {
namespace {

using test::unique_fd;

// The value of `key` ("SigIgn", "SigBlk") in /proc/PID/status, as a bit mask.
std::uint64_t status_mask(pid_t pid, const std::string& key) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(key + ":", 0) == 0) return std::stoull(line.substr(key.size() + 1), nullptr, 16);
  }
  throw std::runtime_error("no " + key + " for pid " + std::to_string(pid));
}

// The descriptors open in `pid`.
std::vector<int> open_fds(pid_t pid) {
  std::vector<int> fds;
  std::string path = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return fds;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') fds.push_back(std::stoi(entry->d_name));
  }
  ::closedir(dir);
  std::sort(fds.begin(), fds.end());
  return fds;
}

// What `fd` holds within 5 s, up to `size` bytes ("" if nothing comes).
std::string read_some(int fd, std::size_t size) {
  pollfd ready{fd, POLLIN, 0};
  if (::poll(&ready, 1, 5000) != 1) return {};
  std::string text(size, '\0');
  ssize_t n = ::read(fd, text.data(), size);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return text;
}

// Reads `fd` to end of file.
std::string read_all(int fd) {
  std::string text;
  char buffer[256];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, n);
  return text;
}

// A started process with its output pipes; killed (its group) and reaped at the end.
class started_process {
 public:
  started_process(system_process_env& env, std::vector<std::string> argv, int cpu,
                  int announce_fd = -1)
      : env_(env) {
    int out[2], err[2];
    if (env.make_pipe(out) || env.make_pipe(err)) throw std::runtime_error("pipes");
    out_ = unique_fd(out[0]);
    err_ = unique_fd(err[0]);
    result = env.start({std::move(argv), cpu, out[1], err[1], announce_fd});
    ::close(out[1]);
    ::close(err[1]);
  }
  ~started_process() {
    if (result.pid == 0) return;
    env_.signal_group(result.pid, SIGKILL);
    while (::waitpid(result.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  int out() const { return out_.get(); }
  int err() const { return err_.get(); }

  process_start result;

 private:
  system_process_env& env_;
  unique_fd out_;
  unique_fd err_;
};

int first_allowed_cpu() { return test::own_allowed_cpus().front(); }

TEST(SystemProcessEnv, RunsInItsOwnGroupPinnedWithItsOutputOnThePipes) {
  system_process_env env;
  int cpu = test::own_allowed_cpus().back();
  started_process p(env, {"/bin/sh", "-c", "echo out; echo err >&2; exec sleep 30"}, cpu);
  ASSERT_NE(p.result.pid, 0) << p.result.failure;
  EXPECT_FALSE(p.result.pin_error);
  EXPECT_EQ(::getpgid(p.result.pid), p.result.pid);
  EXPECT_EQ(test::cpus_allowed_list(p.result.pid), std::to_string(cpu));
  EXPECT_EQ(read_some(p.out(), 4), "out\n");
  EXPECT_EQ(read_some(p.err(), 4), "err\n");
}

TEST(SystemProcessEnv, ExecFailureIsReportedAndLeavesNoChild) {
  system_process_env env;
  started_process p(env, {"/nonexistent/server"}, first_allowed_cpu());
  EXPECT_EQ(p.result.pid, 0);
  EXPECT_EQ(p.result.failure, "cannot run /nonexistent/server: No such file or directory");
  int status;
  EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1) << "a child was left to reap";
  EXPECT_EQ(errno, ECHILD);
}

TEST(SystemProcessEnv, AFailedPinIsReportedAndTheProcessRunsAnyway) {
  system_process_env env;
  // No machine this test runs on has this core.
  started_process p(env, {"/bin/sh", "-c", "echo running"}, CPU_SETSIZE - 1);
  ASSERT_NE(p.result.pid, 0) << p.result.failure;
  EXPECT_EQ(p.result.pin_error, std::errc::invalid_argument);
  EXPECT_EQ(read_all(p.out()), "running\n");
}

TEST(SystemProcessEnv, EverySignalIsDefaultAndUnblockedInTheChild) {
  system_process_env env;
  // What a balancer may have inherited (nohup, a shell's background job) or set itself.
  struct sigaction ignore = {}, saved[3];
  ignore.sa_handler = SIG_IGN;
  const int ignored[3] = {SIGHUP, SIGWINCH, SIGTTOU};
  for (int i = 0; i < 3; ++i) ::sigaction(ignored[i], &ignore, &saved[i]);
  sigset_t blocked, previous;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGUSR1);
  ::pthread_sigmask(SIG_BLOCK, &blocked, &previous);

  started_process p(env, {"/bin/sleep", "30"}, first_allowed_cpu());

  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  for (int i = 0; i < 3; ++i) ::sigaction(ignored[i], &saved[i], nullptr);
  ASSERT_NE(p.result.pid, 0) << p.result.failure;
  EXPECT_EQ(status_mask(p.result.pid, "SigIgn"), 0u);
  EXPECT_EQ(status_mask(p.result.pid, "SigBlk"), 0u);
}

TEST(SystemProcessEnv, NoDescriptorOfOursLeaksIntoTheChild) {
  system_process_env env;
  // Asio opens sockets without close-on-exec.
  unique_fd inheritable(::socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_GE(inheritable.get(), 0);
  started_process p(env, {"/bin/sleep", "30"}, first_allowed_cpu());
  ASSERT_NE(p.result.pid, 0) << p.result.failure;
  // By identity, not by count: a sanitizer's runtime may hold a descriptor of its own open for
  // a moment in another thread, and that one is not ours to close.
  std::string ours =
      std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(inheritable.get()));
  for (int fd : open_fds(p.result.pid)) {
    if (fd <= 2) continue;
    std::error_code ec;
    auto target = std::filesystem::read_symlink(
        "/proc/" + std::to_string(p.result.pid) + "/fd/" + std::to_string(fd), ec);
    EXPECT_NE(target.string(), ours) << "descriptor " << fd << " leaked into the child";
  }
  std::vector<int> fds = open_fds(p.result.pid);
  EXPECT_TRUE(fds.size() >= 3 && fds[0] == 0 && fds[1] == 1 && fds[2] == 2);
}

TEST(SystemProcessEnv, TheChildAnnouncesItsPidBeforeExec) {
  system_process_env env;
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  unique_fd ours(pair[0]), theirs(pair[1]);
  started_process p(env, {"/bin/sleep", "30"}, first_allowed_cpu(), theirs.get());
  ASSERT_NE(p.result.pid, 0) << p.result.failure;
  pid_t announced = 0;
  EXPECT_EQ(::recv(ours.get(), &announced, sizeof announced, MSG_DONTWAIT),
            static_cast<ssize_t>(sizeof announced));
  EXPECT_EQ(announced, p.result.pid);
}

long minor_faults() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

TEST(SystemProcessEnv, StartingLeavesOurMemoryAlone) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer turns vfork into fork";
#endif
  // fork would mark every page of ours copy-on-write, so writing them afterwards faults once
  // per page; a vforked child borrows our memory and leaves it as it was.
  constexpr std::size_t kPages = 16384;
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t size = kPages * page;
  void* memory = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(memory, MAP_FAILED);
  ::madvise(memory, size, MADV_NOHUGEPAGE);  // one fault per small page, not per huge one
  auto touch = [&] {
    volatile char* bytes = static_cast<volatile char*>(memory);
    for (std::size_t i = 0; i < kPages; ++i)
      bytes[i * page] = static_cast<char>(bytes[i * page] + 1);
  };
  touch();

  system_process_env env;
  started_process p(env, {"/bin/sh", "-c", "exit 0"}, first_allowed_cpu());
  ASSERT_NE(p.result.pid, 0) << p.result.failure;
  long before = minor_faults();
  touch();
  long faults = minor_faults() - before;
  ::munmap(memory, size);
  EXPECT_LT(faults, static_cast<long>(kPages / 4)) << "our pages were made copy-on-write";
}

}  // namespace
}  // namespace pinwheel
