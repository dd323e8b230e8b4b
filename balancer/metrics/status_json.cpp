#include "metrics/status_json.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "common/json_string.hpp"

namespace pinwheel {

namespace {

std::string number(double value) {
  if (!std::isfinite(value)) return "null";
  std::ostringstream out;
  out.precision(15);
  out << value;
  return out.str();
}

}  // namespace

std::string to_status_json(const balancer_snapshot& s) {
  std::ostringstream out;
  out << "{\"time\":" << number(s.time) << ",\"version\":" << json_string(s.version)
      << ",\"strategy\":" << json_string(s.strategy) << ",\"accepted\":" << s.accepted
      << ",\"active_connections\":" << s.active_connections
      << ",\"max_connections\":" << s.max_connections
      << ",\"splice_pipes_active\":" << s.splice_pipes_active
      << ",\"max_splice_pipes\":" << s.max_splice_pipes;
  if (s.self) {
    out << ",\"balancer\":{\"cpu_seconds\":" << number(s.self->usage.cpu_seconds)
        << ",\"resident_bytes\":" << s.self->usage.resident_bytes
        << ",\"open_fds\":" << s.self->open_fds << "}";
  } else {
    out << ",\"balancer\":null";
  }
  out << ",\"backends\":[";
  for (std::size_t i = 0; i < s.backends.size(); ++i) {
    const backend_snapshot& b = s.backends[i];
    out << (i ? "," : "") << "{\"name\":" << json_string(b.name)
        << ",\"address\":" << json_string(b.address) << ",\"state\":" << json_string(b.state)
        << ",\"admin\":" << json_string(b.admin) << ",\"pid\":" << b.pid << ",\"cpu\":" << b.cpu
        << ",\"active_connections\":" << b.active_connections
        << ",\"total_connections\":" << b.total_connections << ",\"bytes_in\":" << b.bytes_in
        << ",\"bytes_out\":" << b.bytes_out << ",\"connect_failures\":" << b.connect_failures
        << ",\"restarts\":" << b.restarts << ",\"memory_restarts\":" << b.memory_restarts
        << ",\"cpu_seconds\":" << (b.usage ? number(b.usage->cpu_seconds) : "null")
        << ",\"resident_bytes\":" << (b.usage ? std::to_string(b.usage->resident_bytes) : "null")
        << ",\"accept_queue\":" << (b.accept_queue ? std::to_string(*b.accept_queue) : "null")
        << "}";
  }
  out << "]}";
  return out.str();
}

}  // namespace pinwheel
