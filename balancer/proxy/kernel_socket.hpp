// The relay's sockets, created by the kernel non-blocking and close-on-exec (accept4 and
// socket with SOCK_NONBLOCK | SOCK_CLOEXEC): no fcntl or ioctl afterwards. They are plain
// descriptors watched by the relay loop (relay_loop.hpp), never Asio sockets, which would
// each cost an extra epoll registration in Asio's reactor.
#pragma once

#include <asio/ip/tcp.hpp>
#include <system_error>

#include "common/owned_fd.hpp"

namespace pinwheel {

/// Accepts one pending connection from `acceptor` (which must be non-blocking) into `socket`;
/// `peer` gets the client's address. would_block when none is pending.
asio::error_code accept_nonblocking(asio::ip::tcp::acceptor& acceptor, owned_fd& socket,
                                    asio::ip::tcp::endpoint& peer);

/// Opens a TCP socket for `protocol` into `socket`.
asio::error_code open_nonblocking(owned_fd& socket, const asio::ip::tcp& protocol);

}  // namespace pinwheel
