// Reads a TOML config into options, catching typos, wrong types and bad values.
#pragma once

#include <optional>
#include <string>

#include "config/options.hpp"

namespace pinwheel {

/// Values given on the command line; each wins over the file.
struct overrides {
  std::optional<std::string> listen;
  std::optional<int> backends;
  std::optional<std::string> strategy;
};

/// Loads and validates `path`, then applies `flags`. Throws config_error naming file:line:column
/// and key (or the flag) and saying how to fix it.
options load_config(const std::string& path, const overrides& flags = {});

/// Same, from TOML text (tests); `path` is only used in messages and to resolve the command.
options load_config_text(const std::string& text, const std::string& path,
                         const overrides& flags = {});

}  // namespace pinwheel
