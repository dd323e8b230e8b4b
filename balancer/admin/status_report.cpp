#include "admin/status_report.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <vector>

#include "common/json_string.hpp"
#include "config/address.hpp"

namespace pinwheel {

namespace {

// Whole seconds a running process has been up; 0 when none runs.
long long uptime_seconds(const backend& b, std::chrono::steady_clock::time_point now) {
  if (!b.spawned() || b.process.pid == 0) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(now - b.process.started).count();
}

std::string format_uptime(long long s) {
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  return std::to_string(s / 3600) + "h" + std::to_string(s % 3600 / 60) + "m";
}

// The backend's last sd_notify STATUS= for one table cell: control characters become spaces
// (a backend may send anything), and a long line is cut so the table stays readable.
std::string status_cell(const std::string& status) {
  constexpr std::size_t kMaxCell = 60;
  if (status.empty()) return "-";
  std::string cell = status.substr(0, kMaxCell);
  for (char& c : cell) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return status.size() > kMaxCell ? cell + "..." : cell;
}

std::string fixed(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value);
  return text;
}

}  // namespace

std::string backend_state(const backend& b) {
  if (b.spawned() && b.process.given_up) return "given-up";
  if (b.spawned() && b.process.pid == 0) return "stopped";
  return b.health.up() ? "up" : "down";
}

std::string status_table(std::span<backend* const> backends,
                         std::chrono::steady_clock::time_point now,
                         const std::optional<scaling_status>& scaling) {
  std::vector<std::vector<std::string>> rows{{"BACKEND", "ADDRESS", "STATE", "ADMIN", "PID", "CPU",
                                              "ACTIVE", "TOTAL", "RESTARTS", "UPTIME", "STATUS"}};
  for (const backend* b : backends) {
    bool spawned = b->spawned();
    rows.push_back(
        {b->name, to_string(b->endpoint), backend_state(*b), to_string(b->admin),
         spawned && b->process.pid != 0 ? std::to_string(b->process.pid) : "-",
         b->cpu >= 0 ? std::to_string(b->cpu) : "-", std::to_string(b->active_connections),
         std::to_string(b->total_connections), spawned ? std::to_string(b->process.restarts) : "-",
         spawned ? format_uptime(uptime_seconds(*b, now)) : "-", status_cell(b->notify.status)});
  }
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  if (scaling) {
    out += "auto-scaling: " + std::to_string(scaling->backends) + " backend(s), min " +
           std::to_string(scaling->min) + ", max " + std::to_string(scaling->max);
    if (scaling->cpu && scaling->queued) {
      out += "; last measured per backend: cpu " + fixed(*scaling->cpu) + ", " +
             fixed(*scaling->queued) + " awaiting a reply";
    }
    out += "\n";
  }
  return out;
}

std::string status_json(std::span<backend* const> backends, const std::string& strategy,
                        std::chrono::steady_clock::time_point now,
                        const std::optional<scaling_status>& scaling) {
  std::ostringstream out;
  out << "{\"strategy\":" << json_string(strategy) << ",\"backends\":[";
  bool first = true;
  for (const backend* b : backends) {
    out << (first ? "" : ",") << "{\"name\":" << json_string(b->name)
        << ",\"address\":" << json_string(to_string(b->endpoint))
        << ",\"state\":" << json_string(backend_state(*b))
        << ",\"admin\":" << json_string(to_string(b->admin)) << ",\"pid\":" << b->process.pid
        << ",\"cpu\":" << b->cpu << ",\"active\":" << b->active_connections
        << ",\"total\":" << b->total_connections << ",\"restarts\":" << b->process.restarts
        << ",\"uptime_s\":" << uptime_seconds(*b, now)
        << ",\"status\":" << json_string(b->notify.status)
        << ",\"memory_restarts\":" << b->process.memory_restarts
        << ",\"resident_bytes\":" << b->process.resident_bytes << "}";
    first = false;
  }
  out << "]";
  if (scaling) {
    out << ",\"autoscale\":{\"min\":" << scaling->min << ",\"max\":" << scaling->max
        << ",\"backends\":" << scaling->backends;
    if (scaling->cpu && scaling->queued)
      out << ",\"cpu\":" << fixed(*scaling->cpu) << ",\"queued\":" << fixed(*scaling->queued);
    out << "}";
  }
  out << "}\n";
  return out.str();
}

}  // namespace pinwheel
