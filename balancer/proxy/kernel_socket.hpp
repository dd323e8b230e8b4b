// Sockets the kernel creates non-blocking (accept4 / socket with SOCK_NONBLOCK), handed to
// Asio without the system calls Asio would otherwise spend on them.
//
// Asio's own accept and open leave a socket blocking, and the first non-blocking use costs an
// ioctl(FIONBIO); a socket Asio accepted is also marked "possibly a duplicate", so closing it
// costs an epoll_ctl(EPOLL_CTL_DEL). Neither is needed for a descriptor the kernel just created
// non-blocking and close-on-exec for us: these functions tell Asio so by setting its socket
// state directly (Asio 1.2x's reactive socket service; checked at compile time).
#pragma once

#include <asio/ip/tcp.hpp>
#include <system_error>

namespace pinwheel {

/// Accepts one pending connection from `acceptor` (which must be non-blocking) into `socket`:
/// accept4(SOCK_NONBLOCK | SOCK_CLOEXEC). would_block when none is pending.
asio::error_code accept_nonblocking(asio::ip::tcp::acceptor& acceptor,
                                    asio::ip::tcp::socket& socket, asio::ip::tcp::endpoint& peer);

/// Opens `socket` for `protocol`: socket(SOCK_NONBLOCK | SOCK_CLOEXEC).
asio::error_code open_nonblocking(asio::ip::tcp::socket& socket, const asio::ip::tcp& protocol);

}  // namespace pinwheel
