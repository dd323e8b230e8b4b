// Copying the balancer's counters into a snapshot. Runs on the event loop (the only thread that
// writes them), so it reads plain integers without locks; it copies and never calls the OS, so
// a scrape costs the loop a few microseconds per backend.
#pragma once

#include <chrono>
#include <string>

#include "metrics/snapshot.hpp"
#include "pool/backend_pool.hpp"
#include "proxy/server.hpp"

namespace pinwheel {

/// What the snapshot is taken from; all owned by the balancer.
struct snapshot_sources {
  const backend_pool& pool;
  const server& proxy;
  const proxy_stats& stats;
  std::string version;
  std::string strategy;
};

/// The state of one backend as one word (one of kBackendStates).
const char* backend_state(const backend& b);

/// Copies every counter. `now_unix`/`now_steady` convert the supervisor's start times to unix
/// time (passed in so tests can fix them).
balancer_snapshot take_snapshot(const snapshot_sources& from,
                                std::chrono::system_clock::time_point now_unix,
                                std::chrono::steady_clock::time_point now_steady);

}  // namespace pinwheel
