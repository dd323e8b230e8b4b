// The backends of one run, owned here and named by their names.
//
// Every backend ever added keeps its address for the whole run (each is allocated on its own),
// so sessions, checkers, timers and the supervisor may hold `backend&` without a lifetime
// protocol. retire() only takes a backend out of the members: strategies stop picking it and
// walks over members stop seeing it, while whoever still holds it (a session finishing, a
// connect in flight) reads a live object. A retired backend costs a few hundred bytes until
// exit. Every change that a strategy may track goes through here and is reported to the
// pool_events listener, except the per-message awaiting marks (request_sent, reply_received,
// wait_abandoned), which strategies read from backend::awaiting and answer_times() when they
// pick. Single-threaded.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "pool/backend.hpp"
#include "pool/pool_events.hpp"
#include "pool/service_times.hpp"

namespace pinwheel {

/// The current time (a fake clock in tests).
using clock_source = std::function<std::chrono::steady_clock::time_point()>;

class backend_pool {
 public:
  /// `now` times the waits for an answer (two readings per request: a vDSO call, no system
  /// call).
  explicit backend_pool(clock_source now = std::chrono::steady_clock::now) : now_(std::move(now)) {}
  backend_pool(const backend_pool&) = delete;
  backend_pool& operator=(const backend_pool&) = delete;

  /// Adds a member; its name must be new. Returns the pool's own object.
  backend& add(backend b);
  /// Takes `b` out of the members; the object itself stays valid until the pool is destroyed.
  void retire(backend& b);

  /// The member named `name`, or nullptr.
  backend* find(std::string_view name) const;
  /// The members, in the order they were added.
  std::span<backend* const> members() const { return members_; }
  /// Members that may take new connections now.
  std::size_t usable_count() const;

  /// The listener told about every change below (a strategy); may be null.
  void set_listener(pool_events* listener);

  /// Counts a new connection to `b` (from the moment it is picked), and the pick.
  void take_connection(backend& b);
  /// Releases one.
  void drop_connection(backend& b);
  /// Client bytes went to `b` on the connection owning `link`: unless it already awaits a
  /// response, it does from now. Inline and cheap: called for every message.
  void request_sent(backend& b, awaiting_link& link) {
    if (!link.linked()) b.awaiting.push_back(link, ++requests_sent_, now_());
  }
  /// Bytes (or the end of stream) came back from `b` on the connection owning `link`: if it
  /// awaited a response, this is the answer, and how long the backend took is recorded.
  void reply_received(backend& b, awaiting_link& link) {
    if (!link.linked()) return;
    const auto now = now_();
    service_times_.record(now - b.awaiting.work_began(link));
    b.awaiting.remove(link);
    b.awaiting.set_last_answer(now);
  }
  /// The connection owning `link` ended: it awaits nothing, and no answer is learned from it.
  void wait_abandoned(backend& b, awaiting_link& link) {
    if (link.linked()) b.awaiting.remove(link);
  }
  /// How long the backends took to answer, recently (all backends together: they are
  /// usually copies of one program).
  const service_times& answer_times() const { return service_times_; }
  /// The pool's clock, as the waits were timed.
  std::chrono::steady_clock::time_point now() const { return now_(); }
  /// Sets the admin state, telling the listener if usable() changed.
  void set_admin(backend& b, admin_state state);
  /// Health changed `b.usable()`: tells the listener. Call after changing `b.health`.
  void health_changed(backend& b);

  /// Runs `f` on every member whose usable() flips from false to true, after the change is
  /// reported: the proxy uses it to wake connections waiting for a backend.
  void on_became_usable(std::function<void(backend&)> f) { on_became_usable_ = std::move(f); }

 private:
  void usable_changed(backend& b);

  std::vector<std::unique_ptr<backend>> owned_;  // members and retired alike
  std::vector<backend*> members_;
  pool_events* listener_ = nullptr;
  std::uint64_t requests_sent_ = 0;  // orders awaiting links across backends
  clock_source now_;
  service_times service_times_;
  std::function<void(backend&)> on_became_usable_;
};

}  // namespace pinwheel
