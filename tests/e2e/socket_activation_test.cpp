// Socket-activated backends ([backends] socket_activation): the balancer binds each backend's
// port and passes it as descriptor 3 (LISTEN_FDS / LISTEN_PID / LISTEN_FDNAMES), so a backend
// that dies refuses nothing: connections wait in the kernel's backlog for its successor.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include "e2e/balancer_fixture.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

TEST(SocketActivation, KillNineUnderAConnectionLoopRefusesNothing) {
  running_balancer balancer(
      demo_config(1, "round-robin", "", "socket_activation = true\nmin_uptime = \"0s\"\n"), 1);
  auto started = balancer.process().wait_for_line(
      R"(backend 0 started: pid (\d+), cpu \d+, 127\.0\.0\.1:(\d+))", 5s);
  ASSERT_TRUE(started) << balancer.process().output();
  pid_t first = std::stoi((*started)[1]);
  auto port = static_cast<std::uint16_t>(std::stoi((*started)[2]));
  ASSERT_NE(balancer.process().output().find("on descriptor 3 (socket activation)"),
            std::string::npos)
      << balancer.process().output();

  fast_loop client(port);
  ASSERT_TRUE(wait_until([&] { return client.answered() > 20; }, 5s));
  ::kill(first, SIGKILL);
  // The successor serves the same socket.
  bool restarted = wait_until(
      [&] {
        std::string log = balancer.process().output();
        return log.find("backend 0 started: pid ") != log.rfind("backend 0 started: pid ");
      },
      5s);
  int before = client.answered();
  bool served_after = wait_until([&] { return client.answered() > before + 20; }, 5s);
  client.stop();
  EXPECT_TRUE(restarted) << balancer.process().output();
  EXPECT_TRUE(served_after);
  EXPECT_EQ(client.refused(), 0);
  // A request the killed process had accepted dies with it; nothing else may fail.
  EXPECT_LE(client.failed(), 1);
  std::printf("socket activation, kill -9 under load: %d answered, %d refused, %d failed\n",
              client.answered(), client.refused(), client.failed());
}

TEST(SocketActivation, NodeAppListensOnDescriptorThree) {
  std::string app = write_temp_file(
      "app.js",
      "const http = require('http');\n"
      "http.createServer((req, res) => res.end('node on fd 3 ' + process.env.LISTEN_FDNAMES))\n"
      "  .listen({fd: 3}, () => console.log('node listening on fd 3'));\n");
  std::string config =
      "[balancer]\nlisten = \"127.0.0.1:0\"\ndrain_timeout = \"2s\"\n[backends]\ncount = 1\n"
      "base_port = 0\nsocket_activation = true\nstop_timeout = \"2s\"\n"
      "command = [\"/usr/bin/node\", \"" +
      app + "\"]\n[health]\nkind = \"http\"\ninterval = \"200ms\"\ntimeout = \"500ms\"\n";
  running_balancer balancer(config, 1);
  http_response reply = http_get(balancer.port(), "/");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "node on fd 3 backend-0");
}

}  // namespace
}  // namespace pinwheel::test
