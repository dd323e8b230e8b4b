// Start-up, configuration errors and shutdown, as an operator sees them.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>
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

// Runs `argv` to completion; returns its exit code (-1 if it ran past 10 s) and output.
std::pair<int, std::string> run_pinwheel_with(const std::vector<std::string>& argv) {
  child_process p(argv);
  auto code = p.wait_exit(10s);
  return {code.value_or(-1), p.output()};
}

// Runs pinwheel with `args` to completion (metrics on a free port: tests run in parallel).
std::pair<int, std::string> run_pinwheel(std::vector<std::string> args) {
  args.insert(args.begin(), PINWHEEL_BIN);
  args.insert(args.end(), {"--metrics-listen", "127.0.0.1:0"});
  return run_pinwheel_with(args);
}

TEST(Lifecycle, BadConfigExitsTwoNamingFileLineAndKey) {
  std::string path = write_temp_file(
      "bad.toml", "[balancer]\nstrategy = \"fastest\"\n[backends]\nservers = [\"127.0.0.1:1\"]\n");
  auto [code, output] = run_pinwheel({"--config", path});
  EXPECT_EQ(code, 2);
  EXPECT_NE(
      output.find(
          path +
          ":2:12: [balancer] strategy: \"fastest\" is not a strategy; use \"round-robin\", "
          "\"least-connections\", \"power-of-two\", \"least-pending\" or \"source-hash\" (proxy "
          "mode), or \"round-robin\", \"least-busy\" or \"source-hash\" (direct mode)"),
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

// Flags are checked before the file is read, so a bad value is named even with a bad file.
TEST(Lifecycle, EveryBadFlagValueExitsTwoNamingTheFlag) {
  std::string path = write_temp_file(
      "good.toml",
      "[balancer]\nlisten = \"127.0.0.1:0\"\n[backends]\nservers = [\"127.0.0.1:1\"]\n");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--backends", ""}, "--backends: \"\" is not a number; use 0 (one per core) to 1024"},
      {{"--backends", "many"},
       "--backends: \"many\" is not a number; use 0 (one per core) to 1024"},
      {{"--backends", "-1"}, "--backends: -1 is out of range; use 0 (one per core) to 1024"},
      {{"--listen", ""}, "--listen: \"\" is not host:port (IPv6 as [::1]:8080)"},
      {{"--strategy", ""},
       "--strategy: \"\" is not a strategy; use \"round-robin\", "
       "\"least-connections\", \"power-of-two\", \"least-pending\" or \"source-hash\" (proxy "
       "mode), or \"round-robin\", \"least-busy\" or \"source-hash\" (direct mode)"},
  };
  for (const auto& [flag, message] : cases) {
    for (bool check : {true, false}) {
      std::vector<std::string> args{"--config", path, flag[0], flag[1]};
      if (check) args.push_back("--check");
      auto [code, output] = run_pinwheel(args);
      EXPECT_EQ(code, 2) << flag[0] << " \"" << flag[1] << "\"\n" << output;
      EXPECT_NE(output.find("pinwheel: " + message), std::string::npos) << output;
    }
  }
  auto [code, output] = run_pinwheel({"--check", "--config", ""});
  EXPECT_EQ(code, 2) << output;
  EXPECT_NE(output.find("--config: is empty; give the path of a TOML config file"),
            std::string::npos)
      << output;
}

TEST(Lifecycle, AConfigThatIsNotARegularFileIsRejectedAtOnce) {
  std::string file = write_temp_file("pinwheel.toml", "");
  std::string dir = file.substr(0, file.rfind('/'));
  std::string fifo = dir + "/fifo.toml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/dev/zero",
       "/dev/zero: is not a regular file (a character device); give the path of a "
       "TOML config file"},
      {fifo, fifo + ": is not a regular file (a named pipe); give the path of a TOML config file"},
      {dir, dir + ": is a directory; give the path of a TOML config file"},
  };
  for (const auto& [path, message] : cases) {
    auto [code, output] = run_pinwheel({"--check", "--config", path});
    EXPECT_EQ(code, 2) << path << "\n" << output;
    EXPECT_NE(output.find("pinwheel: " + message), std::string::npos) << output;
  }
}

TEST(Lifecycle, AConfigLargerThanOneMebibyteIsRejected) {
  std::string path = write_temp_file("huge.toml", std::string(2 * 1024 * 1024, '#'));
  auto [code, output] = run_pinwheel({"--check", "--config", path});
  EXPECT_EQ(code, 2) << output;
  EXPECT_NE(output.find(path + ": is 2097152 bytes; a config file may be at most 1048576 bytes "
                               "(1 MiB): is this the right file?"),
            std::string::npos)
      << output;
}

