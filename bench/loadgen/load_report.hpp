// What a run measured, per phase and per request class, and how it is written out: a JSON
// document for scripts and a table for people.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "arrival_schedule.hpp"
#include "latency_histogram.hpp"
#include "request_mix.hpp"

namespace pinwheel::loadgen {

struct class_result {
  std::uint64_t sent = 0;
  /// Complete responses with a 2xx status.
  std::uint64_t ok = 0;
  /// Requests that had no complete response by their deadline.
  std::uint64_t timeouts = 0;
  /// Other failures by kind: "connect_refused", "reset", "closed", "status_5xx", ...
  std::map<std::string, std::uint64_t> errors;
  /// Latency of the ok responses, in microseconds from the scheduled send time.
  latency_histogram latency;
  /// With --tally-bodies: how many ok responses carried each body (first 200 bytes).
  std::map<std::string, std::uint64_t> bodies;
  /// When the last response (or failure) of this class arrived, from the run's start.
  std::chrono::nanoseconds last_done{0};

  std::uint64_t error_count() const;
  void merge(const class_result& other);
};

struct run_report {
  std::string target;
  bool keep_alive = false;
  std::chrono::milliseconds timeout{0};
  std::vector<request_class> classes;
  std::vector<rate_phase> phases;
  /// [phase][class]
  std::vector<std::vector<class_result>> results;
  /// How long each phase really sent: from its start to its last send plus one interval
  /// (shorter than the phase when the count bound ended it); achieved rates divide by it.
  std::vector<std::chrono::nanoseconds> sending;
  /// From the first scheduled request to the last response or failure.
  std::chrono::nanoseconds wall{0};
  /// How late the generator sent requests behind their schedule, in microseconds (its own
  /// health: a large lag means the load generator, not the server, was the bottleneck).
  latency_histogram send_lag;

  /// Totals of one class over every phase.
  class_result class_total(std::size_t class_index) const;
  std::string to_json() const;
  std::string to_table() const;
};

}  // namespace pinwheel::loadgen
