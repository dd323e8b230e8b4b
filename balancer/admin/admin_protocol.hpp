// The admin protocol without its socket: one request line in, one reply out.
//
// Every reply ends with a newline. Success: "ok: what was done" (status: the table or JSON).
// Failure: one line, "error: what is wrong". Backends are named by their name or their index
// among the current members. Nothing a client sends can throw past handle().
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "admin/admin_actions.hpp"
#include "pool/backend_pool.hpp"

namespace pinwheel {

class admin_protocol {
 public:
  using clock = std::chrono::steady_clock;

  admin_protocol(
      backend_pool& pool, admin_actions& actions,
      std::function<clock::time_point()> now = [] { return clock::now(); });

  /// The reply to one line (its newline stripped).
  std::string handle(std::string_view line);

 private:
  /// The backend `name` names (its name, or its index among the members), or nullptr.
  backend* find_backend(const std::string& name) const;
  std::string set_admin(backend& b, admin_state state);

  backend_pool& pool_;
  admin_actions& actions_;
  std::function<clock::time_point()> now_;
};

/// "error: `message`\n".
std::string admin_error(const std::string& message);

}  // namespace pinwheel
