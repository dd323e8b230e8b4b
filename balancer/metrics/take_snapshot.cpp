#include "metrics/take_snapshot.hpp"

#include "config/address.hpp"

namespace pinwheel {

namespace {

double seconds(std::chrono::system_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

const char* backend_state(const backend& b) {
  if (b.process.given_up) return "given_up";
  if (b.admin == admin_state::disabled) return "disabled";
  if (b.admin == admin_state::draining) return "draining";
  switch (b.health.current()) {
    case health_state::status::up:
      return "up";
    case health_state::status::down:
      return "down";
    case health_state::status::starting:
      return "starting";
  }
  return "down";
}

balancer_snapshot take_snapshot(const snapshot_sources& from,
                                std::chrono::system_clock::time_point now_unix,
                                std::chrono::steady_clock::time_point now_steady) {
  balancer_snapshot s;
  s.version = from.version;
  s.strategy = from.strategy;
  s.time = seconds(now_unix.time_since_epoch());
  s.accepted = from.stats.accepted;
  s.rejected = from.stats.rejected;
  for (int r = 0; r < kEndReasonCount; ++r)
    s.ended[r] = from.proxy.ended(static_cast<end_reason>(r));
  s.active_connections = from.proxy.active_sessions();
  s.max_connections = from.proxy.max_connections();
  s.connect_duration = from.stats.connect_duration;
  s.connection_duration = from.stats.connection_duration;
  s.backends.reserve(from.pool.members().size());
  for (const backend* b : from.pool.members()) {
    backend_snapshot& out = s.backends.emplace_back();
    out.name = b->name;
    out.address = to_string(b->endpoint);
    out.state = backend_state(*b);
    out.admin = to_string(b->admin);
    out.pid = b->process.pid;
    out.cpu = b->cpu;
    out.active_connections = b->active_connections;
    out.total_connections = b->total_connections;
    out.bytes_in = b->bytes_in;
    out.bytes_out = b->bytes_out;
    out.connect_failures = b->connect_failures;
    out.redispatches = b->redispatches;
    out.picked = b->picked;
    out.check_failures = b->check_failures;
    out.restarts = b->process.restarts;
    out.memory_restarts = b->process.memory_restarts;
    out.last_check_seconds = std::chrono::duration<double>(b->last_check_duration).count();
    if (b->process.pid != 0) {
      auto running_for = now_steady - b->process.started;
      out.process_start_time = s.time - std::chrono::duration<double>(running_for).count();
    }
  }
  return s;
}

}  // namespace pinwheel
