// Backends that die, crash-loop or refuse: clients should not notice.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "e2e/balancer_fixture.hpp"
#include "support/child_process.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

// Whether a server could listen on 127.0.0.1:port now (SO_REUSEADDR, as servers do: only a
// listening socket blocks it, not connections left in TIME_WAIT).
bool port_free(std::uint16_t port) {
  unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int on = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
         ::listen(fd.get(), 1) == 0;
}

// A [balancer] + [backends] config for `count` backends running `command` (a TOML array).
std::string config_with_command(int count, const std::string& command,
                                const std::string& extra_backends, const std::string& health) {
  return "[balancer]\nlisten = \"127.0.0.1:0\"\nstrategy = \"round-robin\"\n"
         "[backends]\ncount = " +
         std::to_string(count) + "\nbase_port = 0\ncommand = " + command + "\n" + extra_backends +
         "[health]\n" + health;
}

// The value of field `key` ("SigIgn", "SigBlk") in /proc/PID/status, as a bit mask.
std::uint64_t status_mask(pid_t pid, const std::string& key) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(key + ":", 0) == 0) return std::stoull(line.substr(key.size() + 1), nullptr, 16);
  }
  throw std::runtime_error("no " + key + " for pid " + std::to_string(pid));
}

// Every "restarting in X" of backend `name`, in order.
std::vector<std::string> restart_delays(const std::string& output, const std::string& name) {
  std::vector<std::string> delays;
  std::regex line("backend " + name + R"( \([^)]*\); restarting in (\S+))");
  for (std::sregex_iterator it(output.begin(), output.end(), line), end; it != end; ++it)
    delays.push_back((*it)[1]);
  return delays;
}

TEST(Supervision, KilledBackendIsRestartedAndNoRequestFails) {
  running_balancer pinwheel(demo_config(2, "round-robin"), 2);
  whoami first = ask_whoami(pinwheel.port());
  whoami second = ask_whoami(pinwheel.port());
  ASSERT_NE(first.index, second.index);
  pid_t victim = first.index == 0 ? first.pid : second.pid;

  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  ASSERT_TRUE(wait_until([&] { return !process_alive(victim); }, 5s));
  // Every request started after the kill succeeds: refused connects are retried elsewhere.
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(http_get(pinwheel.port(), "/fast").status, 200) << "request " << i;
  }
  // Backend 0 comes back with a new pid and serves again.
  bool restarted = wait_until(
      [&] {
        whoami who = ask_whoami(pinwheel.port());
        return who.index == 0 && who.pid != victim;
      },
      10s);
  EXPECT_TRUE(restarted) << pinwheel.process().output();
  EXPECT_NE(pinwheel.process().output().find("was killed by signal 9"), std::string::npos);
}

TEST(Supervision, RefusingBackendIsSkippedWithoutAClientVisibleError) {
  own_backend live(7);
  std::uint16_t live_port = live.port;
  std::uint16_t dead_port = free_port();  // nobody listens here: connects are refused
  // Unchecked servers (kind "none") are all taken as up, so the dead one is tried.
  running_balancer pinwheel(
      "[balancer]\nlisten = \"127.0.0.1:0\"\nstrategy = \"round-robin\"\n"
      "[backends]\nservers = [\"127.0.0.1:" +
      std::to_string(dead_port) + "\", \"127.0.0.1:" + std::to_string(live_port) +
      "\"]\n"
      "[health]\nkind = \"none\"\n");
  for (int i = 0; i < 10; ++i) {
    whoami who = ask_whoami(pinwheel.port());
    EXPECT_EQ(who.index, 7) << "request " << i;
  }
}

TEST(Supervision, FailedProxyConnectsTakeACheckedServerDown) {
  auto first = std::make_unique<own_backend>(0);
  own_backend second(1);
  std::uint16_t ports[2] = {first->port, second.port};
  // Checks every minute: only the passive checks can notice the first server going away.
  running_balancer pinwheel(
      "[balancer]\nlisten = \"127.0.0.1:0\"\nstrategy = \"round-robin\"\n"
      "[backends]\nservers = [\"127.0.0.1:" +
          std::to_string(ports[0]) + "\", \"127.0.0.1:" + std::to_string(ports[1]) +
          "\"]\n"
          "[health]\nkind = \"tcp\"\ninterval = \"1m\"\nfall = 2\n",
      2);
  first.reset();  // SIGKILL and reaped
  for (int i = 0; i < 10; ++i) EXPECT_EQ(ask_whoami(pinwheel.port()).index, 1) << "request " << i;
  EXPECT_TRUE(pinwheel.process().wait_for_line(
      R"(backend 0 \(127\.0\.0\.1:\d+\) is down: proxy connect failed: Connection refused)", 5s))
      << pinwheel.process().output();
}

