// Start-up, configuration errors and shutdown, as an operator sees them.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "e2e/balancer_fixture.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

std::vector<pid_t> backend_pids(running_balancer& pinwheel, std::size_t count) {
  std::vector<pid_t> pids;
  wait_until([&] { return (pids = child_pids(pinwheel.pid())).size() == count; }, 5s);
  return pids;
}

TEST(Lifecycle, SigtermExitsZeroAndLeavesNothingRunning) {
  running_balancer pinwheel(demo_config(2, "round-robin"), 2);
  std::vector<pid_t> backends = backend_pids(pinwheel, 2);
  ASSERT_EQ(backends.size(), 2u);
  pinwheel.process().send_signal(SIGTERM);
  EXPECT_EQ(pinwheel.process().wait_exit(5s), 0) << pinwheel.process().output();
  for (pid_t pid : backends)
    EXPECT_FALSE(process_alive(pid)) << "backend " << pid << " outlived the balancer";
}

TEST(Lifecycle, SigtermLetsAnOpenRequestFinish) {
  running_balancer pinwheel(demo_config(1, "round-robin"), 1);
  auto slow = std::make_unique<tcp_client>(pinwheel.port());
  slow->send_all("GET /slow?ms=500 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(wait_until([&] { return child_pids(pinwheel.pid()).size() == 1; }, 5s));
  ASSERT_TRUE(pinwheel.process().wait_for_line("is up", 5s));
  pinwheel.process().send_signal(SIGTERM);
  EXPECT_TRUE(pinwheel.process().wait_for_line("draining 1 open connection", 5s))
      << pinwheel.process().output();
  EXPECT_EQ(slow->read_response(5s).status, 200);
  slow.reset();  // the client closes its side too: the drain is over
  EXPECT_EQ(pinwheel.process().wait_exit(3s), 0) << pinwheel.process().output();
}

TEST(Lifecycle, BackendsDieWithTheBalancerEvenOnSigkill) {
  running_balancer pinwheel(demo_config(2, "round-robin"), 2);
  std::vector<pid_t> backends = backend_pids(pinwheel, 2);
  ASSERT_EQ(backends.size(), 2u);
  pinwheel.process().send_signal(SIGKILL);
  EXPECT_EQ(pinwheel.process().wait_exit(5s), 128 + SIGKILL);
  for (pid_t pid : backends) {
    EXPECT_TRUE(wait_until([&] { return !process_alive(pid); }, 5s)) << "orphaned backend " << pid;
  }
}

// Runs pinwheel to completion; returns its exit code and output.
std::pair<int, std::string> run_pinwheel(std::vector<std::string> args) {
  args.insert(args.begin(), PINWHEEL_BIN);
  child_process p(args);
  auto code = p.wait_exit(10s);
  return {code.value_or(-1), p.output()};
}

TEST(Lifecycle, BadConfigExitsTwoNamingFileLineAndKey) {
  std::string path = write_temp_file(
      "bad.toml", "[balancer]\nstrategy = \"fastest\"\n[backends]\nservers = [\"127.0.0.1:1\"]\n");
  auto [code, output] = run_pinwheel({"--config", path});
  EXPECT_EQ(code, 2);
  EXPECT_NE(output.find(
                path +
                ":2:12: [balancer] strategy: \"fastest\" is not a strategy; use \"round-robin\" or "
                "\"least-connections\""),
            std::string::npos)
      << output;
}

TEST(Lifecycle, TypoInAKeyIsCaught) {
  std::string path = write_temp_file(
      "typo.toml", "[balancer]\nmax_conections = 5\n[backends]\nservers = [\"127.0.0.1:1\"]\n");
  auto [code, output] = run_pinwheel({"--check", "--config", path});
  EXPECT_EQ(code, 2);
  EXPECT_NE(
      output.find(
          ":2:1: [balancer] unknown key \"max_conections\"; did you mean \"max_connections\"?"),
      std::string::npos)
      << output;
}

TEST(Lifecycle, ListenPortInUseIsAConfigError) {
  raw_server occupant([](int) {});
  std::string path = write_temp_file(
      "busy.toml", "[balancer]\nlisten = \"127.0.0.1:" + std::to_string(occupant.port()) +
                       "\"\n[backends]\nservers = [\"127.0.0.1:1\"]\n");
  for (bool check : {true, false}) {
    std::vector<std::string> args{"--config", path};
    if (check) args.push_back("--check");
    auto [code, output] = run_pinwheel(args);
    EXPECT_EQ(code, 2);
    EXPECT_NE(output.find(path + ":2:10: [balancer] listen: cannot bind 127.0.0.1:"),
              std::string::npos)
        << output;
    EXPECT_NE(output.find("Address already in use"), std::string::npos) << output;
  }
}

TEST(Lifecycle, CheckPrintsTheEffectiveSettingsAndExitsZero) {
  std::string path = write_temp_file("good.toml", demo_config(2, "round-robin"));
  auto [code, output] =
      run_pinwheel({"--check", "--config", path, "--strategy", "least-connections"});
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("strategy        least-connections"), std::string::npos) << output;
  EXPECT_NE(output.find("balancer cpu    "), std::string::npos) << output;
  EXPECT_NE(output.find("  backend 1     127.0.0.1:"), std::string::npos) << output;
  EXPECT_NE(output.find("is valid"), std::string::npos) << output;
}

TEST(Lifecycle, BadCommandLineExitsTwo) {
  auto [code, output] = run_pinwheel({"--config"});
  EXPECT_EQ(code, 2) << output;
  auto [code2, output2] = run_pinwheel({"--config", "x.toml", "--backends", "many"});
  EXPECT_EQ(code2, 2) << output2;
  EXPECT_NE(output2.find("--backends"), std::string::npos) << output2;
}

}  // namespace
}  // namespace pinwheel::test
