// The snapshot as JSON for the status page (/status.json): what its table and chart show.
// Rates and CPU percentages are left to the page, which sees two snapshots.
#pragma once

#include <string>

#include "metrics/snapshot.hpp"

namespace pinwheel {

/// One JSON object; CPU and memory are null where /proc could not be read.
std::string to_status_json(const balancer_snapshot& snapshot);

}  // namespace pinwheel