TEST(Lifecycle, BackendPortsPastTheLastPortAreCaughtAfterTheBackendsFlag) {
  std::string path =
      write_temp_file("high.toml", "[balancer]\nlisten = \"127.0.0.1:0\"\n[backends]\ncommand = " +
                                       backend_command() + "\nbase_port = 65534\n");
  auto [code, output] = run_pinwheel({"--check", "--config", path, "--backends", "4"});
  EXPECT_EQ(code, 2) << output;
  EXPECT_NE(
      output.find(path + ":5:13: [backends] base_port: 65534 with 4 backends (--backends 4) needs "
                         "ports 65534 to 65537, past 65535; lower base_port to at most 65532, or "
                         "set it to 0 to pick free ports"),
      std::string::npos)
      << output;
}

// The port is held by the test, so no other process can take it; a clash in the configuration
// is reported before any bind is tried.
TEST(Lifecycle, AServerThatIsTheBalancerItselfIsRejected) {
  raw_server holder([](int) {});
  std::string port = std::to_string(holder.port());
  for (const std::string& listen : {"127.0.0.1:" + port, "0.0.0.0:" + port}) {
    std::string path = write_temp_file(
        "self.toml", "[balancer]\nlisten = \"" + listen +
                         "\"\n[backends]\nservers = [\"127.0.0.1:1\", \"127.0.0.1:" + port +
                         "\"]\n");
    for (bool check : {true, false}) {
      std::vector<std::string> args{"--config", path};
      if (check) args.push_back("--check");
      auto [code, output] = run_pinwheel(args);
      EXPECT_EQ(code, 2) << output;
      EXPECT_NE(
          output.find(path + ":4:27: [backends] servers: \"127.0.0.1:" + port +
                      "\" reaches the balancer itself (listen = \"" + listen + "\" at " + path +
                      ":2:10): a client would make it connect to itself; remove the "
                      "server or change listen"),
          std::string::npos)
          << output;
    }
  }
}

TEST(Lifecycle, AWildcardListenClashesWithASpawnedBackendOnItsPort) {
  raw_server holder([](int) {});
  std::string port = std::to_string(holder.port());
  std::string path = write_temp_file(
      "clash.toml", "[balancer]\nlisten = \"0.0.0.0:" + port + "\"\n[backends]\ncount = 1\n" +
                        "command = " + backend_command() + "\nbase_port = " + port + "\n");
  auto [code, output] = run_pinwheel({"--check", "--config", path});
  EXPECT_EQ(code, 2) << output;
  EXPECT_NE(output.find(path + ":6:13: [backends] base_port: backend 0 would listen on 127.0.0.1:" +
                        port + ", where the balancer listens too (listen = \"0.0.0.0:" + port +
                        "\" at " + path + ":2:10); change base_port or listen"),
            std::string::npos)
      << output;
}

TEST(Lifecycle, AServerListedTwiceIsRejected) {
  std::string path = write_temp_file(
      "twice.toml",
      "[backends]\nservers = [\"127.0.0.1:6379\", \"127.0.0.1:6380\", \"127.0.0.1:6379\"]\n");
  auto [code, output] = run_pinwheel({"--check", "--config", path});
  EXPECT_EQ(code, 2) << output;
  EXPECT_NE(output.find(path +
                        ":2:48: [backends] servers: \"127.0.0.1:6379\" is listed twice "
                        "(first at " +
                        path + ":2:12); list each server once"),
            std::string::npos)
      << output;
}

TEST(Lifecycle, AHealthPathWithALineBreakIsRejectedNamingThePosition) {
  std::string path =
      write_temp_file("crlf.toml",
                      "[backends]\nservers = [\"127.0.0.1:1\"]\n[health]\nkind = \"http\"\n"
                      "path = \"/health\\r\\nX-Evil: 1\"\n");
  auto [code, output] = run_pinwheel({"--check", "--config", path});
  EXPECT_EQ(code, 2) << output;
  EXPECT_NE(output.find(path + ":5:8: [health] path: \"/health\\r\\nX-Evil: 1\" has a carriage "
                               "return at character 8; a request path cannot contain spaces or "
                               "control characters (percent-encode them, e.g. %20)"),
            std::string::npos)
      << output;
}

