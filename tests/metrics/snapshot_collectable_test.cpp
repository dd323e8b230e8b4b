#include "metrics/snapshot_collectable.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "metrics/status_json.hpp"

namespace pinwheel {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

balancer_snapshot two_backends() {
  balancer_snapshot s;
  s.version = "9.9.9";
  s.strategy = "round-robin";
  s.accepted = 7;
  s.ended[static_cast<int>(end_reason::client_close)] = 5;
  s.active_connections = 2;
  s.max_connections = 100;
  s.connect_duration.observe(std::chrono::microseconds(50));
  s.connect_duration.observe(std::chrono::milliseconds(2));
  for (int i = 0; i < 2; ++i) {
    backend_snapshot& b = s.backends.emplace_back();
    b.name = std::to_string(i);
    b.address = "127.0.0.1:900" + std::to_string(i);
    b.state = i == 0 ? "up" : "given_up";
    b.admin = "enabled";
    b.pid = i == 0 ? 1234 : 0;
    b.cpu = i + 1;
    b.total_connections = 10 + i;
    if (i == 0) b.usage = process_usage{1.5, 4096, 1000};
  }
  s.self = own_process{{0.25, 8192, 999}, 12, 1024};
  return s;
}

const MetricFamily* find(const std::vector<MetricFamily>& families, const std::string& name) {
  auto it = std::find_if(families.begin(), families.end(),
                         [&](const MetricFamily& f) { return f.name == name; });
  return it == families.end() ? nullptr : &*it;
}

std::string label(const prometheus::ClientMetric& m, const std::string& name) {
  for (const auto& l : m.label)
    if (l.name == name) return l.value;
  return "";
}

TEST(SnapshotCollectable, HasEveryContractFamilyWithItsType) {
  auto families = snapshot_collectable(two_backends()).Collect();
  const std::vector<std::pair<std::string, MetricType>> expected = {
      {"pinwheel_build_info", MetricType::Gauge},
      {"pinwheel_connections_accepted_total", MetricType::Counter},
      {"pinwheel_connections_rejected_total", MetricType::Counter},
      {"pinwheel_connections_ended_total", MetricType::Counter},
      {"pinwheel_connections_active", MetricType::Gauge},
      {"pinwheel_max_connections", MetricType::Gauge},
      {"pinwheel_splice_pipes_active", MetricType::Gauge},
      {"pinwheel_max_splice_pipes", MetricType::Gauge},
      {"pinwheel_backend_connect_duration_seconds", MetricType::Histogram},
      {"pinwheel_connection_duration_seconds", MetricType::Histogram},
      {"process_cpu_seconds_total", MetricType::Counter},
      {"process_resident_memory_bytes", MetricType::Gauge},
      {"process_open_fds", MetricType::Gauge},
      {"process_max_fds", MetricType::Gauge},
      {"process_start_time_seconds", MetricType::Gauge},
      {"pinwheel_backend_connections_active", MetricType::Gauge},
      {"pinwheel_backend_connections_total", MetricType::Counter},
      {"pinwheel_backend_bytes_in_total", MetricType::Counter},
      {"pinwheel_backend_bytes_out_total", MetricType::Counter},
      {"pinwheel_backend_connect_failures_total", MetricType::Counter},
      {"pinwheel_backend_redispatches_total", MetricType::Counter},
      {"pinwheel_backend_picked_total", MetricType::Counter},
      {"pinwheel_backend_state", MetricType::Gauge},
      {"pinwheel_backend_health_check_duration_seconds", MetricType::Gauge},
      {"pinwheel_backend_health_check_failures_total", MetricType::Counter},
      {"pinwheel_backend_restarts_total", MetricType::Counter},
      {"pinwheel_backend_memory_restarts_total", MetricType::Counter},
      {"pinwheel_backend_process_start_time_seconds", MetricType::Gauge},
      {"pinwheel_backend_pinned_cpu", MetricType::Gauge},
      {"pinwheel_backend_cpu_seconds_total", MetricType::Counter},
      {"pinwheel_backend_resident_memory_bytes", MetricType::Gauge},
  };
  for (const auto& [name, type] : expected) {
    const MetricFamily* f = find(families, name);
    ASSERT_NE(f, nullptr) << name;
    EXPECT_EQ(f->type, type) << name;
    EXPECT_FALSE(f->help.empty()) << name;
  }
  EXPECT_EQ(families.size(), expected.size());
}

TEST(SnapshotCollectable, PerBackendSeriesCarryNameAndAddress) {
  auto families = snapshot_collectable(two_backends()).Collect();
  const MetricFamily* total = find(families, "pinwheel_backend_connections_total");
  ASSERT_NE(total, nullptr);
  ASSERT_EQ(total->metric.size(), 2u);
  EXPECT_EQ(label(total->metric[1], "backend"), "1");
  EXPECT_EQ(label(total->metric[1], "address"), "127.0.0.1:9001");
  EXPECT_EQ(total->metric[1].counter.value, 11);
  // CPU and memory only where /proc was read: a missing series, not a false 0.
  const MetricFamily* cpu = find(families, "pinwheel_backend_cpu_seconds_total");
  ASSERT_EQ(cpu->metric.size(), 1u);
  EXPECT_EQ(label(cpu->metric[0], "backend"), "0");
  EXPECT_EQ(cpu->metric[0].counter.value, 1.5);
}

TEST(SnapshotCollectable, StateIsOneZeroOrOneSeriesPerStateWithExactlyOneSet) {
  auto families = snapshot_collectable(two_backends()).Collect();
  const MetricFamily* state = find(families, "pinwheel_backend_state");
  ASSERT_NE(state, nullptr);
  ASSERT_EQ(state->metric.size(), 2 * kBackendStates.size());
  for (std::string backend : {"0", "1"}) {
    std::set<std::string> states;
    std::string set;
    for (const auto& m : state->metric) {
      if (label(m, "backend") != backend) continue;
      states.insert(label(m, "state"));
      EXPECT_TRUE(m.gauge.value == 0 || m.gauge.value == 1);
      if (m.gauge.value == 1) set += label(m, "state");
    }
    EXPECT_EQ(states, std::set<std::string>(kBackendStates.begin(), kBackendStates.end()));
    EXPECT_EQ(set, backend == "0" ? "up" : "given_up");
  }
}

TEST(SnapshotCollectable, HistogramBucketsAreCumulativeEndingInInf) {
  auto families = snapshot_collectable(two_backends()).Collect();
  const MetricFamily* connect = find(families, "pinwheel_backend_connect_duration_seconds");
  const auto& h = connect->metric.at(0).histogram;
  EXPECT_EQ(h.sample_count, 2u);
  EXPECT_NEAR(h.sample_sum, 0.00205, 1e-9);
  ASSERT_EQ(h.bucket.size(), bucket_histogram::kBuckets);
  EXPECT_EQ(h.bucket.front().cumulative_count, 1u);  // 50 µs <= 100 µs
  EXPECT_TRUE(std::isinf(h.bucket.back().upper_bound));
  EXPECT_EQ(h.bucket.back().cumulative_count, 2u);
}

TEST(SnapshotCollectable, TextFormatHasEndReasonsAndBuildInfo) {
  std::string text = to_prometheus_text(two_backends());
  EXPECT_NE(text.find("pinwheel_build_info{strategy=\"round-robin\",version=\"9.9.9\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("pinwheel_connections_ended_total{reason=\"client_close\"} 5\n"),
            std::string::npos);
  EXPECT_NE(text.find("pinwheel_connections_ended_total{reason=\"drain_cut\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE pinwheel_backend_connections_total counter\n"), std::string::npos);
}

TEST(SnapshotCollectable, RejectionsAreCountedAsRejectedNotEnded) {
  balancer_snapshot s = two_backends();
  s.ended[static_cast<int>(end_reason::per_client_rate)] = 3;
  std::string text = to_prometheus_text(s);
  EXPECT_NE(text.find("pinwheel_connections_rejected_total{reason=\"per_client_rate\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("pinwheel_connections_rejected_total{reason=\"local_error\"} 0\n"),
            std::string::npos);
  EXPECT_EQ(text.find("pinwheel_connections_ended_total{reason=\"per_client_rate\"}"),
            std::string::npos);
}

TEST(StatusJson, ListsBackendsWithNullWhereUnknown) {
  balancer_snapshot s = two_backends();
  s.backends[1].name = "a\"b";
  std::string json = to_status_json(s);
  EXPECT_NE(json.find("\"name\":\"0\",\"address\":\"127.0.0.1:9000\",\"state\":\"up\""),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"name\":\"a\\\"b\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"cpu_seconds\":null"), std::string::npos) << json;
}

}  // namespace
}  // namespace pinwheel

namespace pinwheel {
namespace {

TEST(SnapshotCollectable, DesiredBackendsAndAutoscaleBoundsWhenSet) {
  balancer_snapshot s;
  s.backends_desired = 3;
  s.autoscale_min = 1;
  s.autoscale_max = 4;
  auto families = snapshot_collectable(s).Collect();
  const MetricFamily* desired = find(families, "pinwheel_backends_desired");
  ASSERT_NE(desired, nullptr);
  EXPECT_EQ(desired->metric.at(0).gauge.value, 3);
  const MetricFamily* bounds = find(families, "pinwheel_autoscale_backends");
  ASSERT_NE(bounds, nullptr);
  ASSERT_EQ(bounds->metric.size(), 2u);
  EXPECT_EQ(label(bounds->metric[0], "bound"), "min");
  EXPECT_EQ(bounds->metric[0].gauge.value, 1);
  EXPECT_EQ(bounds->metric[1].gauge.value, 4);
  // Off: no bounds series at all, rather than a misleading 0.
  s.autoscale_min = s.autoscale_max = 0;
  EXPECT_EQ(find(snapshot_collectable(s).Collect(), "pinwheel_autoscale_backends"), nullptr);
}

}  // namespace
}  // namespace pinwheel
