// The backends of one run, owned here and named by their names.
//
// Every backend ever added keeps its address for the whole run (each is allocated on its own),
// so sessions, checkers, timers and the supervisor may hold `backend&` without a lifetime
// protocol. retire() only takes a backend out of the members: strategies stop picking it and
// walks over members stop seeing it, while whoever still holds it (a session finishing, a
// connect in flight) reads a live object. A retired backend costs a few hundred bytes until
// exit. Every change that a strategy may track goes through here and is reported to the
// pool_events listener, except the per-message awaiting marks (request_sent, reply_received),
// which strategies read from backend::awaiting when they pick. Single-threaded.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "pool/backend.hpp"
#include "pool/pool_events.hpp"

namespace pinwheel {

class backend_pool {
 public:
  backend_pool() = default;
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

  /// Counts a new connection to `b` (from the moment it is picked).
  void take_connection(backend& b);
  /// Releases one.
  void drop_connection(backend& b);
  /// Client bytes went to `b` on the connection owning `link`: unless it already awaits a
  /// response, it does from now. Inline and cheap: called for every message.
  void request_sent(backend& b, awaiting_link& link) {
    if (!link.linked()) b.awaiting.push_back(link, ++requests_sent_);
  }
  /// Bytes came back from `b` (or the connection ended): it awaits nothing.
  void reply_received(backend& b, awaiting_link& link) {
    if (link.linked()) b.awaiting.remove(link);
  }
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
  std::function<void(backend&)> on_became_usable_;
};

}  // namespace pinwheel