TEST(Lifecycle, AScriptWhoseInterpreterIsMissingIsRejected) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"#!/no/such/interpreter", "/no/such/interpreter was not found or is not executable"},
      {"#!/usr/bin/env no-such-interpreter-xyz",
       "\"no-such-interpreter-xyz\" was not found on PATH"},
  };
  for (const auto& [first_line, problem] : cases) {
    std::string script = write_temp_file("backend.sh", first_line + "\nexit 0\n");
    ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
    std::string path = write_temp_file(
        "script.toml", "[backends]\ncommand = [\"" + script + "\", \"{port}\"]\nbase_port = 0\n");
    auto [code, output] = run_pinwheel({"--check", "--config", path});
    EXPECT_EQ(code, 2) << output;
    EXPECT_NE(output.find(path + ":2:11: [backends] command: \"" + script + "\" starts with \"" +
                          first_line + "\", and " + problem +
                          "; install it or fix the script's first line"),
              std::string::npos)
        << output;
  }
}

// The kernel's ephemeral range is where outgoing connections (the balancer's own, to its
// backends) take their local ports; a backend listening there can collide with them.
TEST(Lifecycle, PickedBackendPortsLieOutsideTheEphemeralRange) {
  std::ifstream range_file("/proc/sys/net/ipv4/ip_local_port_range");
  int first = 32768, last = 60999;
  range_file >> first >> last;
  std::string path = write_temp_file("free.toml", demo_config(6, "round-robin"));
  auto [code, output] = run_pinwheel({"--check", "--config", path});
  ASSERT_EQ(code, 0) << output;
  std::regex line(R"(  backend \d+ +127\.0\.0\.1:(\d+) )");
  std::set<int> ports;
  for (std::sregex_iterator it(output.begin(), output.end(), line), end; it != end; ++it) {
    int port = std::stoi((*it)[1]);
    EXPECT_TRUE(port >= 1024 && (port < first || port > last))
        << port << " is inside " << first << "-" << last;
    ports.insert(port);
  }
  EXPECT_EQ(ports.size(), 6u) << output;
}

// The shipped default of 10,000 connections needs about 20,000 descriptors; a shell's default
// of 1,024 runs out at about 500.
TEST(Lifecycle, TooLowADescriptorLimitIsWarnedAbout) {
  if (::access("/usr/bin/prlimit", X_OK) != 0) GTEST_SKIP() << "needs prlimit (util-linux)";
  std::string path =
      write_temp_file("limit.toml",
                      "[balancer]\nlisten = \"127.0.0.1:0\"\nmax_connections = 10000\n"
                      "[backends]\nservers = [\"127.0.0.1:1\", \"127.0.0.1:2\"]\n");
  auto [code, output] =
      run_pinwheel_with({"/usr/bin/prlimit", "--nofile=1024:1024", PINWHEEL_BIN, "--check",
                         "--config", path, "--metrics-listen", "127.0.0.1:0"});
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(
      output.find("warning: the open-file limit (1024) fits 412 connections, not "
                  "balancer.max_connections = 10000 (" +
                  path +
                  ":3:19): each takes 2 descriptors, and 64 + 4 per backend + 2 per splice pipe "
                  "(balancer.max_pipes = 64) are kept for the listener, health checks and pipes "
                  "(20200 in all); accepting pauses at 412. Raise LimitNOFILE= / ulimit -n to at "
                  "least 20200, or lower balancer.max_connections to 412"),
      std::string::npos)
      << output;
}

// Pinwheel raises its soft limit to the hard one by itself (no privilege needed).
TEST(Lifecycle, TheSoftDescriptorLimitIsRaisedToTheHardOne) {
  if (::access("/usr/bin/prlimit", X_OK) != 0) GTEST_SKIP() << "needs prlimit (util-linux)";
  std::string path =
      write_temp_file("limit.toml",
                      "[balancer]\nlisten = \"127.0.0.1:0\"\nmax_connections = 2000\n"
                      "[backends]\nservers = [\"127.0.0.1:1\", \"127.0.0.1:2\"]\n");
  auto [code, output] =
      run_pinwheel_with({"/usr/bin/prlimit", "--nofile=1024:8192", PINWHEEL_BIN, "--check",
                         "--config", path, "--metrics-listen", "127.0.0.1:0"});
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("open files      limit 8192, up to 4200 needed"), std::string::npos)
      << output;
  EXPECT_EQ(output.find("warning:"), std::string::npos) << output;
}

}  // namespace
}  // namespace pinwheel::test
