// A health check's socket in direct mode: the check connects through the group's public port,
// as clients do, and the program steers it to the socket of the backend it checks.
//
// The sequence: open_probe() makes a non-blocking TCP socket, binds it to port 0 of the
// wildcard address (so the kernel picks its source port now, and keeps it while the socket
// lives), reads the port and registers it (reuseport_group::steer_probe). The caller connects
// it to `destination`, and once the connect has finished or failed calls
// group.forget_probe(port) before closing the socket (forgetting after the close could
// remove the registration of a newer probe that got the same port).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#include "common/owned_fd.hpp"
#include "direct/reuseport_group.hpp"

namespace pinwheel::direct {

struct probe_socket {
  owned_fd fd;                   // non-blocking, close-on-exec, bound, not yet connected
  std::uint16_t port = 0;        // its source port (host order), registered in the group
  sockaddr_storage destination;  // the group's local_address(): where to connect
};

/// A socket whose connection to the group reaches socket `socket` (see above). Throws
/// std::system_error (no socket, no port left, the probe map full) or std::invalid_argument
/// (no such socket).
probe_socket open_probe(reuseport_group& group, std::size_t socket);

}  // namespace pinwheel::direct
