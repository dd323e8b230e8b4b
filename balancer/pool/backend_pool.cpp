#include "pool/backend_pool.hpp"

#include <algorithm>
#include <stdexcept>

namespace pinwheel {

const char* to_string(admin_state state) {
  switch (state) {
    case admin_state::enabled:
      return "enabled";
    case admin_state::draining:
      return "draining";
    case admin_state::disabled:
      return "disabled";
  }
  return "?";
}

backend& backend_pool::add(backend b) {
  if (find(b.name) != nullptr) throw std::invalid_argument("backend " + b.name + " exists already");
  owned_.push_back(std::make_unique<backend>(std::move(b)));
  members_.push_back(owned_.back().get());
  if (listener_) listener_->members_changed(members_);
  return *owned_.back();
}

void backend_pool::retire(backend& b) {
  auto it = std::find(members_.begin(), members_.end(), &b);
  if (it == members_.end()) return;
  members_.erase(it);
  if (listener_) listener_->members_changed(members_);
}

backend* backend_pool::find(std::string_view name) const {
  for (backend* b : members_) {
    if (b->name == name) return b;
  }
  return nullptr;
}

std::size_t backend_pool::usable_count() const {
  return static_cast<std::size_t>(std::count_if(members_.begin(), members_.end(),
                                                [](const backend* b) { return b->usable(); }));
}

void backend_pool::set_listener(pool_events* listener) {
  listener_ = listener;
  if (listener_) listener_->members_changed(members_);
}

void backend_pool::take_connection(backend& b) {
  ++b.active_connections;
  ++b.picked;
  if (listener_) listener_->connection_taken(b);
}

void backend_pool::drop_connection(backend& b) {
  --b.active_connections;
  if (listener_) listener_->connection_dropped(b);
}

void backend_pool::set_admin(backend& b, admin_state state) {
  bool was_usable = b.usable();
  b.admin = state;
  if (b.usable() != was_usable) usable_changed(b);
}

void backend_pool::health_changed(backend& b) { usable_changed(b); }

void backend_pool::usable_changed(backend& b) {
  if (listener_) listener_->usable_changed(b);
  if (b.usable() && on_became_usable_) on_became_usable_(b);
}

}  // namespace pinwheel
