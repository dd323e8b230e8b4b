#include "proxy/kernel_socket.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <asio/io_context.hpp>
#include <cerrno>

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

  owned_fd accepted;
  tcp::endpoint peer;
  EXPECT_EQ(accept_nonblocking(acceptor, accepted, peer), asio::error::would_block)
      << "an empty backlog must not block";

  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());  // loopback: queued once connect() returns
  ASSERT_FALSE(accept_nonblocking(acceptor, accepted, peer));
  EXPECT_EQ(peer, client.local_endpoint());

  int fd = accepted.get();
  EXPECT_TRUE(descriptor_non_blocking(fd));
  EXPECT_TRUE(close_on_exec(fd));
  int no_delay = 0;
  socklen_t size = sizeof no_delay;
  ASSERT_EQ(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &no_delay, &size), 0);
  EXPECT_NE(no_delay, 0) << "TCP_NODELAY is inherited from the listening socket";

  // Reads return at once.
  char buffer[16];
  EXPECT_EQ(::recv(fd, buffer, sizeof buffer, 0), -1);
  EXPECT_EQ(errno, EAGAIN);

  // Closing it ends the connection as usual: the client reads end of stream.
  accepted.reset();
  asio::error_code ec;
  client.read_some(asio::buffer(buffer), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST(KernelSocket, OpenedSocketsAreNonBlockingAndCloseOnExec) {
  for (const tcp& protocol : {tcp::v4(), tcp::v6()}) {
    owned_fd s;
    asio::error_code ec = open_nonblocking(s, protocol);
    if (protocol == tcp::v6() && ec == asio::error::address_family_not_supported) continue;
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_TRUE(descriptor_non_blocking(s.get()));
    EXPECT_TRUE(close_on_exec(s.get()));
    sockaddr_storage local{};
    socklen_t size = sizeof local;
    ASSERT_EQ(::getsockname(s.get(), reinterpret_cast<sockaddr*>(&local), &size), 0);
    EXPECT_EQ(local.ss_family, protocol.family());
  }
}

}  // namespace
}  // namespace pinwheel
