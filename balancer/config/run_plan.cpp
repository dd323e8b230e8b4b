#include "config/run_plan.hpp"

#include <algorithm>
#include <sstream>

#include "config/address.hpp"
#include "config/byte_size.hpp"
#include "config/config_error.hpp"
#include "config/cpu_plan.hpp"
#include "config/descriptor_limit.hpp"
#include "config/free_ports.hpp"
#include "config/validate_plan.hpp"

namespace pinwheel {

namespace {

std::string substitute_placeholders(std::string arg, const backend_plan& b) {
  auto replace = [&arg](std::string_view name, const std::string& value) {
    for (std::size_t at = arg.find(name); at != std::string::npos;
         at = arg.find(name, at + value.size())) {
      arg.replace(at, name.size(), value);
    }
  };
  replace("{port}", std::to_string(b.endpoint.port()));
  replace("{index}", std::to_string(b.index));
  replace("{cpu}", std::to_string(b.cpu));
  return arg;
}

// One port per backend: base_port + index, or free ones picked outside the ephemeral range.
std::vector<std::uint16_t> plan_ports(const options& o, std::size_t count, const host_facts& host) {
  const backends_options& b = o.backends;
  std::vector<std::uint16_t> ports;
  if (b.base_port != 0) {
    std::size_t last = static_cast<std::size_t>(b.base_port) + count - 1;
    if (last > 65535) {
      std::string why = o.where("backends.count") == "--backends"
                            ? " (--backends " + std::to_string(b.count) + ")"
                        : b.count == 0 ? " (one per core)"
                                       : "";
      throw config_error(o.locate("backends.base_port") + ": " + std::to_string(b.base_port) +
                         " with " + std::to_string(count) + " backends" + why + " needs ports " +
                         std::to_string(b.base_port) + " to " + std::to_string(last) +
                         ", past 65535; lower base_port to at most " +
                         std::to_string(65536 - count) + ", or set it to 0 to pick free ports");
    }
    for (std::size_t i = 0; i < count; ++i)
      ports.push_back(static_cast<std::uint16_t>(b.base_port + i));
    return ports;
  }
  if (std::error_code ec = host.try_bind({b.host, 0}, false)) {
    throw config_error(o.locate("backends.host") + ": cannot listen on " + b.host.to_string() +
                       ": " + ec.message() + "; give an address of this host, e.g. 127.0.0.1");
  }
  ports = pick_free_ports(b.host, count, host, o.balancer.listen);
  if (ports.size() < count) {
    const port_range& range = host.ephemeral_ports;
    throw config_error(o.locate("backends.base_port") + ": 0 picks free ports outside the " +
                       "ephemeral range " + std::to_string(range.first) + "-" +
                       std::to_string(range.last) + " (ip_local_port_range), but only " +
                       std::to_string(ports.size()) + " of the " + std::to_string(count) +
                       " needed are free; set base_port to a free range");
  }
  return ports;
}

// Who the processes run as, and the backends' limits.
void describe_privileges(const options& o, std::ostringstream& out) {
  if (o.balancer.user.set())
    out << "user            " << describe(o.balancer.user) << " once listening (drops root)\n";
  const backends_options& b = o.backends;
  if (!b.spawned()) return;
  if (b.user.set()) out << "backends run as " << describe(b.user) << "\n";
  if (b.max_open_files > 0 || b.max_address_space > 0 || b.max_memory > 0) {
    out << "backend limits ";
    if (b.max_open_files > 0) out << " max_open_files " << b.max_open_files;
    if (b.max_address_space > 0)
      out << " max_address_space " << format_byte_size(b.max_address_space);
    if (b.max_memory > 0) out << " max_memory " << format_byte_size(b.max_memory) << " (RSS)";
    out << "\n";
  }
}

}  // namespace

std::vector<std::string> command_for(const backends_options& options, const backend_plan& b) {
  std::vector<std::string> argv;
  for (const std::string& arg : options.command) argv.push_back(substitute_placeholders(arg, b));
  return argv;
}

run_plan make_plan(const options& o, const host_facts& host) {
  run_plan plan;
  plan.open_files = host.open_files;
  const backends_options& b = o.backends;
  if (b.spawned()) validate_scaling(o);
  cpu_assignment cpus = b.spawned() ? assign_cpus(host.cpus, o.balancer.cpu, b.count, b.cpus)
                                    : assign_cpus(host.cpus, o.balancer.cpu, 1, {});
  if (!cpus.error.empty()) {
    bool balancer_refused = o.balancer.cpu && std::find(host.cpus.begin(), host.cpus.end(),
                                                        *o.balancer.cpu) == host.cpus.end();
    std::string key = balancer_refused || b.cpus.empty() ? "balancer.cpu" : "backends.cpus";
    throw config_error(o.locate(key) + ": " + cpus.error);
  }
  plan.balancer_cpu = cpus.balancer;

  if (!b.spawned()) {
    for (std::size_t i = 0; i < b.servers.size(); ++i) {
      const server_options& server = b.servers[i];
      backend_plan backend;
      backend.index = i;
      backend.name = server.name.empty() ? std::to_string(i) : server.name;
      backend.weight = server.weight;
      backend.endpoint = server.endpoint;
      plan.backends.push_back(std::move(backend));
    }
  } else {
    if (!cpus.warning.empty()) plan.warnings.push_back(cpus.warning);
    // Backend i takes the i-th core of the rotation, so scaling up fills free cores first;
    // past them, say so now rather than when the load comes.
    if (b.autoscaled() && cpus.warning.empty()) {
      std::string most = assign_cpus(host.cpus, o.balancer.cpu, b.max, b.cpus).warning;
      if (!most.empty()) plan.warnings.push_back("at max (auto-scaling): " + most);
    }
    std::vector<std::uint16_t> ports = plan_ports(o, cpus.backends.size(), host);
    if (!b.weights.empty() && b.weights.size() != cpus.backends.size()) {
      throw config_error(o.locate("backends.weights") + ": " + std::to_string(b.weights.size()) +
                         " weights for " + std::to_string(cpus.backends.size()) + " backends" +
                         (b.count == 0 ? " (one per core)" : "") +
                         "; give one weight per backend, or set count to match");
    }
    for (std::size_t i = 0; i < cpus.backends.size(); ++i) {
      backend_plan backend;
      backend.index = i;
      backend.name = std::to_string(i);
      backend.weight = b.weights.empty() ? 1 : b.weights[i];
      backend.cpu = cpus.backends[i];
      backend.endpoint = asio::ip::tcp::endpoint(b.host, ports[i]);
      backend.argv = command_for(b, backend);
      plan.backends.push_back(std::move(backend));
    }
  }
  bool any_weight = std::any_of(plan.backends.begin(), plan.backends.end(),
                                [](const backend_plan& p) { return p.weight > 0; });
  if (!any_weight) {
    std::string key = b.spawned() ? "backends.weights" : "backends.servers";
    throw config_error(o.locate(key) +
                       ": every backend has weight 0, so none would ever be picked; give at "
                       "least one a weight from 1 to " +
                       std::to_string(kMaxWeight));
  }
  validate_plan(o, plan, host);
  return plan;
}

std::string describe(const options& o, const run_plan& plan) {
  std::ostringstream out;
  const balancer_options& bal = o.balancer;
  const health_options& h = o.health;
  out << "config          " << (o.config_path.empty() ? "(none)" : o.config_path) << "\n"
      << "listen          " << to_string(bal.listen);
  for (const auto& more : bal.more_listen) out << ", " << to_string(more);
  out << (bal.tcp_keepalive > 0ms ? ", tcp_keepalive " + format_duration(bal.tcp_keepalive) : "")
      << "\n";
  if (bal.accept_proxy) {
    out << "accept_proxy    from";
    for (const auto& range : bal.trusted) out << " " << to_string(range);
    out << ", header within " << format_duration(bal.proxy_header_timeout) << "\n";
  }
  if (o.backends.send_proxy != proxy_protocol::version::none)
    out << "send_proxy      " << proxy_protocol::to_string(o.backends.send_proxy) << "\n";
  if (o.limits.per_client_connections > 0 || o.limits.per_client_rate > 0) {
    out << "per client      " << o.limits.per_client_connections << " connections, "
        << o.limits.per_client_rate << " new/s (0: no limit)\n";
  }
  if (bal.mode == balancer_mode::direct) {
    out << "mode            direct: one listening socket per backend; the kernel hands each "
           "connection to the backend Pinwheel's BPF program picks\n";
  }
  out << "strategy        " << bal.strategy << "\n"
      << "balancer cpu    " << plan.balancer_cpu << "\n"
      << "limits          max_connections " << bal.max_connections << ", connect_timeout "
      << format_duration(bal.connect_timeout) << ", idle_timeout "
      << format_duration(bal.idle_timeout) << ", drain_timeout "
      << format_duration(bal.drain_timeout) << ", retries " << bal.retries << "\n"
      << "open files      limit " << plan.open_files << ", up to "
      << descriptors_needed(bal.max_connections,
                            std::max<std::size_t>(plan.backends.size(),
                                                  o.backends.autoscaled() ? o.backends.max : 0),
                            bal.pipes())
      << " needed (2 per "
      << "connection + " << kReservedDescriptors << " + " << kDescriptorsPerBackend
      << " per backend + 2 per splice pipe)\n"
      << "splice          "
      << (bal.pipes() > 0 ? "bulk flows through up to " + std::to_string(bal.pipes()) + " pipes"
                          : std::string("off"))
      << "\n";
  out << "metrics         "
      << (o.metrics.enabled
              ? "http://" + to_string(o.metrics.listen) + "/ (status page), /metrics, /status.json"
              : std::string("off"))
      << "\n";
  out << "health          " << to_string(h.kind);
  if (h.kind != health_kind::none) {
    if (h.kind == health_kind::http) out << " GET " << h.path;
    out << " every " << format_duration(h.interval) << ", timeout " << format_duration(h.timeout)
        << ", rise " << h.rise << ", fall " << h.fall;
  }
  out << "\n";
  if (o.backends.spawned()) {
    const backends_options& b = o.backends;
    out << "backends        " << plan.backends.size() << " spawned";
    if (b.autoscaled()) {
      out << " (auto-scaling " << b.min << " to " << b.max << ")";
    }
    out << "; restart delay " << format_duration(b.restart_delay) << " doubling to "
        << format_duration(b.restart_delay_max) << ", give up after " << b.max_restarts
        << " exits within " << format_duration(b.min_uptime) << " of starting\n";
    if (b.autoscaled()) {
      const autoscale_options& a = o.autoscale;
      out << "autoscale       every " << format_duration(a.interval)
          << ": up at cpu >= " << a.scale_up_cpu;
      if (a.scale_up_queued > 0) out << " or queued >= " << a.scale_up_queued;
      out << " for " << format_duration(a.scale_up_after) << ", down at cpu <= " << a.scale_down_cpu
          << " for " << format_duration(a.scale_down_after) << ", cooldown "
          << format_duration(a.cooldown) << "\n";
    }
  } else {
    out << "backends        " << plan.backends.size() << " servers (not spawned)\n";
  }
  if (o.backends.slow_start.count() > 0) {
    out << "slow start      " << format_duration(o.backends.slow_start)
        << " for a backend that becomes usable again\n";
  }
  for (const backend_plan& backend : plan.backends) {
    out << "  backend " << backend.name << "     " << to_string(backend.endpoint);
    if (backend.weight != 1) out << "  weight " << backend.weight;
    if (backend.cpu >= 0) {
      out << "  cpu " << backend.cpu << "  $";
      for (const std::string& arg : backend.argv) out << " " << arg;
    }
    out << "\n";
  }
  describe_privileges(o, out);
  for (const std::string& warning : plan.warnings) out << "warning: " << warning << "\n";
  return out.str();
}

}  // namespace pinwheel
