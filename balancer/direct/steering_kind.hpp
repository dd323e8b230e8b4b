// The strategies direct mode offers, by the names the config and `ctl strategy` use.
//
// In direct mode the kernel hands connections to the backends, so the balancer never sees a
// connection: strategies that count connections (least-connections, least-pending,
// power-of-two) have nothing to read. These three steer from what it does see.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pinwheel::direct {

enum class steering_kind {
  rotation,    ///< "round-robin": in turn, by weight (smooth weighted round-robin)
  least_busy,  ///< "least-busy": in turn over the backends not busy now (queue, CPU)
  hash,        ///< "source-hash": by client address, the same table as proxy mode's
};

/// The kind `name` names, or nothing for a name direct mode does not offer.
std::optional<steering_kind> steering_for(std::string_view name);

/// The names, in the order documented: "round-robin", "least-busy", "source-hash".
std::vector<std::string> direct_strategy_names();

/// The name of `kind`.
const char* to_string(steering_kind kind);

}  // namespace pinwheel::direct
