// What the access log says about one proxied connection once it has ended.
//
// Plain data, filled from the session's own counters when it ends. The session keeps them
// whether or not anything is logged (two clock reads per connection, an addition per read):
// an access log that is off costs nothing more.
#pragma once

#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <optional>

#include "pool/backend.hpp"
#include "proxy/end_reason.hpp"

namespace pinwheel {

struct connection_record {
  /// The client's address, as accepted.
  asio::ip::tcp::endpoint client;
  /// The backend it was relayed to; null when no connect succeeded.
  const backend* upstream = nullptr;
  /// From accept until the backend connection was established (waiting for a usable backend
  /// and failed attempts included); unset when none was.
  std::optional<std::chrono::nanoseconds> connect_time;
  /// From accept until the connection ended.
  std::chrono::nanoseconds duration{};
  /// Bytes read from the client (for the backend), and from the backend (for the client).
  std::uint64_t bytes_from_client = 0;
  std::uint64_t bytes_from_backend = 0;
  /// Connect attempts beyond the first.
  unsigned retries = 0;
  end_reason reason = end_reason::admin;
};

}  // namespace pinwheel
