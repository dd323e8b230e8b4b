// Publishes one snapshot in Prometheus' data model (prometheus-cpp's MetricFamily), so the
// text format comes from prometheus::TextSerializer rather than by hand. Built per scrape on
// the metrics thread from a snapshot it owns: no prometheus-cpp metric object is ever touched
// by the event loop. Names follow the contract in the README's "Observing Pinwheel".
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "metrics/snapshot.hpp"

namespace pinwheel {

class snapshot_collectable : public prometheus::Collectable {
 public:
  explicit snapshot_collectable(balancer_snapshot snapshot) : snapshot_(std::move(snapshot)) {}

  /// Every family: the balancer's, the standard process_* ones, one series per backend.
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  balancer_snapshot snapshot_;
};

/// The snapshot in Prometheus' text exposition format (version 0.0.4).
std::string to_prometheus_text(const balancer_snapshot& snapshot);

}  // namespace pinwheel
