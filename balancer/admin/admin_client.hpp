// The `pinwheel ctl` side of the admin socket: send one command line, read the whole reply.
// Blocking (ctl is a short-lived command of its own), bounded by a timeout.
#pragma once

#include <chrono>
#include <string>

namespace pinwheel {

struct admin_exchange {
  /// The reply, or empty when there was none.
  std::string reply;
  /// Why there is no reply (cannot connect, timed out...); empty on success.
  std::string failure;
};

/// Sends `line` to the admin socket at `path` and reads the reply until the server closes.
admin_exchange ask_admin(const std::string& path, const std::string& line,
                         std::chrono::milliseconds timeout);

}  // namespace pinwheel
