// The one exception type of start-up: a configuration Pinwheel cannot run with.
#pragma once

#include <stdexcept>
#include <string>

namespace pinwheel {

/// what() names the place ("file:line:column: [table] key:" or "--flag:") and how to fix it.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace pinwheel
