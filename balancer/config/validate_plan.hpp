// The sanitize step: options and the plan made from them, checked together, once.
//
// load_config() checks each value as written; what only shows once flags are applied and the
// run is planned is checked here: ports past 65535, a backend that is the balancer itself, two
// backends on one address, ports already taken, too few file descriptors. Configuration
// mistakes come before what the host says, so a clash is named even when a port is also busy.
#pragma once

#include "config/host_facts.hpp"
#include "config/options.hpp"
#include "config/run_plan.hpp"

namespace pinwheel {

/// Throws config_error, naming the key's origin ("file:line:column: [table] key" or "--flag"),
/// for the first problem found; adds warnings to `plan`.
void validate_plan(const options& o, run_plan& plan, const host_facts& host);

/// [backends] min and max against count (once flags are applied: --backends may set it) and
/// against the ports the largest count needs. Throws config_error naming the key's origin.
void validate_scaling(const options& o);

}  // namespace pinwheel
