// What happens to the pool that a balancing strategy may want to track (HAProxy's lb plug-in
// callbacks). Every method has a default that ignores the event, so a stateless strategy
// overrides none of them.
#pragma once

#include <span>

#include "pool/backend.hpp"

namespace pinwheel {

class pool_events {
 public:
  virtual ~pool_events() = default;

  /// Backends joined or left the pool; `members` is the new set, in pool order.
  virtual void members_changed(std::span<backend* const> members) { (void)members; }
  /// `b.usable()` changed (health or admin state).
  virtual void usable_changed(backend& b) { (void)b; }
  /// A connection to `b` was counted (picked) or released.
  virtual void connection_taken(backend& b) { (void)b; }
  virtual void connection_dropped(backend& b) { (void)b; }
};

}  // namespace pinwheel
