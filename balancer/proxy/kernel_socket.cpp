#include "proxy/kernel_socket.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace pinwheel {

namespace {

asio::error_code last_error() { return {errno, asio::error::get_system_category()}; }

}  // namespace

asio::error_code accept_nonblocking(asio::ip::tcp::acceptor& acceptor, owned_fd& socket,
                                    asio::ip::tcp::endpoint& peer) {
  for (;;) {
    socklen_t size = static_cast<socklen_t>(peer.capacity());
    int fd = ::accept4(acceptor.native_handle(), peer.data(), &size, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      peer.resize(size);
      socket = owned_fd(fd);
      return {};
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return asio::error::would_block;
    return last_error();
  }
}

asio::error_code open_nonblocking(owned_fd& socket, const asio::ip::tcp& protocol) {
  int fd =
      ::socket(protocol.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol.protocol());
  if (fd < 0) return last_error();
  socket = owned_fd(fd);
  return {};
}

}  // namespace pinwheel
