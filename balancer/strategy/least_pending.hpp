// Least-pending: prefers backends that owe no response, and otherwise the one expected to
// answer a new request first, from layer-4 signals alone.
//
// A connection awaits a response from the moment client bytes go to the backend until bytes
// come back (backend::awaiting, kept by the session). A backend stuck on a slow request —
// frozen on CPU, or a Redis or Postgres server on a long command — keeps that connection
// waiting, while a backend serving quick requests empties its list at once. Connection counts
// cannot tell these apart: one frozen connection looks like one quick one.
//
// Order of preference among eligible backends:
//   1. one that owes no response; among those, least-connections by weight (ties in rotation);
//   2. else the one expected to take up a new request soonest, from the pool's recent answer
//      times (service_times). A backend's current request has been in work since the oldest
//      unanswered one was sent or its last answer left, whichever came later (a
//      single-threaded backend starts on a request once the one before is answered). If that
//      is longer than 90 % of answers (and 2 ms), it is on a long request; backends on quick
//      ones come first. Among those on long requests, the expected rest of the current one
//      counts — so of two busy with equal slow requests, the one further along wins, and one
//      stuck for longer than nearly every answer seen (or before enough were seen) is expected
//      to stay stuck as long again. Each request queued behind counts the median answer time
//      (not the mean: one slow answer among twenty quick ones would make it slow). Equal
//      expectations (e.g. nothing measured yet) go to the one whose oldest wait began last: it
//      answered everything sent before that, so it is the one that moves.
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
