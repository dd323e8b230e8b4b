#include "config/config_diff.hpp"

#include <algorithm>

#include "config/address.hpp"
#include "config/address_range.hpp"

namespace pinwheel {

namespace {

// Keeps the running value of a key only a restart applies, noting it if the file changed it.
template <class T>
void keep(const T& running, T& next, const char* key, config_diff& d) {
  if (running == next) return;
  next = running;
  d.needs_restart.push_back(key);
}

std::string listen_text(const balancer_options& b) {
  std::string text = to_string(b.listen);
  for (const auto& more : b.more_listen) text += ", " + to_string(more);
  return text;
}

bool same_ranges(const std::vector<address_range>& a, const std::vector<address_range>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (to_string(a[i]) != to_string(b[i])) return false;
  }
  return true;
}

void diff_balancer(const options& running, options& next, config_diff& d) {
  const balancer_options& r = running.balancer;
  balancer_options& n = next.balancer;
  keep(r.cpu, n.cpu, "balancer.cpu", d);
  keep(r.max_connections, n.max_connections, "balancer.max_connections", d);
  keep(r.max_pipes, n.max_pipes, "balancer.max_pipes", d);
  keep(r.tcp_keepalive, n.tcp_keepalive, "balancer.tcp_keepalive", d);
  if (r.strategy != n.strategy) {
    d.strategy = true;
    d.changes.push_back("strategy " + r.strategy + " -> " + n.strategy);
  }
  if (r.connect_timeout != n.connect_timeout || r.idle_timeout != n.idle_timeout ||
      r.drain_timeout != n.drain_timeout || r.retries != n.retries ||
      r.proxy_header_timeout != n.proxy_header_timeout) {
    d.timeouts = true;
    d.changes.push_back("timeouts and retries");
  }
  if (r.listen != n.listen || r.more_listen != n.more_listen) {
    d.listen = true;
    d.changes.push_back("listen " + listen_text(r) + " -> " + listen_text(n));
  }
  if (r.accept_proxy != n.accept_proxy || !same_ranges(r.trusted, n.trusted)) {
    d.proxy_protocol = true;
    d.changes.push_back("accept_proxy / trusted");
  }
}

void diff_health(const options& running, options& next, config_diff& d) {
  const health_options& r = running.health;
  health_options& n = next.health;
  // "none" trusts every backend at once and runs no check loops: switching in or out of it
  // changes how each backend's state starts.
  if ((r.kind == health_kind::none) != (n.kind == health_kind::none))
    keep(r.kind, n.kind, "health.kind", d);
  if (r.kind != n.kind || r.path != n.path || r.interval != n.interval || r.timeout != n.timeout ||
      r.rise != n.rise || r.fall != n.fall) {
    d.health = true;
    d.changes.push_back("health checks");
  }
}

void diff_spawned(const options& running, const run_plan& running_plan, options& next,
                  run_plan& next_plan, config_diff& d) {
  const std::vector<backend_plan>& before = running_plan.backends;
  std::vector<backend_plan>& after = next_plan.backends;
  bool picked_ports = running.backends.base_port == 0 && next.backends.base_port == 0 &&
                      running.backends.host == next.backends.host;
  for (std::size_t i = 0; i < std::min(before.size(), after.size()); ++i) {
    if (picked_ports) {
      // The new plan picked fresh free ports; a backend that stays keeps its own.
      after[i].endpoint = before[i].endpoint;
      after[i].argv = command_for(next.backends, after[i]);
    }
    if (after[i].argv != before[i].argv || after[i].cpu != before[i].cpu ||
        after[i].endpoint != before[i].endpoint) {
      d.restarted.push_back(i);
    }
  }
  for (std::size_t i = 0; i < std::min(before.size(), after.size()); ++i)
    d.weights = d.weights || after[i].weight != before[i].weight;
  for (std::size_t i = before.size(); i < after.size(); ++i) d.added.push_back(i);
  for (std::size_t i = after.size(); i < before.size(); ++i) d.removed.push_back(i);
  if (!d.restarted.empty())
    d.changes.push_back(std::to_string(d.restarted.size()) + " backend(s) to restart");
  if (!d.added.empty()) d.changes.push_back(std::to_string(d.added.size()) + " backend(s) added");
  if (!d.removed.empty())
    d.changes.push_back(std::to_string(d.removed.size()) + " backend(s) removed");
}

void diff_servers(const options& running, const options& next, config_diff& d) {
  const auto& before = running.backends.servers;
  const auto& after = next.backends.servers;
  auto find = [](const std::vector<server_options>& in, const asio::ip::tcp::endpoint& e) {
    return std::find_if(in.begin(), in.end(),
                        [&e](const server_options& s) { return s.endpoint == e; });
  };
  for (const server_options& s : after) {
    auto old = find(before, s.endpoint);
    if (old == before.end())
      d.servers_added.push_back(s.endpoint);
    else if (old->weight != s.weight)
      d.weights = true;
  }
  for (const server_options& s : before) {
    if (find(after, s.endpoint) == after.end()) d.servers_removed.push_back(s.endpoint);
  }
  for (const auto& s : d.servers_added) d.changes.push_back("server " + to_string(s) + " added");
  for (const auto& s : d.servers_removed)
    d.changes.push_back("server " + to_string(s) + " removed");
}

// --- Privileges and limits ---

// The balancer's user is dropped to once, at start; the backends' user and rlimits are set
// when a backend starts, so a change restarts the spawned backends (rolling). max_memory is
// read at each check and needs nothing.
void diff_privileges(const options& running, options& next, std::size_t staying, config_diff& d) {
  keep(running.balancer.user, next.balancer.user, "balancer.user", d);
  const backends_options& r = running.backends;
  const backends_options& n = next.backends;
  if (!r.spawned() || !n.spawned()) return;
  if (r.max_memory != n.max_memory) d.changes.push_back("max_memory");
  if (r.user == n.user && r.max_open_files == n.max_open_files &&
      r.max_address_space == n.max_address_space) {
    return;
  }
  for (std::size_t i = 0; i < staying; ++i) {
    if (std::find(d.restarted.begin(), d.restarted.end(), i) == d.restarted.end())
      d.restarted.push_back(i);
  }
  std::sort(d.restarted.begin(), d.restarted.end());
  d.changes.push_back("backends' user or limits (restarting them)");
}

// --- end of privileges and limits ---

}  // namespace

