#include "proxy/client_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace pinwheel {

client_limiter::client_limiter(const limits& limits, std::size_t max_entries, clock now)
    : limits_(limits),
      burst_(std::max(1.0, std::floor(limits.per_second))),
      max_entries_(std::max<std::size_t>(max_entries, 1)),
      now_(std::move(now)),
      // How long an emptied bucket takes to fill: after that an entry with nothing open is
      // idle, so sweeping more often than this finds little.
      refill_period_(limits.per_second > 0
                         ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(burst_ / limits.per_second))
                         : std::chrono::seconds(1)),
      last_sweep_(now_()) {}

client_limiter::key client_limiter::key_of(const asio::ip::address& a) {
  if (a.is_v6()) {
    auto v6 = a.to_v6();
    // A v4-mapped address is the same client as its IPv4 form.
    if (v6.is_v4_mapped()) return key_of(asio::ip::make_address_v4(asio::ip::v4_mapped, v6));
    return v6.to_bytes();
  }
  key k{};
  auto v4 = a.to_v4().to_bytes();
  k[10] = k[11] = 0xff;
  std::copy(v4.begin(), v4.end(), k.begin() + 12);
  return k;
}

void client_limiter::refill(entry& e, std::chrono::steady_clock::time_point now) const {
  if (limits_.per_second <= 0) {
    e.tokens = burst_;
    return;
  }
  std::chrono::duration<double> elapsed = now - e.refilled;
  if (elapsed.count() > 0)
    e.tokens = std::min(burst_, e.tokens + elapsed.count() * limits_.per_second);
  e.refilled = now;
}

client_limiter::verdict client_limiter::admit(const asio::ip::address& client) {
  auto now = now_();
  if (now - last_sweep_ >= refill_period_) sweep(now, false);
  key k = key_of(client);
  auto it = entries_.find(k);
  if (it == entries_.end()) {
    if (entries_.size() >= max_entries_) sweep(now, true);
    it = entries_.emplace(k, entry{0, burst_, now}).first;
  }
  entry& e = it->second;
  if (limits_.connections > 0 && e.open >= limits_.connections)
    return verdict::too_many_connections;
  refill(e, now);
  if (limits_.per_second > 0) {
    if (e.tokens < 1) return verdict::too_fast;
    e.tokens -= 1;
  }
  ++e.open;
  return verdict::admitted;
}

void client_limiter::release(const asio::ip::address& client) {
  auto it = entries_.find(key_of(client));
  if (it == entries_.end() || it->second.open == 0) return;
  entry& e = it->second;
  --e.open;
  refill(e, now_());
  if (idle(e)) entries_.erase(it);
}

void client_limiter::sweep(std::chrono::steady_clock::time_point now, bool evict) {
  last_sweep_ = now;
  for (auto it = entries_.begin(); it != entries_.end();) {
    refill(it->second, now);
    it = idle(it->second) ? entries_.erase(it) : std::next(it);
  }
  if (!evict || entries_.size() < max_entries_) return;
  // Full of clients that all hold tokens back: forget some of those with nothing open. They
  // regain a full bucket early, which is all an attacker spraying addresses can win.
  std::size_t target = max_entries_ - max_entries_ / 4;
  for (auto it = entries_.begin(); it != entries_.end() && entries_.size() > target;) {
    if (it->second.open == 0)
      it = entries_.erase(it);
    else
      ++it;
  }
}

}  // namespace pinwheel
