// One line of the admin protocol, parsed: a verb and, for some verbs, one argument.
//
//   status [--json] | drain NAME | disable NAME | enable NAME | restart NAME | restart-all
//   | strategy NAME | reload
//
// Words are separated by spaces or tabs; a trailing "\r" is tolerated (nc -C, telnet).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pinwheel {

struct admin_request {
  std::string verb;
  /// The backend or strategy named; empty for verbs without one.
  std::string argument;
  /// status --json.
  bool json = false;
};

/// The longest line the admin socket reads; longer ones are refused unread.
constexpr std::size_t kMaxAdminLine = 1024;

/// The request in `line` (without its newline), or nullopt with `error` saying what is wrong.
std::optional<admin_request> parse_admin_request(std::string_view line, std::string& error);

/// The verbs and their arguments, one per line, for error messages and `ctl --help`.
const char* admin_usage();

}  // namespace pinwheel
