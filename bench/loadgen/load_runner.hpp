// The open-loop run itself: one thread, one event loop.
//
// Requests go out when the schedule says, whether or not earlier ones have returned, and each
// one's latency counts from its scheduled time, so a stalled server shows as latency instead
// of as fewer requests (no coordinated omission). Every request has a deadline (timeout from
// its scheduled time); past it the request counts as a timeout and its connection is closed.
// Connections: a new one per request, or a keep-alive pool (idle connections reused oldest
// first, so long-lived connections share the load; with fill_pool a fixed set of them); at most
// max_connections open, requests beyond that wait for one (the wait counts in their latency).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>

#include "arrival_schedule.hpp"
#include "load_report.hpp"
#include "request_mix.hpp"

namespace pinwheel::loadgen {

struct load_options {
  /// The server; must be a loopback address.
  asio::ip::tcp::endpoint target;
  std::vector<rate_phase> phases;
  /// Stop scheduling after this many requests.
  std::uint64_t max_requests = std::numeric_limits<std::uint64_t>::max();
  std::chrono::milliseconds timeout{10000};
  bool keep_alive = false;
  std::size_t max_connections = 1000;
  /// Keep-alive: open new connections until max_connections are open, then use them in turn
  /// (a fixed set of long-lived connections, as a browser fleet or autocannon -c N has).
  bool fill_pool = false;
  /// New connections bind to 127.0.0.1 .. 127.0.0.N in turn (IPv4 targets only).
  unsigned source_addresses = 1;
  /// Count ok responses per body (e.g. /whoami: requests per backend).
  bool tally_bodies = false;
  /// A progress line on stderr every second.
  bool progress = false;
};

class load_runner {
 public:
  load_runner(load_options options, request_mix mix);
  load_runner(const load_runner&) = delete;
  load_runner& operator=(const load_runner&) = delete;
  ~load_runner();

  /// Runs the whole schedule and waits for every request to end; returns what was measured.
  run_report run();

 private:
  struct connection;
  struct waiter;

  asio::awaitable<void> dispatch();
  asio::awaitable<void> send_one(scheduled_request request, std::size_t class_index);
  asio::awaitable<void> progress_loop();
  /// A connection for one request (reused, new, or after waiting for a slot); null on timeout.
  asio::awaitable<std::unique_ptr<connection>> acquire(
      std::chrono::steady_clock::time_point deadline, bool& reused);
  /// Returns a connection to the pool, or closes it and frees its slot.
  void release(std::unique_ptr<connection> c, bool reusable);
  std::unique_ptr<connection> make_connection();
  void request_done();
  std::string progress_line() const;

  load_options options_;
  request_mix mix_;
  arrival_schedule schedule_;
  asio::io_context io_{1};
  asio::steady_timer progress_timer_;
  std::chrono::steady_clock::time_point start_;
  run_report report_;
  /// Offset of each phase's start from the run's.
  std::vector<std::chrono::nanoseconds> phase_starts_;
  std::deque<std::unique_ptr<connection>> idle_;
  std::deque<waiter*> waiters_;
  std::size_t open_ = 0;
  std::uint64_t in_flight_ = 0;
  std::uint64_t connections_made_ = 0;
  bool dispatch_done_ = false;
};

}  // namespace pinwheel::loadgen
