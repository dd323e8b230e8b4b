// Errors that are the balancer's own, not a backend's: it ran out of descriptors, buffers,
// memory or local ports. They never count against a backend's health.
#pragma once

#include <system_error>

namespace pinwheel {

/// EMFILE, ENFILE, ENOBUFS, ENOMEM or EADDRNOTAVAIL, as the system, the generic or Asio's
/// errno category reports it.
bool is_local_error(const std::error_code& ec);

}  // namespace pinwheel
