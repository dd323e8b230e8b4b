// A balancing strategy: which backend gets the next connection.
//
// One small interface, as HAProxy's lb_* plug-ins: a strategy sees the backends'
// health and open-connection counts and picks one. Adding a strategy means one
// .hpp/.cpp pair, its test, and one line in strategy_registry.cpp.
#pragma once

#include <optional>
#include <span>

#include "pool/backend.hpp"

namespace pinwheel {

class strategy {
 public:
  virtual ~strategy() = default;

  /// The backend for a new connection: usable, and not one of `exclude` (backends this
  /// connection already failed to reach). nullopt when none qualifies.
  virtual std::optional<std::size_t> pick(std::span<const backend> backends,
                                          std::span<const std::size_t> exclude) = 0;
};

/// Whether `index` is in `exclude` (a handful of entries at most).
inline bool excluded(std::span<const std::size_t> exclude, std::size_t index) {
  for (std::size_t e : exclude) {
    if (e == index) return true;
  }
  return false;
}

}  // namespace pinwheel
