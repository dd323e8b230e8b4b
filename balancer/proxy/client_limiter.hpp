// Per-client limits: open connections and new connections per second, by client address.
//
// One entry per address that has connections open or tokens to win back; an entry with
// neither says nothing a fresh one would not, so it is dropped (on release, or by a sweep at
// most once per refill period). The table is capped: when address spraying fills it, entries
// with nothing open are evicted first (forgetting their rate state is the only cost), so memory
// stays bounded by max_entries whatever the clients do. Entries with connections open are
// never evicted; there are at most max_connections of them. Time comes in as a clock, so tests
// fix it. Single-threaded.
#pragma once

#include <array>
#include <asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <unordered_map>

namespace pinwheel {

class client_limiter {
 public:
  using clock = std::function<std::chrono::steady_clock::time_point()>;

  struct limits {
    /// Open connections one client address may have; 0: no limit.
    std::uint32_t connections = 0;
    /// New connections per second one client address may open (a token bucket holding one
    /// second's worth, at least one); 0: no limit.
    double per_second = 0;
  };

  enum class verdict { admitted, too_many_connections, too_fast };

  client_limiter(const limits& limits, std::size_t max_entries, clock now);

  /// True when any limit is set (else admit() need not be called).
  bool enabled() const { return limits_.connections > 0 || limits_.per_second > 0; }

  /// A new connection from `client`: admitted (then release() it when it ends) or why not.
  verdict admit(const asio::ip::address& client);
  /// An admitted connection from `client` ended.
  void release(const asio::ip::address& client);

  /// Addresses tracked right now.
  std::size_t tracked() const { return entries_.size(); }

 private:
  using key = std::array<unsigned char, 16>;
  struct key_hash {
    std::size_t operator()(const key& k) const {
      return std::hash<std::string_view>()(
          std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
    }
  };
  struct entry {
    std::uint32_t open = 0;
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled;
  };

  static key key_of(const asio::ip::address& a);
  /// Brings `e`'s bucket up to `now`.
  void refill(entry& e, std::chrono::steady_clock::time_point now) const;
  /// True when `e` holds nothing a fresh entry would not (after refill()).
  bool idle(const entry& e) const { return e.open == 0 && e.tokens >= burst_; }
  /// Drops idle entries; with `evict`, entries with nothing open too, until a quarter is free.
  void sweep(std::chrono::steady_clock::time_point now, bool evict);

  limits limits_;
  double burst_;
  std::size_t max_entries_;
  clock now_;
  std::chrono::steady_clock::duration refill_period_;
  std::chrono::steady_clock::time_point last_sweep_;
  std::unordered_map<key, entry, key_hash> entries_;
};

}  // namespace pinwheel
