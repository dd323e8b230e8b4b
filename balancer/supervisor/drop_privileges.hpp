// Giving up root ([balancer] user/group), once, after everything that needs it is bound or
// open: listeners (port 80), the metrics listener, the admin socket, the access log.
#pragma once

#include "config/run_as.hpp"

namespace pinwheel {

/// Switches the whole process (every thread) to `user`: supplementary groups, then gid, then
/// uid, and checks that root cannot be regained. Does nothing when already running as that
/// user. Throws std::runtime_error saying which step failed.
void drop_privileges(const run_as& user);

}  // namespace pinwheel
