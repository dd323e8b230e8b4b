#include "admin/admin_protocol.hpp"

#include <charconv>
#include <exception>

#include "admin/admin_request.hpp"
#include "admin/status_report.hpp"
#include "log/log.hpp"

namespace pinwheel {

namespace {

std::string reply(const admin_result& result) {
  return (result.ok ? "ok: " : "error: ") + result.message + "\n";
}

}  // namespace

std::string admin_error(const std::string& message) { return "error: " + message + "\n"; }

admin_protocol::admin_protocol(backend_pool& pool, admin_actions& actions,
                               std::function<clock::time_point()> now)
    : pool_(pool), actions_(actions), now_(std::move(now)) {}

backend* admin_protocol::find_backend(const std::string& name) const {
  if (backend* b = pool_.find(name)) return b;
  std::size_t index = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), index);
  if (ec != std::errc() || end != name.data() + name.size()) return nullptr;
  auto members = pool_.members();
  return index < members.size() ? members[index] : nullptr;
}

std::string admin_protocol::set_admin(backend& b, admin_state state) {
  admin_state before = b.admin;
  pool_.set_admin(b, state);
  if (before != state) {
    log("admin: backend ", b.name, " ", to_string(before), " -> ", to_string(state),
        state == admin_state::enabled ? "" : " (open connections may finish)");
  }
  return "ok: backend " + b.name + " is " + to_string(state) +
         (before == state ? " (it was already)" : "") + ", " +
         std::to_string(b.active_connections) + " connection(s) open\n";
}

std::string admin_protocol::handle(std::string_view line) {
  try {
    std::string error;
    auto request = parse_admin_request(line, error);
    if (!request) return admin_error(error);
    const std::string& verb = request->verb;
    if (verb == "status") {
      return request->json ? status_json(pool_.members(), actions_.strategy_name(), now_(),
                                         actions_.scaling())
                           : status_table(pool_.members(), now_(), actions_.scaling());
    }
    if (verb == "restart-all") return reply(actions_.restart_all());
    if (verb == "reload") return reply(actions_.reload());
    if (verb == "strategy") return reply(actions_.set_strategy(request->argument));
    backend* b = find_backend(request->argument);
    if (b == nullptr) {
      std::string names;
      for (const backend* m : pool_.members()) names += (names.empty() ? "" : ", ") + m->name;
      return admin_error("no backend \"" + request->argument.substr(0, 64) +
                         "\"; backends: " + names);
    }
    if (verb == "drain") return set_admin(*b, admin_state::draining);
    if (verb == "disable") return set_admin(*b, admin_state::disabled);
    if (verb == "enable") return set_admin(*b, admin_state::enabled);
    return reply(actions_.restart(*b));  // "restart": the parser admits no other verb
  } catch (const std::exception& e) {
    return admin_error(std::string("internal error: ") + e.what());
  }
}

}  // namespace pinwheel
