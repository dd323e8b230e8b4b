// sd_notify both ways: backends Pinwheel spawns get NOTIFY_SOCKET (READY=1, STATUS=,
// STOPPING=1, WATCHDOG=1), and Pinwheel tells its own service manager when it is ready and
// when it stops. Real clients: the demo backend and redis-server --supervised systemd.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "e2e/balancer_fixture.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

const char* const kHealthHttp =
    "[health]\nkind = \"http\"\ninterval = \"200ms\"\ntimeout = \"500ms\"\n";

std::string spawn_config(const std::string& command, const std::string& backends,
                         const std::string& health) {
  return "[balancer]\nlisten = \"127.0.0.1:0\"\ndrain_timeout = \"2s\"\n[backends]\ncount = 1\n"
         "base_port = 0\nrestart_delay = \"50ms\"\nstop_timeout = \"2s\"\ncommand = " +
         command + "\n" + backends + health;
}

// Sends `request` to 127.0.0.1:port and reads until `marker` or 3 s.
std::string exchange(std::uint16_t port, const std::string& request, const std::string& marker) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string data;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    auto deadline = std::chrono::steady_clock::now() + 3s;
    char buffer[512];
    while (data.find(marker) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      data.append(buffer, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return data;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Notify, DemoBackendIsUpOnReadyAndReportsItsStatus) {
  running_balancer balancer(
      demo_config(2, "round-robin", "", "readiness = \"notify\"\nwatchdog = \"300ms\"\n"), 2);
  std::string log = balancer.process().output();
  EXPECT_EQ(count_of(log, "sent READY=1 (pid"), 2u) << log;
  EXPECT_NE(log.find("is up: sent READY=1"), std::string::npos) << log;
  EXPECT_NE(log.find("status: listening on 127.0.0.1:"), std::string::npos) << log;
  EXPECT_EQ(ask_whoami(balancer.port()).index >= 0, true);
  // The demo backend pings every half interval: a second of watchdogs costs no restart.
  EXPECT_FALSE(balancer.process().wait_for_line("missed its watchdog", 1s))
      << balancer.process().output();
}

TEST(Notify, RedisServerSupervisedBySystemdProtocolComesUpOnReady) {
  std::string dir = std::filesystem::path(write_temp_file("redis.keep", "")).parent_path();
  std::string command =
      "[\"/usr/bin/redis-server\", \"--port\", \"{port}\", \"--bind\", "
      "\"127.0.0.1\", \"--save\", \"\", \"--appendonly\", \"no\", \"--dir\", \"" +
      dir + "\", \"--supervised\", \"systemd\", \"--daemonize\", \"no\"]";
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/redis-server"))
      << "redis-server is missing: deploy/bootstrap.sh installs it";
  // No health check at all: READY=1 is the only way up.
  running_balancer balancer(
      spawn_config(command, "readiness = \"notify\"\n", "[health]\nkind = \"none\"\n"), 1);
  EXPECT_NE(balancer.process().output().find("sent READY=1"), std::string::npos);
  EXPECT_NE(exchange(balancer.port(), "PING\r\n", "\r\n").find("+PONG"), std::string::npos);
}

TEST(Notify, BackendThatNeverSendsReadyStaysOutOfRotation) {
  // The demo backend listens (its checks would pass) but is told no NOTIFY_SOCKET of ours.
  std::string command = "[\"/usr/bin/env\", \"NOTIFY_SOCKET=\", \"" + std::string(BACKEND_BIN) +
                        "\", \"--port\", \"{port}\"]";
  running_balancer balancer(spawn_config(command, "readiness = \"both\"\n", kHealthHttp));
  EXPECT_FALSE(balancer.wait_backends_up(1, 1s)) << balancer.process().output();
}

TEST(Notify, SilentBackendMissesItsWatchdogAndIsRestarted) {
  std::string command = "[\"/bin/sleep\", \"30\"]";
  running_balancer balancer(spawn_config(command, "watchdog = \"200ms\"\nmin_uptime = \"0s\"\n",
                                         "[health]\nkind = \"none\"\n"));
  ASSERT_TRUE(balancer.process().wait_for_line("missed its watchdog: no WATCHDOG=1", 3s))
      << balancer.process().output();
  EXPECT_TRUE(balancer.process().wait_for_line("backend 0 started: pid .*\\n?", 3s));
  EXPECT_TRUE(wait_until(
      [&] { return count_of(balancer.process().output(), "backend 0 started") >= 2; }, 3s))
      << balancer.process().output();
}

TEST(Notify, MalformedDatagramsAreDroppedCountedAndLoggedOnce) {
  // A backend that sends garbage twice, from an unknown process once, then READY=1.
  std::string script =
      "import os, socket, time\n"
      "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
      "path = os.environ['NOTIFY_SOCKET']\n"
      "s.sendto(b'garbage', path)\n"
      "s.sendto(b'\\n\\n', path)\n"
      "s.sendto(b'READY=1\\nSTATUS=python ok', path)\n"
      "time.sleep(30)\n";
  std::string path = write_temp_file("notify.py", script);
  std::string command = "[\"/usr/bin/env\", \"python3\", \"" + path + "\"]";
  running_balancer balancer(
      spawn_config(command, "readiness = \"notify\"\n", "[health]\nkind = \"none\"\n"), 1);
  std::string log = balancer.process().output();
  EXPECT_EQ(count_of(log, "sd_notify datagram dropped"), 1u) << log;
  EXPECT_NE(log.find("is not KEY=VALUE"), std::string::npos) << log;
  EXPECT_NE(log.find("status: python ok"), std::string::npos) << log;
}

// The test plays systemd: a datagram socket named by NOTIFY_SOCKET in Pinwheel's environment.
TEST(Notify, PinwheelTellsItsServiceManagerReadyReloadingAndStopping) {
  std::string path = write_temp_file("placeholder", "") + ".sock";
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
  std::string received;
  auto receive_until = [&](const std::string& what) {
    return wait_until(
        [&] {
          char buffer[1024];
          ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
          if (n > 0) received.append(buffer, static_cast<std::size_t>(n)).append("\n");
          return received.find(what) != std::string::npos;
        },
        5s);
  };
  {
    running_balancer balancer(demo_config(1, "round-robin"), 0, {},
                              {"/usr/bin/env", "NOTIFY_SOCKET=" + path});
    ASSERT_TRUE(receive_until("READY=1")) << received << balancer.process().output();
    EXPECT_NE(received.find("STATUS=1 of 1 backend(s) up"), std::string::npos) << received;
    // The backends get the balancer's socket, not systemd's.
    EXPECT_EQ(received.find("WATCHDOG"), std::string::npos) << received;
    // A reload is bracketed, so `systemctl reload` returns once it is done.
    balancer.process().send_signal(SIGHUP);
    ASSERT_TRUE(receive_until("STATUS=reloaded: nothing changed")) << received;
    const std::size_t reloading = received.find("RELOADING=1\nMONOTONIC_USEC=");
    ASSERT_NE(reloading, std::string::npos) << received;
    EXPECT_NE(received.find("READY=1", reloading), std::string::npos) << received;
    balancer.process().send_signal(SIGTERM);
    ASSERT_TRUE(receive_until("STOPPING=1")) << received;
    EXPECT_TRUE(balancer.process().wait_exit(10s));
  }
  ::close(fd);
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace pinwheel::test
