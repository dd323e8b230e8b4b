// Timeouts as a client notices them: a slow reader is never cut short, a cut is a reset,
// a hung backend is skipped after connect_timeout, and a client waiting for a backend gets
// one or, after connect_timeout, a reset and a log line.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "e2e/balancer_fixture.hpp"
#include "support/unique_fd.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

// A server that sends `bytes` of a known pattern, then ends the stream.
raw_server streaming_server(std::size_t bytes) {
  return raw_server([bytes](int fd) {
    std::string chunk(64 * 1024, '\0');
    for (std::size_t sent = 0; sent < bytes;) {
      for (std::size_t i = 0; i < chunk.size(); ++i)
        chunk[i] = static_cast<char>('a' + (sent + i) % 26);
      ssize_t n = ::send(fd, chunk.data(), std::min(chunk.size(), bytes - sent), MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
  });
}

// A client socket with a small receive buffer, so the proxy's writes to it stay pending
// while it reads slowly.
unique_fd small_window_client(std::uint16_t port) {
  unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int size = 8 * 1024;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("connect to the balancer failed");
  return fd;
}

TEST(Timeouts, ASlowButSteadyReaderGetsTheWholeStream) {
  // More than the kernel's socket buffers hold (tcp_wmem allows 4 MiB), so the proxy's own
  // writes wait on the reader.
  constexpr std::size_t kStreamBytes = 6 * 1024 * 1024;
  raw_server upstream = streaming_server(kStreamBytes);
  running_balancer pinwheel(raw_config(upstream.port(), "idle_timeout = \"150ms\"\n"));
  unique_fd client = small_window_client(pinwheel.port());
  // 8 KiB every 5 ms or slower: each of the proxy's 256 KiB buffers takes longer than
  // idle_timeout to drain, but bytes never stop moving, so the connection is not idle.
  std::string received;
  char buffer[8192];
  auto deadline = std::chrono::steady_clock::now() + 60s;
  bool clean_end = false, reset = false;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{client.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::recv(client.get(), buffer, sizeof buffer, 0);
    if (n < 0) reset = true;
    if (n <= 0) {
      clean_end = n == 0;
      break;
    }
    received.append(buffer, static_cast<std::size_t>(n));
    // Paces the slow reader: this is the workload, not synchronisation.
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_FALSE(reset);
  EXPECT_TRUE(clean_end);
  ASSERT_EQ(received.size(), kStreamBytes) << "the stream was cut short";
  for (std::size_t i = 0; i < received.size(); i += 4099)
    ASSERT_EQ(received[i], static_cast<char>('a' + i % 26)) << "at byte " << i;
}

TEST(Timeouts, AnIdleTimeoutThatDropsBytesResetsTheClient) {
  // More than the kernel's socket buffers hold (tcp_wmem allows 4 MiB), so the proxy still
  // holds bytes when the idle timeout comes.
  raw_server upstream = streaming_server(16 * 1024 * 1024);
  running_balancer pinwheel(raw_config(upstream.port(), "idle_timeout = \"300ms\"\n"));
  unique_fd client = small_window_client(pinwheel.port());
  // The client reads nothing: the proxy's write stays pending until the idle timeout drops
  // the bytes it holds. The client must learn that with a reset, not a clean end of stream.
  ASSERT_TRUE(wait_until([&] { return upstream.accepted() == 1; }, 5s));
  EXPECT_TRUE(wait_until(
      [&] {
        pollfd p{client.get(), POLLIN, 0};
        return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
      },
      5s));
  EXPECT_TRUE(read_all(client.get(), 5s) == "RESET") << "a cut must not look like an end";
}

// A listener whose accept queue is full and never drained: connects to it hang (the kernel
// drops their SYNs), the way a frozen backend's do.
class hung_listener {
 public:
  hung_listener() {
    listen_ = unique_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_.get(), 0) != 0 ||
        ::getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("hung_listener: cannot listen");
    port_ = ntohs(addr.sin_port);
    // Fill the queue: with a backlog of 0 it holds one connection; the next connects hang.
    for (int i = 0; i < 2; ++i) {
      unique_fd filler(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      ::connect(filler.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      fillers_.push_back(std::move(filler));
    }
  }
  std::uint16_t port() const { return port_; }

 private:
  unique_fd listen_;
  std::vector<unique_fd> fillers_;
  std::uint16_t port_ = 0;
};

TEST(Timeouts, AHungConnectIsRetriedOnAnotherBackendAfterConnectTimeout) {
  hung_listener hung;
  raw_server good([](int fd) {
    std::string request = read_all(fd, 200ms);
    ::send(fd, "served", 6, MSG_NOSIGNAL);
  });
  running_balancer pinwheel(
      "[balancer]\nlisten = \"127.0.0.1:0\"\nstrategy = \"round-robin\"\n"
      "connect_timeout = \"300ms\"\n[backends]\nservers = [\"127.0.0.1:" +
      std::to_string(hung.port()) + "\", \"127.0.0.1:" + std::to_string(good.port()) +
      "\"]\n[health]\nkind = \"none\"\n");
  for (int i = 0; i < 4; ++i) {
    tcp_client client(pinwheel.port());
    client.send_all("hi");
    client.shutdown_write();
    EXPECT_EQ(client.read_until_eof(5s), "served") << "request " << i;
  }
  EXPECT_EQ(good.accepted(), 4);
}

TEST(Timeouts, AClientWaitsForAStartingBackendInsteadOfBeingTurnedAway) {
  // The backend takes a while to come up: accepting starts at once and the first client is
  // served as soon as the backend is up.
  running_balancer pinwheel(demo_config(1, "round-robin", "connect_timeout = \"10s\"\n"));
  EXPECT_EQ(ask_whoami(pinwheel.port()).index, 0);
}

TEST(Timeouts, WithNoUsableBackendAClientIsResetAfterConnectTimeoutAndTheLogSaysWhy) {
  hung_listener nobody;  // health checks to it time out: never up
  running_balancer pinwheel(
      "[balancer]\nlisten = \"127.0.0.1:0\"\nconnect_timeout = \"300ms\"\n"
      "[backends]\nservers = [\"127.0.0.1:" +
      std::to_string(nobody.port()) +
      "\"]\n[health]\nkind = \"tcp\"\ninterval = \"100ms\"\ntimeout = \"50ms\"\n");
  tcp_client client(pinwheel.port());
  client.send_all("hello");
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.read_all(5s) == "RESET");
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 3s);
  EXPECT_TRUE(pinwheel.process().wait_for_line(
      R"(no backend became usable within connect_timeout \(300ms\): reset 1 client)", 5s))
      << pinwheel.process().output();
}

}  // namespace
}  // namespace pinwheel::test
