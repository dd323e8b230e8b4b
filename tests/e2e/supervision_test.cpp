// Backends that die, crash-loop or refuse: clients should not notice.
#include <gtest/gtest.h>
#include <signal.h>

#include "e2e/balancer_fixture.hpp"
#include "support/child_process.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

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
  std::uint16_t live_port = free_port();
  child_process live({BACKEND_BIN, "--port", std::to_string(live_port), "--index", "7"});
  ASSERT_TRUE(live.wait_for_line("listening on", 5s));
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
  std::uint16_t ports[2] = {free_port(), free_port()};
  auto first = std::make_unique<child_process>(
      std::vector<std::string>{BACKEND_BIN, "--port", std::to_string(ports[0]), "--index", "0"});
  child_process second({BACKEND_BIN, "--port", std::to_string(ports[1]), "--index", "1"});
  ASSERT_TRUE(first->wait_for_line("listening on", 5s));
  ASSERT_TRUE(second.wait_for_line("listening on", 5s));
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

}  // namespace
}  // namespace pinwheel::test
