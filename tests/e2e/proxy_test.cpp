// The layer-4 contract: bytes, half-close, resets, timeouts, limits.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "e2e/balancer_fixture.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

void send_text(int fd, std::string_view text) {
  ASSERT_EQ(::send(fd, text.data(), text.size(), MSG_NOSIGNAL), static_cast<ssize_t>(text.size()));
}

TEST(Proxy, HalfCloseForwardsEndOfStreamAndTheReplyStillFlows) {
  // The server reads the whole request up to end of stream, then answers.
  raw_server upstream([](int fd) {
    std::string request = read_all(fd, 5s);
    send_text(fd, "got " + std::to_string(request.size()) + " bytes: " + request);
  });
  running_balancer pinwheel(raw_config(upstream.port()));
  tcp_client client(pinwheel.port());
  client.send_all("hello");
  client.shutdown_write();
  EXPECT_EQ(client.read_until_eof(5s), "got 5 bytes: hello");
}

TEST(Proxy, HalfCloseWithTheDemoBackend) {
  running_balancer pinwheel(demo_config(1, "round-robin"), 1);
  tcp_client client(pinwheel.port());
  client.send_all("GET /whoami HTTP/1.1\r\nHost: test\r\n\r\n");
  client.shutdown_write();
  std::string reply = client.read_until_eof(5s);
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200 OK")) << reply;
  EXPECT_NE(reply.find("\"index\": 0"), std::string::npos) << reply;
}

