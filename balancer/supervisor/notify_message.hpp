// One sd_notify datagram ("READY=1\nSTATUS=Serving\n"), parsed: newline-separated
// KEY=VALUE assignments, as systemd's sd_notify(3) sends them. Keys Pinwheel does not act on
// (MAINPID, ERRNO, EXTEND_TIMEOUT_USEC, ...) are valid and ignored; a datagram with no
// assignment at all, a line without '=', a NUL byte or an empty key is malformed. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pinwheel {

struct notify_message {
  bool ready = false;
  bool stopping = false;
  bool reloading = false;
  bool watchdog = false;
  /// STATUS=..., when present (the last one wins).
  std::optional<std::string> status;
  /// Why the datagram is malformed; empty when it is well formed.
  std::string malformed;
};

notify_message parse_notify_message(std::string_view datagram);

}  // namespace pinwheel