config_diff diff_configs(const options& running, const run_plan& running_plan, options& next,
                         run_plan& next_plan) {
  config_diff d;
  diff_balancer(running, next, d);
  if (running_plan.balancer_cpu != next_plan.balancer_cpu &&
      std::find(d.needs_restart.begin(), d.needs_restart.end(), "balancer.cpu") ==
          d.needs_restart.end()) {
    d.needs_restart.push_back("balancer.cpu");
  }
  next_plan.balancer_cpu = running_plan.balancer_cpu;
  diff_health(running, next, d);
  if (running.limits.per_client_connections != next.limits.per_client_connections ||
      running.limits.per_client_rate != next.limits.per_client_rate) {
    next.limits = running.limits;
    d.needs_restart.push_back("limits");
  }
  keep(running.access_log.enabled, next.access_log.enabled, "access_log.enabled", d);
  keep(running.access_log.path, next.access_log.path, "access_log.path", d);
  keep(running.access_log.format, next.access_log.format, "access_log.format", d);
  keep(running.admin.socket, next.admin.socket, "admin.socket", d);
  keep(running.admin.timeout, next.admin.timeout, "admin.timeout", d);
  if (running.backends.send_proxy != next.backends.send_proxy) {
    d.proxy_protocol = true;
    d.changes.push_back("send_proxy");
  }
  const backends_options& rb = running.backends;
  const backends_options& nb = next.backends;
  if (rb.restart_delay != nb.restart_delay || rb.restart_delay_max != nb.restart_delay_max ||
      rb.min_uptime != nb.min_uptime || rb.max_restarts != nb.max_restarts ||
      rb.stop_timeout != nb.stop_timeout) {
    d.changes.push_back("restart and stop settings");
  }
  if (rb.slow_start != nb.slow_start) d.weights = true;
  if (nb.autoscaled() &&
      (rb.min != nb.min || rb.max != nb.max || running.autoscale != next.autoscale)) {
    d.changes.push_back("auto-scaling " + std::to_string(nb.min) + " to " + std::to_string(nb.max));
  } else if (rb.autoscaled() && !nb.autoscaled()) {
    d.changes.push_back("auto-scaling off");
  }
  if (running.backends.spawned() != next.backends.spawned()) {
    // Spawned backends and servers are different kinds of member, supervised or not.
    next.backends = running.backends;
    next_plan.backends = running_plan.backends;
    d.needs_restart.push_back("backends.command / backends.servers");
  } else if (next.backends.spawned()) {
    diff_spawned(running, running_plan, next, next_plan, d);
  } else {
    diff_servers(running, next, d);
  }
  if (d.weights) d.changes.push_back("weights / slow_start");
  std::size_t staying = next.backends.spawned() && running.backends.spawned()
                            ? std::min(running_plan.backends.size(), next_plan.backends.size())
                            : 0;
  diff_privileges(running, next, staying, d);
  return d;
}

}  // namespace pinwheel
