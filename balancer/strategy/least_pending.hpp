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
//      times (service_times): the expected rest of the request it is working on, plus the
//      median answer time for each request queued behind (the median: one slow answer among
//      twenty quick ones would make the mean slow). A single-threaded backend starts on a
//      request once it was sent and the answer before it left, so the current one has been in
//      work since the later of the two (under 2 ms counts as just begun: event-loop noise).
//      The expected rest of a request in work for a time t is the mean of the answers longer
//      than t, less t — so of two backends busy with equally slow requests the one further
//      along wins, a request just begun is expected to take the mean answer time, and one
//      stuck for longer than any answer seen is expected to stay stuck as long again. The one
//      on its request since longer ago must be expected twice as soon to win (a quick request
//      delayed a little reads as a slow one); equal expectations (e.g. nothing measured yet)
//      go to the one whose oldest wait began last: it answered everything sent before that, so
//      it is the one that moves.
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
