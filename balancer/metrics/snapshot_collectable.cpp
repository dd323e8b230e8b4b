#include "metrics/snapshot_collectable.hpp"

#include <prometheus/text_serializer.h>

#include <limits>
#include <sstream>

namespace pinwheel {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

ClientMetric sample(double value, MetricType type, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  return m;
}

// A family of one unlabelled sample.
MetricFamily one_value(std::string name, std::string help, MetricType type, double value) {
  MetricFamily f = family(std::move(name), std::move(help), type);
  f.metric.push_back(sample(value, type));
  return f;
}

ClientMetric histogram_sample(const bucket_histogram& h) {
  ClientMetric m;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bucket_histogram::kBuckets; ++i) {
    cumulative += h.counts()[i];
    double bound =
        i < kDurationBounds.size() ? kDurationBounds[i] : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back({cumulative, bound});
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = h.sum();
  return m;
}

// One family with one sample per backend, labelled backend and address.
template <class Value>
MetricFamily per_backend(const balancer_snapshot& s, std::string name, std::string help,
                         MetricType type, Value value) {
  MetricFamily f = family(std::move(name), std::move(help), type);
  for (const backend_snapshot& b : s.backends) {
    f.metric.push_back(
        sample(static_cast<double>(value(b)), type, {{"backend", b.name}, {"address", b.address}}));
  }
  return f;
}

}  // namespace

