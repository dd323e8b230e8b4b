// Every signal an operator may send has a defined meaning (balancer/balancer.hpp lists them).
#include <gtest/gtest.h>
#include <signal.h>

#include "e2e/balancer_fixture.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

// `config` with the line setting `key` replaced by `key = value`.
std::string with(std::string config, const std::string& key, const std::string& value) {
  std::size_t at = config.find("\n" + key + " = ") + 1;
  config.replace(at, config.find('\n', at) - at, key + " = " + value);
  return config;
}

std::vector<pid_t> backend_pids(running_balancer& pinwheel, std::size_t count) {
  std::vector<pid_t> pids;
  wait_until([&] { return (pids = child_pids(pinwheel.pid())).size() >= count; }, 5s);
  return pids;
}

TEST(Signals, HangupAndOtherHabitualSignalsAreLoggedAndChangeNothing) {
  running_balancer pinwheel(demo_config(1, "round-robin"), 1);
  pid_t backend = ask_whoami(pinwheel.port()).pid;
  struct expectation {
    int signal;
    const char* line;
  };
  for (auto [signal, line] : {expectation{SIGHUP, "reloaded .*: nothing changed"},
                              expectation{SIGUSR1, "SIGUSR1: the access log is off"},
                              expectation{SIGUSR2, R"(\(signal 12\): ignored)"},
                              expectation{SIGALRM, R"(\(signal 14\): ignored)"}}) {
    pinwheel.process().send_signal(signal);
    EXPECT_TRUE(pinwheel.process().wait_for_line(line, 5s)) << pinwheel.process().output();
    EXPECT_TRUE(pinwheel.process().running()) << "signal " << signal << " killed the balancer";
  }
  // Still serving, with the same backend process.
  EXPECT_EQ(ask_whoami(pinwheel.port()).pid, backend);
}

TEST(Signals, QuitDrainsAndStopsLikeTerm) {
  running_balancer pinwheel(demo_config(2, "round-robin"), 2);
  std::vector<pid_t> backends = backend_pids(pinwheel, 2);
  pinwheel.process().send_signal(SIGQUIT);
  EXPECT_EQ(pinwheel.process().wait_exit(10s), 0) << pinwheel.process().output();
  for (pid_t pid : backends) EXPECT_FALSE(process_alive(pid)) << "backend " << pid;
}

TEST(Signals, ASecondStopSignalResetsOpenConnectionsAtOnce) {
  running_balancer pinwheel(with(demo_config(1, "round-robin"), "drain_timeout", "\"30s\""), 1);
  tcp_client slow(pinwheel.port());
  slow.send_all("GET /slow?ms=3000 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
  pinwheel.process().send_signal(SIGTERM);
  ASSERT_TRUE(pinwheel.process().wait_for_line("draining 1 open connection", 5s))
      << pinwheel.process().output();
  pinwheel.process().send_signal(SIGTERM);
  EXPECT_TRUE(slow.read_all(5s) == "RESET") << "the client must see a reset, not an end";
  EXPECT_EQ(pinwheel.process().wait_exit(10s), 0) << pinwheel.process().output();
}

TEST(Signals, DrainTimeoutEndsInAResetNotACleanClose) {
  running_balancer pinwheel(with(demo_config(1, "round-robin"), "drain_timeout", "\"300ms\""), 1);
  tcp_client slow(pinwheel.port());
  slow.send_all("GET /slow?ms=3000 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
  pinwheel.process().send_signal(SIGTERM);
  ASSERT_TRUE(pinwheel.process().wait_for_line("draining 1 open connection", 5s));
  EXPECT_TRUE(slow.read_all(5s) == "RESET") << "the client must see a reset, not an end";
  EXPECT_TRUE(pinwheel.process().wait_for_line("drain timeout: resetting 1 connection", 5s));
  EXPECT_EQ(pinwheel.process().wait_exit(10s), 0) << pinwheel.process().output();
}

TEST(Signals, AThirdStopSignalKillsBackendsThatIgnoreSigterm) {
  // A backend that ignores SIGTERM: a shell that traps it, looping over short-lived children
  // (each dies of the group's SIGTERM; the loop goes on). Nothing to check, so no health check.
  // It says when its trap is set: a SIGTERM before that would end it, and the test with it.
  std::string command =
      "[\"/bin/sh\", \"-c\", \"trap '' TERM; echo trap set; while :; do sleep 0.1; done\"]";
  std::string config =
      with(with(demo_config(1, "round-robin"), "command", command), "stop_timeout", "\"60s\"");
  config = with(config, "kind", "\"none\"");
  running_balancer pinwheel(config);
  ASSERT_TRUE(pinwheel.process().wait_for_line("backend 0 started", 5s));
  ASSERT_TRUE(pinwheel.process().wait_for_line(R"(\[backend 0\] trap set)", 5s))
      << pinwheel.process().output();
  std::vector<pid_t> backends = backend_pids(pinwheel, 1);
  ASSERT_EQ(backends.size(), 1u);
  // One at a time: a signal sent while the same one is still pending is merged with it.
  pinwheel.process().send_signal(SIGTERM);
  ASSERT_TRUE(pinwheel.process().wait_for_line("stopping", 5s));
  pinwheel.process().send_signal(SIGTERM);
  ASSERT_TRUE(pinwheel.process().wait_for_line("again: resetting open connections", 5s));
  EXPECT_TRUE(process_alive(backends[0])) << "SIGTERM is ignored: still running";
  pinwheel.process().send_signal(SIGTERM);
  EXPECT_TRUE(pinwheel.process().wait_for_line("a third time: killing the backends", 5s));
  EXPECT_EQ(pinwheel.process().wait_exit(10s), 0) << pinwheel.process().output();
  EXPECT_TRUE(wait_until([&] { return !process_alive(backends[0]); }, 5s));
}

TEST(Signals, ClientsWaitingInTheBacklogAtStopAreServedNotReset) {
  // One connection at a time: the second client waits in the kernel's backlog when the stop
  // signal comes. It is accepted into the drain and served.
  running_balancer pinwheel(demo_config(1, "round-robin", "max_connections = 1\n"), 1);
  {
    tcp_client first(pinwheel.port());
    first.send_all("GET /slow?ms=300 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    tcp_client second(pinwheel.port());
    second.send_all("GET /whoami HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    pinwheel.process().send_signal(SIGTERM);
    ASSERT_TRUE(pinwheel.process().wait_for_line("draining", 5s)) << pinwheel.process().output();
    EXPECT_EQ(first.read_response(5s).status, 200);
    EXPECT_EQ(second.read_response(5s).status, 200);
  }  // the clients close their side too: the drain is over
  EXPECT_EQ(pinwheel.process().wait_exit(10s), 0) << pinwheel.process().output();
}

}  // namespace
}  // namespace pinwheel::test