TEST(Supervision, CrashLoopingBackendIsGivenUpWhileTheOthersServe) {
  // Backend 1 exits at once, every time; backend 0 is the real demo backend.
  running_balancer pinwheel(
      std::string("[balancer]\nlisten = \"127.0.0.1:0\"\n"
                  "[backends]\ncount = 2\nbase_port = 0\n"
                  "command = [\"/bin/sh\", \"-c\", \"if [ {index} = 1 ]; then exit 3; fi; exec ") +
          BACKEND_BIN +
          " --port {port} --index {index}\"]\n"
          "max_restarts = 2\nrestart_delay = \"10ms\"\n"
          "[health]\nkind = \"http\"\ninterval = \"200ms\"\n",
      1);
  EXPECT_TRUE(
      pinwheel.process().wait_for_line("backend 1 is crash-looping: it exited 3 times", 10s))
      << pinwheel.process().output();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ask_whoami(pinwheel.port()).index, 0);
}

TEST(Supervision, BackendOutputIsForwardedWithItsIndex) {
  running_balancer pinwheel(demo_config(2, "round-robin"), 2);
  EXPECT_TRUE(pinwheel.process().wait_for_line(R"(^\[backend 0\] .*listening on)", 5s));
  EXPECT_TRUE(pinwheel.process().wait_for_line(R"(^\[backend 1\] .*listening on)", 5s));
}

TEST(Supervision, GrandchildrenDieWithTheBalancerEvenOnSigkill) {
  // The real server is the shell's child, not Pinwheel's: PR_SET_PDEATHSIG cannot reach it.
  running_balancer pinwheel(
      config_with_command(1,
                          std::string(R"(["/bin/sh", "-c", ")") + BACKEND_BIN +
                              R"( --port {port} --index {index} & wait"])",
                          "", "kind = \"http\"\ninterval = \"100ms\"\n"),
      1);
  auto started = pinwheel.process().wait_for_line(R"(backend 0 started: .*:(\d+)$)", 5s);
  ASSERT_TRUE(started) << pinwheel.process().output();
  auto port = static_cast<std::uint16_t>(std::stoi((*started)[1]));
  pid_t server = ask_whoami(pinwheel.port()).pid;
  std::vector<pid_t> children = child_pids(pinwheel.pid());
  ASSERT_EQ(std::count(children.begin(), children.end(), server), 0) << "not a grandchild";
  // Should it survive (the failure this test catches), it must not outlive the test.
  struct reap_on_failure {
    pid_t pid;
    ~reap_on_failure() {
      if (process_alive(pid)) ::kill(pid, SIGKILL);
    }
  } guard{server};

  pinwheel.process().send_signal(SIGKILL);
  EXPECT_EQ(pinwheel.process().wait_exit(5s), 128 + SIGKILL);
  EXPECT_TRUE(wait_until([&] { return !process_alive(server); }, 5s))
      << "server " << server << " outlived the balancer";
  EXPECT_TRUE(wait_until([&] { return port_free(port); }, 5s)) << "port " << port << " still taken";
}

TEST(Supervision, BackendThatDiesWhileDescriptorsRunOutIsRestartedLater) {
  running_balancer pinwheel(
      demo_config(1, "round-robin", "",
                  "restart_delay_max = \"100ms\"\nmax_restarts = 1000\nmin_uptime = \"1s\"\n"),
      1);
  whoami before = ask_whoami(pinwheel.port());
  // 0, 1 and 2 are open: no new descriptor fits under a limit of 3.
  rlimit old_limit{};
  rlimit tight{3, RLIM_INFINITY};
  ASSERT_EQ(::prlimit(pinwheel.pid(), RLIMIT_NOFILE, nullptr, &old_limit), 0);
  tight.rlim_max = old_limit.rlim_max;
  ASSERT_EQ(::prlimit(pinwheel.pid(), RLIMIT_NOFILE, &tight, nullptr), 0);
  ASSERT_EQ(::kill(before.pid, SIGKILL), 0);
  EXPECT_TRUE(pinwheel.process().wait_for_line("backend 0.*Too many open files", 5s))
      << pinwheel.process().output();

  ASSERT_EQ(::prlimit(pinwheel.pid(), RLIMIT_NOFILE, &old_limit, nullptr), 0);
  bool restarted = wait_until(
      [&] {
        try {
          return ask_whoami(pinwheel.port()).pid != before.pid;
        } catch (const std::exception&) {
          return false;
        }
      },
      10s);
  EXPECT_TRUE(restarted) << pinwheel.process().output();
  EXPECT_EQ(pinwheel.process().output().find("given up"), std::string::npos);
}

TEST(Supervision, RestartDelayDoublesUpToItsCeilingAndResetsAfterMinUptime) {
  std::string counter = write_temp_file("starts", "0\n");
  // Four quick exits, then one run longer than min_uptime, then the real server.
  std::string script = write_temp_file("backend.sh",
                                       "n=$(cat \"$1\")\n"
                                       "echo $((n + 1)) > \"$1\"\n"
                                       "case $n in\n"
                                       "  0|1|2|3) exit 1 ;;\n"
                                       "  4) sleep 1.3; exit 1 ;;\n"
                                       "esac\n"
                                       "exec " BACKEND_BIN " --port \"$2\" --index \"$3\"\n");
  running_balancer pinwheel(
      config_with_command(
          1, R"(["/bin/sh", ")" + script + R"(", ")" + counter + R"(", "{port}", "{index}"])",
          "restart_delay = \"40ms\"\nrestart_delay_max = \"100ms\"\n"
          "min_uptime = \"1s\"\nmax_restarts = 10\n",
          "kind = \"http\"\ninterval = \"100ms\"\n"),
      1);
  std::vector<std::string> expected{"40ms", "80ms", "100ms", "100ms", "40ms"};
  EXPECT_EQ(restart_delays(pinwheel.process().output(), "0"), expected)
      << pinwheel.process().output();
}

