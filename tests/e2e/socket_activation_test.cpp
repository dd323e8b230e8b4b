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

enum class attempt { answered, refused, other_failure };

// One GET /fast straight to 127.0.0.1:port (not through the balancer), bounded by 5 s.
attempt get_fast(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    attempt result = errno == ECONNREFUSED ? attempt::refused : attempt::other_failure;
    ::close(fd);
    return result;
  }
  std::string request = "GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string reply;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  char buffer[1024];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    reply.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return reply.starts_with("HTTP/1.1 200") ? attempt::answered : attempt::other_failure;
}

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

  std::atomic<bool> done{false};
  std::atomic<int> answered{0}, refused{0}, failed{0};
  std::thread loop([&] {
    while (!done) {
      switch (get_fast(port)) {
        case attempt::answered:
          ++answered;
          break;
        case attempt::refused:
          ++refused;
          break;
        case attempt::other_failure:
          ++failed;
          break;
      }
    }
  });
  ASSERT_TRUE(wait_until([&] { return answered > 20; }, 5s));
  ::kill(first, SIGKILL);
  // The successor serves the same socket.
  bool restarted = wait_until(
      [&] {
        std::string log = balancer.process().output();
        return log.find("backend 0 started: pid ") != log.rfind("backend 0 started: pid ");
      },
      5s);
  int before = answered;
  bool served_after = wait_until([&] { return answered > before + 20; }, 5s);
  done = true;
  loop.join();
  EXPECT_TRUE(restarted) << balancer.process().output();
  EXPECT_TRUE(served_after);
  EXPECT_EQ(refused.load(), 0);
  // A request the killed process had accepted dies with it; nothing else may fail.
  EXPECT_LE(failed.load(), 1);
  std::printf("socket activation, kill -9 under load: %d answered, %d refused, %d failed\n",
              answered.load(), refused.load(), failed.load());
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
