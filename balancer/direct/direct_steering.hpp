// Direct mode's balancing decisions: turns the pool's state into the target list the kernel
// program steers new connections by (reuseport_group::set_targets).
//
// A backend is a target while it is usable (healthy, enabled) with a weight above 0; round-
// robin repeats it by weight (smooth weighted round-robin), least-busy keeps only the least
// busy targets (see set_busyness); source-hash writes proxy mode's
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

  /// How busy least-busy takes each target to be (0: idle; higher: busier); it steers to
  /// those of the lowest level. Unset: all idle.
  void set_busyness(std::function<int(const backend&)> busyness) {
    busyness_ = std::move(busyness);
  }

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
  std::function<int(const backend&)> busyness_;
  std::map<const backend*, std::size_t> sockets_;
  std::vector<std::uint32_t> written_;
  bool written_once_ = false;
  std::unique_ptr<source_hash> hash_;  // source-hash only
};

}  // namespace pinwheel::direct
