#include "proxy/kernel_socket.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <asio/version.hpp>
#include <cerrno>

#if defined(ASIO_HAS_IO_URING_AS_DEFAULT) || defined(ASIO_WINDOWS) || ASIO_VERSION < 101800
#error "kernel_socket sets the reactive socket service's state: check it against this Asio"
#endif

namespace pinwheel {

namespace {

using asio::ip::tcp;
namespace socket_ops = asio::detail::socket_ops;

asio::error_code last_error() { return {errno, asio::error::get_system_category()}; }

// Reaches tcp::socket's protected implementation through a pointer to member, which only a
// derived class may name; no object of this type is ever made.
struct implementation_access : tcp::socket {
  static auto& of(tcp::socket& s) {
    return (s.*&implementation_access::impl_).get_implementation();
  }
};

// Gives `fd` (non-blocking, close-on-exec, ours alone) to `socket`; closes it on failure.
asio::error_code adopt(tcp::socket& socket, const tcp& protocol, int fd) {
  asio::error_code ec;
  socket.assign(protocol, fd, ec);
  if (ec) {
    ::close(fd);
    return ec;
  }
  auto& state = implementation_access::of(socket).state_;
  // Non-blocking already, for synchronous and asynchronous calls alike: no ioctl(FIONBIO).
  state |= socket_ops::user_set_non_blocking | socket_ops::internal_non_blocking;
  // Nobody else holds the descriptor: close() alone takes it out of epoll, no EPOLL_CTL_DEL.
  state &= ~socket_ops::possible_dup;
  return ec;
}

}  // namespace

asio::error_code accept_nonblocking(tcp::acceptor& acceptor, tcp::socket& socket,
                                    tcp::endpoint& peer) {
  for (;;) {
    socklen_t size = static_cast<socklen_t>(peer.capacity());
    int fd = ::accept4(acceptor.native_handle(), peer.data(), &size, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      peer.resize(size);
      return adopt(socket, peer.protocol(), fd);
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return asio::error::would_block;
    return last_error();
  }
}

asio::error_code open_nonblocking(tcp::socket& socket, const tcp& protocol) {
  int fd =
      ::socket(protocol.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol.protocol());
  if (fd < 0) return last_error();
  return adopt(socket, protocol, fd);
}

}  // namespace pinwheel
