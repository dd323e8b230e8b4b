#include "proxy/kernel_socket.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/write.hpp>
#include <chrono>

namespace pinwheel {
namespace {

using asio::ip::tcp;

bool descriptor_non_blocking(int fd) { return (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }
bool close_on_exec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }

TEST(KernelSocket, AcceptedSocketsAreNonBlockingCloseOnExecAndInheritNoDelay) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  // What server::open() does: accepted sockets inherit TCP_NODELAY from the listener.
  acceptor.set_option(tcp::no_delay(true));
  acceptor.non_blocking(true);

  tcp::socket accepted(io);
  tcp::endpoint peer;
  EXPECT_EQ(accept_nonblocking(acceptor, accepted, peer), asio::error::would_block)
      << "an empty backlog must not block";

  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());  // loopback: queued once connect() returns
  ASSERT_FALSE(accept_nonblocking(acceptor, accepted, peer));
  EXPECT_EQ(peer, client.local_endpoint());

  int fd = accepted.native_handle();
  EXPECT_TRUE(descriptor_non_blocking(fd));
  EXPECT_TRUE(close_on_exec(fd));
  EXPECT_TRUE(accepted.non_blocking()) << "Asio knows, so it spends no ioctl on it";
  tcp::no_delay no_delay;
  accepted.get_option(no_delay);
  EXPECT_TRUE(no_delay.value()) << "TCP_NODELAY is inherited from the listening socket";

  // Synchronous reads return at once; asynchronous ones complete when bytes come.
  char buffer[16];
  asio::error_code ec;
  accepted.read_some(asio::buffer(buffer), ec);
  EXPECT_EQ(ec, asio::error::would_block);
  std::size_t got = 0;
  accepted.async_read_some(asio::buffer(buffer),
                           [&](const asio::error_code& e, std::size_t n) { ec = e, got = n; });
  asio::write(client, asio::buffer("hi", 2));
  io.run_for(std::chrono::seconds(5));
  EXPECT_FALSE(ec);
  EXPECT_EQ(std::string_view(buffer, got), "hi");

  // Closing it ends the connection as usual: the client reads end of stream.
  accepted.close();
  client.read_some(asio::buffer(buffer), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST(KernelSocket, OpenedSocketsAreNonBlockingAndCloseOnExec) {
  asio::io_context io;
  for (const tcp& protocol : {tcp::v4(), tcp::v6()}) {
    tcp::socket s(io);
    asio::error_code ec = open_nonblocking(s, protocol);
    if (protocol == tcp::v6() && ec == asio::error::address_family_not_supported) continue;
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_TRUE(descriptor_non_blocking(s.native_handle()));
    EXPECT_TRUE(close_on_exec(s.native_handle()));
    EXPECT_TRUE(s.non_blocking());
    EXPECT_EQ(s.local_endpoint().protocol(), protocol);
  }
}

}  // namespace
}  // namespace pinwheel
