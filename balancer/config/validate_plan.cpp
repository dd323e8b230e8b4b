#include "config/validate_plan.hpp"

#include "config/address.hpp"
#include "config/config_error.hpp"
#include "config/descriptor_limit.hpp"
#include "direct/steering_kind.hpp"
#include "strategy/strategy_registry.hpp"

namespace pinwheel {

namespace {

// Every address the balancer listens on: `listen`, then the rest of its list.
std::vector<asio::ip::tcp::endpoint> listeners(const options& o) {
  std::vector<asio::ip::tcp::endpoint> all{o.balancer.listen};
  all.insert(all.end(), o.balancer.more_listen.begin(), o.balancer.more_listen.end());
  return all;
}

// "(listen = "0.0.0.0:8080" at pinwheel.toml:2:10)", for messages that blame another key.
std::string listen_note(const options& o, const asio::ip::tcp::endpoint& listen) {
  auto origin = o.origin.find("balancer.listen");
  return "(listen = " + in_quotes(to_string(listen)) +
         (origin != o.origin.end() ? " at " + origin->second : ", the default") + ")";
}

std::string server_key(std::size_t i) { return "backends.servers[" + std::to_string(i) + "]"; }

void check_servers(const options& o, const host_facts& host) {
  std::vector<asio::ip::tcp::endpoint> servers;
  for (const server_options& server : o.backends.servers) servers.push_back(server.endpoint);
  for (std::size_t j = 0; j < servers.size(); ++j) {
    for (std::size_t i = 0; i < j; ++i) {
      if (servers[i] != servers[j]) continue;
      throw config_error(o.locate(server_key(j)) + ": " + in_quotes(to_string(servers[j])) +
                         " is listed twice (first at " + o.where(server_key(i)) +
                         "); list each server once");
    }
  }
  for (const asio::ip::tcp::endpoint& listen : listeners(o)) {
    for (std::size_t i = 0; i < servers.size(); ++i) {
      const asio::ip::tcp::endpoint& server = servers[i];
      // A wildcard listen takes connections to every local address of its family on its port.
      bool reaches_balancer =
          server.port() == listen.port() && covers(listen.address(), server.address()) &&
          (!listen.address().is_unspecified() || host.is_local(server.address()));
      if (!reaches_balancer) continue;
      if (o.where("balancer.listen") == "--listen") {
        throw config_error("--listen: " + to_string(listen) +
                           " also takes the connections for [backends] servers entry " +
                           in_quotes(to_string(server)) + " (" + o.where(server_key(i)) +
                           "): a client would make the balancer connect to itself; listen "
                           "elsewhere or remove that server");
      }
      throw config_error(o.locate(server_key(i)) + ": " + in_quotes(to_string(server)) +
                         " reaches the balancer itself " + listen_note(o, listen) +
                         ": a client would make it connect to itself; remove the server or "
                         "change listen");
    }
  }
}

void check_spawned_ports(const options& o, const run_plan& plan) {
  for (const asio::ip::tcp::endpoint& listen : listeners(o)) {
    // Port 0: the kernel picks the balancer's port, which cannot be a backend's.
    if (listen.port() == 0) continue;
    for (const backend_plan& backend : plan.backends) {
      if (!clash(backend.endpoint, listen)) continue;
      std::string name = "backend " + std::to_string(backend.index);
      if (o.where("balancer.listen") == "--listen") {
        throw config_error("--listen: " + to_string(listen) + " clashes with " + name + " on " +
                           to_string(backend.endpoint) + " (base_port at " +
                           o.where("backends.base_port") +
                           "); listen elsewhere or change base_port");
      }
      throw config_error(o.locate("backends.base_port") + ": " + name + " would listen on " +
                         to_string(backend.endpoint) + ", where the balancer listens too " +
                         listen_note(o, listen) + "; change base_port or listen");
    }
  }
}

// What to say after a failed bind; `in_use` follows "another process listens there".
std::string bind_hint(const std::error_code& ec, const std::string& in_use) {
  if (ec == std::errc::address_in_use) return "; another process listens there" + in_use;
  if (ec == std::errc::address_not_available) return "; that is not an address of this host";
  if (ec == std::errc::permission_denied) return "; ports below 1024 need privilege";
  return "";
}

void check_ports_free(const options& o, const run_plan& plan, const host_facts& host) {
  for (const asio::ip::tcp::endpoint& listen : listeners(o)) {
    if (std::error_code ec = host.try_bind(listen, true)) {
      throw config_error(o.locate("balancer.listen") + ": cannot bind " + to_string(listen) + ": " +
                         ec.message() +
                         bind_hint(ec, " (another pinwheel?) — stop it or pick another port"));
    }
  }
  // Picked ports (base_port = 0) were bound a moment ago, while picking them. Direct mode's
  // backends listen on the public port, not their own.
  if (!o.backends.spawned() || o.backends.base_port == 0 ||
      o.balancer.mode == balancer_mode::direct)
    return;
  for (const backend_plan& backend : plan.backends) {
    if (std::error_code ec = host.try_bind(backend.endpoint, true)) {
      throw config_error(o.locate("backends.base_port") + ": backend " +
                         std::to_string(backend.index) + " cannot listen on " +
                         to_string(backend.endpoint) + ": " + ec.message() +
                         bind_hint(ec,
                                   " — stop it, or choose another base_port (0 picks free "
                                   "ports)"));
    }
  }
}

// The metrics listener must not take the balancer's or a backend's port, and must be free.
void check_metrics_port(const options& o, const run_plan& plan, const host_facts& host) {
  const asio::ip::tcp::endpoint& metrics = o.metrics.listen;
  // Port 0: the kernel picks one at start-up, which nothing else can hold.
  if (!o.metrics.enabled || metrics.port() == 0) return;
  for (const asio::ip::tcp::endpoint& listen : listeners(o)) {
    if (listen.port() == 0 || !clash(metrics, listen)) continue;
    throw config_error(o.locate("metrics.listen") + ": " + to_string(metrics) +
                       " clashes with the balancer's public address " + listen_note(o, listen) +
                       "; give metrics another port");
  }
  for (const backend_plan& backend : plan.backends) {
    if (backend.endpoint.port() == 0 || !clash(metrics, backend.endpoint)) continue;
    throw config_error(o.locate("metrics.listen") + ": " + to_string(metrics) +
                       " clashes with backend " + std::to_string(backend.index) + " on " +
                       to_string(backend.endpoint) + "; give metrics another port");
  }
  if (std::error_code ec = host.try_bind(metrics, true)) {
    throw config_error(o.locate("metrics.listen") + ": cannot bind " + to_string(metrics) + ": " +
                       ec.message() +
                       bind_hint(ec,
                                 " (another pinwheel?) — stop it or pick another port (0 "
                                 "picks a free one)"));
  }
}

// --- Privileges and limits ---

// "[balancer] user = "nobody" (pinwheel.toml:3:8)", for messages that blame another key.
std::string user_note(const options& o, const std::string& table) {
  const run_as& r = table == "balancer" ? o.balancer.user : o.backends.user;
  std::string note = "[";
  note += table;
  note += "] user = " + in_quotes(r.user) + " (" + o.where(table + ".user") + ")";
  return note;
}

// Who may switch to whom: the balancer drops root once, after binding; backends are started
// after that drop, so they can only run as the balancer's user (or as anyone while it keeps
// root). A process that is not root can "switch" only to itself.
void check_users(const options& o, const host_facts& host) {
  const run_as& balancer = o.balancer.user;
  const run_as& backends = o.backends.user;
  auto is_self = [&host](const run_as& r) { return r.uid == host.uid && r.gid == host.gid; };
  if (balancer.set() && host.uid != 0 && !is_self(balancer)) {
    throw config_error(o.locate("balancer.user") + ": Pinwheel runs as uid " +
                       std::to_string(host.uid) + ", not root, so it cannot switch to " +
                       describe(balancer) +
                       "; start it as root (it binds, then drops to this user) or remove user");
  }
  if (!backends.set()) return;
  if (balancer.set() && !balancer.same_ids(backends)) {
    throw config_error(o.locate("backends.user") + ": " + describe(backends) + " differs from " +
                       user_note(o, "balancer") + " = " + describe(balancer) +
                       ": once the balancer has dropped root it cannot start processes as "
                       "another user; give both the same user and group, or remove this one "
                       "(backends then run as the balancer's user)");
  }
  if (!balancer.set() && host.uid != 0 && !is_self(backends)) {
    throw config_error(o.locate("backends.user") + ": Pinwheel runs as uid " +
                       std::to_string(host.uid) + ", not root, so it cannot start backends as " +
                       describe(backends) + "; start it as root or remove user");
  }
}

void check_backend_limits(const options& o, const host_facts& host) {
  const backends_options& b = o.backends;
  // Without root (from the start, or after the drop) the hard limit cannot be raised.
  bool root_at_spawn = host.uid == 0 && (!o.balancer.user.set() || o.balancer.user.uid == 0);
  if (b.max_open_files > host.open_files_hard && !root_at_spawn) {
    throw config_error(o.locate("backends.max_open_files") + ": " +
                       std::to_string(b.max_open_files) + " is above the hard open-file limit " +
                       std::to_string(host.open_files_hard) +
                       ", which only root may raise and the backends are started without root; "
                       "lower it, or raise the limit Pinwheel starts with (LimitNOFILE=)");
  }
}

// Ports below 1024 need root: after the drop (a reload), or when never root, say so plainly.
void check_privileged_ports(const options& o, const host_facts& host) {
  if (host.uid == 0) return;
  std::vector<std::pair<asio::ip::tcp::endpoint, std::string>> wanted;
  for (const asio::ip::tcp::endpoint& listen : listeners(o))
    wanted.emplace_back(listen, "balancer.listen");
  if (o.metrics.enabled) wanted.emplace_back(o.metrics.listen, "metrics.listen");
  for (const auto& [endpoint, key] : wanted) {
    if (endpoint.port() == 0 || endpoint.port() >= 1024) continue;
    // Addresses the run holds already (a reload) bind fine.
    if (host.try_bind(endpoint, true) != std::errc::permission_denied) continue;
    std::string why = o.balancer.user.set() && host.uid == o.balancer.user.uid
                          ? "Pinwheel gave root up after start-up (" + user_note(o, "balancer") +
                                "), so it can no longer bind ports below 1024; restart Pinwheel "
                                "to listen there, or pick a port from 1024 up"
                          : "ports below 1024 need root, and Pinwheel runs as uid " +
                                std::to_string(host.uid) +
                                "; start it as root (with [balancer] user to drop root "
                                "afterwards) or pick a port from 1024 up";
    throw config_error(o.locate(key) + ": cannot bind " + to_string(endpoint) + ": " + why);
  }
}

// --- end of privileges and limits ---

}  // namespace

void validate_scaling(const options& o) {
  const backends_options& b = o.backends;
  if (b.min == 0) return;
  auto count_source = [&] {
    return o.where("backends.count") == "--backends"
               ? std::string("--backends ") + std::to_string(b.count)
               : o.locate("backends.count") + " " + std::to_string(b.count);
  };
  if (b.count < b.min || b.count > b.max) {
    std::string range = "[" + std::to_string(b.min) + ", " + std::to_string(b.max) + "]";
    throw config_error(count_source() + ": the starting count must lie within min and max " +
                       range + " (" + o.where("backends.min") + ", " + o.where("backends.max") +
                       "); leave count out to start at min");
  }
  if (b.base_port != 0 && b.base_port + b.max - 1 > 65535) {
    throw config_error(o.locate("backends.max") + ": " + std::to_string(b.max) +
                       " backends from base_port " + std::to_string(b.base_port) +
                       " need ports up to " + std::to_string(b.base_port + b.max - 1) +
                       ", past 65535; lower base_port to at most " + std::to_string(65536 - b.max) +
                       ", or set it to 0 to pick free ports");
  }
}

void check_mode(const options& o) {
  const std::string& strategy = o.balancer.strategy;
  if (o.balancer.mode == balancer_mode::proxy) {
    if (!is_strategy(strategy)) {
      throw config_error(o.locate("balancer.strategy") + ": \"" + strategy +
                         "\" steers direct mode's kernel program; in proxy mode use "
                         "\"least-pending\", which sees a busy backend from its connections, "
                         "or set [balancer] mode = \"direct\"");
    }
    return;
  }
  // Direct mode: the kernel hands each connection to a backend's own listening socket, so
  // whatever needs the balancer to accept or read a connection cannot work. Each is refused
  // rather than silently ignored.
  const std::string mode = o.locate("balancer.mode") + " = \"direct\"";
  if (!o.backends.spawned()) {
    throw config_error(mode +
                       " hands connections to the processes Pinwheel spawns; [backends] servers "
                       "are not spawned: give [backends] command, or use mode = \"proxy\"");
  }
  if (!o.backends.socket_activation) {
    throw config_error(mode + " needs " + o.locate("backends.socket_activation") +
                       " = true: each backend accepts on the listening socket Pinwheel hands it "
                       "as descriptor 3 (LISTEN_FDS)");
  }
  if (!direct::steering_for(strategy)) {
    std::string names;
    for (const std::string& n : direct::direct_strategy_names())
      names += (names.empty() ? "\"" : ", \"") + n + "\"";
    throw config_error(o.locate("balancer.strategy") + ": \"" + strategy +
                       "\" needs the balancer to see each connection, which direct mode never "
                       "does; use " +
                       names + " with " + mode);
  }
  auto refuse = [&](const std::string& key, const std::string& why) {
    throw config_error(o.locate(key) + ": not available with " + mode + ": " + why);
  };
  if (!o.balancer.more_listen.empty())
    refuse("balancer.listen", "direct mode listens on one address; list only one");
  if (o.balancer.accept_proxy)
    refuse("balancer.accept_proxy",
           "the balancer never reads a connection's bytes; the backends would get the header");
  if (o.backends.send_proxy != proxy_protocol::version::none)
    refuse("backends.send_proxy",
           "no header is needed: a backend's getpeername() is the real client's address");
  if (o.balancer.tcp_keepalive > 0ms)
    refuse("balancer.tcp_keepalive",
           "the connections are the backends' own; set keepalive in the backend");
  if (o.origin.count("balancer.max_pipes") != 0)
    refuse("balancer.max_pipes", "the balancer never relays the connections' bytes");
  if (o.limits.per_client_connections > 0)
    refuse("limits.per_client_connections", "the balancer never accepts the connections");
  if (o.limits.per_client_rate > 0)
    refuse("limits.per_client_rate", "the balancer never accepts the connections");
  if (o.backends.slow_start > 0ms)
    refuse("backends.slow_start", "the kernel program steers by whole weights");
  if (o.backends.autoscaled())
    refuse("backends.min",
           "each backend has its own listening socket in the kernel's group, made at start-up; "
           "set count instead of min and max");
}

void validate_plan(const options& o, run_plan& plan, const host_facts& host) {
  check_mode(o);
  if (o.backends.spawned()) {
    check_spawned_ports(o, plan);
  } else {
    check_servers(o, host);
  }
  check_users(o, host);
  check_backend_limits(o, host);
  check_privileged_ports(o, host);
  check_ports_free(o, plan, host);
  check_metrics_port(o, plan, host);
  // Auto-scaling may run up to max backends, each with its pipes and probes.
  std::size_t most =
      std::max<std::size_t>(plan.backends.size(), o.backends.autoscaled() ? o.backends.max : 0);
  std::string warning = descriptor_warning(o, most, host.open_files);
  if (!warning.empty()) plan.warnings.push_back(warning);
}

}  // namespace pinwheel