std::vector<MetricFamily> snapshot_collectable::Collect() const {
  const balancer_snapshot& s = snapshot_;
  constexpr auto counter = MetricType::Counter;
  constexpr auto gauge = MetricType::Gauge;
  std::vector<MetricFamily> out;

  MetricFamily info =
      family("pinwheel_build_info", "Pinwheel's version and strategy; always 1", gauge);
  info.metric.push_back(sample(1, gauge, {{"strategy", s.strategy}, {"version", s.version}}));
  out.push_back(std::move(info));

  out.push_back(one_value("pinwheel_connections_accepted_total", "Client connections accepted",
                          counter, static_cast<double>(s.accepted)));

  MetricFamily rejected = family("pinwheel_connections_rejected_total",
                                 "Client connections turned away at once, by reason", counter);
  for (std::size_t r = 0; r < kRejectReasons; ++r) {
    rejected.metric.push_back(sample(static_cast<double>(s.rejected[r]), counter,
                                     {{"reason", to_label(static_cast<reject_reason>(r))}}));
  }
  // Sessions ended before reaching a backend (limits, PROXY headers) are rejections.
  for (int r = 0; r < kEndReasonCount; ++r) {
    auto reason = static_cast<end_reason>(r);
    if (!is_rejection(reason)) continue;
    rejected.metric.push_back(
        sample(static_cast<double>(s.ended[r]), counter, {{"reason", to_label(reason)}}));
  }
  out.push_back(std::move(rejected));

  MetricFamily ended = family("pinwheel_connections_ended_total",
                              "Client connections ended, by how they ended", counter);
  for (int r = 0; r < kEndReasonCount; ++r) {
    auto reason = static_cast<end_reason>(r);
    if (is_rejection(reason)) continue;
    ended.metric.push_back(
        sample(static_cast<double>(s.ended[r]), counter, {{"reason", to_label(reason)}}));
  }
  out.push_back(std::move(ended));

  out.push_back(one_value("pinwheel_connections_active", "Client connections open now", gauge,
                          static_cast<double>(s.active_connections)));
  out.push_back(one_value("pinwheel_max_connections",
                          "Open connections at which accepting pauses (max_connections, or what "
                          "the open-file limit fits)",
                          gauge, static_cast<double>(s.max_connections)));
  out.push_back(one_value("pinwheel_splice_pipes_active",
                          "Pipes lent to bulk flows that splice now (0 when max_pipes = 0)", gauge,
                          static_cast<double>(s.splice_pipes_active)));
  out.push_back(one_value("pinwheel_max_splice_pipes",
                          "Pipes bulk flows may splice through at once (max_pipes); further bulk "
                          "flows use 256 KiB buffers",
                          gauge, static_cast<double>(s.max_splice_pipes)));
  if (s.backends_desired > 0) {
    out.push_back(one_value("pinwheel_backends_desired",
                            "Spawned backends the run is set to have (auto-scaling's latest "
                            "count, or the configured one); draining ones being removed are not "
                            "counted",
                            gauge, static_cast<double>(s.backends_desired)));
  }
  if (s.autoscale_max > 0) {
    MetricFamily bounds = family("pinwheel_autoscale_backends",
                                 "Auto-scaling's bounds: [backends] min and max", gauge);
    bounds.metric.push_back(
        sample(static_cast<double>(s.autoscale_min), gauge, {{"bound", "min"}}));
    bounds.metric.push_back(
        sample(static_cast<double>(s.autoscale_max), gauge, {{"bound", "max"}}));
    out.push_back(std::move(bounds));
  }

  MetricFamily connect =
      family("pinwheel_backend_connect_duration_seconds",
             "Time to connect to a backend (successful connects)", MetricType::Histogram);
  connect.metric.push_back(histogram_sample(s.connect_duration));
  out.push_back(std::move(connect));

  MetricFamily duration =
      family("pinwheel_connection_duration_seconds",
             "Client connections' lifetime, from accept to end (rejected ones excluded)",
             MetricType::Histogram);
  duration.metric.push_back(histogram_sample(s.connection_duration));
  out.push_back(std::move(duration));

  if (s.self) {
    auto single = [&](const char* name, const char* help, MetricType type, double value) {
      out.push_back(one_value(name, help, type, value));
    };
    single("process_cpu_seconds_total", "User and system CPU time of the balancer in seconds",
           counter, s.self->usage.cpu_seconds);
    single("process_resident_memory_bytes", "Resident memory of the balancer in bytes", gauge,
           static_cast<double>(s.self->usage.resident_bytes));
    single("process_open_fds", "Open file descriptors of the balancer", gauge,
           static_cast<double>(s.self->open_fds));
    single("process_max_fds", "The balancer's open-file limit (soft)", gauge,
           static_cast<double>(s.self->max_fds));
    single("process_start_time_seconds", "Start time of the balancer since the unix epoch", gauge,
           s.self->usage.start_time);
  }

  out.push_back(per_backend(s, "pinwheel_backend_connections_active",
                            "Proxied connections open to the backend now", gauge,
                            [](const backend_snapshot& b) { return b.active_connections; }));
  out.push_back(per_backend(s, "pinwheel_backend_connections_total",
                            "Proxied connections established to the backend", counter,
                            [](const backend_snapshot& b) { return b.total_connections; }));
  out.push_back(per_backend(s, "pinwheel_backend_bytes_in_total",
                            "Bytes written to the backend (client to backend)", counter,
                            [](const backend_snapshot& b) { return b.bytes_in; }));
  out.push_back(per_backend(s, "pinwheel_backend_bytes_out_total",
                            "Bytes from the backend written to clients", counter,
                            [](const backend_snapshot& b) { return b.bytes_out; }));
  out.push_back(per_backend(s, "pinwheel_backend_connect_failures_total",
                            "Connects to the backend that failed through its fault", counter,
                            [](const backend_snapshot& b) { return b.connect_failures; }));
  out.push_back(per_backend(s, "pinwheel_backend_redispatches_total",
                            "Failed connects to the backend retried on another", counter,
                            [](const backend_snapshot& b) { return b.redispatches; }));
  out.push_back(per_backend(s, "pinwheel_backend_picked_total",
                            "Times the strategy chose the backend", counter,
                            [](const backend_snapshot& b) { return b.picked; }));

  // Direct mode's queue depths: a backend that stops accepting (stuck on CPU, restarting)
  // shows here first.
  MetricFamily queue = family(
      "pinwheel_backend_accept_queue",
      "Direct mode: connections waiting in the backend's listening socket's accept queue", gauge);
  for (const backend_snapshot& b : s.backends) {
    if (b.accept_queue) {
      queue.metric.push_back(sample(static_cast<double>(*b.accept_queue), gauge,
                                    {{"backend", b.name}, {"address", b.address}}));
    }
  }
  if (!queue.metric.empty()) out.push_back(std::move(queue));

  MetricFamily state =
      family("pinwheel_backend_state",
             "The backend's state: 1 for the one it is in, 0 for the others", gauge);
  for (const backend_snapshot& b : s.backends) {
    for (const char* name : kBackendStates) {
      state.metric.push_back(
          sample(b.state == name ? 1 : 0, gauge,
                 {{"backend", b.name}, {"address", b.address}, {"state", name}}));
    }
  }
  out.push_back(std::move(state));

  out.push_back(per_backend(s, "pinwheel_backend_health_check_duration_seconds",
                            "How long the backend's last health check took", gauge,
                            [](const backend_snapshot& b) { return b.last_check_seconds; }));
  out.push_back(per_backend(s, "pinwheel_backend_health_check_failures_total",
                            "Health checks of the backend that failed", counter,
                            [](const backend_snapshot& b) { return b.check_failures; }));
  out.push_back(per_backend(s, "pinwheel_backend_restarts_total",
                            "Times the backend's process was started again", counter,
                            [](const backend_snapshot& b) { return b.restarts; }));
  out.push_back(per_backend(s, "pinwheel_backend_memory_restarts_total",
                            "Restarts of the backend for going over [backends] max_memory (RSS)",
                            counter, [](const backend_snapshot& b) { return b.memory_restarts; }));
  out.push_back(per_backend(s, "pinwheel_backend_process_start_time_seconds",
                            "Start time of the backend's process since the unix epoch; 0 when "
                            "not running",
                            gauge, [](const backend_snapshot& b) { return b.process_start_time; }));
  out.push_back(per_backend(s, "pinwheel_backend_pinned_cpu",
                            "Core the backend's process is pinned to; -1 when not spawned", gauge,
                            [](const backend_snapshot& b) { return b.cpu; }));

  // CPU and memory only for backends whose process could be read: a missing series says
  // "unknown", where a 0 would be a lie.
  MetricFamily cpu =
      family("pinwheel_backend_cpu_seconds_total",
             "User and system CPU time of the backend's process in seconds", counter);
  MetricFamily rss = family("pinwheel_backend_resident_memory_bytes",
                            "Resident memory of the backend's process in bytes", gauge);
  for (const backend_snapshot& b : s.backends) {
    if (!b.usage) continue;
    std::vector<ClientMetric::Label> labels{{"backend", b.name}, {"address", b.address}};
    cpu.metric.push_back(sample(b.usage->cpu_seconds, counter, labels));
    rss.metric.push_back(sample(static_cast<double>(b.usage->resident_bytes), gauge, labels));
  }
  out.push_back(std::move(cpu));
  out.push_back(std::move(rss));
  return out;
}

std::string to_prometheus_text(const balancer_snapshot& snapshot) {
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, snapshot_collectable(snapshot).Collect());
  return text.str();
}

}  // namespace pinwheel
