// `pinwheel ctl status`: one row per backend, as an aligned table for people or JSON for
// scripts.
#pragma once

#include <chrono>
#include <span>
#include <string>

#include "admin/admin_actions.hpp"
#include "pool/backend.hpp"

namespace pinwheel {

/// "up", "down", "stopped" (spawned, no process right now) or "given-up".
std::string backend_state(const backend& b);

/// The table: backend, state, admin, pid, cpu, active, total, restarts, uptime; then, with
/// auto-scaling on, one line with its range and last figures.
std::string status_table(std::span<backend* const> backends,
                         std::chrono::steady_clock::time_point now,
                         const std::optional<scaling_status>& scaling = std::nullopt);

/// The same as one JSON object: {"strategy": ..., "backends": [{...}, ...]}, and
/// "autoscale": {"min", "max", "backends", "cpu", "queued"} when it is on.
std::string status_json(std::span<backend* const> backends, const std::string& strategy,
                        std::chrono::steady_clock::time_point now,
                        const std::optional<scaling_status>& scaling = std::nullopt);

}  // namespace pinwheel
