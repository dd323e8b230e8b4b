#include "config/validate_plan.hpp"

#include "config/address.hpp"
#include "config/config_error.hpp"
#include "config/descriptor_limit.hpp"

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
  // Picked ports (base_port = 0) were bound a moment ago, while picking them.
  if (!o.backends.spawned() || o.backends.base_port == 0) return;
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

void validate_plan(const options& o, run_plan& plan, const host_facts& host) {
  if (o.backends.spawned()) {
    check_spawned_ports(o, plan);
  } else {
    check_servers(o, host);
  }
  check_ports_free(o, plan, host);
  check_metrics_port(o, plan, host);
  // Auto-scaling may run up to max backends, each with its pipes and probes.
  std::size_t most =
      std::max<std::size_t>(plan.backends.size(), o.backends.autoscaled() ? o.backends.max : 0);
  std::string warning = descriptor_warning(o, most, host.open_files);
  if (!warning.empty()) plan.warnings.push_back(warning);
}

}  // namespace pinwheel
