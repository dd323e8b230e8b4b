#include "direct/direct_steering.hpp"

#include "direct/smooth_weights.hpp"

namespace pinwheel::direct {

direct_steering::direct_steering(const backend_pool& pool, reuseport_group& group,
                                 steering_kind kind)
    : pool_(pool), group_(group), kind_(kind) {}

void direct_steering::assign(const backend& b, std::size_t socket) { sockets_[&b] = socket; }

int direct_steering::socket_of(const backend& b) const {
  auto it = sockets_.find(&b);
  return it == sockets_.end() ? -1 : static_cast<int>(it->second);
}

void direct_steering::set_kind(steering_kind kind) {
  kind_ = kind;
  refresh();
}

void direct_steering::refresh() {
  if (kind_ == steering_kind::hash) {
    if (!hash_) hash_ = std::make_unique<source_hash>(pool_);
    std::vector<backend*> slots = hash_->resolved_slots();
    std::vector<std::uint32_t> table;
    if (!slots.empty() && slots.front() != nullptr) {
      table.reserve(slots.size());
      for (const backend* b : slots) table.push_back(static_cast<std::uint32_t>(sockets_.at(b)));
    }
    // Empty when no backend is eligible: new connections wait, as in rotation.
    group_.set_hash_table(table);
    group_.set_mode(steering_mode::hash);
    written_once_ = false;
    return;
  }
  hash_.reset();
  if (group_.mode() != steering_mode::rotate) group_.set_mode(steering_mode::rotate);
  // weights[i]: socket i's share; 0 for sockets whose backend may not take connections.
  std::vector<std::uint32_t> weights(group_.size(), 0);
  std::vector<std::uint32_t> idle(group_.size(), 0);
  bool any_idle = false;
  for (const backend* b : pool_.members()) {
    auto it = sockets_.find(b);
    if (it == sockets_.end() || !b->usable() || b->weight == 0) continue;
    weights[it->second] = b->weight;
    if (kind_ == steering_kind::least_busy && busy_ && busy_(*b)) continue;
    idle[it->second] = b->weight;
    any_idle = true;
  }
  // Least-busy with every target busy: spread over all of them rather than wait.
  if (kind_ == steering_kind::least_busy && any_idle) weights = idle;
  std::vector<std::uint32_t> slots = smooth_weighted_slots(weights, reuseport_group::max_targets);
  if (written_once_ && slots == written_) return;
  group_.set_targets(slots);
  written_ = std::move(slots);
  written_once_ = true;
}

}  // namespace pinwheel::direct
