// The one exception type of start-up: a configuration Pinwheel cannot run with.
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pinwheel {

/// what() names the place ("file:line:column: [table] key:" or "--flag:") and how to fix it.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// `text` in double quotes for a message, with control characters escaped ("\r", "\x1b") so
/// that it stays on one line and shows what is really there.
inline std::string in_quotes(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      char escape[5];
      std::snprintf(escape, sizeof escape, "\\x%02x", byte);
      out += escape;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace pinwheel
