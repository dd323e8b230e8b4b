#include "config/run_plan.hpp"

#include <asio/io_context.hpp>
#include <sstream>

#include "config/address.hpp"
#include "config/config_error.hpp"
#include "config/cpu_plan.hpp"

namespace pinwheel {

namespace {

std::string substitute(std::string arg, const backend_plan& b) {
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

// A port that was free a moment ago, for base_port = 0.
unsigned short pick_free_port(const asio::ip::address& host) {
  asio::io_context io;
  asio::ip::tcp::acceptor probe(io, asio::ip::tcp::endpoint(host, 0));
  return probe.local_endpoint().port();
}

}  // namespace

void check_port_free(const options& o, const std::string& key,
                     const asio::ip::tcp::endpoint& endpoint) {
  asio::io_context io;
  asio::ip::tcp::acceptor probe(io);
  asio::error_code ec;
  probe.open(endpoint.protocol(), ec);
  if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) probe.bind(endpoint, ec);
  if (ec) {
    std::string hint =
        ec == asio::error::address_in_use
            ? "; another process listens there (another pinwheel?) — stop it or pick another port"
            : "";
    throw config_error(o.where(key) + ": " + key + ": cannot bind " + to_string(endpoint) + ": " +
                       ec.message() + hint);
  }
}

run_plan make_plan(const options& o) {
  run_plan plan;
  const backends_options& b = o.backends;
  if (!b.spawned()) {
    cpu_assignment cpus = assign_cpus(allowed_cpus(), o.balancer.cpu, 1, {});
    if (!cpus.error.empty())
      throw config_error(o.where("balancer.cpu") + ": balancer.cpu: " + cpus.error);
    plan.balancer_cpu = cpus.balancer;
    for (std::size_t i = 0; i < b.servers.size(); ++i)
      plan.backends.push_back({i, b.servers[i], -1, {}});
    return plan;
  }

  cpu_assignment cpus = assign_cpus(allowed_cpus(), o.balancer.cpu, b.count, b.cpus);
  if (!cpus.error.empty()) {
    std::string key = b.cpus.empty() ? "balancer.cpu" : "backends.cpus";
    throw config_error(o.where(key) + ": " + key + ": " + cpus.error);
  }
  plan.balancer_cpu = cpus.balancer;
  if (!cpus.warning.empty()) plan.warnings.push_back(cpus.warning);
  for (std::size_t i = 0; i < cpus.backends.size(); ++i) {
    backend_plan backend;
    backend.index = i;
    backend.cpu = cpus.backends[i];
    unsigned short port =
        b.base_port == 0 ? pick_free_port(b.host) : static_cast<unsigned short>(b.base_port + i);
    backend.endpoint = asio::ip::tcp::endpoint(b.host, port);
    if (b.base_port != 0) check_port_free(o, "backends.base_port", backend.endpoint);
    if (backend.endpoint == o.balancer.listen) {
      throw config_error(o.where("backends.base_port") + ": backends.base_port: backend " +
                         std::to_string(i) + " would listen on " + to_string(backend.endpoint) +
                         ", the balancer's own address");
    }
    for (const std::string& arg : b.command) backend.argv.push_back(substitute(arg, backend));
    plan.backends.push_back(std::move(backend));
  }
  return plan;
}

std::string describe(const options& o, const run_plan& plan) {
  std::ostringstream out;
  const balancer_options& bal = o.balancer;
  const health_options& h = o.health;
  out << "config          " << (o.config_path.empty() ? "(none)" : o.config_path) << "\n"
      << "listen          " << to_string(bal.listen) << "\n"
      << "strategy        " << bal.strategy << "\n"
      << "balancer cpu    " << plan.balancer_cpu << "\n"
      << "limits          max_connections " << bal.max_connections << ", connect_timeout "
      << format_duration(bal.connect_timeout) << ", idle_timeout "
      << format_duration(bal.idle_timeout) << ", drain_timeout "
      << format_duration(bal.drain_timeout) << ", retries " << bal.retries << "\n";
  out << "health          " << to_string(h.kind);
  if (h.kind != health_kind::none) {
    if (h.kind == health_kind::http) out << " GET " << h.path;
    out << " every " << format_duration(h.interval) << ", timeout " << format_duration(h.timeout)
        << ", rise " << h.rise << ", fall " << h.fall;
  }
  out << "\n";
  if (o.backends.spawned()) {
    const backends_options& b = o.backends;
    out << "backends        " << plan.backends.size() << " spawned; restart delay "
        << format_duration(b.restart_delay) << " doubling to "
        << format_duration(b.restart_delay_max) << ", give up after " << b.max_restarts
        << " exits within " << format_duration(b.min_uptime) << " of starting\n";
  } else {
    out << "backends        " << plan.backends.size() << " servers (not spawned)\n";
  }
  for (const backend_plan& backend : plan.backends) {
    out << "  backend " << backend.index << "     " << to_string(backend.endpoint);
    if (backend.cpu >= 0) {
      out << "  cpu " << backend.cpu << "  $";
      for (const std::string& arg : backend.argv) out << " " << arg;
    }
    out << "\n";
  }
  for (const std::string& warning : plan.warnings) out << "warning: " << warning << "\n";
  return out.str();
}

}  // namespace pinwheel