// Sends 8 MiB through an echo server behind a balancer with `extra_balancer` config, reading
// the echo at the same time: backpressure in both directions at once.
void expect_large_transfer_intact_both_ways(const std::string& extra_balancer) {
  raw_server upstream([](int fd) {
    char buffer[65536];
    for (;;) {
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      for (ssize_t sent = 0; sent < n;) {
        ssize_t m = ::send(fd, buffer + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
        if (m <= 0) return;
        sent += m;
      }
    }
    ::shutdown(fd, SHUT_WR);
  });
  running_balancer pinwheel(raw_config(upstream.port(), extra_balancer));
  std::string payload(8 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>('a' + (i * 7919) % 26);
  tcp_client client(pinwheel.port());
  std::string echoed;
  std::thread reader([&] { echoed = client.read_until_eof(30s); });
  client.send_all(payload);
  client.shutdown_write();
  reader.join();
  EXPECT_EQ(echoed.size(), payload.size());
  EXPECT_TRUE(echoed == payload);
}

// Both directions turn bulk and splice through pipes (the default).
TEST(Proxy, LargeTransfersArriveIntactBothWays) { expect_large_transfer_intact_both_ways(""); }

// The same through 256 KiB buffers, as when every pipe is taken.
TEST(Proxy, LargeTransfersArriveIntactBothWaysWithoutSplicing) {
  expect_large_transfer_intact_both_ways("max_pipes = 0\n");
}

// A bulk reply to a client that stops reading waits in a pipe, which the status shows; once
// the client reads on, all of it arrives and the pipe goes back.
TEST(Proxy, ABulkReplyWaitsInAPipeWhileTheClientDoesNotRead) {
  constexpr std::size_t kReply = 32 * 1024 * 1024;
  raw_server upstream([](int fd) {
    // Reads the request first: closing with unread bytes would reset the connection.
    char request[2];
    if (::recv(fd, request, sizeof request, MSG_WAITALL) != 2) return;
    std::string chunk(1 << 20, 'x');
    for (std::size_t sent = 0; sent < kReply;) {
      ssize_t n = ::send(fd, chunk.data(), std::min(chunk.size(), kReply - sent), MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
    read_all(fd, 30s);
  });
  running_balancer pinwheel(raw_config(upstream.port()));
  auto pipes_active = [&] {
    std::string json = http_get(pinwheel.metrics_port(), "/status.json").body;
    auto at = json.find("\"splice_pipes_active\":");
    return at == std::string::npos ? -1 : std::stoi(json.substr(at + 22));
  };
  tcp_client client(pinwheel.port());
  client.send_all("go");
  EXPECT_TRUE(wait_until([&] { return pipes_active() == 1; }, 5s))
      << "a bulk direction held back by its reader keeps its pipe";
  EXPECT_EQ(client.read_until_eof(30s).size(), kReply);
  EXPECT_TRUE(wait_until([&] { return pipes_active() == 0; }, 5s));
}

// Reads from `fd` until the stream ends with `marker`, end of stream or `timeout`.
std::string read_through(int fd, std::string_view marker, std::chrono::milliseconds timeout) {
  std::string data;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<char> buffer(1 << 16);
  while (std::chrono::steady_clock::now() < deadline && !data.ends_with(marker)) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n <= 0) break;
    data.append(buffer.data(), static_cast<std::size_t>(n));
  }
  return data;
}

// TCP urgent data (telnet's interrupt) stops reads short at its mark and stops splice there
// altogether; the proxy must neither stall behind it nor drop the urgent byte. `before` bytes
// go first (enough to make the direction bulk, so it splices, or not).
void expect_urgent_byte_passed_on_inline(std::size_t before) {
  const std::string head(before, 'h');
  raw_server upstream([&](int fd) {
    send_text(fd, head);
    ASSERT_EQ(::send(fd, "U", 1, MSG_OOB | MSG_NOSIGNAL), 1);
    send_text(fd, "tail");
    // The client answers only once it has everything: a stalled stream would hang here.
    read_through(fd, "ok", 10s);
  });
  running_balancer pinwheel(raw_config(upstream.port()));
  tcp_client client(pinwheel.port());
  std::string got = read_through(client.fd(), "Utail", 10s);
  EXPECT_EQ(got.size(), before + 5);
  EXPECT_TRUE(got == head + "Utail") << "the urgent byte arrives in its place, as a byte";
  client.send_all("ok");
}

TEST(Proxy, UrgentDataNeverStallsTheStream) { expect_urgent_byte_passed_on_inline(3); }

TEST(Proxy, UrgentDataNeverStallsASplicedStream) {
  expect_urgent_byte_passed_on_inline(4 * 1024 * 1024);
}

TEST(Proxy, UpstreamResetIsPropagatedToTheClient) {
  raw_server upstream([](int fd) {
    read_all(fd, 200ms);
    linger hard{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);  // close() sends RST
  });
  running_balancer pinwheel(raw_config(upstream.port()));
  tcp_client client(pinwheel.port());
  client.send_all("hello");
  EXPECT_EQ(client.read_all(5s), "RESET");
}

TEST(Proxy, ClientResetIsPropagatedUpstream) {
  std::atomic<bool> saw_reset{false};
  raw_server upstream([&](int fd) { saw_reset = read_all(fd, 5s) == "RESET"; });
  running_balancer pinwheel(raw_config(upstream.port()));
  {
    tcp_client client(pinwheel.port());
    client.send_all("hello");
    ASSERT_TRUE(wait_until([&] { return upstream.accepted() == 1; }, 5s));
    linger hard{1, 0};
    ::setsockopt(client.fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  }
  EXPECT_TRUE(wait_until([&] { return saw_reset.load(); }, 5s));
}

TEST(Proxy, IdleConnectionsAreClosedAfterTheIdleTimeout) {
  raw_server upstream([](int fd) { read_all(fd, 5s); });
  running_balancer pinwheel(raw_config(upstream.port(), "idle_timeout = \"300ms\"\n"));
  tcp_client client(pinwheel.port());
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(client.read_until_eof(5s), "");
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3s);
}

TEST(Proxy, MaxConnectionsPausesAcceptingUntilOneCloses) {
  raw_server upstream([](int fd) { read_all(fd, 5s); });
  running_balancer pinwheel(raw_config(upstream.port(), "max_connections = 2\n"));
  auto first = std::make_unique<tcp_client>(pinwheel.port());
  tcp_client second(pinwheel.port());
  ASSERT_TRUE(wait_until([&] { return upstream.accepted() == 2; }, 5s));
  tcp_client third(pinwheel.port());  // completes in the kernel's backlog, not served yet
  EXPECT_FALSE(wait_until([&] { return upstream.accepted() > 2; }, 300ms));
  first.reset();
  EXPECT_TRUE(wait_until([&] { return upstream.accepted() == 3; }, 5s));
}

TEST(Proxy, KeepAliveRequestsShareOneConnection) {
  running_balancer pinwheel(demo_config(2, "round-robin"), 2);
  tcp_client client(pinwheel.port());
  int index = -1;
  for (int i = 0; i < 5; ++i) {
    client.send_all("GET /whoami HTTP/1.1\r\nHost: test\r\n\r\n");
    http_response r = client.read_response(5s);
    ASSERT_EQ(r.status, 200);
    int served = r.body[r.body.find("\"index\": ") + 9] - '0';
    if (index >= 0) {
      EXPECT_EQ(served, index) << "one connection, one backend";
    }
    index = served;
  }
}

}  // namespace
}  // namespace pinwheel::test
