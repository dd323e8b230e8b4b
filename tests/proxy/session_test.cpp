// A session on a real io_context and loopback sockets, to see what no end-to-end test can:
// when its buffers and pipes go back to their pools.
#include "proxy/session.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "strategy/round_robin.hpp"
#include "support/run_io_until.hpp"

namespace pinwheel {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;

// One backend on loopback, a relay loop, the pools, and a client whose accepted socket
// start() hands to a new session, which then connects to the backend.
class Session : public ::testing::Test {
 protected:
  Session() {
    backend b;
    b.name = "0";
    b.endpoint = upstream_listener.local_endpoint();
    b.health = health_state(1, 1, /*initially_up=*/true);
    pool.add(std::move(b));
    context.relay = &relay;
    context.on_end = [&](session& s) {
      ended = true;
      delete &s;
    };
  }

  /// Connects the client, starts its session; with `await_backend`, waits until the session's
  /// connection to the backend is accepted (into `upstream`).
  void start(bool await_backend = true) {
    client.connect(front.local_endpoint());
    tcp::endpoint peer;
    tcp::socket downstream = front.accept(peer);
    downstream.non_blocking(true);  // as the server accepts them
    live = new session(io, owned_fd(downstream.release()), peer, front.local_endpoint(), context);
    live->start();
    upstream_listener.async_accept(upstream, [](const asio::error_code&) {});
    if (await_backend) ASSERT_TRUE(test::run_io_until(io, [&] { return upstream.is_open(); }));
  }

  asio::io_context io;
  relay_loop relay{io};
  tcp::acceptor upstream_listener{io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)};
  tcp::acceptor front{io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)};
  backend_pool pool;
  round_robin chooser{pool};
  buffer_pool small{16 * 1024};
  buffer_pool large{256 * 1024};
  pipe_pool pipes{256 * 1024, 4};  // used once context.pipes points to it
  proxy_context context{pool, &chooser, small, large, 0};
  bool ended = false;
  tcp::socket client{io};
  tcp::socket upstream{io};
  session* live = nullptr;
};

TEST_F(Session, AnIdleConnectionHoldsNoBufferAndAnEndedOneNothing) {
  start(/*await_backend=*/false);
  asio::write(client, asio::buffer("hello", 5));
  char got[5];
  bool relayed = false;
  ASSERT_TRUE(test::run_io_until(io, [&] { return upstream.is_open(); }));
  asio::async_read(upstream, asio::buffer(got), [&](auto, std::size_t) { relayed = true; });
  ASSERT_TRUE(test::run_io_until(io, [&] { return relayed; }));
  EXPECT_EQ(std::string_view(got, 5), "hello");
  // Written on and the socket drained: the buffer went back at once.
  EXPECT_EQ(small.lent(), 0u) << "an idle connection holds no buffer";

  // The backend answers; the client reads it through the session.
  asio::write(upstream, asio::buffer("world", 5));
  char answer[5];
  bool answered = false;
  asio::async_read(client, asio::buffer(answer), [&](auto, std::size_t) { answered = true; });
  ASSERT_TRUE(test::run_io_until(io, [&] { return answered; }));
  EXPECT_EQ(std::string_view(answer, 5), "world");
  ASSERT_TRUE(test::run_io_until(io, [&] { return small.lent() == 0; }));

  live->abort(end_reason::admin, true);
  EXPECT_FALSE(ended) << "handed back from a handler of its own, never under the caller";
  ASSERT_TRUE(test::run_io_until(io, [&] { return ended; }));
  EXPECT_EQ(small.lent() + large.lent(), 0u);
  EXPECT_EQ(pool.members()[0]->active_connections, 0u);
}

TEST_F(Session, ARequestAwaitsItsBackendUntilBytesComeBack) {
  start();
  backend& up = *pool.members()[0];
  EXPECT_EQ(up.awaiting.size(), 0u) << "connected, nothing sent: owes nothing";

  // The request goes up: the backend owes an answer.
  asio::write(client, asio::buffer("ping", 4));
  char got[4];
  bool relayed = false;
  asio::async_read(upstream, asio::buffer(got), [&](auto, std::size_t) { relayed = true; });
  ASSERT_TRUE(test::run_io_until(io, [&] { return relayed; }));
  EXPECT_EQ(up.awaiting.size(), 1u);

  // Its first bytes come back: the wait is over.
  asio::write(upstream, asio::buffer("po", 2));
  ASSERT_TRUE(test::run_io_until(io, [&] { return up.awaiting.size() == 0; }));

  // Another request, then the session ends before an answer: it leaves the list.
  asio::write(client, asio::buffer("ping", 4));
  relayed = false;
  asio::async_read(upstream, asio::buffer(got), [&](auto, std::size_t) { relayed = true; });
  ASSERT_TRUE(test::run_io_until(io, [&] { return relayed; }));
  EXPECT_EQ(up.awaiting.size(), 1u);
  live->abort(end_reason::admin, true);
  EXPECT_EQ(up.awaiting.size(), 0u);
  ASSERT_TRUE(test::run_io_until(io, [&] { return ended; }));
}

// A bulk flow moves through a pipe (splice), not through the balancer's memory, arrives
// whole and in order, and gives the pipe back once drained.
TEST_F(Session, ABulkFlowIsSplicedAndItsPipeGoesBack) {
  context.pipes = &pipes;
  start();

  // 8 MiB from the backend, then its end of stream; the client reads it all.
  std::vector<char> sent(8 << 20);
  for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>(i * 7 % 251);
  std::vector<char> got(sent.size());
  bool written = false;
  bool read = false;
  asio::async_write(upstream, asio::buffer(sent), [&](auto ec, std::size_t) {
    written = true;
    if (!ec) upstream.shutdown(tcp::socket::shutdown_send);
  });
  asio::async_read(client, asio::buffer(got), [&](auto, std::size_t) { read = true; });
  ASSERT_TRUE(test::run_io_until(io, [&] { return written && read; }));
  EXPECT_TRUE(sent == got) << "every byte arrives, in order";
  EXPECT_EQ(pipes.open(), 1u) << "the bulk direction spliced";
  EXPECT_EQ(large.spare() + large.lent(), 0u) << "no large buffer was needed";

  // The end of stream follows the bytes; the pipe went back empty, for the next flow.
  char byte;
  asio::error_code ec;
  EXPECT_EQ(client.read_some(asio::buffer(&byte, 1), ec), 0u);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_EQ(pipes.lent(), 0u);
  EXPECT_EQ(pipes.spare(), 1u);

  live->abort(end_reason::admin, true);
  ASSERT_TRUE(test::run_io_until(io, [&] { return ended; }));
}

}  // namespace
}  // namespace pinwheel
