// Reads a TOML config into options, catching typos, wrong types and bad values.
//
// Each value is checked here as written, where its file:line:column is at hand; what values
// mean together and on this host (ports, cores, descriptors) is checked by make_plan().
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config/options.hpp"

namespace pinwheel {

/// Most backends one Pinwheel spawns.
constexpr int kMaxBackends = 1024;
/// Largest config file read; anything bigger is surely the wrong file.
constexpr std::uint64_t kMaxConfigBytes = 1 << 20;

/// Values given on the command line, as typed; each wins over the file and is checked by the
/// rules of the key it overrides.
struct overrides {
  /// --listen HOST:PORT
  std::optional<std::string> listen;
  /// --backends N
  std::optional<std::string> backends;
  /// --strategy NAME
  std::optional<std::string> strategy;
  /// --metrics-listen HOST:PORT
  std::optional<std::string> metrics_listen;
};

/// Checks `flags`, loads `path` (a regular file of at most kMaxConfigBytes), then applies
/// `flags`. Throws config_error naming file:line:column and key (or the flag) and saying how to
/// fix it.
options load_config(const std::string& path, const overrides& flags = {});

/// [admin] socket of the config at `path` (resolved like load_config does), "" if none. Reads
/// only that key: `pinwheel ctl` must reach a running balancer even when the file has since
/// been edited into an invalid config (to be told so by `ctl reload`). Throws config_error if
/// the file cannot be read or is not TOML.
std::string admin_socket_of(const std::string& path);

/// Same, from TOML text (tests); `path` is only used in messages and to resolve the command.
options load_config_text(const std::string& text, const std::string& path,
                         const overrides& flags = {});

}  // namespace pinwheel
