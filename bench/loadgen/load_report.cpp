#include "load_report.hpp"

#include <cstdio>
#include <sstream>

#include "common/json_string.hpp"

namespace pinwheel::loadgen {

namespace {

std::string number(double v, int decimals = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

double ms(std::uint64_t us) { return static_cast<double>(us) / 1000.0; }

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

struct percentile_point {
  const char* name;
  double value;
};
constexpr percentile_point percentiles[] = {{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}};

// Sent per second over the span the requests were scheduled in; ok per second up to the
// last response.
std::string class_json(const request_class& c, const class_result& r,
                       std::chrono::nanoseconds span) {
  std::ostringstream o;
  o << "{\"name\": " << json_string(c.name) << ", \"weight\": " << c.weight
    << ", \"sent\": " << r.sent << ", \"ok\": " << r.ok << ", \"timeouts\": " << r.timeouts
    << ", \"errors\": {";
  bool first = true;
  for (const auto& [kind, n] : r.errors) {
    o << (first ? "" : ", ") << json_string(kind) << ": " << n;
    first = false;
  }
  o << "}, \"error_count\": " << r.error_count()
    << ", \"success_rate\": " << number(r.sent == 0 ? 0.0 : static_cast<double>(r.ok) / r.sent, 4)
    << ", \"achieved_rate\": " << number(seconds(span) > 0 ? r.sent / seconds(span) : 0.0, 2)
    << ", \"throughput\": "
    << number(seconds(r.last_done) > 0 ? r.ok / seconds(r.last_done) : 0.0, 2)
    << ", \"latency_ms\": {";
  for (const percentile_point& p : percentiles) {
    o << "\"" << p.name << "\": " << number(ms(r.latency.value_at_percentile(p.value))) << ", ";
  }
  o << "\"max\": " << number(ms(r.latency.max()))
    << ", \"mean\": " << number(r.latency.mean() / 1000.0) << "}";
  if (!r.bodies.empty()) {
    o << ", \"bodies\": {";
    first = true;
    for (const auto& [body, n] : r.bodies) {
      o << (first ? "" : ", ") << json_string(body) << ": " << n;
      first = false;
    }
    o << "}";
  }
  o << "}";
  return o.str();
}

std::string table_row(const std::string& label, const class_result& r) {
  char line[512];
  std::snprintf(line, sizeof line, "%-28s %8llu %8llu %7llu %7llu %9.2f %9.2f %9.2f %9.2f %9.2f\n",
                label.c_str(), static_cast<unsigned long long>(r.sent),
                static_cast<unsigned long long>(r.ok),
                static_cast<unsigned long long>(r.error_count()),
                static_cast<unsigned long long>(r.timeouts), ms(r.latency.value_at_percentile(50)),
                ms(r.latency.value_at_percentile(90)), ms(r.latency.value_at_percentile(99)),
                ms(r.latency.value_at_percentile(99.9)), ms(r.latency.max()));
  return line;
}

}  // namespace

std::uint64_t class_result::error_count() const {
  std::uint64_t n = 0;
  for (const auto& [kind, count] : errors) n += count;
  return n;
}

void class_result::merge(const class_result& other) {
  sent += other.sent;
  ok += other.ok;
  timeouts += other.timeouts;
  for (const auto& [kind, n] : other.errors) errors[kind] += n;
  latency.merge(other.latency);
  for (const auto& [body, n] : other.bodies) bodies[body] += n;
  last_done = std::max(last_done, other.last_done);
}

class_result run_report::class_total(std::size_t class_index) const {
  class_result total;
  for (const auto& phase : results) total.merge(phase[class_index]);
  return total;
}

std::string run_report::to_json() const {
  std::ostringstream o;
  std::chrono::nanoseconds length{0};
  for (std::chrono::nanoseconds d : sending) length += d;
  o << "{\n  \"target\": " << json_string(target)
    << ",\n  \"keep_alive\": " << (keep_alive ? "true" : "false")
    << ",\n  \"timeout_ms\": " << timeout.count() << ",\n  \"wall_s\": " << number(seconds(wall))
    << ",\n  \"send_lag_ms\": {\"p99\": " << number(ms(send_lag.value_at_percentile(99)))
    << ", \"max\": " << number(ms(send_lag.max())) << "},\n  \"classes\": [";
  for (std::size_t c = 0; c < classes.size(); ++c) {
    o << (c == 0 ? "\n    " : ",\n    ") << class_json(classes[c], class_total(c), length);
  }
  o << "\n  ],\n  \"phases\": [";
  std::chrono::nanoseconds phase_start{0};
  for (std::size_t k = 0; k < phases.size(); ++k) {
    o << (k == 0 ? "\n    " : ",\n    ") << "{\"rate\": " << number(phases[k].rate, 2)
      << ", \"duration_s\": " << number(seconds(phases[k].duration)) << ", \"classes\": [";
    for (std::size_t c = 0; c < classes.size(); ++c) {
      class_result r = results[k][c];
      // A phase's throughput counts from its own start.
      r.last_done = r.last_done > phase_start ? r.last_done - phase_start : r.last_done.zero();
      o << (c == 0 ? "\n      " : ",\n      ") << class_json(classes[c], r, sending[k]);
    }
    o << "\n    ]}";
    phase_start += phases[k].duration;
  }
  o << "\n  ]\n}\n";
  return o.str();
}

std::string run_report::to_table() const {
  std::string out;
  char head[512];
  std::snprintf(head, sizeof head, "%-28s %8s %8s %7s %7s %9s %9s %9s %9s %9s\n", "class", "sent",
                "ok", "errors", "timeout", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms");
  if (phases.size() > 1) {
    for (std::size_t k = 0; k < phases.size(); ++k) {
      out += "phase " + std::to_string(k + 1) + ": " + number(phases[k].rate, 1) + " req/s for " +
             number(seconds(phases[k].duration), 1) + " s\n" + head;
      for (std::size_t c = 0; c < classes.size(); ++c) {
        out += table_row(classes[c].name, results[k][c]);
      }
      out += "\n";
    }
    out += "all phases\n";
  }
  out += head;
  for (std::size_t c = 0; c < classes.size(); ++c) {
    const class_result r = class_total(c);
    out += table_row(classes[c].name, r);
    for (const auto& [kind, n] : r.errors) {
      out += "    " + kind + ": " + std::to_string(n) + "\n";
    }
  }
  out += "wall " + number(seconds(wall), 2) + " s; send lag p99 " +
         number(ms(send_lag.value_at_percentile(99))) + " ms\n";
  return out;
}

}  // namespace pinwheel::loadgen