TEST(Supervision, BackendIgnoringSigtermIsKilledAfterStopTimeout) {
  running_balancer pinwheel(
      config_with_command(1, R"(["/bin/sh", "-c", "trap '' TERM; exec sleep 1000"])",
                          "stop_timeout = \"300ms\"\n", "kind = \"none\"\n"));
  auto started = pinwheel.process().wait_for_line(R"(backend 0 started: pid (\d+))", 5s);
  ASSERT_TRUE(started) << pinwheel.process().output();
  pid_t backend = std::stoi((*started)[1]);
  ASSERT_TRUE(wait_until([&] { return (status_mask(backend, "SigIgn") >> (SIGTERM - 1)) & 1; }, 5s))
      << "the backend does not ignore SIGTERM yet";

  pinwheel.process().send_signal(SIGTERM);
  EXPECT_TRUE(pinwheel.process().wait_for_line(
      "backend 0 still running 300ms after SIGTERM: SIGKILL to pid " + std::to_string(backend), 5s))
      << pinwheel.process().output();
  EXPECT_EQ(pinwheel.process().wait_exit(5s), 0) << pinwheel.process().output();
  EXPECT_FALSE(process_alive(backend));
}

TEST(Supervision, CpuPlaceholderReachesTheBackend) {
  running_balancer pinwheel(
      config_with_command(1,
                          std::string(R"(["/bin/sh", "-c", "echo placed on cpu={cpu}; exec )") +
                              BACKEND_BIN + R"( --port {port} --index {index}"])",
                          "", "kind = \"http\"\ninterval = \"100ms\"\n"),
      1);
  auto started = pinwheel.process().wait_for_line(R"(backend 0 started: pid \d+, cpu (\d+))", 5s);
  ASSERT_TRUE(started) << pinwheel.process().output();
  std::string cpu = (*started)[1];
  EXPECT_TRUE(pinwheel.process().wait_for_line(R"(^\[backend 0\] placed on cpu=)" + cpu + "$", 5s))
      << pinwheel.process().output();
  EXPECT_EQ(cpus_allowed_list(ask_whoami(pinwheel.port()).pid), cpu);
}

TEST(Supervision, ExitsOneWhenEveryBackendIsGivenUp) {
  running_balancer pinwheel(config_with_command(2, R"(["/bin/sh", "-c", "exit 3"])",
                                                "restart_delay = \"10ms\"\nmax_restarts = 1\n",
                                                "kind = \"none\"\n"));
  EXPECT_EQ(pinwheel.process().wait_exit(10s), 1) << pinwheel.process().output();
  std::string output = pinwheel.process().output();
  EXPECT_NE(output.find("backend 0 is crash-looping"), std::string::npos) << output;
  EXPECT_NE(output.find("backend 1 is crash-looping"), std::string::npos) << output;
  EXPECT_NE(output.find("pinwheel: every backend has been given up"), std::string::npos) << output;
}

TEST(Supervision, BackendsStartWithNoSignalIgnoredOrBlocked) {
  // A balancer started with signals ignored (nohup, a shell's background job) must not hand
  // them down: a backend that ignores SIGHUP or SIGXFSZ behaves differently for no visible reason.
  std::string config = write_temp_file("pinwheel.toml", demo_config(1, "round-robin"));
  child_process pinwheel({"/bin/sh", "-c",
                          std::string("trap '' HUP TTOU XFSZ WINCH; exec ") + PINWHEEL_BIN +
                              " --config " + config + " --metrics-listen 127.0.0.1:0"});
  auto started = pinwheel.wait_for_line(R"(backend 0 started: pid (\d+))", 5s);
  ASSERT_TRUE(started) << pinwheel.output();
  pid_t backend = std::stoi((*started)[1]);
  ASSERT_TRUE(pinwheel.wait_for_line(R"(\[backend 0\] .*listening on)", 5s)) << pinwheel.output();
  std::uint64_t ignored = status_mask(backend, "SigIgn");
  for (int signal : {SIGHUP, SIGTTOU, SIGXFSZ, SIGWINCH})
    EXPECT_EQ((ignored >> (signal - 1)) & 1, 0u) << strsignal(signal) << " is ignored";
  EXPECT_EQ(status_mask(backend, "SigBlk"), 0u);
  pinwheel.send_signal(SIGTERM);
  EXPECT_EQ(pinwheel.wait_exit(10s), 0) << pinwheel.output();
}

}  // namespace
}  // namespace pinwheel::test
