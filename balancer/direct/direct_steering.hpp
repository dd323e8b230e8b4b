// Direct mode's balancing decisions: turns the pool's state into the target list the kernel
// program steers new connections by (reuseport_group::set_targets).
//
// A backend is a target while it is usable (healthy, enabled) with a weight above 0; round-
// robin repeats it by weight (smooth weighted round-robin), least-busy leaves out the
// backends the busy test names, unless every target is busy; source-hash writes proxy mode's
// own lookup table (source_hash::resolved_slots), so a client reaches the same backend in
// either mode. With no target, new connections
// wait in the kernel (see reuseport_group). The pool tells it of every change through
// pool_events; the owner calls refresh() after changing weights or what counts as busy.
// Single-threaded: the event loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "direct/reuseport_group.hpp"
#include "direct/steering_kind.hpp"
#include "pool/backend_pool.hpp"
#include "strategy/source_hash.hpp"

namespace pinwheel::direct {

class direct_steering : public pool_events {
 public:
  direct_steering(const backend_pool& pool, reuseport_group& group, steering_kind kind);

  /// Backend `b` accepts on socket `socket` of the group.
  void assign(const backend& b, std::size_t socket);
  /// The socket `b` accepts on; -1 for a backend never assigned.
  int socket_of(const backend& b) const;

  void set_kind(steering_kind kind);
  steering_kind kind() const { return kind_; }

  /// What least-busy asks of each target; unset: nothing is busy.
  void set_busy_test(std::function<bool(const backend&)> busy) { busy_ = std::move(busy); }

  /// Computes the targets from the pool as it is now and writes them if they changed.
  void refresh();
  /// The socket indices last written, one per slot.
  std::span<const std::uint32_t> targets() const { return written_; }

  void members_changed(std::span<backend* const>) override { refresh(); }
  void usable_changed(backend&) override { refresh(); }

 private:
  const backend_pool& pool_;
  reuseport_group& group_;
  steering_kind kind_;
  std::function<bool(const backend&)> busy_;
  std::map<const backend*, std::size_t> sockets_;
  std::vector<std::uint32_t> written_;
  bool written_once_ = false;
  std::unique_ptr<source_hash> hash_;  // source-hash only
};

}  // namespace pinwheel::direct
