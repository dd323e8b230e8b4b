// Privileges and limits, end to end: the balancer binds a privileged port and drops root to
// [balancer] user, the backends run as [backends] user with their rlimits, and a backend over
// max_memory is restarted alone while a client keeps being served.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "e2e/balancer_fixture.hpp"
#include "e2e/load_loop.hpp"
#include "support/unique_fd.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

// Debian's unprivileged account (nobody) and group (nogroup).
constexpr unsigned kNobody = 65534;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The first number after "Uid:" or "Gid:" in /proc/PID/status, all four (real, effective,
// saved, filesystem) checked equal; -1 if they differ or the process is gone.
long proc_id(pid_t pid, const std::string& field) {
  std::string status = read_text("/proc/" + std::to_string(pid) + "/status");
  std::smatch m;
  if (!std::regex_search(status, m, std::regex(field + R"(:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+))")))
    return -1;
  for (int i = 2; i <= 4; ++i) {
    if (m[i] != m[1]) return -1;
  }
  return std::stol(m[1]);
}

// A port below 1024 free on 127.0.0.1 now (root may bind it; nothing else in the suite uses
// these).
std::uint16_t free_privileged_port() {
  for (std::uint16_t port = 1023; port >= 600; --port) {
    unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return port;
  }
  throw std::runtime_error("no free port below 1024 on 127.0.0.1");
}

struct backend_status {
  pid_t pid = 0;
  std::uint16_t port = 0;
  std::string state;
  std::uint64_t memory_restarts = 0;
};

// Backend name -> what `ctl status --json` says of it.
std::map<std::string, backend_status> status_of(const running_balancer& p) {
  std::map<std::string, backend_status> out;
  std::string json = run_ctl(p, {"status", "--json"}).output;
  std::regex entry(
      R"rx(\{"name":"([^"]+)","address":"[^"]*:(\d+)","state":"([a-z_]+)"[^}]*"pid":(\d+)[^}]*"memory_restarts":(\d+))rx");
  for (std::sregex_iterator it(json.begin(), json.end(), entry), end; it != end; ++it) {
    backend_status& b = out[(*it)[1]];
    b.port = static_cast<std::uint16_t>(std::stoi((*it)[2]));
    b.state = (*it)[3];
    b.pid = std::stoi((*it)[4]);
    b.memory_restarts = std::stoull((*it)[5]);
  }
  return out;
}

const std::string kAdmin = "[admin]\nsocket = \"admin.sock\"\n";

TEST(Privileges, BalancerAndBackendsDropToNobodyAfterBindingAPrivilegedPort) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: it binds a port below 1024 and drops root";
  std::uint16_t port = free_privileged_port();
  std::string toml = demo_config(2, "round-robin", "user = \"nobody\"\n",
                                 "user = \"nobody\"\ngroup = \"nogroup\"\n") +
                     kAdmin;
  toml.replace(toml.find("127.0.0.1:0"), 11, "127.0.0.1:" + std::to_string(port));
  running_balancer pinwheel(toml, 2);
  EXPECT_EQ(pinwheel.port(), port);
  EXPECT_TRUE(pinwheel.process().wait_for_line("dropped root: running as nobody", 5s))
      << pinwheel.process().output();
  EXPECT_EQ(proc_id(pinwheel.pid(), "Uid"), kNobody);
  EXPECT_EQ(proc_id(pinwheel.pid(), "Gid"), kNobody);

  // Served through the privileged port, by both backends, each running as nobody:nogroup.
  std::set<pid_t> backends;
  ASSERT_TRUE(
      wait_until([&] { return backends.insert(ask_whoami(port).pid), backends.size() == 2; }, 5s));
  for (pid_t pid : backends) {
    EXPECT_EQ(proc_id(pid, "Uid"), kNobody) << "backend " << pid;
    EXPECT_EQ(proc_id(pid, "Gid"), kNobody) << "backend " << pid;
  }
  // The operator (root here) still gets in on the admin socket after the drop.
  EXPECT_EQ(status_of(pinwheel).size(), 2U) << pinwheel.process().output();
}

TEST(Limits, BackendsStartWithTheirOpenFileAndAddressSpaceLimits) {
  // A plain program as the backend: a sanitized build of the demo backend cannot run under any
  // address-space limit (ThreadSanitizer insists on an unlimited one).
  running_balancer pinwheel(
      "[balancer]\nlisten = \"127.0.0.1:0\"\n[backends]\ncount = 1\nbase_port = 0\n"
      "command = [\"/bin/sleep\", \"1000\"]\nmax_open_files = 777\n"
      "max_address_space = \"8GiB\"\n[health]\nkind = \"none\"\n",
      0);
  auto started = pinwheel.process().wait_for_line(R"(backend 0 started: pid (\d+))", 5s);
  ASSERT_TRUE(started) << pinwheel.process().output();
  const std::string limits_path = "/proc/" + (*started)[1] + "/limits";
  std::string limits;
  // The limits are set before exec: once the program runs, they show.
  EXPECT_TRUE(wait_until(
      [&] {
        limits = read_text(limits_path);
        return std::regex_search(limits, std::regex(R"(Max open files\s+777\s+777\s+files)")) &&
               std::regex_search(limits,
                                 std::regex(R"(Max address space\s+8589934592\s+8589934592)"));
      },
      5s))
      << limits << pinwheel.process().output();
  // The balancer keeps its own.
  std::string own = read_text("/proc/" + std::to_string(pinwheel.pid()) + "/limits");
  EXPECT_FALSE(std::regex_search(own, std::regex(R"(Max open files\s+777\s)"))) << own;
}

TEST(Limits, ABackendOverMaxMemoryIsRestartedAloneWithoutAFailedRequest) {
  // Above the demo backend's own footprint in every build (sanitizers included).
  running_balancer pinwheel(demo_config(3, "round-robin", "", "max_memory = \"200MiB\"\n") + kAdmin,
                            3);
  auto before = status_of(pinwheel);
  ASSERT_EQ(before.size(), 3U) << pinwheel.process().output();
  load_loop load(pinwheel.port(), 2);
  ASSERT_TRUE(wait_until([&] { return load.succeeded() > 20; }, 10s));

  // Grown 16 MiB at a time, straight on its own port: each step holds its event loop only
  // briefly, so the clients it serves meanwhile are not the ones kept waiting (as they would
  // be behind one large, slow allocation on a busy machine).
  const std::string restart_line = "backend 0 \\(pid " + std::to_string(before["0"].pid) +
                                   "\\) uses [0-9.]+ MiB of memory \\(RSS\\), over max_memory "
                                   "200MiB: restarting it";
  std::optional<std::vector<std::string>> line;
  for (int step = 0; step < 100 && !line; ++step) {
    try {
      http_get(before["0"].port, "/grow?mb=16", 5s);
    } catch (const std::runtime_error&) {
      // Stopped for its restart between two steps.
    }
    line = pinwheel.process().wait_for_line(restart_line, 50ms);
  }
  ASSERT_TRUE(line) << pinwheel.process().output();
  std::map<std::string, backend_status> after;
  ASSERT_TRUE(wait_until(
      [&] {
        after = status_of(pinwheel);
        return after["0"].pid != before["0"].pid && after["0"].pid != 0 && after["0"].state == "up";
      },
      15s, 100ms))
      << pinwheel.process().output();
  std::uint64_t served = load.succeeded();
  ASSERT_TRUE(wait_until([&] { return load.succeeded() > served + 20; }, 10s));
  load.stop();
  std::cout << load.summary() << "\n";
  EXPECT_EQ(load.failed(), 0U) << load.failures() << pinwheel.process().output();
  EXPECT_EQ(after["0"].memory_restarts, 1U);
  EXPECT_EQ(after["1"].pid, before["1"].pid) << "the other backends are left alone";
  EXPECT_EQ(after["2"].pid, before["2"].pid);
  EXPECT_EQ(after["1"].memory_restarts, 0U);
  // A deliberate restart, not a crash.
  std::string log = pinwheel.process().output();
  EXPECT_TRUE(std::regex_search(log, std::regex("backend 0 stopped on purpose"))) << log;
  EXPECT_FALSE(std::regex_search(log, std::regex(R"(backend 0 \(pid \d+ (exited|was killed))")))
      << log;
}

}  // namespace
}  // namespace pinwheel::test
