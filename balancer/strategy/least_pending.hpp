// Least-pending: prefers backends that owe no response, from layer-4 signals alone.
//
// A connection awaits a response from the moment client bytes go to the backend until bytes
// come back (backend::awaiting, kept by the session). A backend stuck on a slow request —
// frozen on CPU, or a Redis or Postgres server on a long command — keeps that connection
// waiting, while a backend serving quick requests empties its list at once. Connection counts
// cannot tell these apart: one frozen connection looks like one quick one.
//
// Order of preference among eligible backends:
//   1. one that owes no response; among those, least-connections by weight (ties in rotation);
//   2. else the one whose oldest waiting connection started waiting last: it answered
//      everything sent before that, so it is the one that moves. Waits are ordered by when
//      they began (the pool numbers requests as they are sent), which is exact where a coarse
//      clock would tie.
// Weights count in step 1 only; slow start likewise.
//
// Falls back to least-connections' behaviour when the signal is silent: server-speaks-first
// protocols and idle connections owe nothing. It misreads protocols where a client sends and
// the server rightly stays silent (long polling, SUBSCRIBE, BLPOP): such a backend looks stuck.
#pragma once

#include "strategy/rotating_scan.hpp"

namespace pinwheel {

class least_pending : public rotating_scan {
 public:
  explicit least_pending(const backend_pool& pool, weight_ramp ramp = {})
      : rotating_scan(pool, std::move(ramp)) {}

  backend* pick(const asio::ip::address& client, std::span<backend* const> avoid) override;
};

}  // namespace pinwheel
